// Builds complete UDP frames (link header, optional VLAN tags, IPv4 or IPv6, UDP) with correct
// lengths and checksums. Control plane only: used by liprobe-gen, tests and benchmarks.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "liprobe/net/parse.hpp"

namespace liprobe::net {

struct VlanTag {
    uint16_t tpid = kEtherTypeVlan;  // 0x8100, 0x88a8 or 0x9100
    uint16_t tci = 0;                // PCP | DEI | VLAN ID
};

struct UdpFrameSpec {
    LinkType link = LinkType::ethernet;
    uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 1};
    uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 2};
    std::vector<VlanTag> vlans;  // outermost first (ethernet only)
    bool ipv6 = false;
    IpAddress src{}, dst{};
    uint16_t src_port = 0, dst_port = 0;
    uint8_t ttl = 64;          // IPv4 TTL / IPv6 hop limit
    uint8_t dscp = 46;         // EF, as media usually carries
    uint16_t ip_id = 0;        // IPv4 Identification
    uint32_t flow_label = 0;   // IPv6
    bool udp_checksum = true;  // false: IPv4 UDP checksum 0 (none); ignored for IPv6
};

// The frame for payload, with lengths and checksums set (the IPv4 DF flag is set).
std::vector<uint8_t> build_udp_frame(const UdpFrameSpec& spec, std::span<const uint8_t> payload);

// "192.0.2.1" or "2001:db8::1"; nullopt when neither. *is_ipv6 tells which.
std::optional<IpAddress> parse_ip_address(std::string_view text, bool* is_ipv6 = nullptr);
IpAddress ipv4_address(uint8_t a, uint8_t b, uint8_t c, uint8_t d);

}  // namespace liprobe::net
