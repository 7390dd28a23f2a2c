// The control plane of a live probe (issue 7), end to end with real parts: liprobe runs live on a
// net_pcap port that replays a capture of a target's SRTP call for which no key is known yet, so
// its media packets wait in the pending queue; the test then POSTs the key over mutual TLS with
// curl, and the waiting packets must go out decrypted and in order (liprobe-lemf checks the
// bytes). On the way: /metrics parsed by the Prometheus client library (python3-prometheus-
// client), the DPDK telemetry commands through dpdk-telemetry.py, the status line, and a grep of
// every log line and the audit file for the target identity and the key.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "../control/pki.hpp"
#include "liprobe/net/parse.hpp"
#include "liprobe/net/pcap_file.hpp"
#include "live_probe.hpp"
#include "process.hpp"
#include "scenario.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using namespace liprobe::test;  // NOLINT: the test helpers (spawn, slurp, wait_exit, ...)

class ControlLive : public LiveProbeTest {
  protected:
    void SetUp() override { set_up("mf", "mf1", "lpctl"); }

    std::string config(int lemf_port) {
        return "[probe]\nnetwork_element_id = \"probe-t\"\noperator_id = \"op-t\"\n"
               "country_code = \"DE\"\n[dpdk]\nworkers = 1\n"
               "eal_args = [\"--no-huge\", \"--no-pci\", \"-m\", \"512\", \"--no-shconf\", "
               "\"--file-prefix=" +
               prefix_ + "\"]\nports = [\"net_pcap0,rx_pcap=" + dir_ +
               "/in.pcap\"]\n[keys]\npending_ms = 30000\n"
               "[control]\nlisten = \"127.0.0.1:" +
               std::to_string(api_port_) + "\"\ncert = \"" + server_.first + "\"\nkey = \"" +
               server_.second + "\"\nclient_ca = \"" + ca_->ca_pem() + "\"\naudit_log = \"" + dir_ +
               "/audit.jsonl\"\naudit_salt = \"live-test-salt-0123456789\"\n"
               "[[control.client]]\nsubject = \"CN=mf1,O=Operator\"\nroles = [\"keys\", "
               "\"read\"]\n[metrics]\nlisten = \"127.0.0.1:" +
               std::to_string(metrics_port_) +
               "\"\nstatus_interval_s = 1\n[export]\nspool_dir = \"\"\n"
               "[[destination]]\nid = \"lemf\"\naddress = \"127.0.0.1:" +
               std::to_string(lemf_port) +
               "\"\ntls = false\n[[warrant]]\nliid = \"LIID-ALICE\"\n"
               "targets = [\"sip:alice@example.org\"]\ndestinations = [\"lemf\"]\n";
    }

    int curl(const std::vector<std::string>& args, std::string& body) {
        return run_curl(dir_, args, body);
    }
    std::vector<std::string> api(const std::string& method, const std::string& path) {
        return {
            "--cacert",    ca_->ca_pem(), "--cert",
            client_.first, "--key",       client_.second,
            "-X",          method,        "https://localhost:" + std::to_string(api_port_) + path};
    }

    json scrape() { return scrape_metrics(dir_, metrics_port_); }

    // POSTs the scenario's key over mutual TLS; the HTTP status.
    int post_keys() {
        std::string body;
        liprobe::test::write_text(dir_ + "/keys.json", liprobe::test::keys_json(), 0600);
        auto post = api("POST", "/v1/keys");
        post.insert(post.begin(), {"-H", "Content-Type: application/json", "--data-binary",
                                   "@" + dir_ + "/keys.json"});
        return curl(post, body);
    }

    // Stops liprobe-lemf; its CC lines and the UDP payloads of its pcap, both in order.
    struct LemfCc {
        json summary;
        std::vector<json> lines;
        std::vector<std::vector<uint8_t>> payloads;
    };
    LemfCc stop_lemf() {
        LemfCc out;
        kill(lemf_, SIGTERM);
        EXPECT_EQ(wait_exit(lemf_), 0);
        lemf_ = -1;
        out.summary = json::parse(slurp(dir_ + "/lemf/summary.json"));
        std::string jsonl;
        for (const auto& e : fs::directory_iterator(dir_ + "/lemf"))
            if (e.path().extension() == ".jsonl") jsonl = e.path().string();
        if (jsonl.empty()) return out;
        for (const auto& l : read_jsonl(jsonl))
            if (l["kind"] != "iri_sip") out.lines.push_back(l);
        liprobe::net::PcapReader reader(jsonl.substr(0, jsonl.size() - 6) + ".pcap");
        liprobe::net::PcapRecord rec;
        while (reader.next(rec)) {
            liprobe::net::ParsedPacket p;
            if (liprobe::net::parse_frame(rec.data, rec.caplen, liprobe::net::LinkType::raw_ip,
                                          p) != liprobe::net::ParseStatus::ok)
                continue;
            out.payloads.emplace_back(rec.data + p.payload_offset,
                                      rec.data + p.payload_offset + p.payload_len);
        }
        return out;
    }

    // A network namespace of the test's own with the calls' addresses, and ports picked there.
    void enter_private_loopback() {
        ASSERT_NO_FATAL_FAILURE(liprobe::test::enter_private_loopback(dir_));
        api_port_ = free_port();
        metrics_port_ = free_port();
    }

    // Starts liprobe live on the namespace's loopback with cfg (rx_iface=lo) and waits until it
    // serves /metrics.
    void start_live_probe(std::string cfg) {
        const std::string pcap_port = "net_pcap0,rx_pcap=" + dir_ + "/in.pcap";
        cfg.replace(cfg.find(pcap_port), pcap_port.size(), "net_pcap0,rx_iface=lo");
        live_config_ = cfg;
        liprobe::test::write_text(dir_ + "/probe.toml", cfg, 0600);
        probe_ = spawn({LIPROBE_BIN, "--config", dir_ + "/probe.toml"}, dir_ + "/probe.out",
                       dir_ + "/probe.err");
        json m;
        ASSERT_TRUE(wait_for([&] { return (m = scrape()).is_object(); }, 20))
            << slurp(dir_ + "/probe.err");
    }

    std::string live_config_;
    int api_port_ = free_port(), metrics_port_ = free_port();
};

TEST_F(ControlLive, KeyPostedAfterTheMediaReleasesThePendingPacketsDecrypted) {
    liprobe::test::CallSpec target;
    const auto call = liprobe::test::build_call(target);
    liprobe::test::write_pcap(dir_ + "/in.pcap", call.frames);
    const size_t cc_count = call.rtp_from_caller.size() + call.rtp_from_callee.size();
    const int lemf_port = start_lemf();
    ASSERT_GT(lemf_port, 0) << slurp(dir_ + "/lemf.err");
    ASSERT_GT(api_port_, 0);
    liprobe::test::write_text(dir_ + "/probe.toml", config(lemf_port), 0600);
    probe_ = spawn({LIPROBE_BIN, "--config", dir_ + "/probe.toml"}, dir_ + "/probe.out",
                   dir_ + "/probe.err");
    ASSERT_GT(probe_, 0);

    // Every media packet of the call waits for its key.
    json m;
    ASSERT_TRUE(wait_for(
        [&] {
            m = scrape();
            return m.is_object() && m.value("liprobe_srtp_pending_packets", 0.0) == cc_count;
        },
        20))
        << slurp(dir_ + "/probe.err") << (m.is_null() ? "" : m.dump());
    EXPECT_EQ(m["#type liprobe_packets_received"], "counter");
    EXPECT_EQ(m["liprobe_packets_received_total"], call.frames.size());
    EXPECT_EQ(m["liprobe_dialogs_intercepted_total"], 1);
    EXPECT_EQ(m["liprobe_srtp_unknown_mki_total"], cc_count);
    EXPECT_EQ(m["liprobe_srtp_decrypted_packets_total"], 0);
    EXPECT_EQ(m["liprobe_keys_loaded"], 0);
    EXPECT_EQ(m["liprobe_port_rx_packets_total{name=net_pcap0,port=0}"], call.frames.size());
    EXPECT_EQ(m["#type liprobe_export_latency_seconds"], "histogram");

    // The key arrives: the waiting packets are decrypted at the next tick.
    std::string body;
    ASSERT_EQ(post_keys(), 200) << slurp(dir_ + "/body");
    EXPECT_EQ(json::parse(slurp(dir_ + "/body"))["installed"], 1);
    ASSERT_TRUE(wait_for(
        [&] {
            m = scrape();
            return m.is_object() &&
                   m.value("liprobe_srtp_decrypted_packets_total", 0.0) == cc_count;
        },
        10))
        << (m.is_null() ? "" : m.dump());
    EXPECT_EQ(m["liprobe_srtp_pending_packets"], 0);
    EXPECT_EQ(m["liprobe_srtp_pending_total{result=resolved}"], cc_count);
    EXPECT_EQ(m["liprobe_keys_loaded"], 1);
    EXPECT_EQ(m["liprobe_key_api_entries_total{result=installed}"], 1);
    EXPECT_EQ(m["liprobe_cc_records_total{kind=decrypted}"], cc_count);
    EXPECT_EQ(m["liprobe_cc_records_total{kind=encrypted}"], 0);
    ASSERT_TRUE(wait_for(
        [&] {
            m = scrape();
            return m.is_object() && m.value("liprobe_destination_sent_pdus_total{destination=lemf}",
                                            0.0) >= call.sip.size() + cc_count;
        },
        10));
    EXPECT_GE(m.value("liprobe_export_latency_seconds_count", 0.0), call.sip.size() + cc_count);

    // GET lists the key without its material.
    ASSERT_EQ(curl(api("GET", "/v1/keys"), body), 200);
    EXPECT_EQ(json::parse(body)["keys"][0]["key_id"], "01020304");

    // DPDK telemetry on the running probe (its runtime directory is named by the file prefix).
    liprobe::test::write_text(dir_ + "/telemetry.in",
                              "/liprobe/stats\n/liprobe/dialogs\n/liprobe/keys\n", 0644);
    const pid_t tel =
        spawn({"/bin/sh", "-c", "dpdk-telemetry.py -f " + prefix_ + " < " + dir_ + "/telemetry.in"},
              dir_ + "/telemetry.out", dir_ + "/telemetry.err");
    ASSERT_EQ(wait_exit_within(tel, 20), 0) << slurp(dir_ + "/telemetry.err");
    const std::string tel_out = slurp(dir_ + "/telemetry.out");
    std::vector<json> replies;
    for (size_t at = tel_out.find('{'); at != std::string::npos;) {
        size_t depth = 0, end = at;
        for (; end < tel_out.size(); ++end) {
            depth += tel_out[end] == '{';
            depth -= tel_out[end] == '}';
            if (depth == 0) break;
        }
        replies.push_back(json::parse(tel_out.substr(at, end - at + 1)));
        at = tel_out.find('{', end);
    }
    ASSERT_EQ(replies.size(), 3u) << tel_out;
    EXPECT_EQ(replies[0]["/liprobe/stats"]["srtp_decrypted"], cc_count);
    EXPECT_EQ(replies[0]["/liprobe/stats"]["received"], call.frames.size());
    EXPECT_EQ(replies[1]["/liprobe/dialogs"]["intercepted"], 1);
    EXPECT_EQ(replies[2]["/liprobe/keys"]["entries"], 1);
    EXPECT_EQ(replies[2]["/liprobe/keys"]["installed"], 1);

    // The status line comes every status_interval_s (1 s here).
    EXPECT_TRUE(wait_for(
        [&] { return slurp(dir_ + "/probe.err").find(", lemf backlog ") != std::string::npos; },
        5));
    kill(probe_, SIGTERM);
    ASSERT_EQ(wait_exit_within(probe_, 30), 0) << slurp(dir_ + "/probe.err");
    probe_ = -1;
    const std::string err = slurp(dir_ + "/probe.err"), out = slurp(dir_ + "/probe.out");
    EXPECT_NE(err.find("liprobe: status rx "), std::string::npos) << err;
    EXPECT_NE(err.find(", lemf backlog "), std::string::npos) << err;
    EXPECT_NE(out.find("pending              queued " + std::to_string(cc_count) + ", resolved " +
                       std::to_string(cc_count) + ", expired 0"),
              std::string::npos)
        << out;

    const LemfCc lemf = stop_lemf();
    EXPECT_EQ(lemf.summary["pdus"], call.sip.size() + cc_count);
    EXPECT_EQ(lemf.summary["missing"], 0);
    ASSERT_EQ(lemf.lines.size(), cc_count);
    ASSERT_EQ(lemf.payloads.size(), cc_count);
    // In order and decrypted: the LEMF's pcap holds the plaintext RTP, byte for byte.
    for (size_t i = 0; i < cc_count; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(lemf.lines[i]["kind"], "cc_rtp");
        EXPECT_EQ(lemf.lines[i]["seq"], i);
        EXPECT_EQ(lemf.payloads[i],
                  i % 2 == 0 ? call.rtp_from_caller[i / 2] : call.rtp_from_callee[i / 2]);
    }

    // No log line and no audit record names the target or shows the key.
    const std::string audit = slurp(dir_ + "/audit.jsonl");
    ASSERT_FALSE(audit.empty());
    EXPECT_NE(audit.find("\"action\":\"keys.post\""), std::string::npos) << audit;
    const json key = json::parse(liprobe::test::keys_json())["keys"][0];
    for (const std::string& text : {err, out, slurp(dir_ + "/lemf.err"), audit})
        for (const std::string& secret :
             {std::string("alice@example.org"), std::string("alice"),
              key["master_key"].get<std::string>(), key["master_salt"].get<std::string>(),
              std::string("01020304")})
            EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in:\n" << text;
}

// Revoke during a call. The test process moves into a network namespace of its own, where
// liprobe captures the loopback (net_pcap rx_iface=lo) and the test sends the call's SIP and
// SRTP as real UDP between two addresses it puts on that loopback. The key is posted before the
// call; after the first media packets are decrypted the key is revoked with DELETE; the
// remaining packets then wait for a key that never comes and go out as encrypted CC (the
// original IP packets), in order after the decrypted ones.
TEST_F(ControlLive, RevokeDuringACallDeliversTheRestEncrypted) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
    ASSERT_NO_FATAL_FAILURE(enter_private_loopback());
    liprobe::test::CallSpec target;
    const auto call = liprobe::test::build_call(target);
    const size_t cc_count = call.rtp_from_caller.size() + call.rtp_from_callee.size();
    const size_t before_revoke = 6;
    const int lemf_port = start_lemf();
    ASSERT_GT(lemf_port, 0) << slurp(dir_ + "/lemf.err");
    std::string cfg = config(lemf_port);
    cfg.replace(cfg.find("pending_ms = 30000"), 18, "pending_ms = 300");
    ASSERT_NO_FATAL_FAILURE(start_live_probe(cfg));
    json m;

    std::string body;
    ASSERT_EQ(post_keys(), 200) << slurp(dir_ + "/body");

    // The frames in time order: INVITE, 200, ACK, media alternating, BYE, 200.
    size_t media_sent = 0, frame = 0;
    auto is_media = [](const liprobe::test::Frame& f) {
        liprobe::net::ParsedPacket p;
        liprobe::net::parse_frame(f.bytes.data(), static_cast<uint32_t>(f.bytes.size()),
                                  liprobe::net::LinkType::ethernet, p);
        return p.src_port != 5060;
    };
    for (; frame < call.frames.size() && media_sent < before_revoke; ++frame) {
        ASSERT_TRUE(send_frame(call.frames[frame].bytes)) << frame;
        if (is_media(call.frames[frame])) ++media_sent;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(wait_for(
        [&] {
            m = scrape();
            return m.is_object() &&
                   m.value("liprobe_srtp_decrypted_packets_total", 0.0) == before_revoke;
        },
        10))
        << slurp(dir_ + "/probe.err") << (m.is_null() ? "" : m.dump());
    EXPECT_EQ(m["liprobe_dialogs_intercepted_total"], 1);

    ASSERT_EQ(curl(api("DELETE", "/v1/keys/01020304"), body), 200) << body;
    for (; frame < call.frames.size(); ++frame) {
        ASSERT_TRUE(send_frame(call.frames[frame].bytes)) << frame;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(wait_for(
        [&] {
            m = scrape();
            return m.is_object() && m.value("liprobe_cc_records_total{kind=encrypted}", 0.0) ==
                                        cc_count - before_revoke;
        },
        10))
        << (m.is_null() ? "" : m.dump());
    EXPECT_EQ(m["liprobe_srtp_decrypted_packets_total"], before_revoke);
    EXPECT_EQ(m["liprobe_srtp_pending_total{result=expired}"], cc_count - before_revoke);
    EXPECT_EQ(m["liprobe_keys_revoked_total"], 1);
    EXPECT_EQ(m["liprobe_keys_loaded"], 0);
    EXPECT_EQ(m["liprobe_iri_records_total"], call.sip.size());

    kill(probe_, SIGTERM);
    ASSERT_EQ(wait_exit_within(probe_, 30), 0) << slurp(dir_ + "/probe.err");
    probe_ = -1;
    const LemfCc lemf = stop_lemf();
    EXPECT_EQ(lemf.summary["missing"], 0);
    ASSERT_EQ(lemf.lines.size(), cc_count);
    ASSERT_EQ(lemf.payloads.size(), cc_count);
    for (size_t i = 0; i < cc_count; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(lemf.lines[i]["seq"], i);
        EXPECT_EQ(lemf.lines[i]["kind"], i < before_revoke ? "cc_rtp" : "cc_ip");
        const auto& plain = i % 2 == 0 ? call.rtp_from_caller[i / 2] : call.rtp_from_callee[i / 2];
        // Decrypted before the revocation; after it, the SRTP packet as sent.
        EXPECT_EQ(lemf.payloads[i], i < before_revoke ? plain : liprobe::test::protect(plain));
    }
    const std::string audit = slurp(dir_ + "/audit.jsonl");
    EXPECT_NE(audit.find("\"action\":\"keys.delete\""), std::string::npos) << audit;
}

// Issue 9: SIGHUP with a broken config keeps the running warrants. The probe runs live (as in
// the revoke test); the config file is replaced by text that is not TOML, SIGHUP, then by valid
// TOML whose warrant names an unknown destination, SIGHUP: each reload is refused with a line
// naming the problem (never the target), and the call sent afterwards is intercepted completely
// under the warrant the probe started with.
TEST_F(ControlLive, SighupWithABrokenConfigKeepsTheRunningWarrants) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
    ASSERT_NO_FATAL_FAILURE(enter_private_loopback());
    liprobe::test::CallSpec target;
    const auto call = liprobe::test::build_call(target);
    const size_t cc_count = call.rtp_from_caller.size() + call.rtp_from_callee.size();
    const int lemf_port = start_lemf();
    ASSERT_GT(lemf_port, 0) << slurp(dir_ + "/lemf.err");
    ASSERT_NO_FATAL_FAILURE(start_live_probe(config(lemf_port)));
    ASSERT_EQ(post_keys(), 200) << slurp(dir_ + "/body");

    const std::string err_path = dir_ + "/probe.err";
    auto refusals = [&] {
        const std::string err = slurp(err_path);
        size_t n = 0;
        for (size_t at = 0; (at = err.find("liprobe: reload refused: ", at)) != std::string::npos;
             ++at)
            ++n;
        return n;
    };
    // Not TOML.
    liprobe::test::write_text(dir_ + "/probe.toml", live_config_ + "[[warrant\n", 0600);
    kill(probe_, SIGHUP);
    ASSERT_TRUE(wait_for([&] { return refusals() >= 1; }, 10)) << slurp(err_path);
    // TOML, but the warrant's destination does not exist.
    std::string bad = live_config_;
    const std::string dest = "destinations = [\"lemf\"]";
    bad.replace(bad.find(dest), dest.size(), "destinations = [\"nowhere\"]");
    liprobe::test::write_text(dir_ + "/probe.toml", bad, 0600);
    const size_t before = refusals();
    kill(probe_, SIGHUP);
    ASSERT_TRUE(wait_for([&] { return refusals() > before; }, 10)) << slurp(err_path);
    EXPECT_EQ(slurp(err_path).find("liprobe: reloaded "), std::string::npos) << slurp(err_path);

    for (const auto& f : call.frames) {
        ASSERT_TRUE(send_frame(f.bytes));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    json m;
    ASSERT_TRUE(wait_for(
        [&] {
            m = scrape();
            return m.is_object() && m.value("liprobe_srtp_decrypted_packets_total", 0.0) ==
                                        static_cast<double>(cc_count);
        },
        10))
        << (m.is_null() ? "" : m.dump());
    EXPECT_EQ(m["liprobe_dialogs_intercepted_total"], 1);
    EXPECT_EQ(m["liprobe_iri_records_total"], call.sip.size());

    kill(probe_, SIGTERM);
    ASSERT_EQ(wait_exit_within(probe_, 30), 0) << slurp(err_path);
    probe_ = -1;
    const LemfCc lemf = stop_lemf();
    EXPECT_EQ(lemf.summary["missing"], 0);
    EXPECT_EQ(lemf.summary["pdus"], call.sip.size() + cc_count);
    ASSERT_EQ(lemf.payloads.size(), cc_count);
    for (size_t i = 0; i < cc_count; ++i)
        EXPECT_EQ(lemf.payloads[i],
                  i % 2 == 0 ? call.rtp_from_caller[i / 2] : call.rtp_from_callee[i / 2])
            << i;
    const std::string err = slurp(err_path);
    EXPECT_EQ(err.find("alice"), std::string::npos) << err;
}

}  // namespace
