#include "liprobe/net/parse.hpp"

#include <cstring>

namespace liprobe::net {
namespace {

inline uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

constexpr uint32_t kEthernetHeaderLen = 14;
constexpr uint32_t kVlanTagLen = 4;
constexpr uint32_t kSllHeaderLen = 16;
constexpr uint32_t kSll2HeaderLen = 20;
constexpr uint32_t kIpv4MinHeaderLen = 20;
constexpr uint32_t kIpv6HeaderLen = 40;
constexpr uint32_t kUdpHeaderLen = 8;
constexpr uint32_t kIpv6FragmentHeaderLen = 8;

constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6DestinationOptions = 60;

inline bool is_vlan_ethertype(uint16_t type) {
    return type == kEtherTypeVlan || type == kEtherTypeQinQ || type == kEtherTypeQinQOld;
}

// Walks VLAN tags starting at offset (which holds the first octet after an EtherType of value
// type) and continues into IP.
ParseStatus parse_ethertype(const uint8_t* frame, uint32_t len, uint32_t offset, uint16_t type,
                            ParsedPacket& out) {
    while (is_vlan_ethertype(type)) {
        if (out.vlan_count == kMaxVlanTags) return out.status = ParseStatus::too_many_vlan_tags;
        if (len - offset < kVlanTagLen) return out.status = ParseStatus::truncated_l2;
        if (out.vlan_count < 2) out.vlan_ids[out.vlan_count] = be16(frame + offset) & 0x0FFF;
        ++out.vlan_count;
        type = be16(frame + offset + 2);
        offset += kVlanTagLen;
    }
    out.ethertype = type;
    if (type != kEtherTypeIpv4 && type != kEtherTypeIpv6) return out.status = ParseStatus::not_ip;
    out.l3_offset = offset;
    if (offset >= len) {
        return out.status = type == kEtherTypeIpv4 ? ParseStatus::truncated_ipv4
                                                   : ParseStatus::truncated_ipv6;
    }
    if ((frame[offset] >> 4) != (type == kEtherTypeIpv4 ? 4 : 6)) {
        return out.status = ParseStatus::bad_ip_version;
    }
    return parse_ip(frame, len, offset, out);
}

ParseStatus parse_udp(const uint8_t* frame, ParsedPacket& out) {
    if (out.protocol != kIpProtoUdp) return out.status = ParseStatus::not_udp;
    if (out.l3_end - out.l4_offset < kUdpHeaderLen) return out.status = ParseStatus::truncated_udp;
    const uint8_t* udp = frame + out.l4_offset;
    out.src_port = be16(udp);
    out.dst_port = be16(udp + 2);
    const uint16_t udp_len = be16(udp + 4);
    if (udp_len < kUdpHeaderLen || udp_len > out.l3_end - out.l4_offset) {
        return out.status = ParseStatus::bad_udp_length;
    }
    out.payload_offset = out.l4_offset + kUdpHeaderLen;
    out.payload_len = udp_len - kUdpHeaderLen;
    return out.status = ParseStatus::ok;
}

ParseStatus parse_ipv4(const uint8_t* frame, uint32_t len, uint32_t l3, ParsedPacket& out) {
    if (len - l3 < kIpv4MinHeaderLen) return out.status = ParseStatus::truncated_ipv4;
    const uint8_t* ip = frame + l3;
    out.ip_version = 4;
    const uint32_t header_len = (ip[0] & 0x0F) * 4u;
    if (header_len < kIpv4MinHeaderLen) return out.status = ParseStatus::bad_ipv4_header_length;
    if (len - l3 < header_len) return out.status = ParseStatus::truncated_ipv4;
    const uint32_t total_len = be16(ip + 2);
    if (total_len < header_len) return out.status = ParseStatus::bad_ipv4_header_length;
    if (total_len > len - l3) return out.status = ParseStatus::bad_ipv4_total_length;
    out.protocol = ip[9];
    std::memcpy(out.src.bytes, ip + 12, 4);
    std::memcpy(out.dst.bytes, ip + 16, 4);
    out.l3_end = l3 + total_len;
    out.l4_offset = l3 + header_len;
    const uint16_t flags_offset = be16(ip + 6);
    out.more_fragments = (flags_offset & 0x2000) != 0;
    out.fragment_offset = flags_offset & 0x1FFF;
    out.fragment_id = be16(ip + 4);
    out.fragment = out.more_fragments || out.fragment_offset != 0;
    if (out.fragment) return out.status = ParseStatus::ipv4_fragment;
    return parse_udp(frame, out);
}

ParseStatus parse_ipv6(const uint8_t* frame, uint32_t len, uint32_t l3, ParsedPacket& out) {
    if (len - l3 < kIpv6HeaderLen) return out.status = ParseStatus::truncated_ipv6;
    const uint8_t* ip = frame + l3;
    out.ip_version = 6;
    const uint32_t payload_len = be16(ip + 4);
    if (payload_len > len - l3 - kIpv6HeaderLen) {
        return out.status = ParseStatus::bad_ipv6_payload_length;
    }
    std::memcpy(out.src.bytes, ip + 8, 16);
    std::memcpy(out.dst.bytes, ip + 24, 16);
    out.l3_end = l3 + kIpv6HeaderLen + payload_len;
    uint8_t next = ip[6];
    uint32_t offset = l3 + kIpv6HeaderLen;
    for (unsigned n = 0;; ++n) {
        const bool skippable =
            next == kIpv6HopByHop || next == kIpv6Routing || next == kIpv6DestinationOptions;
        if (!skippable && next != kIpv6Fragment) break;
        if (n == kMaxIpv6Extensions) return out.status = ParseStatus::bad_ipv6_extension;
        const uint32_t room = out.l3_end - offset;
        if (next == kIpv6Fragment) {
            if (room < kIpv6FragmentHeaderLen) return out.status = ParseStatus::bad_ipv6_extension;
            const uint8_t* frag = frame + offset;
            const uint16_t offset_flags = be16(frag + 2);
            out.fragment_header_offset = offset;
            out.fragment_offset = offset_flags >> 3;
            out.more_fragments = (offset_flags & 1) != 0;
            out.fragment_id = be32(frag + 4);
            next = frag[0];
            offset += kIpv6FragmentHeaderLen;
            // An atomic fragment (offset 0, M clear) is a whole datagram (RFC 6946).
            if (out.fragment_offset != 0 || out.more_fragments) {
                out.fragment = true;
                out.protocol = next;
                out.l4_offset = offset;
                return out.status = ParseStatus::ipv6_fragment;
            }
            continue;
        }
        if (room < 2) return out.status = ParseStatus::bad_ipv6_extension;
        const uint32_t ext_len = (frame[offset + 1] + 1u) * 8u;
        if (ext_len > room) return out.status = ParseStatus::bad_ipv6_extension;
        next = frame[offset];
        offset += ext_len;
    }
    out.protocol = next;
    out.l4_offset = offset;
    return parse_udp(frame, out);
}

}  // namespace

const char* parse_status_name(ParseStatus status) {
    switch (status) {
        case ParseStatus::ok:
            return "ok";
        case ParseStatus::truncated_l2:
            return "truncated_l2";
        case ParseStatus::too_many_vlan_tags:
            return "too_many_vlan_tags";
        case ParseStatus::not_ip:
            return "not_ip";
        case ParseStatus::bad_ip_version:
            return "bad_ip_version";
        case ParseStatus::truncated_ipv4:
            return "truncated_ipv4";
        case ParseStatus::bad_ipv4_header_length:
            return "bad_ipv4_header_length";
        case ParseStatus::bad_ipv4_total_length:
            return "bad_ipv4_total_length";
        case ParseStatus::ipv4_fragment:
            return "ipv4_fragment";
        case ParseStatus::truncated_ipv6:
            return "truncated_ipv6";
        case ParseStatus::bad_ipv6_payload_length:
            return "bad_ipv6_payload_length";
        case ParseStatus::bad_ipv6_extension:
            return "bad_ipv6_extension";
        case ParseStatus::ipv6_fragment:
            return "ipv6_fragment";
        case ParseStatus::not_udp:
            return "not_udp";
        case ParseStatus::truncated_udp:
            return "truncated_udp";
        case ParseStatus::bad_udp_length:
            return "bad_udp_length";
    }
    return "unknown";
}

FiveTuple five_tuple_of(const ParsedPacket& p) {
    FiveTuple t;
    t.src = p.src;
    t.dst = p.dst;
    t.src_port = p.src_port;
    t.dst_port = p.dst_port;
    t.ip_version = p.ip_version;
    t.protocol = p.protocol;
    return t;
}

bool operator==(const FiveTuple& a, const FiveTuple& b) {
    return a.src_port == b.src_port && a.dst_port == b.dst_port && a.ip_version == b.ip_version &&
           a.protocol == b.protocol && std::memcmp(a.src.bytes, b.src.bytes, 16) == 0 &&
           std::memcmp(a.dst.bytes, b.dst.bytes, 16) == 0;
}

const char* tcp_status_name(TcpStatus status) {
    switch (status) {
        case TcpStatus::ok:
            return "ok";
        case TcpStatus::not_tcp:
            return "not_tcp";
        case TcpStatus::truncated_tcp:
            return "truncated_tcp";
        case TcpStatus::bad_tcp_data_offset:
            return "bad_tcp_data_offset";
    }
    return "unknown";
}

TcpStatus parse_tcp(const uint8_t* frame, ParsedPacket& p, TcpSegment& out) {
    out = TcpSegment{};
    if (p.status != ParseStatus::not_udp || p.protocol != kIpProtoTcp || p.fragment ||
        p.l4_offset > p.l3_end) {
        return TcpStatus::not_tcp;
    }
    constexpr uint32_t kTcpMinHeaderLen = 20;
    const uint32_t room = p.l3_end - p.l4_offset;
    if (room < kTcpMinHeaderLen) return TcpStatus::truncated_tcp;
    const uint8_t* tcp = frame + p.l4_offset;
    out.src_port = be16(tcp);
    out.dst_port = be16(tcp + 2);
    out.seq = be32(tcp + 4);
    out.ack = be32(tcp + 8);
    out.flags = tcp[13];
    out.header_len = (tcp[12] >> 4) * 4u;
    p.src_port = out.src_port;
    p.dst_port = out.dst_port;
    if (out.header_len < kTcpMinHeaderLen || out.header_len > room) {
        return TcpStatus::bad_tcp_data_offset;
    }
    out.payload_offset = p.l4_offset + out.header_len;
    out.payload_len = room - out.header_len;
    return TcpStatus::ok;
}

ParseStatus parse_ip(const uint8_t* frame, uint32_t len, uint32_t l3_offset, ParsedPacket& out) {
    out.l3_offset = l3_offset;
    if (l3_offset >= len) {
        return out.status = ParseStatus::truncated_ipv4;  // not even a version nibble
    }
    switch (frame[l3_offset] >> 4) {
        case 4:
            return parse_ipv4(frame, len, l3_offset, out);
        case 6:
            return parse_ipv6(frame, len, l3_offset, out);
        default:
            return out.status = ParseStatus::bad_ip_version;
    }
}

ParseStatus parse_frame(const uint8_t* frame, uint32_t len, LinkType link, ParsedPacket& out) {
    out = ParsedPacket{};
    switch (link) {
        case LinkType::ethernet:
            if (len < kEthernetHeaderLen) return out.status = ParseStatus::truncated_l2;
            return parse_ethertype(frame, len, kEthernetHeaderLen, be16(frame + 12), out);
        case LinkType::linux_sll:
            if (len < kSllHeaderLen) return out.status = ParseStatus::truncated_l2;
            return parse_ethertype(frame, len, kSllHeaderLen, be16(frame + 14), out);
        case LinkType::linux_sll2:
            if (len < kSll2HeaderLen) return out.status = ParseStatus::truncated_l2;
            return parse_ethertype(frame, len, kSll2HeaderLen, be16(frame), out);
        case LinkType::raw_ip:
            return parse_ip(frame, len, 0, out);
    }
    return out.status = ParseStatus::truncated_l2;
}

}  // namespace liprobe::net
