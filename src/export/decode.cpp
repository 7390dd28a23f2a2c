// Decoders of ETSI TS 102 232-1/-5 PS-PDUs and TS 103 221-2 X2/X3 PDUs; see decode.hpp.
#include "liprobe/export/decode.hpp"

#include <cstring>

#include "liprobe/export/ber.hpp"
#include "liprobe/export/x3.hpp"

namespace liprobe::exporter {
namespace {

using ber::Reader;
using ber::Tlv;

// Universal SEQUENCE.
bool is_sequence(const Tlv& t) {
    return t.is(0, true, 16);
}

struct Ctx {
    DecodedPdu& out;
    std::string& error;
    bool fail(const std::string& why) {
        error = why;
        return false;
    }
    // A Reader's error, if any, turned into a failure of `where`.
    bool check(const Reader& r, const char* where) {
        if (r.error()) return fail(std::string(where) + ": " + r.error());
        return true;
    }
};

bool get_uint(Ctx& c, const Tlv& t, uint64_t max, uint64_t& v, const char* what) {
    if (t.constructed || !ber::read_uint(t, v) || v > max)
        return c.fail(std::string("bad ") + what);
    return true;
}

std::string as_string(const Tlv& t) {
    return std::string(reinterpret_cast<const char*>(t.value), t.length);
}

// ---------------------------------------------------------------- ETSI TS 102 232-1 -------

bool decode_network_identifier(Ctx& c, const Tlv& nid) {
    Reader r(nid.value, nid.length);
    Tlv t;
    bool have_operator = false;
    while (r.next(t)) {
        if (t.is_ctx(0, false)) {
            c.out.operator_id = as_string(t);
            have_operator = true;
        } else if (t.is_ctx(1, false)) {
            c.out.network_element_id = as_string(t);
        }  // eTSI671NEID and extensions: ignored
    }
    if (!c.check(r, "networkIdentifier")) return false;
    if (!have_operator) return c.fail("networkIdentifier without operatorIdentifier");
    return true;
}

bool decode_communication_identifier(Ctx& c, const Tlv& cid) {
    Reader r(cid.value, cid.length);
    Tlv t;
    bool have_nid = false;
    while (r.next(t)) {
        if (t.is_ctx(0, true)) {
            if (!decode_network_identifier(c, t)) return false;
            have_nid = true;
        } else if (t.is_ctx(1, false)) {
            if (!get_uint(c, t, UINT32_MAX, c.out.cin, "communicationIdentityNumber")) return false;
            c.out.has_cin = true;
        } else if (t.is_ctx(2, false)) {
            c.out.delivery_country = as_string(t);
        }
    }
    if (!c.check(r, "communicationIdentifier")) return false;
    if (!have_nid) return c.fail("communicationIdentifier without networkIdentifier");
    return true;
}

bool decode_ps_header(Ctx& c, const Tlv& hdr) {
    Reader r(hdr.value, hdr.length);
    Tlv t;
    bool have_domain = false, have_liid = false, have_cid = false;
    uint64_t v = 0;
    while (r.next(t)) {
        if (t.tag_class != 2) continue;
        switch (t.number) {
            case 0:
                if (t.constructed) return c.fail("bad li-psDomainId");
                c.out.ps_domain_id.assign(t.value, t.value + t.length);
                have_domain = true;
                break;
            case 1:
                if (t.constructed || t.length == 0) return c.fail("bad LIID");
                c.out.liid = as_string(t);
                have_liid = true;
                break;
            case 2:
                c.out.authorization_country = as_string(t);
                break;
            case 3:
                if (!t.constructed || !decode_communication_identifier(c, t)) {
                    return c.error.empty() ? c.fail("bad communicationIdentifier") : false;
                }
                have_cid = true;
                break;
            case 4:
                if (!get_uint(c, t, UINT32_MAX, v, "sequenceNumber")) return false;
                c.out.sequence = static_cast<uint32_t>(v);
                c.out.has_sequence = true;
                break;
            case 7: {
                if (!t.constructed) return c.fail("bad microSecondTimeStamp");
                Reader tr(t.value, t.length);
                Tlv f;
                uint64_t sec = 0, usec = 0;
                bool have_s = false, have_us = false;
                while (tr.next(f)) {
                    if (f.is_ctx(0, false)) {
                        if (!get_uint(c, f, INT64_MAX / 1000000 - 1, sec, "seconds")) return false;
                        have_s = true;
                    } else if (f.is_ctx(1, false)) {
                        if (!get_uint(c, f, 999999, usec, "microSeconds")) return false;
                        have_us = true;
                    }
                }
                if (!c.check(tr, "microSecondTimeStamp")) return false;
                if (!have_s || !have_us) return c.fail("incomplete microSecondTimeStamp");
                c.out.time_sec = static_cast<int64_t>(sec);
                c.out.time_nsec = static_cast<uint32_t>(usec * 1000);
                c.out.has_time = true;
                break;
            }
            case 8:
                if (!get_uint(c, t, UINT32_MAX, v, "timeStampQualifier")) return false;
                c.out.timestamp_qualifier = static_cast<uint32_t>(v);
                c.out.has_timestamp_qualifier = true;
                break;
            default:
                break;  // timeStamp, interceptionPointID, extensions: not used
        }
    }
    if (!c.check(r, "PSHeader")) return false;
    if (!have_domain) return c.fail("PSHeader without li-psDomainId");
    if (!have_liid) return c.fail("PSHeader without LIID");
    if (!have_cid) return c.fail("PSHeader without communicationIdentifier");
    if (!c.out.has_sequence) return c.fail("PSHeader without sequenceNumber");
    return true;
}

// The single element inside a SEQUENCE OF / explicit CHOICE wrapper.
bool only_child(Ctx& c, const Tlv& parent, Tlv& child, const char* where) {
    Reader r(parent.value, parent.length);
    if (!r.next(child)) return c.check(r, where) && c.fail(std::string("empty ") + where);
    if (!r.at_end()) return c.fail(std::string("more than one element in ") + where);
    return true;
}

bool decode_ipmmcc(Ctx& c, const Tlv& mm) {
    Reader r(mm.value, mm.length);
    Tlv t;
    bool have_oid = false, have_contents = false, have_frame = false;
    uint64_t v = 0;
    while (r.next(t)) {
        if (t.is_ctx(0, false)) {
            have_oid = true;
        } else if (t.is_ctx(1, false)) {
            c.out.payload.assign(t.value, t.value + t.length);
            have_contents = true;
        } else if (t.is_ctx(2, false)) {
            if (!get_uint(c, t, 255, v, "frameType")) return false;
            c.out.frame_type = static_cast<uint32_t>(v);
            have_frame = true;
        } else if (t.is_ctx(4, false)) {
            if (!get_uint(c, t, 255, v, "mMCCprotocol")) return false;
            c.out.mmcc_protocol = static_cast<int32_t>(v);
        }
    }
    if (!c.check(r, "IPMMCC")) return false;
    if (!have_oid || !have_contents || !have_frame) return c.fail("incomplete IPMMCC");
    c.out.kind = c.out.frame_type == 2   ? PduKind::cc_rtp
                 : c.out.frame_type == 0 ? PduKind::cc_ip
                                         : PduKind::other;
    return true;
}

bool decode_cc(Ctx& c, const Tlv& seq) {
    Tlv pl;
    if (!only_child(c, seq, pl, "cCPayloadSequence")) return false;
    if (!is_sequence(pl)) return c.fail("CCPayload is not a SEQUENCE");
    Reader r(pl.value, pl.length);
    Tlv t;
    bool have_contents = false;
    uint64_t v = 0;
    while (r.next(t)) {
        if (t.is_ctx(0, false)) {
            if (!get_uint(c, t, 4, v, "payloadDirection")) return false;
            c.out.direction = v <= 2 ? static_cast<Direction>(v) : Direction::indeterminate;
            c.out.has_direction = true;
        } else if (t.is_ctx(2, true)) {
            Tlv choice;
            if (!only_child(c, t, choice, "cCContents")) return false;
            if (!choice.is_ctx(12, true)) return c.fail("unsupported cCContents (not iPMMCC)");
            if (!decode_ipmmcc(c, choice)) return false;
            have_contents = true;
        }
    }
    if (!c.check(r, "CCPayload")) return false;
    if (!have_contents) return c.fail("CCPayload without cCContents");
    return true;
}

bool decode_ip_address(Ctx& c, const Tlv& a, IpEndpoint& ep) {
    Reader r(a.value, a.length);
    Tlv t;
    uint64_t type = 0;
    bool have_type = false, have_value = false;
    while (r.next(t)) {
        if (t.is_ctx(1, false)) {
            if (!get_uint(c, t, 1, type, "iP-type")) return false;
            have_type = true;
        } else if (t.is_ctx(2, true)) {
            Tlv v;
            if (!only_child(c, t, v, "iP-value")) return false;
            if (!v.is_ctx(1, false)) return c.fail("unsupported iP-value (not binary)");
            if (v.length != 4 && v.length != 16) return c.fail("bad iPBinaryAddress length");
            std::memcpy(ep.addr, v.value, v.length);
            ep.family = v.length == 16 ? 6 : 4;
            have_value = true;
        }
    }
    if (!c.check(r, "IPAddress")) return false;
    if (!have_type || !have_value) return c.fail("incomplete IPAddress");
    if ((type == 1) != (ep.family == 6)) return c.fail("iP-type does not match address length");
    return true;
}

bool decode_iri(Ctx& c, const Tlv& seq) {
    Tlv pl;
    if (!only_child(c, seq, pl, "iRIPayloadSequence")) return false;
    if (!is_sequence(pl)) return c.fail("IRIPayload is not a SEQUENCE");
    Reader r(pl.value, pl.length);
    Tlv t;
    uint64_t v = 0;
    bool have_contents = false;
    while (r.next(t)) {
        if (t.is_ctx(0, false)) {
            if (!get_uint(c, t, 4, v, "iRIType") || v == 0) return c.fail("bad iRIType");
            c.out.iri_type = static_cast<IriType>(v);
            c.out.has_iri_type = true;
        } else if (t.is_ctx(2, true)) {
            Tlv ipmm;
            if (!only_child(c, t, ipmm, "iRIContents")) return false;
            if (!ipmm.is_ctx(11, true)) return c.fail("unsupported iRIContents (not iPMMIRI)");
            Reader mr(ipmm.value, ipmm.length);
            Tlv f;
            bool have_oid = false, have_sip = false;
            while (mr.next(f)) {
                if (f.is_ctx(0, false)) {
                    have_oid = true;
                } else if (f.is_ctx(1, true)) {
                    Tlv sip;
                    if (!only_child(c, f, sip, "iPMMIRIContents")) return false;
                    if (!sip.is_ctx(1, true)) return c.fail("unsupported IPIRIContents");
                    Reader sr(sip.value, sip.length);
                    Tlv s;
                    bool have_src = false, have_dst = false, have_content = false;
                    while (sr.next(s)) {
                        if (s.is_ctx(0, true)) {
                            if (!decode_ip_address(c, s, c.out.src)) return false;
                            have_src = true;
                        } else if (s.is_ctx(1, true)) {
                            if (!decode_ip_address(c, s, c.out.dst)) return false;
                            have_dst = true;
                        } else if (s.is_ctx(2, false)) {
                            c.out.payload.assign(s.value, s.value + s.length);
                            have_content = true;
                        }
                    }
                    if (!c.check(sr, "sIPMessage")) return false;
                    if (!have_src || !have_dst || !have_content)
                        return c.fail("incomplete sIPMessage");
                    c.out.has_addresses = true;
                    have_sip = true;
                }
            }
            if (!c.check(mr, "IPMMIRI")) return false;
            if (!have_oid || !have_sip) return c.fail("incomplete IPMMIRI");
            have_contents = true;
        }
    }
    if (!c.check(r, "IRIPayload")) return false;
    if (!have_contents) return c.fail("IRIPayload without iRIContents");
    if (!c.out.has_iri_type) return c.fail("IRIPayload without iRIType");
    c.out.kind = PduKind::iri_sip;
    return true;
}

bool decode_tri(Ctx& c, const Tlv& tri) {
    Tlv t;
    if (!only_child(c, tri, t, "tRIPayload")) return false;
    if (t.is_ctx(3, false) && t.length == 0)
        c.out.kind = PduKind::keepalive;
    else if (t.is_ctx(4, false) && t.length == 0)
        c.out.kind = PduKind::keepalive_response;
    else
        c.out.kind = PduKind::other;
    return true;
}

// HI1-Operation (TS 101 671 HI1NotificationOperations): liActivated [1], liDeactivated [2],
// liModified [3] carry a Notification; alarms and national parameters are `other`.
bool decode_hi1_operation(Ctx& c, const Tlv& operation) {
    Tlv choice;
    if (!only_child(c, operation, choice, "hI1-Operation")) return false;
    if (choice.tag_class != 2 || !choice.constructed || choice.number < 1 || choice.number > 3) {
        c.out.kind = PduKind::other;
        return true;
    }
    Reader r(choice.value, choice.length);
    Tlv t;
    bool have_liid = false, have_cid = false, have_time = false;
    while (r.next(t)) {
        if (t.is_ctx(0, false)) {
            c.out.hi1_domain_id.assign(t.value, t.value + t.length);
        } else if (t.is_ctx(1, false)) {
            if (t.length == 0) return c.fail("bad Notification LIID");
            c.out.hi1_liid = as_string(t);
            have_liid = true;
        } else if (t.is_ctx(2, true)) {  // HI2 CommunicationIdentifier
            Reader cr(t.value, t.length);
            Tlv f;
            while (cr.next(f)) {
                if (!f.is_ctx(1, true)) continue;  // communication-Identity-Number: unused
                Reader nr(f.value, f.length);
                Tlv n;
                while (nr.next(n))
                    if (n.is_ctx(0, false)) c.out.hi1_operator_id = as_string(n);
                if (!c.check(nr, "network-Identifier")) return false;
                have_cid = true;
            }
            if (!c.check(cr, "Notification communicationIdentifier")) return false;
        } else if (t.is_ctx(3, true)) {  // TimeStamp CHOICE: localTime [0], utcTime [1]
            Tlv ts;
            if (!only_child(c, t, ts, "Notification timeStamp")) return false;
            if (ts.is_ctx(1, false)) c.out.hi1_time = as_string(ts);
            have_time = true;
        }
    }
    if (!c.check(r, "Notification")) return false;
    if (!have_liid || !have_cid || !have_time) return c.fail("incomplete HI1 Notification");
    c.out.kind = choice.number == 1   ? PduKind::li_activated
                 : choice.number == 2 ? PduKind::li_deactivated
                                      : PduKind::li_modified;
    return true;
}

bool decode_etsi(Ctx& c, const uint8_t* p, size_t len) {
    Reader outer(p, len);
    Tlv pdu;
    if (!outer.next(pdu)) return c.check(outer, "PS-PDU") && c.fail("empty input");
    if (!is_sequence(pdu)) return c.fail("PS-PDU is not a SEQUENCE");
    if (!outer.at_end()) return c.fail("octets after the PS-PDU");
    Reader r(pdu.value, pdu.length);
    Tlv t;
    bool have_header = false, have_payload = false;
    while (r.next(t)) {
        if (t.is_ctx(1, true) && !have_header) {
            if (!decode_ps_header(c, t)) return false;
            have_header = true;
        } else if (t.is_ctx(2, true) && !have_payload) {
            Tlv choice;
            if (!only_child(c, t, choice, "payload")) return false;
            if (choice.is_ctx(0, true)) {
                if (!decode_iri(c, choice)) return false;
            } else if (choice.is_ctx(1, true)) {
                if (!decode_cc(c, choice)) return false;
            } else if (choice.is_ctx(2, true)) {
                if (!decode_tri(c, choice)) return false;
            } else if (choice.is_ctx(3, true)) {
                if (!decode_hi1_operation(c, choice)) return false;
            } else {
                c.out.kind = PduKind::other;
            }
            have_payload = true;
        } else {
            return c.fail("unexpected element in PS-PDU");
        }
    }
    if (!c.check(r, "PS-PDU")) return false;
    if (!have_header) return c.fail("PS-PDU without pSHeader");
    if (!have_payload) return c.fail("PS-PDU without payload");
    return true;
}

// ---------------------------------------------------------------- ETSI TS 103 221-2 -------

uint16_t rd16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
uint32_t rd32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

bool decode_x(Ctx& c, const uint8_t* p, size_t len) {
    using namespace x3;
    DecodedPdu& o = c.out;
    if (len < kHeaderLength) return c.fail("shorter than the 40-octet X2/X3 header");
    o.x_version = rd16(p);
    o.x_pdu_type = rd16(p + 2);
    const uint32_t hl = rd32(p + 4), pl = rd32(p + 8);
    o.x_payload_format = rd16(p + 12);
    o.x_payload_direction = rd16(p + 14);
    std::memcpy(o.xid, p + 16, 16);
    o.cin = (uint64_t{rd32(p + 32)} << 32) | rd32(p + 36);
    o.has_cin = true;
    if (hl < kHeaderLength || hl > len) return c.fail("bad header length");
    if (pl != len - hl) return c.fail("payload length does not match the PDU length");
    for (size_t off = kHeaderLength; off < hl;) {
        if (hl - off < 4) return c.fail("truncated conditional attribute");
        const uint16_t type = rd16(p + off), alen = rd16(p + off + 2);
        const uint8_t* v = p + off + 4;
        if (alen > hl - off - 4) return c.fail("conditional attribute exceeds the header");
        auto need = [&](size_t n) {
            if (alen == n) return true;
            return c.fail("attribute " + std::to_string(type) + " has length " +
                          std::to_string(alen));
        };
        switch (type) {
            case kAttrSequence:
                if (!need(4)) return false;
                o.sequence = rd32(v);
                o.has_sequence = true;
                break;
            case kAttrTimestamp:
                if (!need(8)) return false;
                o.time_sec = rd32(v);
                o.time_nsec = rd32(v + 4);
                if (o.time_nsec >= 1000000000u) return c.fail("timestamp nanoseconds too large");
                o.has_time = true;
                break;
            case kAttrSrcIpv4:
            case kAttrDstIpv4:
            case kAttrSrcIpv6:
            case kAttrDstIpv6: {
                const bool v6 = type == kAttrSrcIpv6 || type == kAttrDstIpv6;
                if (!need(v6 ? 16 : 4)) return false;
                IpEndpoint& ep = (type == kAttrSrcIpv4 || type == kAttrSrcIpv6) ? o.src : o.dst;
                ep.family = v6 ? 6 : 4;
                std::memcpy(ep.addr, v, alen);
                o.has_addresses = true;
                break;
            }
            case kAttrSrcPort:
            case kAttrDstPort:
                if (!need(2)) return false;
                (type == kAttrSrcPort ? o.src : o.dst).port = rd16(v);
                o.has_ports = true;
                break;
            case kAttrIpProtocol:
                if (!need(1)) return false;
                o.ip_protocol = v[0];
                o.has_ip_protocol = true;
                break;
            case kAttrMatchedTarget:
                o.matched_target.assign(reinterpret_cast<const char*>(v), alen);
                break;
            default:
                break;  // other attributes: not used here
        }
        off += 4u + alen;
    }
    o.payload.assign(p + hl, p + len);
    switch (o.x_pdu_type) {
        case kX2:
            o.kind = o.x_payload_format == kFormatSip ? PduKind::iri_sip : PduKind::other;
            break;
        case kX3:
            o.kind = o.x_payload_format == kFormatRtp ? PduKind::cc_rtp
                     : (o.x_payload_format == kFormatIpv4 || o.x_payload_format == kFormatIpv6)
                         ? PduKind::cc_ip
                         : PduKind::other;
            break;
        case kKeepalive:
            o.kind = PduKind::keepalive;
            break;
        case kKeepaliveAck:
            o.kind = PduKind::keepalive_response;
            break;
        default:
            return c.fail("unknown PDU type " + std::to_string(o.x_pdu_type));
    }
    if (o.x_pdu_type == kX2 || o.x_pdu_type == kX3) {
        o.direction = from_x_direction(o.x_payload_direction);
        o.has_direction = true;
    }
    return true;
}

}  // namespace

const char* pdu_kind_name(PduKind k) {
    switch (k) {
        case PduKind::cc_rtp:
            return "cc_rtp";
        case PduKind::cc_ip:
            return "cc_ip";
        case PduKind::iri_sip:
            return "iri_sip";
        case PduKind::keepalive:
            return "keepalive";
        case PduKind::keepalive_response:
            return "keepalive_response";
        case PduKind::li_activated:
            return "li_activated";
        case PduKind::li_deactivated:
            return "li_deactivated";
        case PduKind::li_modified:
            return "li_modified";
        default:
            return "other";
    }
}

const char* direction_name(Direction d) {
    switch (d) {
        case Direction::from_target:
            return "from_target";
        case Direction::to_target:
            return "to_target";
        default:
            return "indeterminate";
    }
}

const char* iri_type_name(IriType t) {
    switch (t) {
        case IriType::begin:
            return "begin";
        case IriType::end:
            return "end";
        case IriType::cont:
            return "continue";
        case IriType::report:
            return "report";
    }
    return "unknown";
}

bool decode_pdu(Format format, const uint8_t* pdu, size_t len, DecodedPdu& out,
                std::string& error) {
    out = DecodedPdu{};
    out.format = format;
    error.clear();
    if (pdu == nullptr && len != 0) {
        error = "no input";
        return false;
    }
    Ctx c{out, error};
    const bool ok = format == Format::x3 ? decode_x(c, pdu, len) : decode_etsi(c, pdu, len);
    if (!ok && error.empty()) error = "malformed PDU";
    return ok;
}

}  // namespace liprobe::exporter
