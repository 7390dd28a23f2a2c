// ETSI TS 103 221-2 X2/X3 encoder; see include/liprobe/export/x3.hpp.
#include "liprobe/export/x3.hpp"

#include <cstring>

namespace liprobe::exporter::x3 {
namespace {

inline void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void put32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}
inline uint16_t get16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

inline size_t put_attr(uint8_t* p, uint16_t type, const void* value, uint16_t len) {
    put16(p, type);
    put16(p + 2, len);
    if (len) std::memcpy(p + 4, value, len);
    return 4u + len;
}
inline size_t put_attr32(uint8_t* p, uint16_t type, uint32_t v) {
    put16(p, type);
    put16(p + 2, 4);
    put32(p + 4, v);
    return 8;
}

void put_fixed_header(uint8_t* p, uint16_t type, uint32_t header_len, uint32_t payload_len,
                      uint16_t format, uint16_t direction, const uint8_t* xid, uint64_t cid) {
    put16(p, kVersion);
    put16(p + 2, type);
    put32(p + 4, header_len);
    put32(p + 8, payload_len);
    put16(p + 12, format);
    put16(p + 14, direction);
    if (xid)
        std::memcpy(p + 16, xid, 16);
    else
        std::memset(p + 16, 0, 16);
    put32(p + 32, static_cast<uint32_t>(cid >> 32));
    put32(p + 36, static_cast<uint32_t>(cid));
}

bool has_ports(uint8_t proto) {
    return proto == 6 || proto == 17 || proto == 132;
}

}  // namespace

uint16_t to_x_direction(Direction d) {
    switch (d) {
        case Direction::to_target:
            return kDirToTarget;
        case Direction::from_target:
            return kDirFromTarget;
        default:
            return kDirUnknown;
    }
}

Direction from_x_direction(uint16_t d) {
    switch (d) {
        case kDirToTarget:
            return Direction::to_target;
        case kDirFromTarget:
            return Direction::from_target;
        default:
            return Direction::indeterminate;
    }
}

size_t X3Encoder::encode(const Record& r, const WarrantInfo& warrant, uint32_t sequence,
                         uint8_t* out, size_t cap) {
    if (r.len > kMaxRecordBytes || (r.len != 0 && r.data == nullptr)) return 0;
    // TS 103 221-2 has no PDU for an HI1 notification (Exporter::notify_deactivated never
    // queues one for x3; refused here so it can never go out as an X3 RTP PDU).
    if (r.kind == RecordKind::hi1_li_deactivated) return 0;
    const size_t mti = warrant.matched_target.size();
    if (mti > kMaxMatchedTarget) return 0;
    const bool v6 = r.src.family == 6;
    const size_t alen = v6 ? 16 : 4;
    const bool ports = has_ports(r.ip_protocol);
    const size_t attrs = 8 + 12 + 2 * (4 + alen) + (ports ? 12 : 0) + 5 + (mti ? 4 + mti : 0);
    const size_t header = kHeaderLength + attrs;
    if (header + r.len > cap) return 0;

    uint16_t type = kX3, format = kFormatRtp;
    if (r.kind == RecordKind::iri_sip) {
        type = kX2;
        format = kFormatSip;
    } else if (r.kind == RecordKind::cc_ip) {
        // The packet's own version nibble decides; the record's family is the fallback.
        const uint8_t ver = r.len ? r.data[0] >> 4 : (v6 ? 6 : 4);
        format = ver == 6 ? kFormatIpv6 : kFormatIpv4;
    }
    put_fixed_header(out, type, static_cast<uint32_t>(header), r.len, format,
                     to_x_direction(r.direction), warrant.xid, r.cin);
    size_t o = kHeaderLength;
    o += put_attr32(out + o, kAttrSequence, sequence);
    const int64_t t = r.time_us < 0 ? 0 : r.time_us;
    put16(out + o, kAttrTimestamp);
    put16(out + o + 2, 8);
    put32(out + o + 4, static_cast<uint32_t>(t / 1000000));
    put32(out + o + 8, static_cast<uint32_t>((t % 1000000) * 1000));
    o += 12;
    o += put_attr(out + o, v6 ? kAttrSrcIpv6 : kAttrSrcIpv4, r.src.addr, alen);
    o += put_attr(out + o, v6 ? kAttrDstIpv6 : kAttrDstIpv4, r.dst.addr, alen);
    if (ports) {
        uint8_t port[2];
        put16(port, r.src.port);
        o += put_attr(out + o, kAttrSrcPort, port, 2);
        put16(port, r.dst.port);
        o += put_attr(out + o, kAttrDstPort, port, 2);
    }
    o += put_attr(out + o, kAttrIpProtocol, &r.ip_protocol, 1);
    if (mti)
        o += put_attr(out + o, kAttrMatchedTarget, warrant.matched_target.data(),
                      static_cast<uint16_t>(mti));
    if (r.len) std::memcpy(out + o, r.data, r.len);
    return o + r.len;
}

size_t X3Encoder::encode_keepalive(uint32_t sequence, int64_t /*time_us*/, uint8_t* out,
                                   size_t cap) {
    // As OpenLI: nil XID, correlation 0, only a sequence number attribute, no payload.
    if (cap < kHeaderLength + 8) return 0;
    put_fixed_header(out, kKeepalive, kHeaderLength + 8, 0, kFormatNone, kDirReserved, nullptr, 0);
    return kHeaderLength + put_attr32(out + kHeaderLength, kAttrSequence, sequence);
}

size_t X3Encoder::encode_keepalive_response(const uint8_t* ka, size_t len, uint8_t* out,
                                            size_t cap) {
    // The acknowledgement echoes the keepalive's sequence number (and its XID/correlation).
    if (len < kHeaderLength || get16(ka + 2) != kKeepalive || cap < kHeaderLength + 8) return 0;
    const uint32_t hl =
        (uint32_t{ka[4]} << 24) | (uint32_t{ka[5]} << 16) | (uint32_t{ka[6]} << 8) | ka[7];
    if (hl < kHeaderLength || hl > len) return 0;
    uint32_t seq = 0;
    bool found = false;
    for (size_t o = kHeaderLength; o + 4 <= hl;) {
        const uint16_t t = get16(ka + o), l = get16(ka + o + 2);
        if (o + 4 + l > hl) return 0;
        if (t == kAttrSequence && l == 4) {
            seq = (uint32_t{ka[o + 4]} << 24) | (uint32_t{ka[o + 5]} << 16) |
                  (uint32_t{ka[o + 6]} << 8) | ka[o + 7];
            found = true;
        }
        o += 4u + l;
    }
    uint64_t cid = 0;
    for (int i = 0; i < 8; ++i) cid = (cid << 8) | ka[32 + i];
    const uint32_t ack_hl = static_cast<uint32_t>(kHeaderLength + (found ? 8 : 0));
    put_fixed_header(out, kKeepaliveAck, ack_hl, 0, kFormatNone, kDirReserved, ka + 16, cid);
    if (!found) return kHeaderLength;  // a keepalive without a sequence number: plain ack
    return kHeaderLength + put_attr32(out + kHeaderLength, kAttrSequence, seq);
}

}  // namespace liprobe::exporter::x3
