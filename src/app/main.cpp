// liprobe: the probe's command line (design.md 3.1). Loads and validates the configuration, then
// runs the dataplane on the configured ports or, with --pcap, offline on a capture.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include "liprobe/control/config.hpp"
#include "liprobe/dataplane/engine.hpp"

#ifndef LIPROBE_VERSION
#define LIPROBE_VERSION "unknown"
#endif

namespace {

// Exit codes, documented in --help.
constexpr int kExitOk = 0;
constexpr int kExitConfig = 2;  // configuration or command-line error
// 1 (start-up failure) and 3 (records lost) come from dataplane::run().

constexpr const char* kUsage =
    "usage: liprobe --config FILE [--pcap FILE] [--check]\n"
    "       liprobe --config FILE --load-test FILE [--rate PPS] [--seconds S]\n"
    "       liprobe --version | --help\n"
    "\n"
    "Lawful-interception media probe: finds the SIP calls of warrant targets, decrypts their\n"
    "SRTP and delivers CC and IRI to the configured LEMFs.\n"
    "\n"
    "  --config FILE  TOML configuration (annotated example: config/liprobe.toml); relative\n"
    "                 paths inside it are taken from the file's directory\n"
    "  --pcap FILE    offline run: read FILE instead of the configured ports, on packet time;\n"
    "                 exits 0 when every packet is processed and delivered, 3 when records\n"
    "                 were lost\n"
    "  --check        validate the configuration, every file it names and every preload key\n"
    "                 entry (as a run loads them), then exit\n"
    "  --load-test FILE  benchmark (scripts/loadtest.sh): a live run on software RX rings fed\n"
    "                 by a generator thread replaying FILE (its SIP once, then its media and\n"
    "                 other UDP in a loop) at --rate packets/s (default 1000000) for --seconds\n"
    "                 (default 5); the summary adds the offered rate, drops and export latency\n"
    "  --version      print the version and exit\n"
    "  --help         print this text and exit\n"
    "\n"
    "Signals: SIGINT/SIGTERM stop and flush; SIGHUP reloads warrants and destinations.\n"
    "Exit status: 0 success, 2 configuration or usage error, 1 start-up failure (ports, EAL),\n"
    "3 the run ended but records were lost (see the summary's first line).\n";

struct Options {
    std::string config;
    std::string pcap;
    std::string load_test;
    double rate = 1e6, seconds = 5;
    bool check = false;
    bool version = false;
    bool help = false;
};

int usage_error(const std::string& message) {
    std::cerr << "liprobe: " << message << "\nTry 'liprobe --help'.\n";
    return kExitConfig;
}

// Returns -1 when the options are usable, else the exit code.
int parse_options(int argc, char** argv, Options& opts) {
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        bool has_value = false;
        if (const size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
            has_value = true;
        }
        if (arg == "--rate" || arg == "--seconds") {
            if (!has_value) {
                if (i + 1 >= argc) return usage_error(arg + " needs a number");
                value = argv[++i];
            }
            char* end = nullptr;
            const double v = std::strtod(value.c_str(), &end);
            if (value.empty() || *end != '\0' || !(v > 0) || v > 1e9)
                return usage_error(arg + " needs a positive number");
            (arg == "--rate" ? opts.rate : opts.seconds) = v;
            continue;
        }
        if (arg == "--config" || arg == "--pcap" || arg == "--load-test") {
            if (!has_value) {
                if (i + 1 >= argc) return usage_error(arg + " needs a FILE");
                value = argv[++i];
            }
            if (value.empty()) return usage_error(arg + " needs a FILE");
            std::string& target = arg == "--config" ? opts.config
                                  : arg == "--pcap" ? opts.pcap
                                                    : opts.load_test;
            if (!target.empty()) return usage_error(arg + " is given twice");
            target = value;
            continue;
        }
        if (has_value) return usage_error(arg + " takes no value");
        if (arg == "--check") {
            opts.check = true;
        } else if (arg == "--version") {
            opts.version = true;
        } else if (arg == "--help" || arg == "-h") {
            opts.help = true;
        } else {
            return usage_error("unknown argument '" + arg + "'");
        }
    }
    if (!opts.help && !opts.version && opts.config.empty())
        return usage_error("--config FILE is required");
    if (!opts.pcap.empty() && !opts.load_test.empty())
        return usage_error("--pcap and --load-test exclude each other");
    return -1;
}

// The capture must exist and start like a pcap or pcapng file.
std::string pcap_problem(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return std::string("cannot read: ") + std::strerror(errno);
    uint8_t magic[4] = {};
    const size_t n = std::fread(magic, 1, sizeof magic, f);
    std::fclose(f);
    const uint32_t m =
        uint32_t{magic[0]} << 24 | uint32_t{magic[1]} << 16 | uint32_t{magic[2]} << 8 | magic[3];
    const bool known =
        m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1 || m == 0x0a0d0d0a;
    if (n != sizeof magic || !known) return "not a pcap or pcapng file";
    return "";
}

void print_diagnostics(const liprobe::control::LoadResult& result) {
    for (const auto& w : result.warnings) std::cerr << "warning: " << w.text() << "\n";
    for (const auto& e : result.errors) std::cerr << "error: " << e.text() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
    Options opts;
    if (const int rc = parse_options(argc, argv, opts); rc >= 0) return rc;
    if (opts.help) {
        std::cout << kUsage;
        return kExitOk;
    }
    if (opts.version) {
        std::cout << "liprobe " << LIPROBE_VERSION << "\n";
        return kExitOk;
    }

    liprobe::control::LoadResult result = liprobe::control::load_config(opts.config);
    if (result.ok()) {
        // The files are checked before every run too: a bad certificate must stop the start,
        // not the first delivery.
        liprobe::control::check_files(result, opts.check ? liprobe::control::FileCheck::full
                                                         : liprobe::control::FileCheck::run);
    }
    const liprobe::control::Config& cfg = result.config;
    if (result.ok() && opts.pcap.empty() && opts.load_test.empty() && cfg.dpdk.ports.empty()) {
        liprobe::control::Diagnostic d{cfg.file, 0, 0, "dpdk.ports",
                                       "no ports are configured: only --pcap runs are possible"};
        if (opts.check)
            result.warnings.push_back(d);
        else
            result.errors.push_back(d);
    }
    print_diagnostics(result);
    if (!result.ok()) return kExitConfig;
    for (const std::string& capture : {opts.pcap, opts.load_test}) {
        if (capture.empty()) continue;
        if (const std::string problem = pcap_problem(capture); !problem.empty()) {
            std::cerr << "error: " << capture << ": " << problem << "\n";
            return kExitConfig;
        }
    }

    if (opts.check) {
        std::cout << cfg.file << ": configuration OK (" << cfg.warrants.size() << " warrants, "
                  << cfg.destinations.size() << " destinations, " << cfg.dpdk.ports.size()
                  << " ports)\n";
        return kExitOk;
    }

    liprobe::dataplane::RunOptions run_options;
    run_options.config_path = opts.config;
    run_options.pcap = opts.pcap;
    run_options.load.pcap = opts.load_test;
    run_options.load.rate_pps = opts.rate;
    run_options.load.seconds = opts.seconds;
    return liprobe::dataplane::run(cfg, run_options);
}
