// Parser tests on hand-built frames: every encapsulation with exact offsets and ports, every
// named failure, and every truncation of every frame (exact-size heap copies, so AddressSanitizer
// catches any read past the end).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "liprobe/net/frame_builder.hpp"
#include "liprobe/net/parse.hpp"

using namespace liprobe::net;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes be16(uint16_t v) {
    return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

const Bytes kMacs = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
const Bytes kPayload = {'h', 'e', 'l', 'l', 'o'};

Bytes ethernet(uint16_t type) {
    return cat({kMacs, be16(type)});
}
Bytes vlan(uint16_t tci, uint16_t next_type) {
    return cat({be16(tci), be16(next_type)});
}

// UDP 5004 -> 6006 with the given payload; checksum left zero (the parser does not check it).
Bytes udp(const Bytes& payload, uint16_t sport = 5004, uint16_t dport = 6006) {
    return cat({be16(sport), be16(dport), be16(static_cast<uint16_t>(8 + payload.size())), be16(0),
                payload});
}

// IPv4 10.1.2.3 -> 192.0.2.9; options appended to the 20-octet header.
Bytes ipv4(const Bytes& l4, uint8_t protocol = 17, const Bytes& options = {},
           uint16_t flags_fragment = 0x4000, uint16_t id = 0x1234) {
    const uint8_t ihl = static_cast<uint8_t>(5 + options.size() / 4);
    const uint16_t total = static_cast<uint16_t>(ihl * 4 + l4.size());
    return cat({{static_cast<uint8_t>(0x40 | ihl), 0},
                be16(total),
                be16(id),
                be16(flags_fragment),
                {64, protocol, 0, 0},
                {10, 1, 2, 3},
                {192, 0, 2, 9},
                options,
                l4});
}

const Bytes kV6Src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
const Bytes kV6Dst = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};

// IPv6 2001:db8::1 -> 2001:db8::2; extensions is the encoded chain after the fixed header.
Bytes ipv6(const Bytes& l4, uint8_t next_header = 17, const Bytes& extensions = {}) {
    return cat({{0x60, 0, 0, 0},
                be16(static_cast<uint16_t>(extensions.size() + l4.size())),
                {next_header, 64},
                kV6Src,
                kV6Dst,
                extensions,
                l4});
}

// A generic extension header of (8 * (units + 1)) octets.
Bytes extension(uint8_t next, uint8_t units) {
    Bytes e(8u * (units + 1u), 0);
    e[0] = next;
    e[1] = units;
    return e;
}

Bytes fragment_header(uint8_t next, uint16_t offset_units, bool more, uint32_t id) {
    return cat({{next, 0},
                be16(static_cast<uint16_t>((offset_units << 3) | (more ? 1 : 0))),
                be16(static_cast<uint16_t>(id >> 16)),
                be16(static_cast<uint16_t>(id))});
}

Bytes sll(uint16_t protocol) {
    return cat(
        {be16(0), be16(1), be16(6), {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0}, be16(protocol)});
}
Bytes sll2(uint16_t protocol) {
    return cat({be16(protocol),
                be16(0),
                {0, 0, 0, 2},
                be16(1),
                {0, 6},
                {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0}});
}

ParsedPacket parse(const Bytes& frame, LinkType link = LinkType::ethernet) {
    ParsedPacket p;
    parse_frame(frame.data(), static_cast<uint32_t>(frame.size()), link, p);
    return p;
}

void expect_v4_udp(const ParsedPacket& p, uint32_t l3) {
    EXPECT_EQ(p.status, ParseStatus::ok) << parse_status_name(p.status);
    EXPECT_EQ(p.ip_version, 4);
    EXPECT_EQ(p.protocol, 17);
    EXPECT_EQ(p.l3_offset, l3);
    EXPECT_EQ(p.l4_offset, l3 + 20);
    EXPECT_EQ(p.payload_offset, l3 + 28);
    EXPECT_EQ(p.payload_len, 5u);
    EXPECT_EQ(p.l3_end, l3 + 33);
    EXPECT_EQ(p.src_port, 5004);
    EXPECT_EQ(p.dst_port, 6006);
    const uint8_t src[16] = {10, 1, 2, 3};
    const uint8_t dst[16] = {192, 0, 2, 9};
    EXPECT_EQ(0, std::memcmp(p.src.bytes, src, 16));
    EXPECT_EQ(0, std::memcmp(p.dst.bytes, dst, 16));
    EXPECT_FALSE(p.fragment);
}

void expect_v6_udp(const ParsedPacket& p, uint32_t l3, uint32_t ext_len = 0) {
    EXPECT_EQ(p.status, ParseStatus::ok) << parse_status_name(p.status);
    EXPECT_EQ(p.ip_version, 6);
    EXPECT_EQ(p.protocol, 17);
    EXPECT_EQ(p.l3_offset, l3);
    EXPECT_EQ(p.l4_offset, l3 + 40 + ext_len);
    EXPECT_EQ(p.payload_offset, l3 + 48 + ext_len);
    EXPECT_EQ(p.payload_len, 5u);
    EXPECT_EQ(p.l3_end, l3 + 53 + ext_len);
    EXPECT_EQ(p.src_port, 5004);
    EXPECT_EQ(p.dst_port, 6006);
    EXPECT_EQ(0, std::memcmp(p.src.bytes, kV6Src.data(), 16));
    EXPECT_EQ(0, std::memcmp(p.dst.bytes, kV6Dst.data(), 16));
}

// Every strict prefix of a frame must fail with a named reason and stay inside the buffer.
void expect_truncations_fail(const Bytes& frame, LinkType link) {
    for (size_t len = 0; len < frame.size(); ++len) {
        std::unique_ptr<uint8_t[]> exact(new uint8_t[len]);
        if (len > 0) std::memcpy(exact.get(), frame.data(), len);
        ParsedPacket p;
        const ParseStatus s = parse_frame(exact.get(), static_cast<uint32_t>(len), link, p);
        EXPECT_NE(s, ParseStatus::ok) << "prefix of " << len << " octets parsed";
        EXPECT_EQ(s, p.status);
        EXPECT_STRNE(parse_status_name(s), "unknown");
    }
}

}  // namespace

TEST(Parse, EthernetIpv4Udp) {
    const Bytes f = cat({ethernet(0x0800), ipv4(udp(kPayload))});
    const ParsedPacket p = parse(f);
    expect_v4_udp(p, 14);
    EXPECT_EQ(p.ethertype, 0x0800);
    EXPECT_EQ(p.vlan_count, 0);
    EXPECT_EQ(0, std::memcmp(f.data() + p.payload_offset, "hello", 5));
    expect_truncations_fail(f, LinkType::ethernet);
}

TEST(Parse, Dot1QTag) {
    const Bytes f = cat({ethernet(0x8100), vlan(0x2064, 0x0800), ipv4(udp(kPayload))});
    const ParsedPacket p = parse(f);
    expect_v4_udp(p, 18);
    EXPECT_EQ(p.vlan_count, 1);
    EXPECT_EQ(p.vlan_ids[0], 100);  // PCP 1 stripped
    expect_truncations_fail(f, LinkType::ethernet);
}

TEST(Parse, QinQ88a8) {
    const Bytes f =
        cat({ethernet(0x88a8), vlan(10, 0x8100), vlan(20, 0x86dd), ipv6(udp(kPayload))});
    const ParsedPacket p = parse(f);
    expect_v6_udp(p, 22);
    EXPECT_EQ(p.vlan_count, 2);
    EXPECT_EQ(p.vlan_ids[0], 10);
    EXPECT_EQ(p.vlan_ids[1], 20);
    EXPECT_EQ(p.ethertype, 0x86dd);
    expect_truncations_fail(f, LinkType::ethernet);
}

TEST(Parse, QinQ9100) {
    const Bytes f =
        cat({ethernet(0x9100), vlan(0xfff, 0x8100), vlan(1, 0x0800), ipv4(udp(kPayload))});
    const ParsedPacket p = parse(f);
    expect_v4_udp(p, 22);
    EXPECT_EQ(p.vlan_ids[0], 0xfff);
    EXPECT_EQ(p.vlan_ids[1], 1);
}

TEST(Parse, FourTagsAcceptedFiveRefused) {
    const Bytes four = cat({ethernet(0x88a8), vlan(1, 0x8100), vlan(2, 0x8100), vlan(3, 0x8100),
                            vlan(4, 0x0800), ipv4(udp(kPayload))});
    const ParsedPacket p4 = parse(four);
    expect_v4_udp(p4, 30);
    EXPECT_EQ(p4.vlan_count, 4);
    const Bytes five = cat({ethernet(0x88a8), vlan(1, 0x8100), vlan(2, 0x8100), vlan(3, 0x8100),
                            vlan(4, 0x8100), vlan(5, 0x0800), ipv4(udp(kPayload))});
    EXPECT_EQ(parse(five).status, ParseStatus::too_many_vlan_tags);
}

TEST(Parse, LinuxCookedV1) {
    const Bytes f = cat({sll(0x0800), ipv4(udp(kPayload))});
    expect_v4_udp(parse(f, LinkType::linux_sll), 16);
    expect_truncations_fail(f, LinkType::linux_sll);
    // A tag left in a cooked capture is walked like on Ethernet.
    const Bytes tagged = cat({sll(0x8100), vlan(7, 0x0800), ipv4(udp(kPayload))});
    const ParsedPacket p = parse(tagged, LinkType::linux_sll);
    expect_v4_udp(p, 20);
    EXPECT_EQ(p.vlan_ids[0], 7);
}

TEST(Parse, LinuxCookedV2) {
    const Bytes f = cat({sll2(0x86dd), ipv6(udp(kPayload))});
    expect_v6_udp(parse(f, LinkType::linux_sll2), 20);
    expect_truncations_fail(f, LinkType::linux_sll2);
}

TEST(Parse, RawIp) {
    expect_v4_udp(parse(ipv4(udp(kPayload)), LinkType::raw_ip), 0);
    expect_v6_udp(parse(ipv6(udp(kPayload)), LinkType::raw_ip), 0);
    expect_truncations_fail(ipv4(udp(kPayload)), LinkType::raw_ip);
    expect_truncations_fail(ipv6(udp(kPayload)), LinkType::raw_ip);
    EXPECT_EQ(parse(Bytes{0x50, 0, 0, 0}, LinkType::raw_ip).status, ParseStatus::bad_ip_version);
}

TEST(Parse, Ipv4OptionsAndPadding) {
    // IHL 6 (one option word), then 6 octets of Ethernet padding after the datagram.
    const Bytes f =
        cat({ethernet(0x0800), ipv4(udp(kPayload), 17, {0x94, 0x04, 0, 0}), Bytes(6, 0)});
    const ParsedPacket p = parse(f);
    EXPECT_EQ(p.status, ParseStatus::ok);
    EXPECT_EQ(p.l4_offset, 14u + 24u);
    EXPECT_EQ(p.payload_offset, 14u + 32u);
    EXPECT_EQ(p.payload_len, 5u);
    EXPECT_EQ(p.l3_end, 14u + 37u);
    EXPECT_EQ(p.l3_end + 6, f.size());
}

TEST(Parse, Ipv4Fragments) {
    const Bytes first = cat({ethernet(0x0800), ipv4(udp(kPayload), 17, {}, 0x2000, 0xbeef)});
    ParsedPacket p = parse(first);
    EXPECT_EQ(p.status, ParseStatus::ipv4_fragment);
    EXPECT_TRUE(p.fragment);
    EXPECT_TRUE(p.more_fragments);
    EXPECT_EQ(p.fragment_offset, 0);
    EXPECT_EQ(p.fragment_id, 0xbeefu);
    EXPECT_EQ(p.l4_offset, 34u);
    const Bytes later = cat({ethernet(0x0800), ipv4(kPayload, 17, {}, 0x0003, 0xbeef)});
    p = parse(later);
    EXPECT_EQ(p.status, ParseStatus::ipv4_fragment);
    EXPECT_FALSE(p.more_fragments);
    EXPECT_EQ(p.fragment_offset, 3);
}

TEST(Parse, Ipv6ExtensionHeadersSkipped) {
    // hop-by-hop (8) -> routing (16) -> destination options (8) -> UDP
    const Bytes ext = cat({extension(43, 0), extension(60, 1), extension(17, 0)});
    const Bytes f = cat({ethernet(0x86dd), ipv6(udp(kPayload), 0, ext)});
    expect_v6_udp(parse(f), 14, 32);
    expect_truncations_fail(f, LinkType::ethernet);
}

TEST(Parse, Ipv6FragmentHeader) {
    const Bytes first =
        cat({ethernet(0x86dd), ipv6(udp(kPayload), 44, fragment_header(17, 0, true, 0xcafe0001))});
    ParsedPacket p = parse(first);
    EXPECT_EQ(p.status, ParseStatus::ipv6_fragment);
    EXPECT_TRUE(p.fragment);
    EXPECT_TRUE(p.more_fragments);
    EXPECT_EQ(p.fragment_id, 0xcafe0001u);
    EXPECT_EQ(p.fragment_header_offset, 54u);
    EXPECT_EQ(p.l4_offset, 62u);
    EXPECT_EQ(p.protocol, 17);
    const Bytes later =
        cat({ethernet(0x86dd), ipv6(kPayload, 44, fragment_header(17, 100, false, 7))});
    p = parse(later);
    EXPECT_EQ(p.status, ParseStatus::ipv6_fragment);
    EXPECT_EQ(p.fragment_offset, 100);
    // Atomic fragment (offset 0, M clear): a whole datagram, RFC 6946.
    const Bytes atomic =
        cat({ethernet(0x86dd), ipv6(udp(kPayload), 44, fragment_header(17, 0, false, 9))});
    p = parse(atomic);
    expect_v6_udp(p, 14, 8);
    EXPECT_FALSE(p.fragment);
}

TEST(Parse, Ipv6TooManyExtensions) {
    Bytes ext;
    for (int i = 0; i < 8; ++i) ext = cat({ext, extension(60, 0)});
    ext = cat({ext, extension(17, 0)});
    EXPECT_EQ(parse(cat({ethernet(0x86dd), ipv6(udp(kPayload), 60, ext)})).status,
              ParseStatus::bad_ipv6_extension);
    // Eight in total are fine.
    Bytes eight;
    for (int i = 0; i < 7; ++i) eight = cat({eight, extension(60, 0)});
    eight = cat({eight, extension(17, 0)});
    expect_v6_udp(parse(cat({ethernet(0x86dd), ipv6(udp(kPayload), 60, eight)})), 14, 64);
}

TEST(Parse, NotIpAndNotUdp) {
    const Bytes arp = cat({ethernet(0x0806), Bytes(28, 0)});
    ParsedPacket p = parse(arp);
    EXPECT_EQ(p.status, ParseStatus::not_ip);
    EXPECT_EQ(p.ethertype, 0x0806);
    const Bytes tcp_header(20, 0);
    p = parse(cat({ethernet(0x0800), ipv4(tcp_header, 6)}));
    EXPECT_EQ(p.status, ParseStatus::not_udp);
    EXPECT_EQ(p.protocol, 6);
    EXPECT_EQ(p.l4_offset, 34u);
    p = parse(cat({ethernet(0x86dd), ipv6(Bytes{}, 59)}));  // no next header
    EXPECT_EQ(p.status, ParseStatus::not_udp);
    EXPECT_EQ(p.protocol, 59);
}

TEST(Parse, BadHeaders) {
    Bytes f = cat({ethernet(0x0800), ipv6(udp(kPayload))});  // EtherType says IPv4
    EXPECT_EQ(parse(f).status, ParseStatus::bad_ip_version);

    f = cat({ethernet(0x0800), ipv4(udp(kPayload))});
    f[14] = 0x44;  // IHL 4
    EXPECT_EQ(parse(f).status, ParseStatus::bad_ipv4_header_length);

    f = cat({ethernet(0x0800), ipv4(udp(kPayload))});
    f[16] = 0;
    f[17] = 19;  // total length shorter than the header
    EXPECT_EQ(parse(f).status, ParseStatus::bad_ipv4_header_length);

    f = cat({ethernet(0x0800), ipv4(udp(kPayload))});
    f[17] += 1;  // one octet more than captured
    EXPECT_EQ(parse(f).status, ParseStatus::bad_ipv4_total_length);

    f = cat({ethernet(0x0800), ipv4(udp(kPayload))});
    f[14 + 20 + 5] = 7;  // UDP length 7
    EXPECT_EQ(parse(f).status, ParseStatus::bad_udp_length);
    f[14 + 20 + 5] = 14;  // past the IP datagram
    EXPECT_EQ(parse(f).status, ParseStatus::bad_udp_length);

    f = cat({ethernet(0x86dd), ipv6(udp(kPayload))});
    f[14 + 5] += 1;
    EXPECT_EQ(parse(f).status, ParseStatus::bad_ipv6_payload_length);

    // An IPv4 datagram whose total length ends inside the UDP header.
    f = cat({ethernet(0x0800), ipv4(Bytes{0x13, 0x8c, 0x17})});
    EXPECT_EQ(parse(f).status, ParseStatus::truncated_udp);
}

TEST(Parse, EveryStatusHasADistinctName) {
    std::set<std::string> names;
    for (unsigned i = 0; i < kParseStatusCount; ++i) {
        names.insert(parse_status_name(static_cast<ParseStatus>(i)));
    }
    EXPECT_EQ(names.size(), kParseStatusCount);
    EXPECT_EQ(names.count("unknown"), 0u);
}

TEST(FrameBuilder, BuiltFramesParseToTheirSpec) {
    const Bytes payload(161, 0x5a);
    for (LinkType link :
         {LinkType::ethernet, LinkType::linux_sll, LinkType::linux_sll2, LinkType::raw_ip}) {
        for (bool v6 : {false, true}) {
            UdpFrameSpec spec;
            spec.link = link;
            spec.ipv6 = v6;
            if (link == LinkType::ethernet) spec.vlans = {{0x88a8, 5}, {0x8100, 6}};
            spec.src = *parse_ip_address(v6 ? "2001:db8::10" : "198.51.100.1");
            spec.dst = *parse_ip_address(v6 ? "2001:db8::20" : "198.51.100.2");
            spec.src_port = 40000;
            spec.dst_port = 40002;
            const Bytes f = build_udp_frame(spec, payload);
            const ParsedPacket p = parse(f, link);
            ASSERT_EQ(p.status, ParseStatus::ok);
            EXPECT_EQ(p.payload_len, payload.size());
            EXPECT_EQ(p.payload_offset + payload.size(), f.size());
            EXPECT_EQ(p.src_port, 40000);
            EXPECT_EQ(p.dst_port, 40002);
            EXPECT_EQ(0, std::memcmp(p.dst.bytes, spec.dst.bytes, 16));
            const uint32_t l2 = link == LinkType::ethernet     ? 22
                                : link == LinkType::linux_sll  ? 16
                                : link == LinkType::linux_sll2 ? 20
                                                               : 0;
            EXPECT_EQ(p.l3_offset, l2);
        }
    }
}
