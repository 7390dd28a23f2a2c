// Issue 8, "N workers as exact as one": the same liprobe-gen capture through `liprobe --pcap` with
// 1, 2 and 4 workers (the offline feeder spreads it over net_ring queues by the symmetric
// Toeplitz hash) must give the same CC and IRI per (LIID, CIN), octet for octet: the LEMF's pcap
// of each (LIID, CIN), and its jsonl lines (sequence number, packet time, direction, IRI type,
// sizes) of the CC and of the IRI sequence. The jsonl file interleaves the two sequences in the
// order PDUs arrived, which is not part of the contract (each has its own sequence numbers), so
// they are compared apart.
//
// Why this can fail: the capture has 30 target calls overlapping by a few milliseconds, with RTP
// starting 40 ms after the 200 OK. Through 4 free-running workers (offline_order = "arrival",
// what every live multi-queue port did before issue 8) a media packet regularly reaches its
// worker before the SIP on another worker installed its flow: in a run on the development
// machine 1513 of 5202 media packets were counted not_intercepted and 266 of the 135 outputs'
// parts differed, CINs included (they are taken in processing order). The last test shows the
// count of such differences for the run at hand, without asserting it (it depends on timing).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "process.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using liprobe::test::slurp;
using liprobe::test::spawn;
using liprobe::test::wait_exit;
using liprobe::test::write_text;

struct Delivery {
    std::string summary;                        // liprobe's stdout
    json lemf;                                  // liprobe-lemf summary.json
    std::map<std::string, std::string> output;  // "<LIID>_<CIN>.pcap", "... cc", "... iri"
};

// The summary's lines from "packets received" through the accounting line: every outcome count.
std::string outcome_lines(const std::string& summary) {
    const size_t from = summary.find("  packets received");
    const size_t to = summary.find('\n', summary.find("  accounting"));
    return from == std::string::npos || to == std::string::npos ? ""
                                                                : summary.substr(from, to - from);
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

class WorkerCount : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        char tmpl[] = "/tmp/liprobe-workers-XXXXXX";
        dir_ = mkdtemp(tmpl);
        // Every scenario (SIP over TCP, fragmented INVITE, IPv6, VLAN, missing key, tampered,
        // rollover, ...) among 30 target calls and 8 background calls.
        const int rc = wait_exit(spawn(
            {GEN_BIN, "calls", "--out", dir_ + "/gen", "--private", "12", "--group", "6", "--ims",
             "12", "--background", "8", "--scenario", "all", "--plain", "--lemf", "127.0.0.1:1"},
            dir_ + "/gen.out", dir_ + "/gen.err"));
        ASSERT_EQ(rc, 0) << slurp(dir_ + "/gen.err");
        manifest_ = json::parse(slurp(dir_ + "/gen/manifest.json"));
    }
    static void TearDownTestSuite() {
        if (!::testing::UnitTest::GetInstance()->Failed()) fs::remove_all(dir_);
    }

    // One liprobe-lemf and one `liprobe --pcap` run with the given [dpdk] settings.
    static void deliver(unsigned workers, const std::string& order, Delivery& d) {
        const std::string run = dir_ + "/run-" + std::to_string(workers) + "-" + order;
        fs::create_directories(run + "/lemf");
        const pid_t lemf =
            spawn({LEMF_BIN, "--listen", "127.0.0.1:0", "--plain", "--out", run + "/lemf"},
                  run + "/lemf.out", run + "/lemf.err");
        ASSERT_GT(lemf, 0);
        std::string port;
        for (int i = 0; i < 400 && port.empty(); ++i) {
            const std::string out = slurp(run + "/lemf.out");
            const size_t at = out.find("listening on 127.0.0.1:");
            const size_t nl = out.find('\n', at);
            if (at != std::string::npos && nl != std::string::npos)
                port = out.substr(at + 23, nl - at - 23);
            else
                std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        ASSERT_FALSE(port.empty()) << slurp(run + "/lemf.err");
        // Written next to the generated one: its relative paths (keys.json) stay valid.
        std::string toml = slurp(dir_ + "/gen/liprobe.toml");
        toml = replaced(toml, "\"127.0.0.1:1\"", "\"127.0.0.1:" + port + "\"");
        toml = replaced(
            toml, "\nworkers = 1\n",
            "\nworkers = " + std::to_string(workers) + "\noffline_order = \"" + order + "\"\n");
        const std::string config =
            dir_ + "/gen/liprobe-" + std::to_string(workers) + "-" + order + ".toml";
        write_text(config, toml);
        const int rc =
            wait_exit(spawn({LIPROBE_BIN, "--config", config, "--pcap", dir_ + "/gen/capture.pcap"},
                            run + "/probe.out", run + "/probe.err"));
        d.summary = slurp(run + "/probe.out");
        kill(lemf, SIGTERM);
        EXPECT_EQ(wait_exit(lemf), 0) << slurp(run + "/lemf.err");
        ASSERT_EQ(rc, 0) << slurp(run + "/probe.err") << d.summary;
        d.lemf = json::parse(slurp(run + "/lemf/summary.json"));
        for (const auto& e : fs::directory_iterator(run + "/lemf")) {
            const std::string name = e.path().filename().string();
            if (e.path().extension() == ".pcap") {
                d.output[name] = slurp(e.path().string());
            } else if (e.path().extension() == ".jsonl") {
                std::string cc, iri;
                std::istringstream lines(slurp(e.path().string()));
                for (std::string line; std::getline(lines, line);)
                    (line.find("\"kind\":\"iri_sip\"") != std::string::npos ? iri : cc) +=
                        line + "\n";
                d.output[name + " cc"] = cc;
                d.output[name + " iri"] = iri;
            }
        }
    }

    // The parts of got that differ from want (or exist in only one of them).
    static std::vector<std::string> differences(const Delivery& want, const Delivery& got) {
        std::vector<std::string> out;
        for (const auto& [name, bytes] : want.output) {
            auto it = got.output.find(name);
            if (it == got.output.end() || it->second != bytes) out.push_back(name);
        }
        for (const auto& [name, bytes] : got.output)
            if (want.output.count(name) == 0) out.push_back(name + " (unexpected)");
        return out;
    }

    static const Delivery& one_worker() {
        static Delivery d;
        static bool done = false;
        if (!done) {
            deliver(1, "capture", d);
            done = true;
        }
        return d;
    }

    static std::string dir_;
    static json manifest_;
};

std::string WorkerCount::dir_;
json WorkerCount::manifest_;

TEST_F(WorkerCount, OneWorkerDeliversEveryTargetCall) {
    const Delivery& one = one_worker();
    ASSERT_FALSE(HasFatalFailure());
    size_t intercepted = 0;
    for (const auto& call : manifest_["calls"]) intercepted += call["expect"] == "intercepted";
    size_t pcaps = 0;
    for (const auto& [name, bytes] : one.output) pcaps += name.ends_with(".pcap");
    EXPECT_EQ(pcaps, intercepted) << "one (LIID, CIN) per intercepted call";
    EXPECT_EQ(one.lemf["missing"], 0) << one.lemf.dump();
    const uint64_t frames = manifest_["frames"].get<uint64_t>();
    EXPECT_NE(one.summary.find("received " + std::to_string(frames) + ", outcomes " +
                               std::to_string(frames) + ": balanced"),
              std::string::npos)
        << one.summary;
}

TEST_F(WorkerCount, TwoAndFourWorkersDeliverExactlyWhatOneDoes) {
    const Delivery& one = one_worker();
    ASSERT_FALSE(HasFatalFailure());
    for (unsigned workers : {2u, 4u}) {
        SCOPED_TRACE(std::to_string(workers) + " workers");
        Delivery n;
        deliver(workers, "capture", n);
        ASSERT_FALSE(HasFatalFailure());
        EXPECT_EQ(outcome_lines(n.summary), outcome_lines(one.summary)) << n.summary;
        EXPECT_NE(n.summary.find("  lost                 0\n"), std::string::npos) << n.summary;
        EXPECT_EQ(n.lemf["pdus"], one.lemf["pdus"]);
        EXPECT_EQ(n.lemf["missing"], 0) << n.lemf.dump();
        const auto diff = differences(one, n);
        EXPECT_TRUE(diff.empty()) << diff.size() << " parts differ, first " << diff.front();
        // The runs did cross workers: barriers held SIP back and media went to their dialogs.
        const std::string feed = "offline feed         " + manifest_["frames"].dump() +
                                 " frames to " + std::to_string(workers) +
                                 " workers, capture order (barriers ";
        EXPECT_NE(n.summary.find(feed), std::string::npos) << n.summary;
        EXPECT_EQ(n.summary.find("steered to their dialog's worker 0)"), std::string::npos)
            << n.summary;
    }
}

// Not an assertion: free-running workers depend on timing (see the comment at the top).
TEST_F(WorkerCount, FreeRunningWorkersShowWhatCaptureOrderPrevents) {
    const Delivery& one = one_worker();
    ASSERT_FALSE(HasFatalFailure());
    Delivery n;
    deliver(4, "arrival", n);
    ASSERT_FALSE(HasFatalFailure());
    const size_t diff = differences(one, n).size();
    RecordProperty("parts_differing_with_free_running_workers", static_cast<int>(diff));
    std::printf("4 free-running workers: %zu differences in the %zu output parts of one worker\n",
                diff, one.output.size());
}

}  // namespace
