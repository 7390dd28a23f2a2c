#include "liprobe/net/frame_builder.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "liprobe/net/checksum.hpp"

namespace liprobe::net {
namespace {

void append16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}
void append32(std::vector<uint8_t>& out, uint32_t v) {
    append16(out, static_cast<uint16_t>(v >> 16));
    append16(out, static_cast<uint16_t>(v));
}
void append(std::vector<uint8_t>& out, const uint8_t* data, size_t len) {
    out.insert(out.end(), data, data + len);
}

constexpr uint16_t kArphrdEther = 1;

}  // namespace

std::vector<uint8_t> build_udp_frame(const UdpFrameSpec& spec, std::span<const uint8_t> payload) {
    const uint16_t l3_type = spec.ipv6 ? kEtherTypeIpv6 : kEtherTypeIpv4;
    const uint16_t first_type = spec.vlans.empty() ? l3_type : spec.vlans.front().tpid;
    std::vector<uint8_t> out;
    out.reserve(64 + payload.size());
    switch (spec.link) {
        case LinkType::ethernet:
            append(out, spec.dst_mac, 6);
            append(out, spec.src_mac, 6);
            append16(out, first_type);
            break;
        case LinkType::linux_sll:
            append16(out, 0);  // packet type: to us
            append16(out, kArphrdEther);
            append16(out, 6);
            append(out, spec.src_mac, 6);
            append16(out, 0);
            append16(out, first_type);
            break;
        case LinkType::linux_sll2:
            append16(out, first_type);
            append16(out, 0);  // reserved
            append32(out, 1);  // interface index
            append16(out, kArphrdEther);
            out.push_back(0);  // packet type: to us
            out.push_back(6);
            append(out, spec.src_mac, 6);
            append16(out, 0);
            break;
        case LinkType::raw_ip:
            if (!spec.vlans.empty())
                throw std::invalid_argument("raw IP frames carry no VLAN tags");
            break;
    }
    for (size_t i = 0; i < spec.vlans.size(); ++i) {
        append16(out, spec.vlans[i].tci);
        append16(out, i + 1 < spec.vlans.size() ? spec.vlans[i + 1].tpid : l3_type);
    }
    const size_t udp_len = 8 + payload.size();
    if (spec.ipv6) {
        if (udp_len > 0xFFFF) throw std::invalid_argument("UDP payload too long");
        append32(out, (6u << 28) | (uint32_t{spec.dscp} << 22) | (spec.flow_label & 0xFFFFF));
        append16(out, static_cast<uint16_t>(udp_len));
        out.push_back(kIpProtoUdp);
        out.push_back(spec.ttl);
        append(out, spec.src.bytes, 16);
        append(out, spec.dst.bytes, 16);
    } else {
        if (udp_len + 20 > 0xFFFF) throw std::invalid_argument("UDP payload too long");
        out.push_back(0x45);
        out.push_back(static_cast<uint8_t>(spec.dscp << 2));
        append16(out, static_cast<uint16_t>(20 + udp_len));
        append16(out, spec.ip_id);
        append16(out, 0x4000);  // DF
        out.push_back(spec.ttl);
        out.push_back(kIpProtoUdp);
        append16(out, 0);  // header checksum, set below
        append(out, spec.src.bytes, 4);
        append(out, spec.dst.bytes, 4);
    }
    append16(out, spec.src_port);
    append16(out, spec.dst_port);
    append16(out, static_cast<uint16_t>(udp_len));
    // Non-zero placeholder: update_checksums() leaves an IPv4 zero checksum alone.
    append16(out, spec.udp_checksum || spec.ipv6 ? 0xFFFF : 0);
    append(out, payload.data(), payload.size());

    ParsedPacket parsed;
    if (parse_frame(out.data(), static_cast<uint32_t>(out.size()), spec.link, parsed) !=
        ParseStatus::ok) {
        throw std::logic_error(std::string("built frame does not parse: ") +
                               parse_status_name(parsed.status));
    }
    update_checksums(out.data(), parsed);
    return out;
}

std::optional<IpAddress> parse_ip_address(std::string_view text, bool* is_ipv6) {
    const std::string s(text);
    IpAddress a{};
    if (inet_pton(AF_INET, s.c_str(), a.bytes) == 1) {
        if (is_ipv6) *is_ipv6 = false;
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), a.bytes) == 1) {
        if (is_ipv6) *is_ipv6 = true;
        return a;
    }
    return std::nullopt;
}

IpAddress ipv4_address(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    IpAddress ip{};
    ip.bytes[0] = a;
    ip.bytes[1] = b;
    ip.bytes[2] = c;
    ip.bytes[3] = d;
    return ip;
}

}  // namespace liprobe::net
