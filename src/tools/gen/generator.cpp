#include "generator.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common.hpp"

namespace liprobe::gen {
namespace {

constexpr uint16_t kRolloverStartSeq = 65500;
constexpr uint32_t kUnknownMkiPackets = 3;

struct StreamPlan {
    std::string label;
    RtpShape rtp;  // SSRC, first SEQ/TS, tone, header extension, CNAME
    int64_t start_us;
    Bytes master_key, master_salt, mki;
    bool rcc_roc;               // RCCm3, R = 1: the ROC follows the MKI in every packet
    net::UdpFrameSpec media;    // RTP
    net::UdpFrameSpec control;  // RTCP (same ports for rtcp-mux)
    bool sends_rtcp;
};

// A TCP SYN, for "not UDP" background traffic.
Bytes tcp_syn(const net::UdpFrameSpec& spec) {
    return tcp_frame(spec, 0x1000, 0, kTcpSyn, {});
}

}  // namespace

GenResult generate(const GenOptions& options) {
    if (options.packets_per_stream == 0)
        throw std::runtime_error("--packets-per-stream must be > 0");
    if (options.packets_per_stream > 1000000) {
        throw std::runtime_error("--packets-per-stream must be <= 1000000");
    }
    const uint32_t n = options.packets_per_stream;
    srtp_library_init();
    Random rng(options.seed);
    GenResult result;

    // ---- key material, as the mediation function would hand it over ----
    const std::string domain = "@mcptt.example.org";
    const std::string initiator = "sip:alice" + domain, receiver = "sip:bob" + domain;
    const std::vector<std::string> members = {"sip:carol" + domain, "sip:dave" + domain,
                                              "sip:erin" + domain};
    const std::string group = "sip:fire-brigade-7" + domain;

    const Bytes pck = rng.bytes(16), pck_rand = rng.bytes(16);
    const uint32_t pck_id = 0x10000000u | (rng.next32() & 0x0FFFFFFFu);  // purpose tag 1
    const Bytes gmk = rng.bytes(16), gmk_rand = rng.bytes(16);
    const uint32_t gmk_id = rng.next32() & 0x0FFFFFFFu;  // purpose tag 0
    uint32_t unknown_pck_id = 0x10000000u | (rng.next32() & 0x0FFFFFFFu);
    if (unknown_pck_id == pck_id) unknown_pck_id ^= 1;

    auto pck_master = [&](uint8_t cs_id, Bytes& key, Bytes& salt) {
        SrtpKeys k = pck_keys(pck, pck_id, pck_rand, cs_id);
        key = std::move(k.master_key);
        salt = std::move(k.master_salt);
    };
    auto gmk_master = [&](const std::string& member, Bytes& key, Bytes& salt, Bytes& mki) {
        SrtpKeys k = gmk_keys(gmk, gmk_id, gmk_rand, member);
        key = std::move(k.master_key);
        salt = std::move(k.master_salt);
        mki = std::move(k.mki);
    };

    nlohmann::ordered_json keys = {{"keys",
                                    {{{"type", "pck"},
                                      {"key_id", hex(be32(pck_id))},
                                      {"key", hex(pck)},
                                      {"rand", hex(pck_rand)},
                                      {"cs_ids", {0, 1}},
                                      {"initiator", initiator},
                                      {"receiver", receiver},
                                      {"not_before", kNotBefore},
                                      {"not_after", kNotAfter}},
                                     {{"type", "gmk"},
                                      {"key_id", hex(be32(gmk_id))},
                                      {"key", hex(gmk)},
                                      {"rand", hex(gmk_rand)},
                                      {"members", members},
                                      {"cs_ids", {4}},
                                      {"group_id", group},
                                      {"not_before", kNotBefore},
                                      {"not_after", kNotAfter}}}}};

    // ---- hosts and streams ----
    const Host alice = host("198.51.100.10", 0x10), bob = host("198.51.100.20", 0x20);
    const Host carol = host("203.0.113.30", 0x30), dave = host("203.0.113.40", 0x40);
    const Host erin = host("2001:db8:100::50", 0x50);
    const Host server4 = host("203.0.113.1", 0x01), server6 = host("2001:db8:100::1", 0x01);
    const Host mallory = host("198.51.100.70", 0x70), trent = host("198.51.100.80", 0x80);

    std::vector<StreamPlan> plans;
    auto plan = [&](std::string label, double tone, int64_t offset_us, const Host& from,
                    uint16_t sport, const Host& to, uint16_t dport, bool rtcp_mux) {
        StreamPlan s{};
        s.label = std::move(label);
        s.rtp.ssrc = rng.next32();
        s.rtp.start_seq = static_cast<uint16_t>(rng.next32() & 0x3FFF);
        s.rtp.start_ts = rng.next32();
        s.start_us = kCaptureStartUs + offset_us;
        s.rtp.tone_hz = tone;
        s.media = udp_spec(from, sport, to, dport);
        s.control = rtcp_mux ? s.media
                             : udp_spec(from, static_cast<uint16_t>(sport + 1), to,
                                        static_cast<uint16_t>(dport + 1));
        s.media.ip_id = static_cast<uint16_t>(rng.next32());
        s.control.ip_id = static_cast<uint16_t>(s.media.ip_id + 0x8000);
        return s;
    };

    StreamPlan a = plan("private call alice->bob, CS-ID 0, IPv4, UDP checksum 0", 440, 10000, alice,
                        40000, bob, 41000, false);
    pck_master(0, a.master_key, a.master_salt);
    a.mki = be32(pck_id);
    a.media.udp_checksum = a.control.udp_checksum = false;
    a.sends_rtcp = true;
    a.rtp.cname = "alice";
    plans.push_back(a);

    StreamPlan b =
        plan("private call bob->alice, CS-ID 1, IPv4", 554, 15000, bob, 41000, alice, 40000, false);
    pck_master(1, b.master_key, b.master_salt);
    b.mki = be32(pck_id);
    b.sends_rtcp = true;
    b.rtp.cname = "bob";
    plans.push_back(b);

    StreamPlan c = plan("group call carol, SEQ from 65500 (ROC 0->1), IPv4, rtcp-mux", 659, 20000,
                        carol, 42000, server4, 50000, true);
    gmk_master(members[0], c.master_key, c.master_salt, c.mki);
    c.rtp.start_seq = kRolloverStartSeq;
    c.rcc_roc = true;
    c.sends_rtcp = true;
    c.rtp.cname = "carol";
    plans.push_back(c);

    StreamPlan d = plan("group call dave, 802.1Q VLAN 100, IPv4", 784, 25000, dave, 42002, server4,
                        50002, true);
    gmk_master(members[1], d.master_key, d.master_salt, d.mki);
    d.media.vlans = d.control.vlans = {{net::kEtherTypeVlan, 100}};
    d.rcc_roc = true;
    d.rtp.cname = "dave";
    plans.push_back(d);

    StreamPlan e = plan("group call erin, IPv6, RTP header extension, rtcp-mux", 880, 30000, erin,
                        42004, server6, 50004, true);
    gmk_master(members[2], e.master_key, e.master_salt, e.mki);
    e.rcc_roc = true;
    e.rtp.header_extension = true;
    e.sends_rtcp = true;
    e.rtp.cname = "erin";
    plans.push_back(e);

    // A private call whose keys the mediation function never sent.
    StreamPlan u =
        plan("private call without keys", 300, 200000 + 7000, mallory, 43000, trent, 43002, false);
    u.master_key = rng.bytes(16);
    u.master_salt = rng.bytes(12);
    u.mki = be32(unknown_pck_id);

    // ---- packets ----
    Capture capture;
    ExpectedCounts& x = result.expected;
    const uint32_t tamper_index = n / 2;
    for (const StreamPlan& s : plans) {
        SrtpSender sender(s.rtp.ssrc, SrtpKeys{s.master_key, s.master_salt, s.mki});
        for (uint32_t i = 0; i < n; ++i) {
            const int64_t t = s.start_us + int64_t{i} * kPacketIntervalUs;
            const Bytes plain = rtp_packet(s.rtp, i);
            uint32_t roc = 0;
            Bytes srtp = sender.protect_rtp(plain, &roc);
            const uint32_t expected_roc = (uint32_t{s.rtp.start_seq} + i) >> 16;
            if (roc != expected_roc) {
                throw std::runtime_error("libsrtp2 used ROC " + std::to_string(roc) + " where " +
                                         std::to_string(expected_roc) + " was expected (" +
                                         s.label + ")");
            }
            if (s.rcc_roc) {
                const Bytes r = be32(roc);
                srtp.insert(srtp.end(), r.begin(), r.end());
            }
            net::UdpFrameSpec spec = s.media;
            spec.ip_id = static_cast<uint16_t>(s.media.ip_id + i);
            capture.add(t, net::build_udp_frame(spec, srtp), net::build_udp_frame(spec, plain));
            ++x.decrypted;
            if (&s == &plans.front() && i == tamper_index) {
                // A forged copy one millisecond later: one ciphertext bit flipped.
                Bytes forged = srtp;
                forged[12 + 3] ^= 0x01;
                const Bytes frame = net::build_udp_frame(spec, forged);
                capture.add_unchanged(t + 1000, frame);
                ++x.auth_failed;
            }
            if (s.sends_rtcp && i == n / 2) {
                const int64_t rt = t + 5000;
                const Bytes report = rtcp_report(s.rtp, i + 1, rt);
                const Bytes srtcp = sender.protect_rtcp(report);
                capture.add(rt, net::build_udp_frame(s.control, srtcp),
                            net::build_udp_frame(s.control, report));
                ++x.decrypted;
                ++x.decrypted_srtcp;
            }
        }
        result.rtp_ports.push_back(s.media.dst_port);
    }
    {
        SrtpSender sender(u.rtp.ssrc, SrtpKeys{u.master_key, u.master_salt, u.mki});
        for (uint32_t i = 0; i < kUnknownMkiPackets; ++i) {
            uint32_t roc = 0;
            const Bytes srtp = sender.protect_rtp(rtp_packet(u.rtp, i), &roc);
            net::UdpFrameSpec spec = u.media;
            spec.ip_id = static_cast<uint16_t>(u.media.ip_id + i);
            capture.add_unchanged(u.start_us + int64_t{i} * kPacketIntervalUs,
                                  net::build_udp_frame(spec, srtp));
            ++x.unknown_mki;
        }
    }

    // ---- background: DNS, SIP keep-alive, ARP, TCP ----
    const Host dns = host("198.51.100.53", 0x53);
    Bytes query = {0x1f, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    for (const std::string label : {"mcptt", "example", "org"}) {
        query.push_back(static_cast<uint8_t>(label.size()));
        query.insert(query.end(), label.begin(), label.end());
    }
    query.insert(query.end(), {0, 0, 1, 0, 1});
    capture.add_unchanged(kCaptureStartUs + 3000,
                          net::build_udp_frame(udp_spec(alice, 53001, dns, 53), query));
    Bytes response = query;
    response[2] = 0x81;
    response[3] = 0x80;
    response[7] = 1;  // one answer
    response.insert(response.end(),
                    {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 203, 0, 113, 1});
    capture.add_unchanged(kCaptureStartUs + 4000,
                          net::build_udp_frame(udp_spec(dns, 53, alice, 53001), response));
    const std::string options_msg =
        "OPTIONS sip:mcptt.example.org SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 203.0.113.30:5060;branch=z9hG4bK-keepalive-1\r\n"
        "Max-Forwards: 70\r\nFrom: <" +
        members[0] +
        ">;tag=ka1\r\nTo: <sip:mcptt.example.org>\r\n"
        "Call-ID: keepalive-1@203.0.113.30\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    capture.add_unchanged(
        kCaptureStartUs + 100000,
        net::build_udp_frame(udp_spec(carol, 5060, server4, 5060), text(options_msg)));
    x.not_srtp += 3;
    capture.add_unchanged(kCaptureStartUs + 1000, arp_request(alice, bob));
    capture.add_unchanged(kCaptureStartUs + 2000, tcp_syn(udp_spec(dave, 51514, server4, 443)));
    x.other += 2;

    namespace fs = std::filesystem;
    fs::create_directories(options.out_dir);
    const fs::path dir(options.out_dir);
    capture.write((dir / "capture.pcap").string(), (dir / "expected.pcap").string());
    x.packets = capture.size();
    {
        std::ofstream out(dir / "keys.json");
        out << keys.dump(2) << "\n";
        if (!out) throw std::runtime_error((dir / "keys.json").string() + ": write failed");
    }

    auto& sum = result.summary;
    sum.push_back("seed " + std::to_string(options.seed) + ", " + std::to_string(n) +
                  " RTP packets per stream (G.711 mu-law tones, 20 ms)");
    sum.push_back("MCPTT private call: pck key_id " + hex(be32(pck_id)) + ", " + initiator +
                  " <-> " + receiver + ", MKI = PCK-ID (4 octets), no ROC field");
    sum.push_back("MCPTT group call: gmk key_id " + hex(be32(gmk_id)) + ", " + group +
                  ", MKI = GMK-ID || GUK-ID (8 octets), RCC ROC in every packet");
    for (const StreamPlan& s : plans) {
        char line[160];
        std::snprintf(line, sizeof line, "  ssrc %08x  udp dport %u  %s", s.rtp.ssrc,
                      s.media.dst_port, s.label.c_str());
        sum.push_back(line);
    }
    sum.push_back("SRTCP reports: " + std::to_string(x.decrypted_srtcp) +
                  "; decoys: " + std::to_string(x.unknown_mki) +
                  " SRTP packets with an MKI "
                  "nobody holds keys for, 1 forged packet");
    sum.push_back("background: DNS query/response, SIP OPTIONS, ARP, TCP SYN");
    if (uint32_t{kRolloverStartSeq} + n <= 65536) {
        sum.push_back(
            "note: fewer than 37 packets per stream, so carol's stream does not roll over");
    }
    return result;
}

}  // namespace liprobe::gen
