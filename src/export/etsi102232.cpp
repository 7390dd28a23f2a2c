// ETSI TS 102 232-1/-5 PS-PDU encoder; see include/liprobe/export/etsi102232.hpp.
#include "liprobe/export/etsi102232.hpp"

#include <cstring>
#include <ctime>

#include "liprobe/export/ber.hpp"

namespace liprobe::exporter::etsi {
namespace {

using ber::ctx;
using ber::ctx_cons;
using ber::tlv_size;
using ber::uint_tlv_size;
using ber::write_header;
using ber::write_uint_tlv;

size_t put(uint8_t* p, const void* src, size_t n) {
    if (n) std::memcpy(p, src, n);
    return n;
}

size_t put_octets(uint8_t* p, uint8_t tag, const void* src, size_t n) {
    const size_t h = write_header(p, tag, n);
    return h + put(p + h, src, n);
}

// Seconds and microseconds of a Unix-microsecond time; times before 1970 become 0.
void split_time(int64_t time_us, uint64_t& sec, uint64_t& usec) {
    if (time_us < 0) time_us = 0;
    sec = static_cast<uint64_t>(time_us / 1000000);
    usec = static_cast<uint64_t>(time_us % 1000000);
}

// TS 102 232-5 IPAddress content (iP-type, iP-value iPBinaryAddress, iP-assignment).
size_t ip_address_content_size(const IpEndpoint& ep) {
    const size_t alen = ep.family == 6 ? 16 : 4;
    return 3 + tlv_size(tlv_size(alen)) + 3;
}
size_t write_ip_address(uint8_t* p, uint8_t tag, const IpEndpoint& ep) {
    const size_t alen = ep.family == 6 ? 16 : 4;
    size_t o = write_header(p, tag, ip_address_content_size(ep));
    o += write_uint_tlv(p + o, ctx(1), ep.family == 6 ? 1 : 0);  // iP-type iPV4(0)/iPV6(1)
    o += write_header(p + o, ctx_cons(2), tlv_size(alen));       // iP-value CHOICE
    o += put_octets(p + o, ctx(1), ep.addr, alen);               // iPBinaryAddress
    o += write_uint_tlv(p + o, ctx(3), kAssignmentNotKnown);     // iP-assignment
    return o;
}

// UTCTime contents "YYMMDDhhmmssZ" (seconds present, Z: the DER form) of a Unix-microsecond
// time; written digit by digit (no locale, no allocation).
size_t write_utc_time(uint8_t* p, int64_t time_us) {
    const time_t secs = static_cast<time_t>(time_us < 0 ? 0 : time_us / 1000000);
    tm t{};
    gmtime_r(&secs, &t);
    const int fields[] = {t.tm_year % 100, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec};
    size_t o = 0;
    for (int v : fields) {
        p[o++] = static_cast<uint8_t>('0' + v / 10);
        p[o++] = static_cast<uint8_t>('0' + v % 10);
    }
    p[o++] = 'Z';
    return o;
}

}  // namespace

bool Etsi102232Encoder::valid_identity(const ProbeIdentity& probe, const char** why) {
    const char* reason = nullptr;
    if (probe.operator_id.empty() || probe.operator_id.size() > 16)
        reason = "operator_id must be 1..16 octets";
    else if (probe.network_element_id.size() > 16)
        reason = "network_element_id must be at most 16 octets";
    else if (probe.country_code.size() != 2)
        reason = "country_code must be 2 characters";
    if (why) *why = reason;
    return reason == nullptr;
}

Etsi102232Encoder::Etsi102232Encoder(const ProbeIdentity& probe)
    : probe_(probe), cache_(kCacheSets * kCacheWays) {}

size_t Etsi102232Encoder::build_static_header(std::string_view liid, uint32_t cin, uint8_t* out,
                                              uint16_t* liid_offset) const {
    if (liid.size() > kMaxLiid) return 0;
    const std::string& op = probe_.operator_id;
    const std::string& ne = probe_.network_element_id;
    const std::string& cc = probe_.country_code;
    const size_t net_id = tlv_size(op.size()) + (ne.empty() ? 0 : tlv_size(ne.size()));
    const size_t comm_id = tlv_size(net_id) + uint_tlv_size(cin) + tlv_size(cc.size());
    const size_t total = tlv_size(sizeof(kPsDomainId)) + tlv_size(liid.size()) +
                         tlv_size(cc.size()) + tlv_size(comm_id);
    if (total > kMaxStaticHeader) return 0;
    size_t o = put_octets(out, ctx(0), kPsDomainId, sizeof(kPsDomainId));  // li-psDomainId
    o += write_header(out + o, ctx(1), liid.size());  // lawfulInterceptionIdentifier
    if (liid_offset) *liid_offset = static_cast<uint16_t>(o);
    o += put(out + o, liid.data(), liid.size());
    o += put_octets(out + o, ctx(2), cc.data(), cc.size());  // authorizationCountryCode
    o += write_header(out + o, ctx_cons(3), comm_id);        // communicationIdentifier
    o += write_header(out + o, ctx_cons(0), net_id);         // networkIdentifier
    o += put_octets(out + o, ctx(0), op.data(), op.size());  // operatorIdentifier
    if (!ne.empty()) o += put_octets(out + o, ctx(1), ne.data(), ne.size());
    o += write_uint_tlv(out + o, ctx(1), cin);               // communicationIdentityNumber
    o += put_octets(out + o, ctx(2), cc.data(), cc.size());  // deliveryCountryCode
    return o;
}

const Etsi102232Encoder::CachedHeader* Etsi102232Encoder::lookup(uint32_t warrant, uint32_t cin,
                                                                 std::string_view liid) {
    const uint32_t h = (warrant * 0x9E3779B1u) ^ (cin * 0x85EBCA77u);
    CachedHeader* set = &cache_[((h ^ (h >> 16)) % kCacheSets) * kCacheWays];
    ++clock_;
    CachedHeader* victim = nullptr;  // first empty way, else the least recently used
    for (size_t w = 0; w < kCacheWays; ++w) {
        CachedHeader& e = set[w];
        // The LIID is compared too: a warrant slot reused for another LIID must not hit.
        if (e.length != 0 && e.warrant == warrant && e.cin == cin && e.liid_length == liid.size() &&
            std::memcmp(e.bytes + e.liid_offset, liid.data(), liid.size()) == 0) {
            e.last_use = clock_;
            ++hits_;
            return &e;
        }
        if (victim == nullptr ||
            (victim->length != 0 && (e.length == 0 || e.last_use < victim->last_use)))
            victim = &e;
    }
    ++misses_;
    uint16_t liid_offset = 0;
    const size_t n = build_static_header(liid, cin, victim->bytes, &liid_offset);
    if (n == 0) return nullptr;
    victim->length = static_cast<uint16_t>(n);
    victim->liid_offset = liid_offset;
    victim->liid_length = static_cast<uint8_t>(liid.size());
    victim->warrant = warrant;
    victim->cin = cin;
    victim->last_use = clock_;
    return victim;
}

size_t Etsi102232Encoder::write_pdu_head(const uint8_t* static_hdr, size_t static_len,
                                         uint32_t sequence, int64_t time_us, size_t payload_tlv_len,
                                         uint8_t* out, size_t cap) const {
    uint64_t sec, usec;
    split_time(time_us, sec, usec);
    const size_t ts = uint_tlv_size(sec) + uint_tlv_size(usec);
    const size_t hdr = static_len + uint_tlv_size(sequence) + tlv_size(ts) + 3;
    const size_t pdu = tlv_size(hdr) + payload_tlv_len;
    const size_t total = tlv_size(pdu);
    if (total > cap) return 0;
    size_t o = write_header(out, ber::kSequence, pdu);  // PS-PDU
    o += write_header(out + o, ctx_cons(1), hdr);       // pSHeader
    o += put(out + o, static_hdr, static_len);
    o += write_uint_tlv(out + o, ctx(4), sequence);  // sequenceNumber
    o += write_header(out + o, ctx_cons(7), ts);     // microSecondTimeStamp
    o += write_uint_tlv(out + o, ctx(0), sec);
    o += write_uint_tlv(out + o, ctx(1), usec);
    o += write_uint_tlv(out + o, ctx(8), kTimeOfInterception);  // timeStampQualifier
    return o;
}

size_t Etsi102232Encoder::encode(const Record& r, const WarrantInfo& warrant, uint32_t sequence,
                                 uint8_t* out, size_t cap) {
    if (r.len > kMaxRecordBytes || (r.len != 0 && r.data == nullptr)) return 0;
    const CachedHeader* sh = lookup(r.warrant, r.cin, warrant.liid);
    if (sh == nullptr) return 0;
    if (r.kind == RecordKind::hi1_li_deactivated)
        return encode_li_deactivated(r, warrant, *sh, sequence, out, cap);

    const size_t n = r.len;
    size_t payload;  // content of Payload [2]
    // Lengths from the inside out.
    size_t ipmmcc = 0, cc_contents = 0, cc_payload = 0, cc_seq = 0;
    size_t sip_msg = 0, iri_contents_choice = 0, ipmmiri = 0, iri_contents = 0, iri_payload = 0,
           iri_seq = 0;
    if (r.kind == RecordKind::iri_sip) {
        sip_msg = tlv_size(ip_address_content_size(r.src)) +
                  tlv_size(ip_address_content_size(r.dst)) + tlv_size(n);
        iri_contents_choice = tlv_size(sip_msg);  // sIPMessage [1]
        ipmmiri = 2 + sizeof(kIpmmiriObjId) + tlv_size(iri_contents_choice);
        iri_contents = tlv_size(ipmmiri);          // iPMMIRI [11]
        iri_payload = 3 + tlv_size(iri_contents);  // iRIType + iRIContents [2]
        iri_seq = tlv_size(iri_payload);           // IRIPayload SEQUENCE
        payload = tlv_size(iri_seq);               // iRIPayloadSequence [0]
    } else {
        const bool rtp = r.kind == RecordKind::cc_rtp;
        ipmmcc = 2 + sizeof(kIpmmccObjId) + tlv_size(n) + 3 + (rtp ? 3 : 0);
        cc_contents = tlv_size(ipmmcc);          // iPMMCC [12]
        cc_payload = 3 + tlv_size(cc_contents);  // payloadDirection + cCContents [2]
        cc_seq = tlv_size(cc_payload);           // CCPayload SEQUENCE
        payload = tlv_size(cc_seq);              // cCPayloadSequence [1]
    }
    const size_t payload_tlv = tlv_size(payload);
    size_t o = write_pdu_head(sh->bytes, sh->length, sequence, r.time_us, payload_tlv, out, cap);
    if (o == 0) return 0;
    o += write_header(out + o, ctx_cons(2), payload);  // payload
    if (r.kind == RecordKind::iri_sip) {
        o += write_header(out + o, ctx_cons(0), iri_seq);         // iRIPayloadSequence
        o += write_header(out + o, ber::kSequence, iri_payload);  // IRIPayload
        o += write_uint_tlv(out + o, ctx(0), static_cast<uint8_t>(r.iri_type));  // iRIType
        o += write_header(out + o, ctx_cons(2), iri_contents);                   // iRIContents
        o += write_header(out + o, ctx_cons(11), ipmmiri);                       // iPMMIRI
        o += put_octets(out + o, ctx(0), kIpmmiriObjId, sizeof(kIpmmiriObjId));
        o += write_header(out + o, ctx_cons(1), iri_contents_choice);  // iPMMIRIContents
        o += write_header(out + o, ctx_cons(1), sip_msg);              // sIPMessage
        o += write_ip_address(out + o, ctx_cons(0), r.src);            // iPSourceAddress
        o += write_ip_address(out + o, ctx_cons(1), r.dst);            // iPDestinationAddress
        o += put_octets(out + o, ctx(2), r.data, n);                   // sIPContent
    } else {
        const bool rtp = r.kind == RecordKind::cc_rtp;
        o += write_header(out + o, ctx_cons(1), cc_seq);         // cCPayloadSequence
        o += write_header(out + o, ber::kSequence, cc_payload);  // CCPayload
        o += write_uint_tlv(out + o, ctx(0), static_cast<uint8_t>(r.direction));
        o += write_header(out + o, ctx_cons(2), cc_contents);  // cCContents
        o += write_header(out + o, ctx_cons(12), ipmmcc);      // iPMMCC
        o += put_octets(out + o, ctx(0), kIpmmccObjId, sizeof(kIpmmccObjId));
        o += put_octets(out + o, ctx(1), r.data, n);                       // mMCCContents
        o += write_uint_tlv(out + o, ctx(2), rtp ? kFrameRtp : kFrameIp);  // frameType
        if (rtp) o += write_uint_tlv(out + o, ctx(4), kMmccRtp);           // mMCCprotocol
    }
    return o;
}

size_t Etsi102232Encoder::encode_li_deactivated(const Record& r, const WarrantInfo& warrant,
                                                const CachedHeader& header, uint32_t sequence,
                                                uint8_t* out, size_t cap) const {
    const std::string_view liid = warrant.liid;
    const std::string_view op = std::string_view(probe_.operator_id).substr(0, kHi1OperatorIdMax);
    // Lengths from the inside out.
    const size_t network_id = tlv_size(op.size());       // operator-Identifier [0]
    const size_t comm_id = tlv_size(network_id);         // network-Identifier [1]
    const size_t time_stamp = tlv_size(kUtcTimeLength);  // utcTime [1]
    const size_t notification = tlv_size(sizeof(kHi1NotificationDomainId)) + tlv_size(liid.size()) +
                                tlv_size(comm_id) + tlv_size(time_stamp);
    const size_t hi1_operation = tlv_size(notification);  // liDeactivated [2]
    const size_t payload = tlv_size(hi1_operation);       // hI1-Operation [3]
    size_t o = write_pdu_head(header.bytes, header.length, sequence, r.time_us, tlv_size(payload),
                              out, cap);
    if (o == 0) return 0;
    o += write_header(out + o, ctx_cons(2), payload);                           // payload
    o += write_header(out + o, ctx_cons(kPayloadHi1Operation), hi1_operation);  // hI1-Operation
    o += write_header(out + o, ctx_cons(kHi1LiDeactivated), notification);      // liDeactivated
    o += put_octets(out + o, ctx(0), kHi1NotificationDomainId,
                    sizeof(kHi1NotificationDomainId));           // domainID
    o += put_octets(out + o, ctx(1), liid.data(), liid.size());  // LIID
    o += write_header(out + o, ctx_cons(2), comm_id);            // communicationIdentifier
    o += write_header(out + o, ctx_cons(1), network_id);         // network-Identifier
    o += put_octets(out + o, ctx(0), op.data(), op.size());      // operator-Identifier
    o += write_header(out + o, ctx_cons(3), time_stamp);         // timeStamp
    o += write_header(out + o, ctx(1), kUtcTimeLength);          // utcTime
    return o + write_utc_time(out + o, r.time_us);
}

size_t Etsi102232Encoder::encode_keepalive_for(std::string_view liid, uint32_t cin,
                                               uint32_t sequence, int64_t time_us, uint8_t* out,
                                               size_t cap) {
    uint8_t static_hdr[kMaxStaticHeader];
    const size_t sl = build_static_header(liid, cin, static_hdr, nullptr);
    if (sl == 0) return 0;
    // payload [2] { tRIPayload [2] { keep-alive [3] NULL } }
    static constexpr uint8_t kPayload[] = {0xa2, 0x04, 0xa2, 0x02, 0x83, 0x00};
    size_t o = write_pdu_head(static_hdr, sl, sequence, time_us, sizeof(kPayload), out, cap);
    if (o == 0) return 0;
    return o + put(out + o, kPayload, sizeof(kPayload));
}

size_t Etsi102232Encoder::encode_keepalive(uint32_t sequence, int64_t time_us, uint8_t* out,
                                           size_t cap) {
    return encode_keepalive_for(kKeepaliveLiid, 0, sequence, time_us, out, cap);
}

size_t Etsi102232Encoder::encode_keepalive_response(const uint8_t* keepalive, size_t len,
                                                    uint8_t* out, size_t cap) {
    // The answer repeats the keep-alive's PSHeader (so it names the same sequence number)
    // with payload [2] { tRIPayload [2] { keep-aliveResponse [4] NULL } }.
    ber::Reader outer(keepalive, len);
    ber::Tlv pdu, hdr;
    if (!outer.next(pdu) || !pdu.is(0, true, 16)) return 0;
    ber::Reader inner(pdu.value, pdu.length);
    if (!inner.next(hdr) || !hdr.is_ctx(1, true)) return 0;
    static constexpr uint8_t kPayload[] = {0xa2, 0x04, 0xa2, 0x02, 0x84, 0x00};
    const size_t hdr_total = hdr.header_length + hdr.length;
    const size_t content = hdr_total + sizeof(kPayload);
    if (tlv_size(content) > cap) return 0;
    size_t o = write_header(out, ber::kSequence, content);
    o += put(out + o, hdr.value - hdr.header_length, hdr_total);
    return o + put(out + o, kPayload, sizeof(kPayload));
}

}  // namespace liprobe::exporter::etsi
