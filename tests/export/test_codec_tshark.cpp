// X2/X3 PDUs written into a pcap as one TCP stream are decoded by Wireshark's li5g dissector
// (tshark, Decode As tcp.port==N,li5g); the test asserts the values tshark prints.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "codec_test_util.hpp"
#include "liprobe/export/encoder.hpp"
#include "liprobe/export/x3.hpp"

namespace liprobe::exporter {
namespace {

constexpr uint16_t kPort = 41000;

bool have_tshark() {
    return std::system("tshark -v >/dev/null 2>&1") == 0;
}

std::string run(const std::string& cmd);

// The filter name of the TS 103 221-2 dissector in the installed tshark.
std::string dissector_name() {
    std::istringstream in(run("tshark -G protocols 2>/dev/null"));
    std::string line;
    while (std::getline(in, line)) {
        const size_t tab = line.rfind('\t');
        if (tab == std::string::npos) continue;
        const std::string name = line.substr(tab + 1);
        if (name == "li5g" || name == "5gli") return name;
    }
    return "";
}

std::string run(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return out;
    std::array<char, 4096> b;
    size_t n;
    while ((n = std::fread(b.data(), 1, b.size(), p)) > 0) out.append(b.data(), n);
    pclose(p);
    return out;
}

// Ethernet / IPv4 / TCP frames carrying the PDUs, one PDU per segment, sequence numbers
// continuous, from 10.9.0.1:40000 (the probe) to 10.9.0.2:kPort (the LEMF).
void write_pcap(const std::string& path, const std::vector<std::vector<uint8_t>>& pdus) {
    std::ofstream f(path, std::ios::binary);
    const uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 262144, 1};
    f.write(reinterpret_cast<const char*>(gh), sizeof gh);
    uint32_t seq = 1000;
    uint32_t t = 1700000000;
    for (const auto& pdu : pdus) {
        std::vector<uint8_t> fr = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
        const size_t ip_len = 20 + 20 + pdu.size();
        std::vector<uint8_t> ip = {0x45,
                                   0,
                                   static_cast<uint8_t>(ip_len >> 8),
                                   static_cast<uint8_t>(ip_len),
                                   0,
                                   1,
                                   0x40,
                                   0,
                                   64,
                                   6,
                                   0,
                                   0,
                                   10,
                                   9,
                                   0,
                                   1,
                                   10,
                                   9,
                                   0,
                                   2};
        uint32_t sum = 0;
        for (size_t i = 0; i < 20; i += 2) sum += static_cast<uint32_t>(ip[i] << 8 | ip[i + 1]);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        ip[10] = static_cast<uint8_t>(~sum >> 8);
        ip[11] = static_cast<uint8_t>(~sum);
        std::vector<uint8_t> tcp = {0x9c,
                                    0x40,
                                    kPort >> 8,
                                    kPort & 0xff,
                                    static_cast<uint8_t>(seq >> 24),
                                    static_cast<uint8_t>(seq >> 16),
                                    static_cast<uint8_t>(seq >> 8),
                                    static_cast<uint8_t>(seq),
                                    0,
                                    0,
                                    0,
                                    1,
                                    0x50,
                                    0x18,
                                    0xff,
                                    0xff,
                                    0,
                                    0,
                                    0,
                                    0};
        seq += static_cast<uint32_t>(pdu.size());
        fr.insert(fr.end(), ip.begin(), ip.end());
        fr.insert(fr.end(), tcp.begin(), tcp.end());
        fr.insert(fr.end(), pdu.begin(), pdu.end());
        const uint32_t rh[4] = {t++, 0, static_cast<uint32_t>(fr.size()),
                                static_cast<uint32_t>(fr.size())};
        f.write(reinterpret_cast<const char*>(rh), sizeof rh);
        f.write(reinterpret_cast<const char*>(fr.data()), static_cast<long>(fr.size()));
    }
}

std::vector<std::vector<std::string>> rows(const std::string& text) {
    std::vector<std::vector<std::string>> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> cols;
        std::string c;
        std::istringstream ls(line);
        while (std::getline(ls, c, '|')) cols.push_back(c);
        if (!line.empty() && line.back() == '|') cols.push_back("");
        out.push_back(cols);
    }
    return out;
}

TEST(Tshark, Li5gDissectorAgreesWithOurX2X3) {
    if (!have_tshark()) GTEST_SKIP() << "tshark not installed";
    x3::X3Encoder enc;
    WarrantInfo w;
    w.liid = "LIID1";
    const uint8_t xid[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
                             0x80, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
    std::memcpy(w.xid, xid, 16);
    w.matched_target = "sip:alice@example.org";

    std::vector<std::vector<uint8_t>> pdus;
    auto add = [&](const test::OwnedRecord& r, uint32_t seq) {
        std::vector<uint8_t> out(r.rec.len + enc.max_overhead());
        out.resize(enc.encode(r.rec, w, seq, out.data(), out.size()));
        ASSERT_FALSE(out.empty());
        pdus.push_back(out);
    };
    // 1: X3 RTP, from target, IPv4, UDP.
    test::OwnedRecord rtp(RecordKind::cc_rtp, test::rtp_packet(0x1234, 160));
    rtp.rec.direction = Direction::from_target;
    rtp.rec.cin = 0x2a;
    rtp.rec.time_us = 1700000000123456;
    test::set_v4(rtp.rec.src, 192, 0, 2, 1, 8000);
    test::set_v4(rtp.rec.dst, 198, 51, 100, 2, 9000);
    add(rtp, 7);
    // 2: X2 SIP, to target, IPv6, TCP.
    test::OwnedRecord sip(RecordKind::iri_sip,
                          test::sip_message("INVITE sip:bob@example.org SIP/2.0"));
    sip.rec.direction = Direction::to_target;
    sip.rec.cin = 0x2a;
    sip.rec.ip_protocol = 6;
    sip.rec.time_us = 1700000001000000;
    test::set_v6(sip.rec.src, 1, 5060);
    test::set_v6(sip.rec.dst, 2, 5061);
    add(sip, 0);
    // 3: keepalive, 4: keepalive acknowledgement.
    std::vector<uint8_t> ka(64), ack(64);
    ka.resize(enc.encode_keepalive(99, 0, ka.data(), ka.size()));
    ack.resize(enc.encode_keepalive_response(ka.data(), ka.size(), ack.data(), ack.size()));
    pdus.push_back(ka);
    pdus.push_back(ack);

    const std::string path =
        ::testing::TempDir() + "/liprobe_x3_" + std::to_string(getpid()) + ".pcap";
    write_pcap(path, pdus);
    const std::string fields =
        "-e li5g.ver -e li5g.type -e li5g.hl -e li5g.pl -e li5g.pf -e li5g.pd -e li5g.xid "
        "-e li5g.cid -e li5g.sq -e li5g.ts -e li5g.srcip -e li5g.dstip -e li5g.srcipv6 "
        "-e li5g.dstipv6 -e li5g.srcport -e li5g.dstport -e li5g.ipproto -e li5g.mti "
        "-e rtp.seq -e rtp.ssrc -e sip.Method";
    // Decode As needs the protocol's filter name: "5gli" up to Wireshark 4.0, "li5g" later.
    const std::string proto = dissector_name();
    ASSERT_FALSE(proto.empty()) << "tshark has no li5g/5gli dissector";
    const std::string out =
        run("tshark -n -r " + path + " -d tcp.port==" + std::to_string(kPort) + "," + proto +
            " -T fields -E separator='|' -E occurrence=f " + fields + " 2>/dev/null");
    if (!std::getenv("KEEP_PCAP")) std::remove(path.c_str());
    const auto r = rows(out);
    ASSERT_EQ(r.size(), 4u) << out;
    for (const auto& row : r) ASSERT_EQ(row.size(), 21u) << out;

    const std::string mti_hex = test::to_hex(
        reinterpret_cast<const uint8_t*>(w.matched_target.data()), w.matched_target.size());
    // X3 RTP
    EXPECT_EQ(r[0][0], "5");
    EXPECT_EQ(r[0][1], "2");
    EXPECT_EQ(r[0][2], std::to_string(40 + 8 + 12 + 16 + 12 + 5 + 4 + 21));
    EXPECT_EQ(r[0][3], "172");
    EXPECT_EQ(r[0][4], "8");
    EXPECT_EQ(r[0][5], "3");
    EXPECT_EQ(r[0][6], "12345678-9abc-4def-8011-223344556677");
    EXPECT_EQ(r[0][7], "000000000000002a");
    EXPECT_EQ(r[0][8], "7");
    // 1700000000 s + 123456000 ns
    EXPECT_NE(r[0][9].find("Nov 14, 2023 22:13:20.123456000"), std::string::npos) << r[0][9];
    EXPECT_EQ(r[0][10], "192.0.2.1");
    EXPECT_EQ(r[0][11], "198.51.100.2");
    EXPECT_EQ(r[0][14], "8000");
    EXPECT_EQ(r[0][15], "9000");
    EXPECT_EQ(r[0][16], "17");
    EXPECT_EQ(r[0][17], mti_hex);
    EXPECT_EQ(r[0][18], "4660");        // RTP seq 0x1234, dissected from the payload
    EXPECT_EQ(r[0][19], "0x11223344");  // RTP SSRC
    // X2 SIP
    EXPECT_EQ(r[1][1], "1");
    EXPECT_EQ(r[1][4], "9");
    EXPECT_EQ(r[1][5], "2");
    EXPECT_EQ(r[1][8], "0");
    EXPECT_NE(r[1][9].find("Nov 14, 2023 22:13:21.000000000"), std::string::npos) << r[1][9];
    EXPECT_EQ(r[1][12], "2001:db8::1");
    EXPECT_EQ(r[1][13], "2001:db8::2");
    EXPECT_EQ(r[1][14], "5060");
    EXPECT_EQ(r[1][15], "5061");
    EXPECT_EQ(r[1][16], "6");
    EXPECT_EQ(r[1][20], "INVITE");
    // Keepalive and acknowledgement
    EXPECT_EQ(r[2][1], "3");
    EXPECT_EQ(r[2][2], "48");
    EXPECT_EQ(r[2][3], "0");
    EXPECT_EQ(r[2][6], "00000000-0000-0000-0000-000000000000");
    EXPECT_EQ(r[2][8], "99");
    EXPECT_EQ(r[3][1], "4");
    EXPECT_EQ(r[3][8], "99");
}

}  // namespace
}  // namespace liprobe::exporter
