// X1 on a running probe (issue 7), real parts end to end: liprobe captures the loopback of a
// network namespace the test creates (net_pcap rx_iface=lo), the test sends SIP/SRTP calls as
// real UDP and plays the ADMF with curl over mutual TLS (role x1). Checked through /metrics (the
// Prometheus parser) and the exit summary:
//  - CreateDestination + ActivateTask: the next call of the target is intercepted and delivered
//    to the X1 destination (an exporter created at runtime);
//  - restart: the task comes back from the state file (mode 0600) and intercepts again;
//  - DeactivateTask in the middle of a call: that dialog's records stop at once (no CC for its
//    later packets once their pending time has passed); the next call is not intercepted; the
//    LEMF gets exactly one HI1 liDeactivated for the LIID, after its last CC and IRI;
//  - SIGHUP with a broken config is refused and the config warrant keeps intercepting; a good
//    one adds a destination and a warrant at runtime;
//  - every packet is accounted (outcomes add up to received), and no log or audit line names a
//    target.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>

#include "../x1/x1_messages.hpp"
#include "live_probe.hpp"
#include "scenario.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using namespace liprobe::test;  // NOLINT: the test helpers

class X1Live : public LiveProbeTest {
  protected:
    void SetUp() override { set_up("admf", "admf1", "lpx1"); }

    // A config warrant for carol; X1 destinations get no TLS (loopback lab use).
    std::string config(const std::string& extra = "") {
        return "[probe]\nnetwork_element_id = \"probe-1\"\noperator_id = \"op-t\"\n"
               "country_code = \"DE\"\n[dpdk]\nworkers = 1\n"
               "eal_args = [\"--no-huge\", \"--no-pci\", \"-m\", \"512\", \"--no-shconf\", "
               "\"--file-prefix=" +
               prefix_ +
               "\"]\nports = [\"net_pcap0,rx_iface=lo\"]\n[keys]\npending_ms = 300\n"
               "[control]\nlisten = \"127.0.0.1:" +
               std::to_string(api_port_) + "\"\ncert = \"" + server_.first + "\"\nkey = \"" +
               server_.second + "\"\nclient_ca = \"" + ca_->ca_pem() + "\"\naudit_log = \"" + dir_ +
               "/audit.jsonl\"\naudit_salt = \"x1-live-salt-0123456789\"\nx1_state = \"" + dir_ +
               "/x1_state.json\"\n[[control.client]]\nsubject = \"CN=admf1,O=Operator\"\n"
               "roles = [\"x1\"]\n[metrics]\nlisten = \"127.0.0.1:" +
               std::to_string(metrics_port_) +
               "\"\nstatus_interval_s = 0\n[export]\nspool_dir = \"\"\ntls = false\n"
               "[[destination]]\nid = \"lemf\"\naddress = \"127.0.0.1:" +
               std::to_string(lemf_port_) +
               "\"\ntls = false\n[[warrant]]\nliid = \"LIID-CAROL\"\n"
               "targets = [\"sip:carol@example.org\"]\ndestinations = [\"lemf\"]\n" +
               extra;
    }

    void start_probe() {
        probe_ = spawn({LIPROBE_BIN, "--config", dir_ + "/probe.toml"}, dir_ + "/probe.out",
                       dir_ + "/probe.err");
        ASSERT_GT(probe_, 0);
        json m;
        ASSERT_TRUE(wait_for([&] { return (m = scrape()).is_object(); }, 20))
            << slurp(dir_ + "/probe.err");
    }
    // SIGTERM and the exit summary (stdout).
    std::string stop_probe() {
        kill(probe_, SIGTERM);
        EXPECT_EQ(wait_exit_within(probe_, 30), 0) << slurp(dir_ + "/probe.err");
        probe_ = -1;
        return slurp(dir_ + "/probe.out");
    }

    json scrape() { return scrape_metrics(dir_, metrics_port_); }
    // Waits until `dialogs` dialogs were intercepted and the last call's records went out
    // through the destination whose sent-PDU metric is `sent_metric`.
    ::testing::AssertionResult delivered(double dialogs, const std::string& sent_metric) {
        json m;
        if (wait_for(
                [&] {
                    m = scrape();
                    return m.is_object() &&
                           m.value("liprobe_dialogs_intercepted_total", 0.0) == dialogs &&
                           m.value(sent_metric, 0.0) >= last_call_frames_;
                },
                10))
            return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << slurp(dir_ + "/probe.err") << m.dump();
    }
    double metric(const std::string& name) {
        const json m = scrape();
        return m.is_object() ? m.value(name, 0.0) : -1;
    }

    // One X1 request over mutual TLS; the response body (HTTP status checked).
    std::string x1(const std::vector<std::string>& messages, int expect_http = 200) {
        write_text(dir_ + "/x1.xml", x1_request(messages), 0600);
        std::string body;
        const int http = run_curl(
            dir_,
            {"--cacert", ca_->ca_pem(), "--cert", client_.first, "--key", client_.second, "-H",
             "Content-Type: application/xml", "--data-binary", "@" + dir_ + "/x1.xml",
             "https://localhost:" + std::to_string(api_port_) + "/X1/NE"},
            body);
        EXPECT_EQ(http, expect_http) << body << slurp(dir_ + "/curl.err");
        return body;
    }

    // A call between `caller` and dave: INVITE, 200, ACK, 3 SRTP packets each way, BYE, 200.
    static Call make_call(const std::string& caller, const std::string& call_id,
                          uint16_t rtp_base) {
        CallSpec spec;
        spec.caller = caller;
        spec.callee = "sip:dave@example.org";
        spec.call_id = call_id;
        spec.caller_rtp = rtp_base;
        spec.callee_rtp = static_cast<uint16_t>(rtp_base + 1000);
        spec.packets_each_way = 3;
        return build_call(spec);
    }
    // Sends frames [from, to) of a call as real UDP.
    void send_frames(const Call& call, size_t from, size_t to) {
        for (size_t i = from; i < to && i < call.frames.size(); ++i) {
            EXPECT_TRUE(send_frame(call.frames[i].bytes));
            std::this_thread::sleep_for(std::chrono::milliseconds(3));
        }
        last_call_frames_ = call.frames.size();
    }
    void send_call(const std::string& caller, const std::string& call_id, uint16_t rtp_base) {
        const Call call = make_call(caller, call_id, rtp_base);
        send_frames(call, 0, call.frames.size());
    }
    int api_port_ = -1, metrics_port_ = -1, lemf_port_ = -1;
    size_t last_call_frames_ = 0;
};

TEST_F(X1Live, TasksChangeInterceptionForNewDialogsAndSurviveARestart) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
    ASSERT_NO_FATAL_FAILURE(enter_private_loopback(dir_));
    api_port_ = free_port();
    metrics_port_ = free_port();
    lemf_port_ = start_lemf();
    ASSERT_GT(lemf_port_, 0) << slurp(dir_ + "/lemf.err");
    write_text(dir_ + "/probe.toml", config(), 0600);
    ASSERT_NO_FATAL_FAILURE(start_probe());

    // The ADMF provisions a destination (the LEMF) and a task for alice.
    std::string r = x1({message("CreateDestinationRequest",
                                destination_details(kDid1, "127.0.0.1", lemf_port_, "etsi102232")),
                        message("ActivateTaskRequest",
                                task_details(kXidA, {target("sipUri", "sip:alice@example.org")},
                                             kDid1, "LIID-X1"))});
    ASSERT_NE(r.find("ActivateTaskResponse"), std::string::npos) << r;
    ASSERT_NE(r.find("CreateDestinationResponse"), std::string::npos) << r;
    struct stat st;
    ASSERT_EQ(stat((dir_ + "/x1_state.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    const std::string did_metric =
        std::string("liprobe_destination_sent_pdus_total{destination=") + kDid1 + "}";
    send_call("sip:alice@example.org", "a1@example.org", 40000);
    ASSERT_TRUE(delivered(1, did_metric));

    // Restart: the task and its destination come back from the state file.
    std::string summary = stop_probe();
    EXPECT_NE(summary.find("lost                 0"), std::string::npos) << summary;
    ASSERT_NO_FATAL_FAILURE(start_probe());
    r = x1({message("GetTaskDetailsRequest", std::string("<xId>") + kXidA + "</xId>")});
    EXPECT_NE(r.find("<liprobe:liid>LIID-X1</liprobe:liid>"), std::string::npos) << r;
    send_call("sip:alice@example.org", "a2@example.org", 41000);
    ASSERT_TRUE(delivered(1, did_metric));

    // Deactivated in the middle of alice's call: its records stop at once (the first two media
    // packets, pending without a key, have gone out as encrypted CC before).
    const Call mid = make_call("sip:alice@example.org", "am@example.org", 46000);
    json m;
    const auto records = [&] {
        return m.value("liprobe_cc_records_total{kind=encrypted}", 0.0) +
               m.value("liprobe_cc_records_total{kind=decrypted}", 0.0) +
               m.value("liprobe_iri_records_total", 0.0);
    };
    double expired_before = -1, records_before = -1, media_before = -1, sip_before = -1;
    ASSERT_TRUE(wait_for(
        [&] {
            m = scrape();
            expired_before = m.value("liprobe_srtp_pending_total{result=expired}", 0.0);
            return m.is_object();
        },
        5));
    send_frames(mid, 0, 5);  // INVITE, 200, ACK, 2 SRTP
    ASSERT_TRUE(wait_for(
        [&] {
            m = scrape();
            return m.is_object() && m.value("liprobe_dialogs_intercepted_total", 0.0) == 2 &&
                   m.value("liprobe_srtp_pending_total{result=expired}", 0.0) == expired_before + 2;
        },
        10))
        << m.dump();
    records_before = records();
    media_before = m.value("liprobe_media_packets_total", 0.0);
    sip_before = m.value("liprobe_sip_messages_total", 0.0);
    r = x1({message("DeactivateTaskRequest", std::string("<xId>") + kXidA + "</xId>")});
    ASSERT_NE(r.find("DeactivateTaskResponse"), std::string::npos) << r;
    send_frames(mid, 5, mid.frames.size());  // 4 SRTP, BYE, 200
    ASSERT_TRUE(wait_for(
        [&] {
            m = scrape();
            return m.is_object() &&
                   m.value("liprobe_media_packets_total", 0.0) == media_before + 4 &&
                   m.value("liprobe_sip_messages_total", 0.0) == sip_before + 2;
        },
        10))
        << m.dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(600));  // past pending_ms
    m = scrape();
    EXPECT_EQ(records(), records_before) << m.dump();

    // Alice's next call is not intercepted, carol's (config warrant) is.
    send_call("sip:alice@example.org", "a3@example.org", 42000);
    send_call("sip:carol@example.org", "c1@example.org", 43000);
    ASSERT_TRUE(wait_for(
        [&] {
            m = scrape();
            return m.is_object() && m.value("liprobe_dialogs_intercepted_total", 0.0) == 3 &&
                   m.value("liprobe_packets_total{outcome=sip_not_intercepted}", 0.0) >= 5;
        },
        10))
        << m.dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(metric("liprobe_dialogs_intercepted_total"), 3);

    // SIGHUP with a broken config: refused, the running warrants stay.
    write_text(dir_ + "/probe.toml", config("[[warrant]]\nliid = 7\n"), 0600);
    kill(probe_, SIGHUP);
    ASSERT_TRUE(wait_for(
        [&] { return slurp(dir_ + "/probe.err").find("reload refused") != std::string::npos; }, 10))
        << slurp(dir_ + "/probe.err");
    send_call("sip:carol@example.org", "c2@example.org", 44000);
    ASSERT_TRUE(wait_for([&] { return metric("liprobe_dialogs_intercepted_total") == 4; }, 10));

    // A good SIGHUP adds a destination and a warrant for erin while running.
    write_text(dir_ + "/probe.toml",
               config("[[destination]]\nid = \"lemf2\"\naddress = \"127.0.0.1:" +
                      std::to_string(lemf_port_) +
                      "\"\ntls = false\n[[warrant]]\nliid = \"LIID-ERIN\"\n"
                      "targets = [\"sip:erin@example.org\"]\ndestinations = [\"lemf2\"]\n"),
               0600);
    kill(probe_, SIGHUP);
    ASSERT_TRUE(wait_for(
        [&] {
            return slurp(dir_ + "/probe.err").find("reloaded 2 warrants and 2 destinations") !=
                   std::string::npos;
        },
        10))
        << slurp(dir_ + "/probe.err");
    send_call("sip:erin@example.org", "e1@example.org", 45000);
    ASSERT_TRUE(delivered(5, "liprobe_destination_sent_pdus_total{destination=lemf2}"));

    summary = stop_probe();
    EXPECT_NE(summary.find(": balanced"), std::string::npos) << summary;
    EXPECT_NE(summary.find("lost                 0"), std::string::npos) << summary;

    // The LEMF was told, once, after the last CC and IRI of LIID-X1 (ETSI HI1-Operation
    // liDeactivated, PSHeader CIN 0, HI1 sequence 0); no other LIID was deactivated.
    kill(lemf_, SIGTERM);
    EXPECT_EQ(wait_exit(lemf_), 0);
    lemf_ = -1;
    const json lemf = json::parse(slurp(dir_ + "/lemf/summary.json"));
    EXPECT_EQ(lemf["li_deactivated"], json({{"LIID-X1", 1}})) << lemf.dump();
    uint64_t liid_records = 0;
    for (const json& st : lemf["streams"])
        if (st["liid"] == "LIID-X1" && st["stream"] != "hi1")
            liid_records += st["pdus"].get<uint64_t>();
    EXPECT_GT(liid_records, 0u);
    const auto notes = read_jsonl(dir_ + "/lemf/LIID-X1_0.jsonl");
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0]["kind"], "li_deactivated");
    EXPECT_EQ(notes[0]["seq"], 0);
    EXPECT_EQ(notes[0]["notification_liid"], "LIID-X1");
    EXPECT_EQ(notes[0]["notification_operator"], "op-t");
    EXPECT_EQ(notes[0]["liid_records_before"], liid_records) << notes[0].dump();

    // Audited: the task changes and the refused reload; no identity in any log or the audit.
    const std::string audit = slurp(dir_ + "/audit.jsonl");
    EXPECT_NE(audit.find("\"action\":\"x1.ActivateTask\""), std::string::npos) << audit;
    EXPECT_NE(audit.find("\"action\":\"x1.DeactivateTask\""), std::string::npos) << audit;
    const auto lines = read_jsonl(dir_ + "/audit.jsonl");
    const auto reloads = std::count_if(lines.begin(), lines.end(), [](const json& l) {
        return l["action"] == "config.reload" && l["result"] == "refused";
    });
    EXPECT_EQ(reloads, 1) << audit;
    for (const std::string& text :
         {audit, slurp(dir_ + "/probe.err"), slurp(dir_ + "/probe.out"), slurp(dir_ + "/lemf.err")})
        for (const char* who : {"alice@", "carol@", "erin@", "dave@"})
            EXPECT_EQ(text.find(who), std::string::npos) << who << " in:\n" << text;
}

}  // namespace
