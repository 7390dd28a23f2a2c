// The liprobe command line (design.md 3.1) run as a process: each kind of configuration error
// prints exactly one expected line (file, line, key, problem) and exits 2; --check passes the
// shipped configs; --version, --help and --pcap.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pki.hpp"
#include "preload_samples.hpp"

extern char** environ;

namespace {

struct RunResult {
    int exit_code = -1;
    std::string out, err;
};

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

RunResult run_liprobe(const std::vector<std::string>& args, const std::string& dir) {
    std::vector<std::string> argv_strings{LIPROBE_BIN};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    RunResult result;
    pid_t pid;
    if (posix_spawn(&pid, LIPROBE_BIN, &actions, nullptr, argv.data(), environ) == 0) {
        int status = 0;
        waitpid(pid, &status, 0);
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    posix_spawn_file_actions_destroy(&actions);
    result.out = slurp(out_path);
    result.err = slurp(err_path);
    return result;
}

// A valid config; the line numbers in the expectations below refer to it.
const std::vector<std::string> kBase = {
    /* 1 */ "[probe]",
    /* 2 */ "network_element_id = \"probe-1\"",
    /* 3 */ "operator_id = \"operator-1\"",
    /* 4 */ "country_code = \"DE\"",
    /* 5 */ "[dpdk]",
    /* 6 */ "ports = [\"net_null0\"]",
    /* 7 */ "[export]",
    /* 8 */ "spool_dir = \"\"",
    /* 9 */ "[[destination]]",
    /* 10 */ "id = \"lemf1\"",
    /* 11 */ "address = \"127.0.0.1:4443\"",
    /* 12 */ "cert = \"cert.pem\"",
    /* 13 */ "key = \"key.pem\"",
    /* 14 */ "ca = \"ca.pem\"",
    /* 15 */ "[[warrant]]",
    /* 16 */ "liid = \"LIID-SECRET-1\"",
    /* 17 */ "targets = [\"sip:alice.secret@example.org\", \"tel:+49-30-123456\"]",
    /* 18 */ "destinations = [\"lemf1\"]",
};

class Cli : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new std::string(liprobe::test::make_temp_dir());
        liprobe::test::write_key_and_cert(*dir_ + "/key.pem", *dir_ + "/cert.pem");
        liprobe::test::write_key_and_cert(*dir_ + "/ca.key", *dir_ + "/ca.pem");
        liprobe::test::write_key_and_cert(*dir_ + "/other.key", *dir_ + "/other.pem");
    }
    static void TearDownTestSuite() {
        liprobe::test::remove_tree(*dir_);
        delete dir_;
    }

    // kBase with line `line` (1-based) replaced by `text` (which may span lines or be empty);
    // line 0 appends `text` at the end.
    static std::string config(size_t line = 0, const std::string& text = "") {
        std::string out;
        for (size_t i = 0; i < kBase.size(); ++i) {
            if (i + 1 == line) {
                if (!text.empty()) out += text + "\n";
            } else {
                out += kBase[i] + "\n";
            }
        }
        if (line == 0) out += text;
        return out;
    }

    // Writes the config and runs `liprobe --config FILE --check`.
    static RunResult check(const std::string& text) {
        const std::string path = *dir_ + "/liprobe.toml";
        liprobe::test::write_text(path, text);
        return run_liprobe({"--config", path, "--check"}, *dir_);
    }

    static std::string file() { return *dir_ + "/liprobe.toml"; }

    // A pcap file header (libpcap format, microsecond magic) with no records.
    static std::string empty_pcap() {
        const std::string path = *dir_ + "/empty.pcap";
        const char header[24] = {'\xd4', '\xc3', '\xb2', '\xa1', 2,      0,      4, 0, 0, 0, 0, 0,
                                 0,      0,      0,      0,      '\xff', '\xff', 0, 0, 1, 0, 0, 0};
        liprobe::test::write_text(path, std::string(header, sizeof header));
        return path;
    }

    static std::string* dir_;
};

std::string* Cli::dir_ = nullptr;

TEST_F(Cli, ValidConfigPassesCheck) {
    const RunResult r = check(config());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out, file() + ": configuration OK (1 warrants, 1 destinations, 1 ports)\n");
}

struct ErrorCase {
    const char* name;
    size_t line;           // line of kBase to replace, 0 = append
    std::string text;      // replacement
    std::string expected;  // stderr, with F standing for the config file's path
};

TEST_F(Cli, EachKindOfErrorGivesItsMessageAndExit2) {
    const std::vector<ErrorCase> cases = {
        {"syntax", 17, "targets = [\"sip:alice.secret@example.org\"",
         "error: F:18: TOML syntax error: missing array separator `,` after a value\n"},
        {"duplicate key", 6, "ports = [\"net_null0\"]\nports = [\"net_null1\"]",
         "error: F:7: TOML syntax error: value (\"ports\") already exists.\n"},
        {"unknown key", 6, "wrokers = 2",
         "error: F:6: dpdk.wrokers: unknown key (did you mean 'workers'?)\n"},
        {"unknown section", 7, "[exports]",
         "error: F:7: exports: unknown key (did you mean 'export'?)\n"},
        {"wrong type", 6, "workers = \"2\"",
         "error: F:6: dpdk.workers: expected an integer, found a string\n"},
        {"missing key", 3, "", "error: F:1: probe.operator_id: required key is missing\n"},
        {"out of range", 6, "burst = 0",
         "error: F:6: dpdk.burst: must be from 1 to 512 (found 0)\n"},
        {"identity too long", 3, "operator_id = \"12345678901234567\"",
         "error: F:3: probe.operator_id: must be 1 to 16 octets (found 17)\n"},
        {"country code", 4, "country_code = \"DEU\"",
         "error: F:4: probe.country_code: must be two letters (ISO 3166-1 alpha-2)\n"},
        {"port", 6, "ports = [\"net_null0\", \"eth0\"]",
         "error: F:6: dpdk.ports[1]: not a PCI address (0000:01:00.0) or a vdev string "
         "(net_pcap0,...)\n"},
        {"address", 11, "address = \"127.0.0.1\"",
         "error: F:11: destination[0].address: expected host:port (an IPv6 address in brackets: "
         "[::1]:port)\n"},
        {"address port", 11, "address = \"127.0.0.1:70000\"",
         "error: F:11: destination[0].address: port must be a number from 1 to 65535\n"},
        {"format", 11, "address = \"127.0.0.1:4443\"\nformat = \"x2\"",
         "error: F:12: destination[0].format: must be \"etsi102232\" or \"x3\"\n"},
        {"tls off remote", 11, "address = \"192.0.2.1:4443\"\ntls = false",
         "error: F:12: destination[0].tls: false is allowed only for a loopback address\n"},
        {"tls without cert", 12, "",
         "error: F:9: destination[0].cert: required (TLS with mutual authentication is "
         "mandatory)\n"},
        {"destination as a table", 9, "[destination]",
         "error: F:9: destination: expected an array of tables (write [[destination]]), found a "
         "table\n"
         "error: F:18: warrant[0].destinations[0]: no [[destination]] has the id 'lemf1'\n"},
        {"unknown destination", 0,
         "[[warrant]]\nliid = \"LIID-2\"\ntargets = [\"sip:bob@example.org\"]\n"
         "destinations = [\"lemf2\"]\n",
         "error: F:22: warrant[1].destinations[0]: no [[destination]] has the id 'lemf2'\n"},
        {"duplicate destination id", 0,
         "[[destination]]\nid = \"lemf1\"\naddress = \"127.0.0.1:5000\"\ntls = false\n",
         "warning: F:22: destination[1].tls: TLS is off for this destination: lab use on "
         "loopback only\n"
         "error: F:20: destination[1].id: another destination has the id 'lemf1'\n"},
        {"bad target", 17,
         "targets = [\"sip:alice@example.org\", \"tel:+49-30-123456\", "
         "\"alice.secret@example.org\"]",
         "error: F:17: warrant[0].targets[2]: not a SIP or tel URI\n"},
        {"tel not E.164", 17, "targets = [\"tel:030-secret\"]",
         "error: F:17: warrant[0].targets[0]: tel URI is not a global E.164 number (+ and 1 to "
         "15 digits)\n"},
        {"empty targets", 17, "targets = []",
         "error: F:17: warrant[0].targets: must name at least one target\n"},
        {"liid too long", 16, "liid = \"LIID-SECRET-67890123456789\"",
         "error: F:16: warrant[0].liid: must be 1 to 25 octets (found 26)\n"},
        {"duplicate liid", 0,
         "[[warrant]]\nliid = \"LIID-SECRET-1\"\ntargets = [\"sip:bob@example.org\"]\n"
         "destinations = [\"lemf1\"]\n",
         "error: F:20: warrant[1].liid: another warrant has the same LIID\n"},
        {"deliver", 0, "deliver = \"plain\"\n",
         "error: F:19: warrant[0].deliver: must be \"decrypted\", \"encrypted\" or \"both\"\n"},
        {"bad time", 0, "not_before = \"2025-13-01T00:00:00Z\"\n",
         "error: F:19: warrant[0].not_before: not an RFC 3339 date-time with time zone offset "
         "(e.g. 2025-01-31T08:00:00Z)\n"},
        {"local time", 0, "not_after = 2025-02-01T00:00:00\n",
         "error: F:19: warrant[0].not_after: needs a date, a time and a time zone offset (RFC "
         "3339, e.g. 2025-01-31T08:00:00Z)\n"},
        {"time order", 0, "not_before = 2025-02-01T00:00:00Z\nnot_after = 2025-01-01T00:00:00Z\n",
         "error: F:20: warrant[0].not_after: must be later than not_before\n"},
        {"bad xid", 0, "xid = \"not-a-uuid\"\n",
         "error: F:19: warrant[0].xid: not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)\n"},
        {"control without files", 0, "[control]\nlisten = \"127.0.0.1:8443\"\n",
         "warning: F:19: control.client: no clients are configured: every API request will be "
         "refused\n"
         "error: F:19: control.cert: required when control.listen is set\n"
         "error: F:19: control.key: required when control.listen is set\n"
         "error: F:19: control.client_ca: required when control.listen is set\n"
         "error: F:19: control.audit_log: required when control.listen is set\n"
         "error: F:19: control.audit_salt: required when control.listen is set\n"},
        {"unknown role", 0,
         "[control]\n[[control.client]]\nsubject = \"CN=mf\"\nroles = [\"keys\", \"admin\"]\n",
         "error: F:22: control.client[0].roles[1]: unknown role 'admin' (keys, x1 or read)\n"},
        {"missing file", 12, "cert = \"missing.pem\"",
         "error: F: destination[0].cert: cannot read 'D/missing.pem': No such file or "
         "directory\n"},
        {"key of another certificate", 13, "key = \"other.key\"",
         "error: F: destination[0].key: does not belong to the certificate in 'D/cert.pem'\n"},
        {"preload not JSON", 0, "[keys]\npreload = \"cert.pem\"\n",
         "error: F: keys.preload: 'D/cert.pem' is not valid JSON (line 1, column 2)\n"},
    };
    for (const ErrorCase& c : cases) {
        SCOPED_TRACE(c.name);
        const RunResult r = check(config(c.line, c.text));
        std::string expected = c.expected;
        for (size_t pos; (pos = expected.find("F:")) != std::string::npos;)
            expected.replace(pos, 2, file() + ":");
        for (size_t pos; (pos = expected.find("'D/")) != std::string::npos;)
            expected.replace(pos, 3, "'" + *dir_ + "/");
        EXPECT_EQ(r.exit_code, 2);
        EXPECT_EQ(r.err, expected);
        EXPECT_EQ(r.out, "");
        // Target identities and LIIDs never appear in diagnostics.
        EXPECT_EQ(r.err.find("secret"), std::string::npos);
        EXPECT_EQ(r.err.find("SECRET"), std::string::npos);
    }
}

TEST_F(Cli, LoopbackDestinationWithoutTlsIsAWarningOnly) {
    const RunResult r = check(config(12, "tls = false"));
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.err, "warning: " + file() +
                         ":12: destination[0].tls: TLS is off for this destination: lab use on "
                         "loopback only\n");
}

TEST_F(Cli, UnreadableConfigFile) {
    const RunResult r = run_liprobe({"--config", *dir_ + "/absent.toml", "--check"}, *dir_);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "error: " + *dir_ +
                         "/absent.toml: cannot read the file: No such file or directory\n");
}

TEST_F(Cli, NoPortsIsAnErrorForLiveRunsAndAWarningForCheck) {
    const std::string path = file();
    liprobe::test::write_text(path, config(6, ""));
    const RunResult checked = run_liprobe({"--config", path, "--check"}, *dir_);
    EXPECT_EQ(checked.exit_code, 0);
    EXPECT_EQ(checked.err, "warning: " + path +
                               ": dpdk.ports: no ports are configured: only --pcap runs are "
                               "possible\n");
    const RunResult live = run_liprobe({"--config", path}, *dir_);
    EXPECT_EQ(live.exit_code, 2);
    EXPECT_EQ(live.err, "error: " + path +
                            ": dpdk.ports: no ports are configured: only --pcap runs are "
                            "possible\n");
}

TEST_F(Cli, UsageErrorsExit2) {
    EXPECT_EQ(run_liprobe({}, *dir_).err,
              "liprobe: --config FILE is required\nTry 'liprobe --help'.\n");
    EXPECT_EQ(run_liprobe({}, *dir_).exit_code, 2);
    const RunResult unknown = run_liprobe({"--config", file(), "--chek"}, *dir_);
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_EQ(unknown.err, "liprobe: unknown argument '--chek'\nTry 'liprobe --help'.\n");
    const RunResult missing = run_liprobe({"--config"}, *dir_);
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_EQ(missing.err, "liprobe: --config needs a FILE\nTry 'liprobe --help'.\n");
}

TEST_F(Cli, VersionAndHelp) {
    const RunResult version = run_liprobe({"--version"}, *dir_);
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_EQ(version.out.rfind("liprobe ", 0), 0u);
    EXPECT_EQ(version.err, "");
    const RunResult help = run_liprobe({"--help"}, *dir_);
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_EQ(help.out.rfind("usage: liprobe --config FILE [--pcap FILE] [--check]\n", 0), 0u);
    EXPECT_NE(help.out.find("Exit status: 0 success, 2 configuration or usage error"),
              std::string::npos);
}

TEST_F(Cli, PcapRunOfAnEmptyCaptureExitsZero) {
    const std::string config_path = file();
    liprobe::test::write_text(config_path, config());
    // A pcap file header (libpcap format, microsecond magic) with no records.
    const std::string pcap_path = empty_pcap();
    const RunResult run = run_liprobe({"--config", config_path, "--pcap", pcap_path}, *dir_);
    // The dataplane runs: nothing to intercept, nothing to deliver, the summary, exit 0.
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("accounting           received 0, outcomes 0: balanced"),
              std::string::npos)
        << run.out;
    const RunResult checked =
        run_liprobe({"--config", config_path, "--pcap=" + pcap_path, "--check"}, *dir_);
    EXPECT_EQ(checked.exit_code, 0) << checked.err;

    const RunResult not_pcap = run_liprobe({"--config", config_path, "--pcap", config_path}, *dir_);
    EXPECT_EQ(not_pcap.exit_code, 2);
    EXPECT_EQ(not_pcap.err, "error: " + config_path + ": not a pcap or pcapng file\n");
}

// A private key readable by group or others stops --check and a run alike (exit 2, the file and
// the fix named); [control] allow_insecure_key_files makes it a warning.
TEST_F(Cli, KeyFileReadableByOthersStopsCheckAndRun) {
    const std::string key = *dir_ + "/key.pem";
    ASSERT_EQ(chmod(key.c_str(), 0644), 0);
    const std::string expected = "error: " + file() + ": destination[0].key: '" + key +
                                 "' is readable by group or others: chmod 600 it (or set "
                                 "control.allow_insecure_key_files = true in a lab)\n";
    const RunResult checked = check(config());
    EXPECT_EQ(checked.exit_code, 2);
    EXPECT_EQ(checked.err, expected);
    EXPECT_EQ(checked.out, "");
    const RunResult run = run_liprobe({"--config", file(), "--pcap", empty_pcap()}, *dir_);
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.err, expected);
    EXPECT_EQ(run.out, "");  // never started: no summary

    const RunResult lab = check(config(0, "[control]\nallow_insecure_key_files = true\n"));
    EXPECT_EQ(lab.exit_code, 0) << lab.err;
    EXPECT_EQ(lab.err, "warning: " + file() + ": destination[0].key: '" + key +
                           "' is readable by group or others (chmod 600 it); allowed by "
                           "control.allow_insecure_key_files\n");
    ASSERT_EQ(chmod(key.c_str(), 0600), 0);
}

// --check refuses exactly the preload entries a run refuses: exit 2 naming each entry's index and
// field; the run itself starts without them, warns per entry and counts them in the summary.
// Neither output holds key material or a target identity.
TEST_F(Cli, RefusedPreloadEntriesFailCheckAndAreCountedByTheRun) {
    liprobe::test::write_text(*dir_ + "/keys.json", liprobe::test::kRefusedPreload);
    const std::string text = config(0, "[keys]\npreload = \"keys.json\"\n");
    const std::string keys = *dir_ + "/keys.json";
    const RunResult checked = check(text);
    EXPECT_EQ(checked.exit_code, 2);
    const std::string at = "error: " + file() + ": keys.preload: '" + keys + "': ";
    EXPECT_EQ(checked.err, at + "keys[1] refused: key: expected 16 octets, got 15\n" + at +
                               "keys[2] refused: key: not a hex string\n" + at +
                               "keys[3] refused: type: unknown type (expected gmk, pck or srtp)\n" +
                               at + "keys[5] refused: key_id: duplicate of keys[4]\n");
    EXPECT_EQ(checked.out, "");

    liprobe::test::write_text(file(), text);
    const RunResult run = run_liprobe({"--config", file(), "--pcap", empty_pcap()}, *dir_);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    const std::string warn = "liprobe: warning: " + keys + ": keys[";
    for (const char* line : {"1]: key: expected 16 octets, got 15\n", "2]: key: not a hex string\n",
                             "3]: type: unknown type (expected gmk, pck or srtp)\n",
                             "5]: key_id: duplicate of keys[4]\n"})
        EXPECT_NE(run.err.find(warn + line), std::string::npos) << run.err;
    EXPECT_NE(run.out.find("  keys                 loaded 2, refused 4\n"), std::string::npos)
        << run.out;
    for (const RunResult* r : {&checked, &run})
        for (const char* secret : liprobe::test::kRefusedPreloadSecrets) {
            EXPECT_EQ(r->out.find(secret), std::string::npos) << secret;
            EXPECT_EQ(r->err.find(secret), std::string::npos) << secret;
        }
    for (const RunResult* r : {&checked, &run})
        for (const char* target : {"alice.secret", "123456"}) {
            EXPECT_EQ(r->out.find(target), std::string::npos) << target;
            EXPECT_EQ(r->err.find(target), std::string::npos) << target;
        }
}

// The shipped configs pass --check once their demo keys have the mode make-pki.sh and demo.sh
// give them (Git keeps no file modes: a fresh clone has them 0644). Checked on a copy, so the
// test leaves the source tree alone.
TEST(ShippedConfigs, PassCheck) {
    namespace fs = std::filesystem;
    const std::string dir = liprobe::test::make_temp_dir();
    const fs::path source = fs::path(LIPROBE_SOURCE_ROOT) / "config";
    fs::create_directories(fs::path(dir) / "config");
    fs::copy(source, fs::path(dir) / "config", fs::copy_options::recursive);
    for (const auto& e : fs::directory_iterator(fs::path(dir) / "config/demo"))
        if (e.path().extension() == ".key")
            fs::permissions(e.path(), fs::perms::owner_read | fs::perms::owner_write);
    for (const char* name : {"config/liprobe.toml", "config/demo.toml"}) {
        SCOPED_TRACE(name);
        const RunResult r = run_liprobe({"--config", dir + "/" + name, "--check"}, dir);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        EXPECT_NE(r.out.find("configuration OK"), std::string::npos);
        // No errors; warnings are allowed (e.g. a spool directory this user cannot create).
        EXPECT_EQ(r.err.find("error:"), std::string::npos) << r.err;
    }
    liprobe::test::remove_tree(dir);
}

}  // namespace
