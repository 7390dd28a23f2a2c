// Malformed-traffic soak (issue 9): liprobe-gen calls (every scenario: private, group, IMS,
// background, rollover, missing key, tampered, IPv6, VLAN, fragmented INVITE, SIP over TCP, ...)
// then liprobe-gen noise interleaves mutated packets (bit flips, truncations, bad lengths,
// overlapping fragments, absurd SDP, random MKIs and CSRC counts, TCP, GTP-U, garbage). The
// offline probe runs on the capture with and without the noise, each time into a fresh
// liprobe-lemf. Checked: both runs exit 0 (no crash, nothing lost), the accounting line is
// balanced with the exact packet counts, the noise reached the parsers (named drops and
// malformed SIP), and the LEMF output is the same: the same files, every per-(LIID, CIN) pcap
// byte-identical, and in every jsonl the IRI lines and the CC lines each identical and in order.
//
// LIPROBE_SOAK_PACKETS (default 20000) and LIPROBE_SOAK_SEED (default 1) size it;
// scripts/soak.sh runs it with 1,000,000.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "process.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using liprobe::test::LemfProcess;
using liprobe::test::number_after;
using liprobe::test::slurp;
using liprobe::test::spawn;
using liprobe::test::wait_exit;
using liprobe::test::wait_exit_within;
using liprobe::test::write_text;

uint64_t env_number(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// The regular files under dir (relative name -> content), summary.json left out (it holds
// connection counts and times of the LEMF run, not delivered records).
std::map<std::string, std::string> outputs(const std::string& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (e.is_regular_file() && name != "summary.json") out[name] = slurp(e.path().string());
    }
    return out;
}

// The lines of a LEMF jsonl file split into its IRI and its CC stream, each in order.
std::pair<std::vector<std::string>, std::vector<std::string>> streams_of(const std::string& text) {
    std::pair<std::vector<std::string>, std::vector<std::string>> out;
    size_t at = 0;
    while (at < text.size()) {
        size_t nl = text.find('\n', at);
        if (nl == std::string::npos) nl = text.size();
        const std::string line = text.substr(at, nl - at);
        (line.find("\"kind\":\"iri_") != std::string::npos ? out.first : out.second)
            .push_back(line);
        at = nl + 1;
    }
    return out;
}

class Soak : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/liprobe-soak-XXXXXX";
        dir_ = mkdtemp(tmpl);
    }
    void TearDown() override {
        if (!HasFailure()) fs::remove_all(dir_);
    }

    struct Run {
        int exit_status = -1;
        std::string summary, log;
        json lemf;
        std::map<std::string, std::string> files;
        double seconds = 0;
    };

    // liprobe --pcap capture into a fresh liprobe-lemf; name names the run's files.
    Run run(const std::string& name, const std::string& capture) {
        Run r;
        const std::string d = dir_ + "/" + name;
        fs::create_directories(d + "/lemf");
        LemfProcess lemf;
        const int port = lemf.start(LEMF_BIN, d, d + "/lemf", "etsi102232");
        EXPECT_GT(port, 0) << slurp(d + "/lemf.err");
        if (port <= 0) return r;
        std::string toml = slurp(dir_ + "/gen/liprobe.toml");
        const std::string from = "address = \"127.0.0.1:9\"";
        const size_t at = toml.find(from);
        EXPECT_NE(at, std::string::npos) << toml;
        if (at == std::string::npos) return r;
        toml.replace(at, from.size(), "address = \"127.0.0.1:" + std::to_string(port) + "\"");
        write_text(dir_ + "/gen/" + name + ".toml", toml);  // keys.json is relative to it
        const auto start = std::chrono::steady_clock::now();
        const pid_t probe =
            spawn({LIPROBE_BIN, "--config", dir_ + "/gen/" + name + ".toml", "--pcap", capture},
                  d + "/probe.out", d + "/probe.err");
        r.exit_status = wait_exit_within(probe, 3600);
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        r.summary = slurp(d + "/probe.out");
        r.log = slurp(d + "/probe.err");
        EXPECT_EQ(lemf.stop(), 0) << slurp(d + "/lemf.err");
        r.lemf = json::parse(slurp(d + "/lemf/summary.json"), nullptr, false);
        r.files = outputs(d + "/lemf");
        return r;
    }

    std::string dir_;
};

TEST_F(Soak, NoiseChangesNothingDeliveredAndEveryPacketIsCounted) {
    const uint64_t packets = env_number("LIPROBE_SOAK_PACKETS", 20000);
    const uint64_t seed = env_number("LIPROBE_SOAK_SEED", 1);
    ASSERT_EQ(
        wait_exit(spawn({GEN_BIN, "calls", "--out", dir_ + "/gen", "--lemf", "127.0.0.1:9",
                         "--plain", "--private", "2", "--group", "2", "--ims", "2", "--background",
                         "2", "--packets-per-stream", "20", "--scenario", "all"},
                        dir_ + "/gen.out", dir_ + "/gen.err")),
        0)
        << slurp(dir_ + "/gen.err");
    ASSERT_EQ(wait_exit(spawn({GEN_BIN, "noise", "--in", dir_ + "/gen/capture.pcap", "--out",
                               dir_ + "/noisy.pcap", "--packets", std::to_string(packets), "--seed",
                               std::to_string(seed)},
                              dir_ + "/noise.out", dir_ + "/noise.err")),
              0)
        << slurp(dir_ + "/noise.err");
    const std::string noise_out = slurp(dir_ + "/noise.out");
    const uint64_t frames = number_after(noise_out, ": ");
    ASSERT_NE(frames, ~uint64_t{0}) << noise_out;
    ASSERT_NE(noise_out.find(std::to_string(frames) + " capture frames, " +
                             std::to_string(packets) + " noise frames"),
              std::string::npos)
        << noise_out;

    const Run clean = run("clean", dir_ + "/gen/capture.pcap");
    ASSERT_EQ(clean.exit_status, 0) << clean.log << clean.summary;
    const Run noisy = run("noisy", dir_ + "/noisy.pcap");
    ASSERT_EQ(noisy.exit_status, 0) << noisy.log << noisy.summary;
    std::printf(
        "soak: %llu capture frames + %llu noise packets (seed %llu): clean run %.1f s, "
        "noisy run %.1f s\n%s",
        static_cast<unsigned long long>(frames), static_cast<unsigned long long>(packets),
        static_cast<unsigned long long>(seed), clean.seconds, noisy.seconds, noise_out.c_str());

    // Every packet ends in one outcome.
    const auto balanced = [](uint64_t n) {
        return "accounting           received " + std::to_string(n) + ", outcomes " +
               std::to_string(n) + ": balanced";
    };
    EXPECT_NE(clean.summary.find(balanced(frames)), std::string::npos) << clean.summary;
    EXPECT_NE(noisy.summary.find(balanced(frames + packets)), std::string::npos) << noisy.summary;
    for (const Run* r : {&clean, &noisy}) {
        EXPECT_NE(r->summary.find("  lost                 0\n"), std::string::npos) << r->summary;
        EXPECT_EQ(r->lemf["missing"], 0) << r->lemf.dump();
        EXPECT_EQ(r->lemf["duplicates"], 0) << r->lemf.dump();
    }
    // The noise got into the parsers: SIP that is not a SIP message, named drops.
    EXPECT_GT(number_after(noisy.summary, "sip_malformed "),
              number_after(clean.summary, "sip_malformed "))
        << noisy.summary;
    EXPECT_GT(number_after(noisy.summary, "dropped "), number_after(clean.summary, "dropped "))
        << noisy.summary;

    // The targets' CC and IRI: the same records, octet for octet.
    ASSERT_GT(clean.lemf["pdus"].get<uint64_t>(), 0u);
    EXPECT_EQ(noisy.lemf["pdus"], clean.lemf["pdus"]);
    ASSERT_FALSE(clean.files.empty());
    std::vector<std::string> clean_names, noisy_names;
    for (const auto& [name, content] : clean.files) clean_names.push_back(name);
    for (const auto& [name, content] : noisy.files) noisy_names.push_back(name);
    ASSERT_EQ(noisy_names, clean_names);
    for (const auto& [name, content] : clean.files) {
        if (name.size() > 6 && name.compare(name.size() - 6, 6, ".jsonl") == 0) {
            // One line per PDU in arrival order: compared per stream (IRI, CC), each line
            // exactly. How a CIN's IRI and CC interleave is not part of the contract (each has
            // its own sequence numbers) and follows the rx bursts, which the noise shifts.
            EXPECT_EQ(streams_of(noisy.files.at(name)), streams_of(content)) << name;
        } else {
            EXPECT_TRUE(noisy.files.at(name) == content) << name << " differs";
        }
    }
}

}  // namespace
