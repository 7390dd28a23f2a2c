// Checksum and payload-length rewriting tests: a published IPv4 header example, an independent
// straightforward UDP checksum in this file, byte-exact comparison of a shrunk packet against the
// same packet built directly, and (when tshark is installed) Wireshark's own checksum verdicts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "liprobe/net/checksum.hpp"
#include "liprobe/net/frame_builder.hpp"
#include "liprobe/net/pcap_file.hpp"

using namespace liprobe::net;
using Bytes = std::vector<uint8_t>;

namespace {

// Independent reference: sum every 16-bit word of an explicit buffer, RFC 1071 style.
uint16_t reference_checksum(const Bytes& data) {
    uint64_t sum = 0;
    for (size_t i = 0; i < data.size(); i += 2) {
        sum += (uint64_t{data[i]} << 8) | (i + 1 < data.size() ? data[i + 1] : 0);
    }
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

uint16_t reference_udp_checksum(const Bytes& frame, const ParsedPacket& p) {
    Bytes pseudo;
    const uint8_t* ip = frame.data() + p.l3_offset;
    const uint32_t udp_len = 8 + p.payload_len;
    if (p.ip_version == 4) {
        pseudo.insert(pseudo.end(), ip + 12, ip + 20);
        pseudo.insert(pseudo.end(),
                      {0, 17, static_cast<uint8_t>(udp_len >> 8), static_cast<uint8_t>(udp_len)});
    } else {
        pseudo.insert(pseudo.end(), ip + 8, ip + 40);
        pseudo.insert(pseudo.end(), {0, 0, static_cast<uint8_t>(udp_len >> 8),
                                     static_cast<uint8_t>(udp_len), 0, 0, 0, 17});
    }
    const uint8_t* udp = frame.data() + p.l4_offset;
    pseudo.insert(pseudo.end(), udp, udp + 6);
    pseudo.insert(pseudo.end(), {0, 0});
    pseudo.insert(pseudo.end(), udp + 8, udp + udp_len);
    const uint16_t c = reference_checksum(pseudo);
    return c == 0 ? 0xffff : c;
}

uint16_t stored_udp_checksum(const Bytes& f, const ParsedPacket& p) {
    return static_cast<uint16_t>((f[p.l4_offset + 6] << 8) | f[p.l4_offset + 7]);
}

ParsedPacket parse(const Bytes& f, LinkType link = LinkType::ethernet) {
    ParsedPacket p;
    parse_frame(f.data(), static_cast<uint32_t>(f.size()), link, p);
    return p;
}

Bytes pattern(size_t n, uint8_t seed) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
    return b;
}

UdpFrameSpec spec_v4() {
    UdpFrameSpec s;
    s.src = ipv4_address(10, 0, 0, 1);
    s.dst = ipv4_address(10, 0, 0, 2);
    s.src_port = 40000;
    s.dst_port = 50000;
    s.ip_id = 0x4242;
    return s;
}

UdpFrameSpec spec_v6() {
    UdpFrameSpec s = spec_v4();
    s.ipv6 = true;
    s.src = *parse_ip_address("2001:db8:1::1");
    s.dst = *parse_ip_address("2001:db8:2::ffff");
    s.flow_label = 0x12345;
    return s;
}

// Shrinks the payload of a frame built with `before` to `after` and expects exactly the frame
// built directly with `after`.
void expect_rewrite_matches(const UdpFrameSpec& spec, const Bytes& before, const Bytes& after) {
    Bytes f = build_udp_frame(spec, before);
    ParsedPacket p = parse(f, spec.link);
    ASSERT_EQ(p.status, ParseStatus::ok);
    if (!after.empty()) std::memcpy(f.data() + p.payload_offset, after.data(), after.size());
    const uint32_t new_len =
        set_udp_payload_length(f.data(), p, static_cast<uint32_t>(after.size()));
    ASSERT_NE(new_len, 0u);
    f.resize(new_len);
    EXPECT_EQ(f, build_udp_frame(spec, after));
    const ParsedPacket q = parse(f, spec.link);
    ASSERT_EQ(q.status, ParseStatus::ok);
    EXPECT_EQ(q.payload_len, after.size());
    EXPECT_TRUE(ipv4_header_checksum_ok(f.data(), q));
    EXPECT_TRUE(udp_checksum_ok(f.data(), q));
    if (spec.udp_checksum || spec.ipv6) {
        EXPECT_EQ(stored_udp_checksum(f, q), reference_udp_checksum(f, q));
    } else {
        EXPECT_EQ(stored_udp_checksum(f, q), 0);
    }
}

}  // namespace

// The worked example of the IPv4 header checksum (Wikipedia "Internet checksum" / RFC 1071
// style): 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7 -> 0xb861.
TEST(Checksum, Ipv4HeaderPublishedExample) {
    const uint8_t header[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(ipv4_header_checksum(header, 20), 0xb861);
}

TEST(Checksum, UdpMatchesReferenceForOddAndEvenLengths) {
    for (size_t n : {0u, 1u, 2u, 3u, 160u, 161u, 1400u}) {
        for (const UdpFrameSpec& spec : {spec_v4(), spec_v6()}) {
            const Bytes f = build_udp_frame(spec, pattern(n, static_cast<uint8_t>(n)));
            const ParsedPacket p = parse(f);
            ASSERT_EQ(p.status, ParseStatus::ok);
            EXPECT_EQ(stored_udp_checksum(f, p), reference_udp_checksum(f, p)) << n;
            EXPECT_EQ(udp_checksum(f.data(), p), reference_udp_checksum(f, p));
            EXPECT_TRUE(ipv4_header_checksum_ok(f.data(), p));
            if (n > 0) {
                Bytes bad = f;
                bad.back() ^= 1;
                EXPECT_FALSE(udp_checksum_ok(bad.data(), p));
            }
        }
    }
}

TEST(Checksum, ShrinkIpv4) {
    expect_rewrite_matches(spec_v4(), pattern(196, 1), pattern(160, 9));
    expect_rewrite_matches(spec_v4(), pattern(200, 1), pattern(171, 9));  // odd
}

TEST(Checksum, ShrinkIpv4ZeroUdpChecksumStaysZero) {
    UdpFrameSpec s = spec_v4();
    s.udp_checksum = false;
    expect_rewrite_matches(s, pattern(196, 1), pattern(160, 9));
}

TEST(Checksum, ShrinkIpv6AndTagged) {
    expect_rewrite_matches(spec_v6(), pattern(196, 3), pattern(160, 4));
    UdpFrameSpec s = spec_v6();
    s.vlans = {{0x8100, 42}};
    expect_rewrite_matches(s, pattern(57, 3), pattern(28, 4));
    s = spec_v4();
    s.link = LinkType::linux_sll2;
    expect_rewrite_matches(s, pattern(57, 3), pattern(0, 4));
}

TEST(Checksum, ShrinkIpv6WithExtensionHeaderAndDropTrailer) {
    // Hand-built: IPv6 with an 8-octet destination-options header, then Ethernet trailer octets.
    Bytes f = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xdd};
    const Bytes payload = pattern(40, 5);
    const uint16_t plen = 8 + 8 + 40;
    const Bytes ip = {0x60, 0, 0, 0, 0, static_cast<uint8_t>(plen), 60, 64};
    f.insert(f.end(), ip.begin(), ip.end());
    const auto src = *parse_ip_address("fe80::1");
    const auto dst = *parse_ip_address("fe80::2");
    f.insert(f.end(), src.bytes, src.bytes + 16);
    f.insert(f.end(), dst.bytes, dst.bytes + 16);
    f.insert(f.end(), {17, 0, 1, 4, 0, 0, 0, 0});  // dest opts: PadN
    f.insert(f.end(), {0x13, 0x88, 0x13, 0x89, 0, 48, 0, 0});
    f.insert(f.end(), payload.begin(), payload.end());
    f.insert(f.end(), {0xde, 0xad, 0xbe, 0xef});  // trailer after the datagram
    ParsedPacket p = parse(f);
    ASSERT_EQ(p.status, ParseStatus::ok);
    ASSERT_EQ(p.payload_len, 40u);
    const uint32_t new_len = set_udp_payload_length(f.data(), p, 25);
    EXPECT_EQ(new_len, 14u + 40u + 8u + 8u + 25u);
    f.resize(new_len);
    const ParsedPacket q = parse(f);
    ASSERT_EQ(q.status, ParseStatus::ok);
    EXPECT_EQ(q.payload_len, 25u);
    EXPECT_EQ(f[14 + 5], 8 + 8 + 25);  // IPv6 payload length includes the extension
    EXPECT_EQ(stored_udp_checksum(f, q), reference_udp_checksum(f, q));
}

TEST(Checksum, RewriteRefusesNonUdp) {
    ParsedPacket p;
    p.status = ParseStatus::not_udp;
    uint8_t frame[64] = {};
    EXPECT_EQ(set_udp_payload_length(frame, p, 10), 0u);
}

// Wireshark's verdict on frames we rewrote: every IPv4 header and UDP checksum "Good", and a
// deliberately broken one flagged (so the check itself can fail).
TEST(Checksum, TsharkAgrees) {
    const char* tshark = std::getenv("TSHARK");
    if (tshark == nullptr || *tshark == '\0') GTEST_SKIP() << "tshark not installed";
    const std::string path =
        ::testing::TempDir() + "checksum_" + std::to_string(getpid()) + ".pcap";
    {
        PcapWriter w(path, dlt_from_link_type(LinkType::ethernet));
        int i = 0;
        for (UdpFrameSpec s : {spec_v4(), spec_v6()}) {
            for (size_t n : {11u, 160u, 171u}) {
                Bytes f = build_udp_frame(s, pattern(n + 30, 2));
                ParsedPacket p = parse(f);
                std::memcpy(f.data() + p.payload_offset, pattern(n, 7).data(), n);
                f.resize(set_udp_payload_length(f.data(), p, static_cast<uint32_t>(n)));
                w.write(1700000000, static_cast<uint32_t>(i++), f.data(),
                        static_cast<uint32_t>(f.size()));
            }
        }
        Bytes broken = build_udp_frame(spec_v4(), pattern(20, 1));
        broken[14 + 10] ^= 0x01;  // IPv4 header checksum
        w.write(1700000001, 0, broken.data(), static_cast<uint32_t>(broken.size()));
        w.close();
    }
    const std::string cmd = std::string(tshark) + " -n -r " + path +
                            " -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE"
                            " -T fields -e ip.checksum.status -e udp.checksum.status 2>/dev/null";
    FILE* pipe = popen(cmd.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string out;
    char buf[256];
    while (std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
    ASSERT_EQ(pclose(pipe), 0);
    std::remove(path.c_str());
    // Status 1 = Good, 0 = Bad; IPv6 rows have no IP checksum field.
    EXPECT_EQ(out, "1\t1\n1\t1\n1\t1\n\t1\n\t1\n\t1\n0\t1\n") << out;
}
