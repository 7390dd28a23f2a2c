// End to end, offline (design.md 3.1): a capture built here -> `liprobe --config C --pcap F` ->
// liprobe-lemf on loopback; the LEMF's per-(LIID, CIN) output is checked exactly: IRI count,
// types and directions, CC count, decrypted RTP equal to the plaintext, contiguous sequence
// numbers, nothing for the non-target call; and liprobe's accounting line.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "liprobe/net/parse.hpp"
#include "liprobe/net/pcap_file.hpp"
#include "process.hpp"
#include "scenario.hpp"

extern char** environ;

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using liprobe::test::read_jsonl;
using liprobe::test::slurp;
using liprobe::test::spawn;
using liprobe::test::wait_exit;
using liprobe::test::wait_exit_within;
using liprobe::test::write_text;

// The UDP payloads (RTP) of the LEMF's pcap (raw IP records), in file order.
std::vector<std::vector<uint8_t>> pcap_payloads(const std::string& path) {
    std::vector<std::vector<uint8_t>> out;
    liprobe::net::PcapReader reader(path);
    liprobe::net::PcapRecord rec;
    while (reader.next(rec)) {
        liprobe::net::ParsedPacket p;
        if (liprobe::net::parse_frame(rec.data, rec.caplen, liprobe::net::LinkType::raw_ip, p) !=
            liprobe::net::ParseStatus::ok)
            continue;
        out.emplace_back(rec.data + p.payload_offset, rec.data + p.payload_offset + p.payload_len);
    }
    return out;
}

// The frame's IP packet inside GTP-U (TS 29.281 G-PDU, message type 255, no optional fields)
// on UDP port 2152 between two eNodeB/UPF addresses (198.51.100.1 -> .2). Checksums are zero:
// the probe does not verify them (UDP over IPv4 allows zero).
std::vector<uint8_t> gtpu_wrap(const std::vector<uint8_t>& frame, uint32_t teid) {
    liprobe::net::ParsedPacket p;
    liprobe::net::parse_frame(frame.data(), static_cast<uint32_t>(frame.size()),
                              liprobe::net::LinkType::ethernet, p);
    const std::vector<uint8_t> inner(frame.begin() + p.l3_offset, frame.begin() + p.l3_end);
    const size_t gtp_len = inner.size();
    const size_t udp_len = 8 + 8 + gtp_len;
    const size_t ip_len = 20 + udp_len;
    std::vector<uint8_t> out(frame.begin(), frame.begin() + 12);  // MAC addresses
    const uint8_t ipv4[] = {0x08,
                            0x00,
                            0x45,
                            0x00,
                            static_cast<uint8_t>(ip_len >> 8),
                            static_cast<uint8_t>(ip_len),
                            0,
                            1,
                            0x40,
                            0,
                            64,
                            17,
                            0,
                            0,
                            198,
                            51,
                            100,
                            1,
                            198,
                            51,
                            100,
                            2};
    out.insert(out.end(), std::begin(ipv4), std::end(ipv4));
    const uint8_t udp[] = {
        0x08, 0x68, 0x08, 0x68, static_cast<uint8_t>(udp_len >> 8), static_cast<uint8_t>(udp_len),
        0,    0};
    out.insert(out.end(), std::begin(udp), std::end(udp));
    const uint8_t gtp[] = {0x30,
                           0xff,
                           static_cast<uint8_t>(gtp_len >> 8),
                           static_cast<uint8_t>(gtp_len),
                           static_cast<uint8_t>(teid >> 24),
                           static_cast<uint8_t>(teid >> 16),
                           static_cast<uint8_t>(teid >> 8),
                           static_cast<uint8_t>(teid)};
    out.insert(out.end(), std::begin(gtp), std::end(gtp));
    out.insert(out.end(), inner.begin(), inner.end());
    return out;
}

class Offline : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/liprobe-offline-XXXXXX";
        dir_ = mkdtemp(tmpl);
        fs::create_directories(dir_ + "/lemf");
    }
    void TearDown() override {
        if (!::testing::Test::HasFailure()) fs::remove_all(dir_);
    }

    // Starts liprobe-lemf and returns its port.
    int start_lemf() { return lemf_.start(LEMF_BIN, dir_, dir_ + "/lemf", "etsi102232"); }

    json stop_lemf() {
        EXPECT_EQ(lemf_.stop(), 0) << slurp(dir_ + "/lemf.err");
        return json::parse(slurp(dir_ + "/lemf/summary.json"));
    }

    std::string config(int port, const std::string& deliver = "decrypted") {
        return "[probe]\nnetwork_element_id = \"probe-t\"\noperator_id = \"op-t\"\n"
               "country_code = \"DE\"\n[dpdk]\nports = []\nworkers = 1\n"
               "[keys]\npreload = \"keys.json\"\n[metrics]\nlisten = \"\"\n"
               "status_interval_s = 0\n[export]\ndrain_timeout = 10\nspool_dir = \"\"\n"
               "[[destination]]\nid = \"lemf\"\naddress = \"127.0.0.1:" +
               std::to_string(port) +
               "\"\ntls = false\n[[warrant]]\nliid = \"LIID-ALICE\"\n"
               "targets = [\"sip:alice@example.org\"]\ndestinations = [\"lemf\"]\ndeliver = \"" +
               deliver + "\"\n";
    }

    std::string dir_;
    liprobe::test::LemfProcess lemf_;
};

TEST_F(Offline, TargetCallDeliveredExactlyNonTargetNothing) {
    liprobe::test::CallSpec target;
    liprobe::test::CallSpec other;
    other.caller = "sip:carol@example.org";
    other.callee = "sip:dave@example.org";
    other.call_id = "call-2@example.org";
    other.caller_ip = 30;
    other.callee_ip = 40;
    other.start_us = target.start_us + 3000;
    const auto call = liprobe::test::build_call(target);
    const auto background = liprobe::test::build_call(other);
    std::vector<liprobe::test::Frame> frames = call.frames;
    frames.insert(frames.end(), background.frames.begin(), background.frames.end());
    liprobe::test::write_pcap(dir_ + "/in.pcap", frames);
    write_text(dir_ + "/keys.json", liprobe::test::keys_json());

    const int port = start_lemf();
    ASSERT_GT(port, 0) << slurp(dir_ + "/lemf.err");
    write_text(dir_ + "/probe.toml", config(port));
    const pid_t probe =
        spawn({LIPROBE_BIN, "--config", dir_ + "/probe.toml", "--pcap", dir_ + "/in.pcap"},
              dir_ + "/probe.out", dir_ + "/probe.err");
    ASSERT_EQ(wait_exit(probe), 0) << slurp(dir_ + "/probe.err") << slurp(dir_ + "/probe.out");
    const std::string summary = slurp(dir_ + "/probe.out");
    const size_t total = frames.size();
    EXPECT_NE(summary.find("accounting           received " + std::to_string(total) +
                           ", outcomes " + std::to_string(total) + ": balanced"),
              std::string::npos)
        << summary;
    EXPECT_NE(summary.find("  lost                 0\n"), std::string::npos) << summary;

    const json lemf = stop_lemf();
    EXPECT_EQ(lemf["missing"], 0);
    EXPECT_EQ(lemf["duplicates"], 0);
    const size_t sip_count = call.sip.size();  // 5
    const size_t cc_count = call.rtp_from_caller.size() + call.rtp_from_callee.size();
    EXPECT_EQ(lemf["pdus"], sip_count + cc_count) << lemf.dump();

    // One (LIID, CIN) output: the target's call only.
    std::vector<std::string> jsonl;
    for (const auto& e : fs::directory_iterator(dir_ + "/lemf"))
        if (e.path().extension() == ".jsonl") jsonl.push_back(e.path().string());
    ASSERT_EQ(jsonl.size(), 1u);
    EXPECT_EQ(fs::path(jsonl[0]).filename().string().rfind("LIID-ALICE_", 0), 0u);
    const auto lines = read_jsonl(jsonl[0]);
    ASSERT_EQ(lines.size(), sip_count + cc_count);

    std::vector<json> iri, cc;
    for (const auto& l : lines) (l["kind"] == "iri_sip" ? iri : cc).push_back(l);
    ASSERT_EQ(iri.size(), sip_count);
    ASSERT_EQ(cc.size(), cc_count);
    const char* types[] = {"begin", "continue", "continue", "continue", "end"};
    const char* dirs[] = {"from_target", "to_target", "from_target", "to_target", "from_target"};
    for (size_t i = 0; i < iri.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(iri[i]["seq"], i);
        EXPECT_EQ(iri[i]["iri_type"], types[i]);
        // ETSI IPMMIRI carries no payloadDirection; the X2 format does (checked there).
        if (iri[i].contains("direction")) {
            EXPECT_EQ(iri[i]["direction"], dirs[i]);
        }
        EXPECT_EQ(iri[i]["payload_bytes"], call.sip[i].size());
        EXPECT_EQ(iri[i]["cin"], iri[0]["cin"]);
    }
    EXPECT_EQ(iri[0]["sip"], "INVITE sip:bob@example.org SIP/2.0");
    EXPECT_EQ(iri[0]["time_us"], target.start_us);  // HI timestamps are the pcap record times
    for (size_t i = 0; i < cc.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(cc[i]["kind"], "cc_rtp");
        EXPECT_EQ(cc[i]["seq"], i);
        EXPECT_EQ(cc[i]["direction"], i % 2 == 0 ? "from_target" : "to_target");
        EXPECT_EQ(cc[i]["cin"], iri[0]["cin"]);
    }
    // Decrypted payloads equal the plaintext, byte for byte, in order.
    const std::string pcap = jsonl[0].substr(0, jsonl[0].size() - 6) + ".pcap";
    const auto payloads = pcap_payloads(pcap);
    ASSERT_EQ(payloads.size(), cc_count);
    for (size_t i = 0; i < cc_count; ++i) {
        SCOPED_TRACE(i);
        const auto& expected =
            i % 2 == 0 ? call.rtp_from_caller[i / 2] : call.rtp_from_callee[i / 2];
        EXPECT_EQ(payloads[i], expected);
    }
}

// No key for the call's MKI: every media packet waits in the pending queue and, at the end of
// the input, goes out as encrypted CC: the original IP packet, unchanged.
TEST_F(Offline, MissingKeyDeliversEveryPacketEncrypted) {
    liprobe::test::CallSpec target;
    const auto call = liprobe::test::build_call(target);
    liprobe::test::write_pcap(dir_ + "/in.pcap", call.frames);
    write_text(dir_ + "/keys.json", R"({"keys":[]})");
    const int port = start_lemf();
    ASSERT_GT(port, 0) << slurp(dir_ + "/lemf.err");
    write_text(dir_ + "/probe.toml", config(port));
    const pid_t probe =
        spawn({LIPROBE_BIN, "--config", dir_ + "/probe.toml", "--pcap", dir_ + "/in.pcap"},
              dir_ + "/probe.out", dir_ + "/probe.err");
    ASSERT_EQ(wait_exit(probe), 0) << slurp(dir_ + "/probe.err");
    const std::string summary = slurp(dir_ + "/probe.out");
    EXPECT_NE(summary.find("accounting           received 15, outcomes 15: balanced"),
              std::string::npos)
        << summary;
    EXPECT_NE(summary.find("pending              queued 10, resolved 0, expired 0, at end 10"),
              std::string::npos)
        << summary;
    const json lemf = stop_lemf();
    EXPECT_EQ(lemf["pdus"], 15);
    EXPECT_EQ(lemf["missing"], 0);

    std::vector<std::string> jsonl;
    for (const auto& e : fs::directory_iterator(dir_ + "/lemf"))
        if (e.path().extension() == ".jsonl") jsonl.push_back(e.path().string());
    ASSERT_EQ(jsonl.size(), 1u);
    size_t cc = 0;
    for (const auto& l : read_jsonl(jsonl[0]))
        if (l["kind"] != "iri_sip") {
            EXPECT_EQ(l["kind"], "cc_ip");
            EXPECT_EQ(l["seq"], cc);
            ++cc;
        }
    EXPECT_EQ(cc, 10u);
    // The LEMF's pcap holds the IP packets: each equals the captured frame minus Ethernet.
    const std::string pcap = jsonl[0].substr(0, jsonl[0].size() - 6) + ".pcap";
    liprobe::net::PcapReader reader(pcap);
    liprobe::net::PcapRecord rec;
    size_t i = 0;
    for (const auto& f : call.frames) {
        if (f.bytes.size() < 60 || f.bytes[14 + 9] != 17) continue;
        liprobe::net::ParsedPacket p;
        liprobe::net::parse_frame(f.bytes.data(), static_cast<uint32_t>(f.bytes.size()),
                                  liprobe::net::LinkType::ethernet, p);
        if (p.src_port == 5060) continue;  // SIP
        ASSERT_TRUE(reader.next(rec));
        EXPECT_EQ(std::vector<uint8_t>(rec.data, rec.data + rec.caplen),
                  std::vector<uint8_t>(f.bytes.begin() + 14, f.bytes.end()))
            << i;
        ++i;
    }
    EXPECT_EQ(i, 10u);
}

// Port 1 on loopback: nobody listens there, every connection attempt is refused.
constexpr int kNobodyListens = 1;

// The config of these tests with a shorter drain and a smaller memory buffer.
std::string with_export(std::string text, int drain_s, int buffer_mb) {
    const std::string drain = "drain_timeout = 10\n";
    text.replace(text.find(drain), drain.size(),
                 "drain_timeout = " + std::to_string(drain_s) +
                     "\nbuffer_mb = " + std::to_string(buffer_mb) + "\n");
    return text;
}

// Neither output may hold key material or a target identity, even when reporting loss.
void expect_no_secrets(const std::string& text) {
    for (const char* secret :
         {"000102030405060708090a0b0c0d0e0f", "a0a1a2a3a4a5", "alice@", "bob@"})
        EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in\n" << text;
}

// A destination that never accepts: the records wait in memory, the drain gives up, and the run
// says so first (the summary's first line, the exporter's log) and exits 3.
TEST_F(Offline, DestinationThatNeverConnectsLosesLoudlyAndExitsThree) {
    liprobe::test::CallSpec target;
    const auto call = liprobe::test::build_call(target);
    liprobe::test::write_pcap(dir_ + "/in.pcap", call.frames);
    write_text(dir_ + "/keys.json", liprobe::test::keys_json());
    write_text(dir_ + "/probe.toml", with_export(config(kNobodyListens), 1, 64));
    const pid_t probe =
        spawn({LIPROBE_BIN, "--config", dir_ + "/probe.toml", "--pcap", dir_ + "/in.pcap"},
              dir_ + "/probe.out", dir_ + "/probe.err");
    const std::string out_path = dir_ + "/probe.out", err_path = dir_ + "/probe.err";
    ASSERT_EQ(wait_exit_within(probe, 60), 3) << slurp(err_path) << slurp(out_path);
    const std::string summary = slurp(out_path), log = slurp(err_path);
    EXPECT_EQ(summary.rfind("liprobe offline summary\n"
                            "  lost                 15 (RECORDS LOST: exit status 3)\n",
                            0),
              0u)
        << summary;
    EXPECT_NE(summary.find("records              CC decrypted 10, CC encrypted 0, IRI 5, lost "
                           "before export 0\n"),
              std::string::npos)
        << summary;
    EXPECT_NE(summary.find("  destination lemf     encoded 15, sent 0, confirmed 0, spooled 0, "
                           "lost 15\n    lost: ring full 0, no record buffer 0, buffer/spool "
                           "full or never sent 15, encoder refused 0\n"),
              std::string::npos)
        << summary;
    EXPECT_NE(log.find("liprobe exporter lemf: cannot connect to 127.0.0.1:1"), std::string::npos)
        << log;
    EXPECT_NE(log.find("liprobe exporter lemf: drain: no spool configured, 15 PDUs never sent are "
                       "lost\nliprobe exporter lemf: at stop: 15 more lost (ring full 0, "
                       "no record buffer 0, buffer/spool full or never sent 15, encoder refused "
                       "0), 15 in total\nliprobe exporter lemf: stopped: 15 records lost in "
                       "total"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("liprobe: 15 records lost (see the summary)\n"), std::string::npos) << log;
    expect_no_secrets(summary);
    expect_no_secrets(log);
}

// More media than the memory buffer holds (1 MB, no spool, nobody listening): the loss is logged
// while the run goes on, before the drain, and every record is accounted for.
TEST_F(Offline, BufferOverflowIsLoggedWhenItStarts) {
    liprobe::test::CallSpec target;
    target.packets_each_way = 1000;  // ~1.3 MB of PDUs
    const auto call = liprobe::test::build_call(target);
    liprobe::test::write_pcap(dir_ + "/in.pcap", call.frames);
    write_text(dir_ + "/keys.json", liprobe::test::keys_json());
    write_text(dir_ + "/probe.toml", with_export(config(kNobodyListens), 1, 1));
    const pid_t probe =
        spawn({LIPROBE_BIN, "--config", dir_ + "/probe.toml", "--pcap", dir_ + "/in.pcap"},
              dir_ + "/probe.out", dir_ + "/probe.err");
    ASSERT_EQ(wait_exit_within(probe, 60), 3) << slurp(dir_ + "/probe.err");
    const std::string summary = slurp(dir_ + "/probe.out"), log = slurp(dir_ + "/probe.err");
    EXPECT_EQ(summary.rfind("liprobe offline summary\n"
                            "  lost                 2005 (RECORDS LOST: exit status 3)\n",
                            0),
              0u)
        << summary;
    EXPECT_NE(summary.find("lost 2005\n    lost: ring full 0, no record buffer 0, buffer/spool "
                           "full or never sent 2005, encoder refused 0\n"),
              std::string::npos)
        << summary;
    const size_t first = log.find("liprobe exporter lemf: losing records: ");
    const size_t drain = log.find("liprobe exporter lemf: drain: no spool configured, ");
    ASSERT_NE(first, std::string::npos) << log;
    ASSERT_NE(drain, std::string::npos) << log;
    EXPECT_LT(first, drain) << log;
    EXPECT_NE(log.find("liprobe exporter lemf: stopped: 2005 records lost in total (ring full 0, "
                       "no record buffer 0, buffer/spool full or never sent 2005, encoder "
                       "refused 0)\n"),
              std::string::npos)
        << log;
    expect_no_secrets(summary);
    expect_no_secrets(log);
}

// Issue 9: the spool's filesystem is full. liprobe runs in a private mount namespace with a
// 64 KiB tmpfs on spool_dir (root only: unshare + mount), nobody listens, 1 MB of memory buffer,
// 2005 records of about 650 octets: memory takes what fits, the spool what fits on the disk, the
// rest is lost. Every record is either spooled or counted lost, the run exits 3, and the disk
// full condition is logged once (not once per PDU), naming the reason.
TEST_F(Offline, SpoolDiskFullIsCountedLossWithOneLogLine) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root: a tmpfs in a private mount namespace";
    liprobe::test::CallSpec target;
    target.packets_each_way = 1000;
    const auto call = liprobe::test::build_call(target);
    liprobe::test::write_pcap(dir_ + "/in.pcap", call.frames);
    write_text(dir_ + "/keys.json", liprobe::test::keys_json());
    fs::create_directories(dir_ + "/spool");
    std::string toml = with_export(config(kNobodyListens), 1, 1);
    const std::string no_spool = "spool_dir = \"\"\n";
    toml.replace(toml.find(no_spool), no_spool.size(), "spool_dir = \"" + dir_ + "/spool\"\n");
    write_text(dir_ + "/probe.toml", toml);
    const pid_t probe = spawn(
        {"unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
         "mount -t tmpfs -o size=64k,mode=0700 liprobe-test-spool \"$1\" && shift && exec \"$@\"",
         "sh", dir_ + "/spool", LIPROBE_BIN, "--config", dir_ + "/probe.toml", "--pcap",
         dir_ + "/in.pcap"},
        dir_ + "/probe.out", dir_ + "/probe.err");
    ASSERT_EQ(wait_exit_within(probe, 60), 3) << slurp(dir_ + "/probe.err");
    const std::string summary = slurp(dir_ + "/probe.out"), log = slurp(dir_ + "/probe.err");
    const uint64_t lost = liprobe::test::number_after(summary, "  lost ");
    const uint64_t spooled = liprobe::test::number_after(summary, ", spooled ");
    EXPECT_GT(spooled, 0u) << summary;  // the disk took some
    EXPECT_GT(lost, 0u) << summary;
    EXPECT_EQ(lost + spooled, 2005u) << summary;
    EXPECT_NE(summary.find("  destination lemf     encoded 2005, sent 0, confirmed 0, spooled " +
                           std::to_string(spooled) + ", lost " + std::to_string(lost) +
                           "\n    lost: ring full 0, no record buffer 0, buffer/spool full or "
                           "never sent " +
                           std::to_string(lost) + ", encoder refused 0\n"),
              std::string::npos)
        << summary;
    // One line says why, however many PDUs failed.
    const std::string why = "No space left on device";
    const size_t first = log.find(why);
    ASSERT_NE(first, std::string::npos) << log;
    EXPECT_EQ(log.find(why, first + 1), std::string::npos) << log;
    EXPECT_NE(log.find("liprobe exporter lemf: spool: spool write failed: No space left on device; "
                       "PDUs that cannot be spooled are lost and counted, not logged again until "
                       "a spool write succeeds\n"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("liprobe exporter lemf: stopped: " + std::to_string(lost) +
                       " records lost in total"),
              std::string::npos)
        << log;
    expect_no_secrets(summary);
    expect_no_secrets(log);
}

// A call inside GTP-U (mobile user plane): SIP and SRTP are the inner packets; the call is
// intercepted and decrypted exactly as without the tunnel, IRI addresses are the inner ones.
TEST_F(Offline, CallInsideGtpuTunnel) {
    liprobe::test::CallSpec target;
    const auto call = liprobe::test::build_call(target);
    std::vector<liprobe::test::Frame> frames = call.frames;
    for (auto& f : frames) f.bytes = gtpu_wrap(f.bytes, 0x1234);
    liprobe::test::write_pcap(dir_ + "/in.pcap", frames);
    write_text(dir_ + "/keys.json", liprobe::test::keys_json());
    const int port = start_lemf();
    ASSERT_GT(port, 0) << slurp(dir_ + "/lemf.err");
    write_text(dir_ + "/probe.toml", config(port));
    const pid_t probe =
        spawn({LIPROBE_BIN, "--config", dir_ + "/probe.toml", "--pcap", dir_ + "/in.pcap"},
              dir_ + "/probe.out", dir_ + "/probe.err");
    ASSERT_EQ(wait_exit(probe), 0) << slurp(dir_ + "/probe.err");
    const std::string summary = slurp(dir_ + "/probe.out");
    EXPECT_NE(summary.find("accounting           received 15, outcomes 15: balanced"),
              std::string::npos)
        << summary;
    EXPECT_NE(summary.find("GTP-U 15,"), std::string::npos) << summary;
    EXPECT_NE(summary.find("SRTP                 decrypted 10, auth failed 0"), std::string::npos)
        << summary;
    const json lemf = stop_lemf();
    EXPECT_EQ(lemf["pdus"], 15);
    EXPECT_EQ(lemf["missing"], 0);
    std::vector<std::string> jsonl;
    for (const auto& e : fs::directory_iterator(dir_ + "/lemf"))
        if (e.path().extension() == ".jsonl") jsonl.push_back(e.path().string());
    ASSERT_EQ(jsonl.size(), 1u);
    const auto lines = read_jsonl(jsonl[0]);
    ASSERT_EQ(lines.size(), 15u);
    EXPECT_EQ(lines[0]["kind"], "iri_sip");
    EXPECT_EQ(lines[0]["src"], "192.0.2.10");  // the inner source, not the tunnel's
    const std::string pcap = jsonl[0].substr(0, jsonl[0].size() - 6) + ".pcap";
    const auto payloads = pcap_payloads(pcap);
    ASSERT_EQ(payloads.size(), 10u);
    for (size_t i = 0; i < payloads.size(); ++i) {
        SCOPED_TRACE(i);
        const auto& expected =
            i % 2 == 0 ? call.rtp_from_caller[i / 2] : call.rtp_from_callee[i / 2];
        EXPECT_EQ(payloads[i], expected);
    }
}

}  // namespace
