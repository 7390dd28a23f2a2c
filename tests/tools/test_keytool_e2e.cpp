// End to end: liprobe-gen (libsrtp2-protected MCPTT capture) -> liprobe-keytool decrypt, run as
// subprocesses; the output must equal the generator's expected.pcap byte for byte and the printed
// counts must be exact. Also liprobe-keytool derive on the published Etherstack GMK vectors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "liprobe/net/parse.hpp"
#include "liprobe/net/pcap_file.hpp"

namespace fs = std::filesystem;

namespace {

struct ProcessResult {
    int exit_code = -1;
    std::string out, err;
};

std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? "" : v;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

class KeytoolE2E : public ::testing::Test {
  protected:
    void SetUp() override {
        gen_ = env_or_empty("LIPROBE_GEN");
        keytool_ = env_or_empty("LIPROBE_KEYTOOL");
        data_ = env_or_empty("LIPROBE_TEST_DATA");
        ASSERT_FALSE(gen_.empty()) << "LIPROBE_GEN not set (run through meson test)";
        ASSERT_FALSE(keytool_.empty()) << "LIPROBE_KEYTOOL not set";
        dir_ = fs::path(::testing::TempDir()) /
               ("keytool_e2e_" + std::to_string(getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    ProcessResult run(const std::string& args) {
        const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
        const std::string cmd = args + " >" + out.string() + " 2>" + err.string();
        const int status = std::system(cmd.c_str());
        ProcessResult r;
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        r.out = read_file(out);
        r.err = read_file(err);
        return r;
    }

    ProcessResult generate(const fs::path& out, int seed, int packets) {
        return run(gen_ + " --out " + out.string() + " --seed " + std::to_string(seed) +
                   " --packets-per-stream " + std::to_string(packets));
    }

    ProcessResult decrypt(const fs::path& keys, const fs::path& in, const fs::path& out) {
        return run(keytool_ + " decrypt --keys " + keys.string() + " " + in.string() + " " +
                   out.string());
    }

    // "name value ..." lines of the keytool summary.
    static std::map<std::string, std::string> counts(const std::string& out) {
        std::map<std::string, std::string> m;
        std::istringstream in(out);
        std::string line;
        while (std::getline(in, line)) {
            const auto space = line.find(' ');
            if (space != std::string::npos) m[line.substr(0, space)] = line.substr(space + 1);
        }
        return m;
    }

    std::string gen_, keytool_, data_;
    fs::path dir_;
};

}  // namespace

TEST_F(KeytoolE2E, DecryptIsByteExactAgainstTheGeneratorsPlaintext) {
    const int n = 40;
    const ProcessResult g = generate(dir_ / "gen", 7, n);
    ASSERT_EQ(g.exit_code, 0) << g.err;
    // 5 media streams of n packets, 4 SRTCP, 1 forged, 3 unknown MKI, 3 UDP background, ARP, TCP.
    const int packets = 5 * n + 4 + 1 + 3 + 3 + 2;
    EXPECT_NE(g.out.find("wrote " + (dir_ / "gen").string() + "/capture.pcap (" +
                         std::to_string(packets) + " packets)"),
              std::string::npos)
        << g.out;
    EXPECT_NE(g.out.find("expected: decrypted 204 (srtcp 4) auth_failed 1 unknown_mki 3 "
                         "malformed 0 not_srtp 3 other 2"),
              std::string::npos)
        << g.out;

    const ProcessResult d =
        decrypt(dir_ / "gen/keys.json", dir_ / "gen/capture.pcap", dir_ / "out.pcap");
    ASSERT_EQ(d.exit_code, 0) << d.out << d.err;
    const auto c = counts(d.out);
    EXPECT_EQ(c.at("packets"), std::to_string(packets));
    EXPECT_EQ(c.at("decrypted"), "204 (srtp 200, srtcp 4)");
    EXPECT_EQ(c.at("auth_failed"), "1");
    EXPECT_EQ(c.at("unknown_mki"), "3");
    EXPECT_EQ(c.at("malformed"), "0");
    EXPECT_EQ(c.at("not_srtp"), "3");
    EXPECT_EQ(c.at("other"), "2");
    EXPECT_EQ(c.at("keys:"), "2 entries installed (5 contexts), 0 refused");
    EXPECT_NE(d.out.find("IPsec-MB architecture: "), std::string::npos);

    const std::string expected = read_file(dir_ / "gen/expected.pcap");
    const std::string captured = read_file(dir_ / "gen/capture.pcap");
    const std::string written = read_file(dir_ / "out.pcap");
    ASSERT_FALSE(expected.empty());
    EXPECT_NE(captured, expected);  // the test could fail: the capture really is encrypted
    EXPECT_TRUE(written == expected) << "decrypted.pcap differs from expected.pcap";
}

TEST_F(KeytoolE2E, RolloverStreamCrossesSequenceZero) {
    const ProcessResult g = generate(dir_ / "gen", 1, 50);
    ASSERT_EQ(g.exit_code, 0) << g.err;
    const ProcessResult d =
        decrypt(dir_ / "gen/keys.json", dir_ / "gen/capture.pcap", dir_ / "out.pcap");
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_EQ(counts(d.out).at("decrypted"), "254 (srtp 250, srtcp 4)");
    EXPECT_TRUE(read_file(dir_ / "out.pcap") == read_file(dir_ / "gen/expected.pcap"));
    // The group member stream to UDP 50000 starts at SEQ 65500: 36 packets with ROC 0, then
    // 14 after the wrap (ROC 1), all decrypted to plain RTP.
    liprobe::net::PcapReader reader((dir_ / "out.pcap").string());
    liprobe::net::PcapRecord rec;
    std::vector<uint16_t> seqs;
    while (reader.next(rec)) {
        liprobe::net::ParsedPacket p;
        if (liprobe::net::parse_frame(rec.data, rec.caplen, liprobe::net::LinkType::ethernet, p) !=
                liprobe::net::ParseStatus::ok ||
            p.dst_port != 50000 || p.payload_len != 172 || rec.data[p.payload_offset + 1] != 0) {
            continue;
        }
        seqs.push_back(static_cast<uint16_t>((rec.data[p.payload_offset + 2] << 8) |
                                             rec.data[p.payload_offset + 3]));
    }
    ASSERT_EQ(seqs.size(), 49u);  // 50 minus the first, which carries the marker bit
    EXPECT_EQ(seqs.front(), 65501);
    EXPECT_EQ(seqs[34], 65535);
    EXPECT_EQ(seqs[35], 0);
    EXPECT_EQ(seqs.back(), 13);
}

// The same capture as Linux cooked captures (v1 and v2): the Ethernet header is replaced by the
// cooked header (VLAN tags stay in the payload, announced by protocol 0x8100).
TEST_F(KeytoolE2E, LinuxCookedCapturesDecryptAlike) {
    ASSERT_EQ(generate(dir_ / "gen", 11, 6).exit_code, 0);
    for (const liprobe::net::LinkType link :
         {liprobe::net::LinkType::linux_sll, liprobe::net::LinkType::linux_sll2}) {
        for (const char* name : {"capture", "expected"}) {
            liprobe::net::PcapReader in((dir_ / "gen" / (std::string(name) + ".pcap")).string());
            liprobe::net::PcapWriter out((dir_ / (std::string(name) + "_cooked.pcap")).string(),
                                         liprobe::net::dlt_from_link_type(link));
            liprobe::net::PcapRecord rec;
            while (in.next(rec)) {
                ASSERT_GE(rec.caplen, 14u);
                const uint8_t proto[2] = {rec.data[12], rec.data[13]};
                std::vector<uint8_t> f;
                if (link == liprobe::net::LinkType::linux_sll) {
                    f = {0, 0, 0, 1, 0, 6};
                    f.insert(f.end(), rec.data + 6, rec.data + 12);  // source MAC
                    f.insert(f.end(), {0, 0, proto[0], proto[1]});
                } else {
                    f = {proto[0], proto[1], 0, 0, 0, 0, 0, 3, 0, 1, 0, 6};
                    f.insert(f.end(), rec.data + 6, rec.data + 12);
                    f.insert(f.end(), {0, 0});
                }
                f.insert(f.end(), rec.data + 14, rec.data + rec.caplen);
                out.write(rec.ts_sec, rec.ts_frac, f.data(), static_cast<uint32_t>(f.size()));
            }
            out.close();
        }
        const ProcessResult d =
            decrypt(dir_ / "gen/keys.json", dir_ / "capture_cooked.pcap", dir_ / "out.pcap");
        ASSERT_EQ(d.exit_code, 0) << d.err;
        EXPECT_EQ(counts(d.out).at("decrypted"), "34 (srtp 30, srtcp 4)");
        EXPECT_EQ(counts(d.out).at("other"), "2");
        EXPECT_TRUE(read_file(dir_ / "out.pcap") == read_file(dir_ / "expected_cooked.pcap"));
    }
}

TEST_F(KeytoolE2E, GeneratorIsDeterministic) {
    ASSERT_EQ(generate(dir_ / "a", 42, 5).exit_code, 0);
    ASSERT_EQ(generate(dir_ / "b", 42, 5).exit_code, 0);
    ASSERT_EQ(generate(dir_ / "c", 43, 5).exit_code, 0);
    for (const char* f : {"capture.pcap", "expected.pcap", "keys.json"}) {
        EXPECT_EQ(read_file(dir_ / "a" / f), read_file(dir_ / "b" / f)) << f;
        EXPECT_NE(read_file(dir_ / "a" / f), read_file(dir_ / "c" / f)) << f;
    }
}

TEST_F(KeytoolE2E, WithoutMatchingKeysEverythingIsCopiedUnchanged) {
    ASSERT_EQ(generate(dir_ / "gen", 3, 10).exit_code, 0);
    std::ofstream(dir_ / "none.json") << R"({"keys": []})";
    const ProcessResult d =
        decrypt(dir_ / "none.json", dir_ / "gen/capture.pcap", dir_ / "out.pcap");
    ASSERT_EQ(d.exit_code, 0) << d.err;
    const auto c = counts(d.out);
    EXPECT_EQ(c.at("decrypted"), "0 (srtp 0, srtcp 0)");
    EXPECT_EQ(c.at("unknown_mki"), std::to_string(5 * 10 + 4 + 1 + 3));
    EXPECT_TRUE(read_file(dir_ / "out.pcap") == read_file(dir_ / "gen/capture.pcap"));
}

TEST_F(KeytoolE2E, RefusedEntryIsNamedAndTheOthersStillWork) {
    ASSERT_EQ(generate(dir_ / "gen", 5, 4).exit_code, 0);
    // The generator's two entries plus a third whose key is one octet short.
    std::string keys = read_file(dir_ / "gen/keys.json");
    const auto end = keys.rfind(']');
    ASSERT_NE(end, std::string::npos);
    keys.insert(end, R"(, {"type": "pck", "key": "00112233445566778899aabbccddee",
        "key_id": "1badc0de", "rand": "00112233445566778899aabbccddeeff", "cs_ids": [0, 1],
        "initiator": "sip:x@example.org", "receiver": "sip:y@example.org"})");
    std::ofstream(dir_ / "keys3.json") << keys;
    const ProcessResult d =
        decrypt(dir_ / "keys3.json", dir_ / "gen/capture.pcap", dir_ / "out.pcap");
    EXPECT_EQ(d.exit_code, 1);
    EXPECT_NE(d.err.find("entry 2"), std::string::npos) << d.err;
    EXPECT_NE(d.err.find("key"), std::string::npos) << d.err;
    EXPECT_EQ(d.err.find("00112233445566778899aabbccddee"), std::string::npos) << "key leaked";
    EXPECT_EQ(counts(d.out).at("decrypted"), "24 (srtp 20, srtcp 4)");
    EXPECT_TRUE(read_file(dir_ / "out.pcap") == read_file(dir_ / "gen/expected.pcap"));

    const ProcessResult r = run(keytool_ + " derive " + (dir_ / "keys3.json").string());
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("entry 2"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 5);  // the good entries' contexts
}

TEST_F(KeytoolE2E, ErrorsExitTwo) {
    EXPECT_EQ(run(keytool_).exit_code, 2);
    EXPECT_EQ(run(keytool_ + " frobnicate").exit_code, 2);
    EXPECT_EQ(run(keytool_ + " derive /nonexistent/keys.json").exit_code, 2);
    std::ofstream(dir_ / "none.json") << R"({"keys": []})";
    const ProcessResult r = decrypt(dir_ / "none.json", dir_ / "missing.pcap", dir_ / "out.pcap");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("missing.pcap"), std::string::npos) << r.err;
    EXPECT_EQ(run(gen_).exit_code, 2);
    EXPECT_EQ(run(gen_ + " --out " + dir_.string() + " --packets-per-stream 0").exit_code, 2);
}

// TS 33.180 GMK chain, published vectors (refs/specs.md 4.4: Streamwide/sw_mikey_sakke
// unit_tests/test_guk.cc "test_vector_etherstack"; GMK fcfe65cd967c58d260b603ccb9a887a9,
// GMK-ID 09bf9d37, RAND 6819e679461120e10ac458cce67b8024, cs_id 4). Session keys of row 1 are the
// synthetic values of refs 4.4 ("Session keys for row 1").
TEST_F(KeytoolE2E, DeriveReproducesTheEtherstackVectors) {
    const std::string keys = data_ + "/etherstack_gmk.json";
    const ProcessResult plain = run(keytool_ + " derive " + keys);
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_EQ(
        plain.out,
        R"({"type":"gmk","key_id":"09bf9d37","member":"sip:p25user01@etherstack.com","cs_id":4,"mki":"09bf9d3701c8de7b","short_mki":"09bf9d37","profile":"aead_aes_128_gcm","roc_rate":1})"
        "\n"
        R"({"type":"gmk","key_id":"09bf9d37","member":"sip:p25user02@etherstack.co.jp","cs_id":4,"mki":"09bf9d370abe69d0","short_mki":"09bf9d37","profile":"aead_aes_128_gcm","roc_rate":1})"
        "\n"
        R"({"type":"gmk","key_id":"09bf9d37","member":"sip:92100002447@att.com","cs_id":4,"mki":"09bf9d370c449727","short_mki":"09bf9d37","profile":"aead_aes_128_gcm","roc_rate":1})"
        "\n");
    EXPECT_EQ(plain.out.find("master"), std::string::npos);

    const ProcessResult secret = run(keytool_ + " derive " + keys + " --show-secrets");
    ASSERT_EQ(secret.exit_code, 0) << secret.err;
    for (
        const char* expected :
        {R"("mki":"09bf9d3701c8de7b","short_mki":"09bf9d37","profile":"aead_aes_128_gcm","roc_rate":1,)"
         R"("master_key":"64837d2b4d69a266e4489d3807353ad9","master_salt":"8b2f081ce8e8bdab1f8d9eb8",)"
         R"("rtp_session_key":"ae3bdc371fd9abc25b87f230717e9b4d","rtp_session_salt":"888629f7ce02cd9a9bf1c1e5",)"
         R"("rtcp_session_key":"9b9080da8b0165c27ff1414becba454f","rtcp_session_salt":"5a17f1a3088b3d9991e7ca61"})",
         R"("master_key":"de81b70c4ae0ff3f79364df586c2e0ce","master_salt":"750ea7422b4d5a8ff475c6d5")",
         R"("master_key":"f097ac3325f1f784bc8ba4112c5e5f88","master_salt":"97a154fb24efbfb353a265e2")"}) {
        EXPECT_NE(secret.out.find(expected), std::string::npos) << expected << "\n" << secret.out;
    }
}
