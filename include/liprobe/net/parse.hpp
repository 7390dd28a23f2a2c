// Zero-copy L2..L4 parser for the fast path: a frame is walked in place, nothing is allocated or
// copied except the addresses, and no octet outside [frame, frame + len) is ever read.
// Encapsulations: Ethernet II, 802.1Q / 802.1ad / QinQ tags (0x8100, 0x88a8, 0x9100), Linux
// cooked capture v1 and v2, raw IP; IPv4 (options, fragments flagged), IPv6 (hop-by-hop, routing
// and destination options skipped, fragment header flagged); UDP; TCP through parse_tcp().
#pragma once

#include <cstdint>

namespace liprobe::net {

// How a frame begins (the pcap link type, or what a DPDK port delivers).
enum class LinkType : uint8_t {
    ethernet,    // DLT_EN10MB
    linux_sll,   // DLT_LINUX_SLL (cooked capture v1, 16-octet header)
    linux_sll2,  // DLT_LINUX_SLL2 (cooked capture v2, 20-octet header)
    raw_ip,      // DLT_RAW / DLT_IPV4 / DLT_IPV6: the frame starts with the IP header
};

// ok means a complete UDP datagram was located. Every other value names why not; the fields
// that were parsed before the stop stay valid (e.g. l3 for not_udp and fragments).
enum class ParseStatus : uint8_t {
    ok = 0,
    truncated_l2,             // frame ends inside the link-layer header or a VLAN tag
    too_many_vlan_tags,       // more than kMaxVlanTags stacked tags
    not_ip,                   // EtherType / cooked protocol is not IPv4 or IPv6 (ARP, LLDP, ...)
    bad_ip_version,           // version nibble disagrees with the EtherType, or is not 4 / 6
    truncated_ipv4,           // frame ends inside the IPv4 header
    bad_ipv4_header_length,   // IHL < 5 or header longer than the total length
    bad_ipv4_total_length,    // total length past the captured frame
    ipv4_fragment,            // MF set or fragment offset != 0 (l3 fields valid)
    truncated_ipv6,           // frame ends inside the IPv6 fixed header
    bad_ipv6_payload_length,  // payload length past the captured frame (or jumbogram)
    bad_ipv6_extension,       // extension header truncated, or more than kMaxIpv6Extensions
    ipv6_fragment,            // fragment header with offset != 0 or M set (l3 fields valid)
    not_udp,                  // L4 protocol other than UDP (l4_offset and protocol valid)
    truncated_udp,            // datagram ends inside the UDP header
    bad_udp_length,           // UDP length < 8 or past the end of the IP datagram
};
inline constexpr unsigned kParseStatusCount =
    static_cast<unsigned>(ParseStatus::bad_udp_length) + 1;
const char* parse_status_name(ParseStatus status);

inline constexpr unsigned kMaxVlanTags = 4;
inline constexpr unsigned kMaxIpv6Extensions = 8;

inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoTcp = 6;

// An IPv4 address occupies bytes[0..4) (the rest is zero); IPv6 uses all 16.
struct IpAddress {
    uint8_t bytes[16];
};

struct ParsedPacket {
    ParseStatus status = ParseStatus::truncated_l2;
    uint8_t ip_version = 0;       // 4 or 6, 0 until the IP header was reached
    uint8_t protocol = 0;         // L4 protocol (IPv6: after the extension headers)
    uint8_t vlan_count = 0;       // tags seen (all of them, up to kMaxVlanTags)
    uint16_t vlan_ids[2] = {};    // outer and inner VLAN ID (12 bits)
    uint16_t ethertype = 0;       // of the L3 header (0 for raw IP)
    uint32_t l3_offset = 0;       // first octet of the IP header
    uint32_t l3_end = 0;          // one past the IP datagram (IPv4 total length / IPv6 payload
                                  // length); octets after it are link padding or trailer
    uint32_t l4_offset = 0;       // first octet of the L4 header (after IPv6 extensions)
    uint32_t payload_offset = 0;  // UDP payload
    uint32_t payload_len = 0;     // UDP length - 8
    IpAddress src{}, dst{};
    uint16_t src_port = 0, dst_port = 0;
    // Fragments (IPv4 flags/offset, IPv6 fragment header): set whenever the packet is one.
    bool fragment = false;
    bool more_fragments = false;
    uint16_t fragment_offset = 0;         // in 8-octet units
    uint32_t fragment_id = 0;             // IPv4 Identification or IPv6 fragment Identification
    uint32_t fragment_header_offset = 0;  // IPv6: offset of the fragment header, else 0
};

// Parses a frame of len octets beginning with the given link layer. Fills out (which is reset
// first) and returns out.status. Never reads past frame + len.
ParseStatus parse_frame(const uint8_t* frame, uint32_t len, LinkType link, ParsedPacket& out);

// Continues at an IP header found at frame + l3_offset (issue 4 reuses this for GTP-U inner
// packets). The version nibble decides IPv4 or IPv6. out.ethertype is left as it is.
ParseStatus parse_ip(const uint8_t* frame, uint32_t len, uint32_t l3_offset, ParsedPacket& out);

// The directed 5-tuple of a datagram or TCP stream (IPv4 addresses zero-padded, as IpAddress).
struct FiveTuple {
    IpAddress src{}, dst{};
    uint16_t src_port = 0, dst_port = 0;
    uint8_t ip_version = 0;
    uint8_t protocol = 0;
};
// From the addresses, protocol and ports of p.
FiveTuple five_tuple_of(const ParsedPacket& p);
bool operator==(const FiveTuple& a, const FiveTuple& b);

// TCP (issue 4: SIP over TCP). parse_frame() stops at TCP with status not_udp and
// protocol == kIpProtoTcp; parse_tcp() then reads the TCP header at p.l4_offset.
enum class TcpStatus : uint8_t {
    ok = 0,
    not_tcp,              // p is not a whole (unfragmented) IP packet carrying TCP
    truncated_tcp,        // the IP datagram ends inside the 20-octet fixed TCP header
    bad_tcp_data_offset,  // data offset < 5 words or past the end of the IP datagram
};
const char* tcp_status_name(TcpStatus status);

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

struct TcpSegment {
    uint16_t src_port = 0, dst_port = 0;
    uint32_t seq = 0, ack = 0;
    uint8_t flags = 0;            // kTcpFin | kTcpSyn | ... (the low 8 flag bits)
    uint32_t header_len = 0;      // data offset * 4 (20..60)
    uint32_t payload_offset = 0;  // in the same frame as p
    uint32_t payload_len = 0;     // up to p.l3_end
};

// Reads the TCP header of a packet that parse_frame()/parse_ip() stopped at with not_udp and
// protocol kIpProtoTcp. Never reads past frame + p.l3_end. Also sets p.src_port / p.dst_port.
TcpStatus parse_tcp(const uint8_t* frame, ParsedPacket& p, TcpSegment& out);

// Link types and EtherTypes of interest.
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeQinQ = 0x88A8;
inline constexpr uint16_t kEtherTypeQinQOld = 0x9100;

}  // namespace liprobe::net
