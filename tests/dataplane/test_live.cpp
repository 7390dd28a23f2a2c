// End to end, live (issue 4 "Tests: Live"): liprobe on a net_af_packet port watches a veth pair
// while sipp places real calls across it; liprobe-lemf receives and the test checks its output.
//
// Topology, all inside two network namespaces this test creates (nothing is added to the host's
// own namespace, whose addresses may be anything, TEST-NET included):
//
//   namespace <base>-a: sipp UACs on 198.51.100.2  [veth ln0] ==== [veth lp0]  namespace <base>-p:
//                                                  sipp UAS on 198.51.100.1, liprobe on
//                                                  net_af_packet(iface=lp0), liprobe-lemf on
//                                                  127.0.0.1
//
// A non-target call (carol -> dave) comes first, then the target's call (alice -> bob); each side
// plays 10 plain RTP packets whose bytes the test wrote (sipp play_pcap_audio keeps the UDP
// payload, only the addresses and ports change). Nothing waits on a timer: the UAC sends its BYE
// when the test, having seen on liprobe's /metrics that every RTP packet of the call was counted,
// sends it an INFO over the peer namespace's loopback (never on the veth); liprobe is stopped
// once /metrics shows all 12 SIP messages. IPv6 is off in both namespaces, so the only UDP on
// the veth is the calls'. liprobe is stopped with SIGTERM and must drain
// and exit 0; its accounting must balance; the LEMF must hold exactly the target's 6 SIP messages
// as IRI and its 20 RTP packets as CC, byte for byte, and nothing of the other call.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "liprobe/net/frame_builder.hpp"
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

constexpr const char* kNamespacePrefix = "liprobe-live-";
constexpr const char* kProbeAddress = "198.51.100.1";  // TEST-NET-2, inside our namespaces only
constexpr const char* kPeerAddress = "198.51.100.2";
constexpr int kRtpPackets = 10;  // per direction and call
constexpr size_t kRtpPayload = 160;
constexpr int kMetricsPort = 9580;  // liprobe's /metrics, inside the probe namespace

// Runs a short command to completion; returns its exit code, its stderr in *err.
int run(const std::vector<std::string>& args, std::string* err = nullptr) {
    char tmpl[] = "/tmp/liprobe-live-cmd-XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd >= 0) close(fd);
    const pid_t pid = spawn(args, "/dev/null", tmpl);
    const int rc = pid > 0 ? wait_exit(pid) : 127;
    if (err != nullptr) *err = slurp(tmpl);
    unlink(tmpl);
    return rc;
}

// Sends len octets `times` times from src:sport to dst:dport (in the caller's namespace).
bool send_udp(const char* src, uint16_t sport, const char* dst, uint16_t dport, const void* data,
              size_t len, int times) {
    sockaddr_in to{}, from{};
    to.sin_family = from.sin_family = AF_INET;
    to.sin_port = htons(dport);
    from.sin_port = htons(sport);
    inet_pton(AF_INET, dst, &to.sin_addr);
    inet_pton(AF_INET, src, &from.sin_addr);
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0;
    for (int i = 0; ok && i < times; ++i)
        ok = sendto(fd, data, len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
             static_cast<ssize_t>(len);
    if (fd >= 0) close(fd);
    return ok;
}

int64_t wall_us() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

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

// The value of a summary line "    <name>   <count>" (-1 when absent).
long long summary_count(const std::string& summary, const std::string& name) {
    const std::regex re("\\n\\s+" + name + "\\s+(\\d+)\\n");
    std::smatch m;
    return std::regex_search(summary, m, re) ? std::stoll(m[1]) : -1;
}

// Plain RTP packets (the ones sipp will send) and the pcap sipp plays them from: Ethernet, IPv4,
// UDP to one destination port (sipp rewrites addresses and ports, keeps the payload), 20 ms apart.
std::vector<std::vector<uint8_t>> write_rtp_pcap(const std::string& path, uint32_t ssrc,
                                                 uint8_t fill) {
    std::vector<std::vector<uint8_t>> rtp;
    std::vector<liprobe::test::Frame> frames;
    liprobe::net::UdpFrameSpec spec;
    spec.src = liprobe::net::ipv4_address(10, 0, 0, 1);
    spec.dst = liprobe::net::ipv4_address(10, 0, 0, 2);
    spec.src_port = 30000;
    spec.dst_port = 30002;
    for (int i = 0; i < kRtpPackets; ++i) {
        auto pkt = liprobe::test::make_rtp(static_cast<uint16_t>(1000 + i), 160u * i, ssrc,
                                           kRtpPayload, static_cast<uint8_t>(fill + 7 * i));
        frames.push_back({1700000000000000 + i * 20000, liprobe::net::build_udp_frame(spec, pkt)});
        rtp.push_back(std::move(pkt));
    }
    liprobe::test::write_pcap(path, frames);
    return rtp;
}

// sipp scenarios. -nr (no retransmissions) keeps the message counts exact; the veth loses nothing.
std::string uac_scenario(const std::string& from_user, const std::string& to_user,
                         const std::string& rtp_pcap) {
    const std::string to = "sip:" + to_user + "@example.org";
    auto request = [&](const std::string& method, const std::string& cseq, bool dialog) {
        return "  <send>\n    <![CDATA[\n      " + method + " " + to +
               " SIP/2.0\n"
               "      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n" +
               (dialog ? "      [last_From:]\n      [last_To:]\n"
                       : "      From: <sip:" + from_user +
                             "@example.org>;tag=[pid]uac[call_number]\n      To: <" + to + ">\n") +
               "      Call-ID: [call_id]\n      CSeq: " + cseq + " " + method +
               "\n      Max-Forwards: 70\n";
    };
    return "<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n<scenario name=\"uac\">\n" +
           request("INVITE", "1", false) + "      Contact: <sip:" + from_user +
           "@[local_ip]:[local_port]>\n"
           "      Content-Type: application/sdp\n      Content-Length: [len]\n\n"
           "      v=0\n      o=- 1 1 IN IP4 [local_ip]\n      s=-\n      c=IN IP4 [media_ip]\n"
           "      t=0 0\n      m=audio [media_port] RTP/AVP 96\n"
           "      a=rtpmap:96 L16/8000\n\n    ]]>\n  </send>\n"
           "  <recv response=\"180\"/>\n  <recv response=\"200\" rrs=\"true\"/>\n" +
           request("ACK", "1", true) + "      Content-Length: 0\n\n    ]]>\n  </send>\n" +
           "  <nop><action><exec play_pcap_audio=\"" + rtp_pcap +
           "\"/></action></nop>\n"
           // The test sends INFO once the probe has counted every RTP packet of the call (a
           // condition, not a timed pause: a loaded machine may play the RTP late).
           "  <recv request=\"INFO\"/>\n" +
           request("BYE", "2", true) + "      Content-Length: 0\n\n    ]]>\n  </send>\n" +
           "  <recv response=\"200\"/>\n</scenario>\n";
}

std::string uas_scenario(const std::string& rtp_pcap) {
    auto response = [](const std::string& status, bool tag) {
        return "  <send>\n    <![CDATA[\n      SIP/2.0 " + status +
               "\n      [last_Via:]\n      [last_From:]\n      [last_To:]" +
               (tag ? ";tag=[pid]uas[call_number]" : "") +
               "\n      [last_Call-ID:]\n      [last_CSeq:]\n";
    };
    return "<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n<scenario name=\"uas\">\n"
           "  <recv request=\"INVITE\"/>\n" +
           response("180 Ringing", true) + "      Content-Length: 0\n\n    ]]>\n  </send>\n" +
           response("200 OK", true) +
           "      Contact: <sip:[local_ip]:[local_port]>\n"
           "      Content-Type: application/sdp\n      Content-Length: [len]\n\n"
           "      v=0\n      o=- 2 2 IN IP4 [local_ip]\n      s=-\n      c=IN IP4 [media_ip]\n"
           "      t=0 0\n      m=audio [media_port] RTP/AVP 96\n"
           "      a=rtpmap:96 L16/8000\n\n    ]]>\n  </send>\n"
           "  <recv request=\"ACK\"/>\n"
           "  <nop><action><exec play_pcap_audio=\"" +
           rtp_pcap +
           "\"/></action></nop>\n"
           "  <recv request=\"BYE\"/>\n" +
           response("200 OK", false) + "      Content-Length: 0\n\n    ]]>\n  </send>\n" +
           "</scenario>\n";
}

class Live : public ::testing::Test {
  protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "needs root (CAP_NET_ADMIN) to create network namespaces";
        remove_stale_namespaces();
        base_ = kNamespacePrefix + std::to_string(getpid());
        probe_ns_ = base_ + "-p";
        peer_ns_ = base_ + "-a";
        std::string err;
        if (run({"ip", "netns", "add", probe_ns_}, &err) != 0) {
            if (err.find("ermission") != std::string::npos ||
                err.find("not permitted") != std::string::npos)
                GTEST_SKIP() << "cannot create a network namespace: " << err;
            FAIL() << "ip netns add: " << err;
        }
        created_.push_back(probe_ns_);
        ASSERT_EQ(run({"ip", "netns", "add", peer_ns_}, &err), 0) << err;
        created_.push_back(peer_ns_);
        // The veth pair is born in the probe namespace with its peer end in the other one.
        const std::vector<std::vector<std::string>> setup = {
            {"ip", "-n", probe_ns_, "link", "add", "lp0", "type", "veth", "peer", "name", "ln0",
             "netns", peer_ns_},
            {"ip", "-n", probe_ns_, "addr", "add", std::string(kProbeAddress) + "/24", "dev",
             "lp0"},
            {"ip", "-n", peer_ns_, "addr", "add", std::string(kPeerAddress) + "/24", "dev", "ln0"},
            {"ip", "-n", probe_ns_, "link", "set", "lp0", "up"},
            {"ip", "-n", peer_ns_, "link", "set", "ln0", "up"},
            {"ip", "-n", probe_ns_, "link", "set", "lo", "up"},
            {"ip", "-n", peer_ns_, "link", "set", "lo", "up"},
            {"ip", "netns", "exec", probe_ns_, "sh", "-c",
             "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6"},
            {"ip", "netns", "exec", peer_ns_, "sh", "-c",
             "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6"},
        };
        for (const auto& cmd : setup) ASSERT_EQ(run(cmd, &err), 0) << cmd.back() << ": " << err;
        char tmpl[] = "/tmp/liprobe-live-XXXXXX";
        dir_ = mkdtemp(tmpl);
        fs::create_directories(dir_ + "/lemf");
    }

    void TearDown() override {
        for (pid_t pid : started_) {
            if (kill(pid, 0) != 0) continue;
            kill(pid, SIGKILL);
            wait_exit(pid);
        }
        for (const auto& ns : created_) run({"ip", "netns", "del", ns});
        if (!dir_.empty() && !::testing::Test::HasFailure()) fs::remove_all(dir_);
    }

    // Namespaces of earlier runs that crashed: "liprobe-live-<pid>-{p,a}" whose pid is gone.
    static void remove_stale_namespaces() {
        for (const auto& e :
             fs::directory_iterator("/run/netns", fs::directory_options::none, ignore_errors_)) {
            const std::string name = e.path().filename().string();
            if (name.rfind(kNamespacePrefix, 0) != 0) continue;
            const std::string rest = name.substr(std::string(kNamespacePrefix).size());
            const pid_t owner = static_cast<pid_t>(std::atoi(rest.c_str()));
            if (owner > 0 && (kill(owner, 0) == 0 || errno == EPERM)) continue;
            run({"ip", "netns", "del", name});
        }
    }

    pid_t start_in(const std::string& ns, std::vector<std::string> args, const std::string& name) {
        args.insert(args.begin(), {"ip", "netns", "exec", ns});  // ip execs: same pid
        const pid_t pid = spawn(args, dir_ + "/" + name + ".out", dir_ + "/" + name + ".err");
        if (pid > 0) started_.push_back(pid);
        return pid;
    }

    // Polls file for a line containing needle; returns the text after needle on that line.
    std::optional<std::string> wait_for(const std::string& file, const std::string& needle,
                                        pid_t pid) {
        for (int i = 0; i < 400; ++i) {
            const std::string text = slurp(file);
            const size_t at = text.find(needle);
            const size_t nl = at == std::string::npos ? at : text.find('\n', at);
            if (nl != std::string::npos)
                return text.substr(at + needle.size(), nl - at - needle.size());
            if (waitpid(pid, nullptr, WNOHANG) == pid) return std::nullopt;  // it died
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        return std::nullopt;
    }

    // True once pid (in its own network namespace) has a UDP socket bound to hex_addr_port.
    static bool wait_udp_bound(pid_t pid, const std::string& hex_addr_port) {
        for (int i = 0; i < 400; ++i) {
            if (slurp("/proc/" + std::to_string(pid) + "/net/udp").find(hex_addr_port) !=
                std::string::npos)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        return false;
    }

    // Starts liprobe-lemf and liprobe (on `port`, one warrant for sip:alice@example.org), both
    // inside the probe namespace, and waits until liprobe's workers run.
    void start_lemf_and_probe(const std::string& port, pid_t& lemf, pid_t& probe) {
        lemf = start_in(probe_ns_,
                        {LEMF_BIN, "--listen", "127.0.0.1:0", "--plain", "--format", "etsi102232",
                         "--out", dir_ + "/lemf"},
                        "lemf");
        ASSERT_GT(lemf, 0);
        const auto lemf_addr = wait_for(dir_ + "/lemf.out", "listening on ", lemf);
        ASSERT_TRUE(lemf_addr.has_value()) << err("lemf");
        const std::string lemf_port = lemf_addr->substr(lemf_addr->rfind(':') + 1);
        write_text(dir_ + "/probe.toml",
                   "[probe]\nnetwork_element_id = \"probe-live\"\noperator_id = \"op-t\"\n"
                   "country_code = \"DE\"\n[dpdk]\neal_args = [\"--no-huge\", \"--no-pci\", "
                   "\"-m\", \"512\", \"--no-shconf\", \"--file-prefix=" +
                       base_ + "\"]\nports = [\"" + port +
                       "\"]\nworkers = 1\n"
                       "[metrics]\nlisten = \"127.0.0.1:" +
                       std::to_string(kMetricsPort) +
                       "\"\nstatus_interval_s = 1\n"
                       "[export]\ndrain_timeout = 10\nspool_dir = \"\"\n"
                       "[[destination]]\nid = \"lemf\"\naddress = \"127.0.0.1:" +
                       lemf_port +
                       "\"\ntls = false\n[[warrant]]\nliid = \"LIID-ALICE\"\n"
                       "targets = [\"sip:alice@example.org\"]\ndestinations = [\"lemf\"]\n");
        probe = start_in(probe_ns_, {LIPROBE_BIN, "--config", dir_ + "/probe.toml"}, "probe");
        ASSERT_GT(probe, 0);
        // The first status line comes from the control loop, after the workers are running.
        ASSERT_TRUE(wait_for(dir_ + "/probe.err", "liprobe: status rx ", probe).has_value())
            << err("probe") << out("probe");
    }

    // One sample of liprobe's /metrics (scraped inside the probe namespace), -1 when absent.
    double metric(const std::string& sample) {
        const pid_t curl =
            start_in(probe_ns_,
                     {"curl", "-sS", "--max-time", "5",
                      "http://127.0.0.1:" + std::to_string(kMetricsPort) + "/metrics"},
                     "metrics");
        if (curl <= 0 || wait_exit_within(curl, 10) != 0) return -1;
        std::istringstream in(out("metrics"));
        for (std::string line; std::getline(in, line);)
            if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
        return -1;
    }
    // Waits (30 s at most) until the sample reaches value; the last value seen otherwise.
    double wait_metric(const std::string& sample, double value) {
        double v = -1;
        for (int i = 0; i < 300 && (v = metric(sample)) < value; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return v;
    }
    // Lets a UAC go on to its BYE: an INFO of its call (Call-ID <name>-1@peer, -cid_str below)
    // sent to it from the peer namespace's own address, so it travels on that namespace's
    // loopback and liprobe never sees it.
    void release_uac(const std::string& name) {
        const std::string info = "INFO sip:" + std::string(kPeerAddress) +
                                 " SIP/2.0\r\nVia: SIP/2.0/UDP " + kPeerAddress +
                                 ":5999;branch=z9hG4bKrelease\r\nFrom: <sip:test@" + kPeerAddress +
                                 ">;tag=t\r\nTo: <sip:uac@" + kPeerAddress +
                                 ">\r\nCall-ID: " + name + "-1@" + kPeerAddress +
                                 "\r\nCSeq: 1 INFO\r\nMax-Forwards: 70\r\n"
                                 "Content-Length: 0\r\n\r\n";
        ASSERT_NO_FATAL_FAILURE(in_peer_namespace([&] {
            return send_udp(kPeerAddress, 5999, kPeerAddress, 5060, info.data(), info.size(), 1);
        }));
    }

    // Runs body in a child process that joined the peer namespace (fork + setns: the test
    // process stays where it is); asserts that body returned true.
    void in_peer_namespace(const std::function<bool()>& body) {
        const std::string ns_path = "/run/netns/" + peer_ns_;
        const pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            const int nsfd = open(ns_path.c_str(), O_RDONLY);
            if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) _exit(2);
            _exit(body() ? 0 : 1);
        }
        ASSERT_EQ(wait_exit_within(child, 10), 0);
    }

    std::string out(const std::string& name) { return slurp(dir_ + "/" + name + ".out"); }
    std::string err(const std::string& name) { return slurp(dir_ + "/" + name + ".err"); }

    static inline std::error_code ignore_errors_;
    std::string base_, probe_ns_, peer_ns_, dir_;
    std::vector<std::string> created_;
    std::vector<pid_t> started_;
};

TEST_F(Live, SippCallsAcrossVethTargetDeliveredNonTargetNothing) {
    // One queue: capture order is processing order, so the media of a call always comes after
    // the SDP that announced it, whatever the CPU load.
    pid_t lemf = -1, probe = -1;
    ASSERT_NO_FATAL_FAILURE(start_lemf_and_probe("net_af_packet0,iface=lp0", lemf, probe));

    // ---- RTP the calls will carry, and the sipp scenarios ----
    const auto uac_target_rtp = write_rtp_pcap(dir_ + "/uac_target.pcap", 0xA11CE000, 0x10);
    const auto uac_other_rtp = write_rtp_pcap(dir_ + "/uac_other.pcap", 0xCA401000, 0x50);
    const auto uas_rtp = write_rtp_pcap(dir_ + "/uas.pcap", 0xB0B00000, 0x90);
    write_text(dir_ + "/uac_target.xml", uac_scenario("alice", "bob", dir_ + "/uac_target.pcap"));
    write_text(dir_ + "/uac_other.xml", uac_scenario("carol", "dave", dir_ + "/uac_other.pcap"));
    write_text(dir_ + "/uas.xml", uas_scenario(dir_ + "/uas.pcap"));

    const int64_t calls_start_us = wall_us();
    const pid_t uas =
        start_in(probe_ns_,
                 {"sipp", "-sf", dir_ + "/uas.xml", "-i", kProbeAddress, "-p", "5060", "-mi",
                  kProbeAddress, "-mp", "6000", "-m", "2", "-nr", "-nostdin", "-timeout", "30"},
                 "uas");
    ASSERT_GT(uas, 0);
    // 198.51.100.1:5060 as /proc/net/udp writes it (little-endian address, port in hex).
    ASSERT_TRUE(wait_udp_bound(uas, "016433C6:13C4")) << err("uas") << out("uas");

    // The non-target call first, so that its packets are over before any flow is installed;
    // then the target's call, from another media port.
    struct UacRun {
        const char* name;
        const char* media_port;
    };
    // Each call's BYE waits until liprobe has counted all 20 RTP packets of the call: the other
    // call's as not_intercepted (nothing else on the veth is UDP), the target's as intercepted.
    struct Step {
        const char* sample;
        double value;
    };
    for (const auto& [u, step] :
         {std::pair{UacRun{"uac_other", "4100"},
                    Step{"liprobe_packets_total{outcome=\"not_intercepted\"}", 2 * kRtpPackets}},
          std::pair{
              UacRun{"uac_target", "4000"},
              Step{"liprobe_packets_total{outcome=\"media_intercepted\"}", 2 * kRtpPackets}}}) {
        SCOPED_TRACE(u.name);
        const pid_t uac = start_in(peer_ns_, {"sipp",     std::string(kProbeAddress) + ":5060",
                                              "-sf",      dir_ + "/" + u.name + ".xml",
                                              "-i",       kPeerAddress,
                                              "-p",       "5060",
                                              "-mi",      kPeerAddress,
                                              "-mp",      u.media_port,
                                              "-m",       "1",
                                              "-cid_str", std::string(u.name) + "-%u@%s",
                                              "-nr",      "-nostdin",
                                              "-timeout", "30"},
                                   u.name);
        ASSERT_GT(uac, 0);
        EXPECT_EQ(wait_metric(step.sample, step.value), step.value) << err("probe");
        ASSERT_NO_FATAL_FAILURE(release_uac(u.name));
        ASSERT_EQ(wait_exit_within(uac, 30), 0) << err(u.name) << out(u.name);
    }
    ASSERT_EQ(wait_exit_within(uas, 30), 0) << err("uas") << out("uas");
    // Stop once liprobe has counted every SIP message of both calls (6 each).
    EXPECT_EQ(wait_metric("liprobe_sip_messages_total", 12), 12) << err("probe");
    const int64_t calls_end_us = wall_us();

    // ---- stop: liprobe drains and exits 0, then the LEMF writes its summary ----
    kill(probe, SIGTERM);
    ASSERT_EQ(wait_exit_within(probe, 30), 0) << err("probe") << out("probe");
    kill(lemf, SIGTERM);
    ASSERT_EQ(wait_exit_within(lemf, 10), 0) << err("lemf");

    // ---- liprobe's own account ----
    const std::string summary = out("probe");
    SCOPED_TRACE(summary);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(summary, m,
                                  std::regex("accounting +received (\\d+), outcomes (\\d+): "
                                             "balanced")));
    EXPECT_EQ(m[1], m[2]);
    EXPECT_GT(std::stoll(m[1]), 6 + 6 + 4 * kRtpPackets - 1);
    EXPECT_NE(summary.find("queues 1, kernel flow hash"), std::string::npos);
    EXPECT_EQ(summary_count(summary, "sip_intercepted"), 6);
    EXPECT_EQ(summary_count(summary, "sip_not_intercepted"), 6);
    EXPECT_EQ(summary_count(summary, "media_intercepted"), 2 * kRtpPackets);
    EXPECT_NE(summary.find("  lost                 0\n"), std::string::npos);
    EXPECT_NE(err("probe").find("liprobe: status rx "), std::string::npos);

    // ---- the LEMF: the target's call only, complete ----
    const json lemf_summary = json::parse(slurp(dir_ + "/lemf/summary.json"));
    EXPECT_EQ(lemf_summary["missing"], 0);
    EXPECT_EQ(lemf_summary["duplicates"], 0);
    EXPECT_EQ(lemf_summary["pdus"], 6 + 2 * kRtpPackets) << lemf_summary.dump();
    std::vector<std::string> jsonl;
    for (const auto& e : fs::directory_iterator(dir_ + "/lemf"))
        if (e.path().extension() == ".jsonl") jsonl.push_back(e.path().string());
    ASSERT_EQ(jsonl.size(), 1u);
    EXPECT_EQ(fs::path(jsonl[0]).filename().string().rfind("LIID-ALICE_", 0), 0u);
    std::vector<json> iri, cc;
    for (const auto& l : read_jsonl(jsonl[0])) (l["kind"] == "iri_sip" ? iri : cc).push_back(l);

    const char* first_lines[] = {"INVITE sip:bob@example.org SIP/2.0",
                                 "SIP/2.0 180 Ringing",
                                 "SIP/2.0 200 OK",
                                 "ACK sip:bob@example.org SIP/2.0",
                                 "BYE sip:bob@example.org SIP/2.0",
                                 "SIP/2.0 200 OK"};
    const char* types[] = {"begin", "continue", "continue", "continue", "continue", "end"};
    const bool from_peer[] = {true, false, false, true, true, false};
    ASSERT_EQ(iri.size(), 6u);
    for (size_t i = 0; i < iri.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(iri[i]["seq"], i);
        EXPECT_EQ(iri[i]["sip"], first_lines[i]);
        EXPECT_EQ(iri[i]["iri_type"], types[i]);
        EXPECT_EQ(iri[i]["src"], from_peer[i] ? kPeerAddress : kProbeAddress);
        EXPECT_EQ(iri[i]["dst"], from_peer[i] ? kProbeAddress : kPeerAddress);
        EXPECT_EQ(iri[i]["cin"], iri[0]["cin"]);
        // Live packet time is the time of capture: within the calls, in order.
        EXPECT_GE(iri[i]["time_us"].get<int64_t>(), calls_start_us);
        EXPECT_LE(iri[i]["time_us"].get<int64_t>(), calls_end_us);
        if (i > 0) {
            EXPECT_GE(iri[i]["time_us"], iri[i - 1]["time_us"]);
        }
    }

    // CC: the RTP packets exactly as sipp sent them, per direction in order (plain RTP/AVP).
    ASSERT_EQ(cc.size(), 2u * kRtpPackets);
    const std::string pcap = jsonl[0].substr(0, jsonl[0].size() - 6) + ".pcap";
    const auto payloads = pcap_payloads(pcap);
    ASSERT_EQ(payloads.size(), cc.size());
    std::vector<std::vector<uint8_t>> from_target, to_target;
    for (size_t i = 0; i < cc.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(cc[i]["kind"], "cc_rtp");
        EXPECT_EQ(cc[i]["seq"], i);
        EXPECT_EQ(cc[i]["cin"], iri[0]["cin"]);
        // Capture time, within the calls (the rx time of a burst: no finer than the ACK's).
        EXPECT_GE(cc[i]["time_us"].get<int64_t>(), calls_start_us);
        EXPECT_LE(cc[i]["time_us"].get<int64_t>(), calls_end_us);
        (cc[i]["direction"] == "from_target" ? from_target : to_target).push_back(payloads[i]);
    }
    EXPECT_EQ(from_target, uac_target_rtp);  // alice (the target) is the UAC
    EXPECT_EQ(to_target, uas_rtp);
    for (const auto& p : payloads) EXPECT_EQ(p.size(), 12 + kRtpPayload);
    (void)uac_other_rtp;  // the other call's RTP must not appear: counted above
}

// net_af_packet with qpairs=2: two AF_PACKET sockets in one kernel fanout group, each getting
// the flows its hash picks. liprobe must read both (one worker here), or the flows hashed to the
// second socket are lost without a trace: every datagram of 32 flows must be received.
TEST_F(Live, AfPacketFanoutQueuesAreAllRead) {
    pid_t lemf = -1, probe = -1;
    ASSERT_NO_FATAL_FAILURE(start_lemf_and_probe("net_af_packet0,iface=lp0,qpairs=2", lemf, probe));
    constexpr int kFlows = 32, kEach = 2;
    // From 32 source ports in the peer namespace.
    const uint8_t payload[20] = {0x01, 0x02, 0x03};  // not SIP, not RTP: not intercepted
    ASSERT_NO_FATAL_FAILURE(in_peer_namespace([&] {
        for (int f = 0; f < kFlows; ++f)
            if (!send_udp(kPeerAddress, static_cast<uint16_t>(20000 + f), kProbeAddress, 7000,
                          payload, sizeof payload, kEach))
                return false;
        return true;
    }));
    // Stop once liprobe counted them all (IPv6 is off: nothing else on the veth is UDP).
    EXPECT_EQ(wait_metric("liprobe_packets_total{outcome=\"not_intercepted\"}", kFlows * kEach),
              kFlows * kEach)
        << err("probe");
    kill(probe, SIGTERM);
    ASSERT_EQ(wait_exit_within(probe, 30), 0) << err("probe") << out("probe");
    kill(lemf, SIGTERM);
    ASSERT_EQ(wait_exit_within(lemf, 10), 0) << err("lemf");
    const std::string summary = out("probe");
    SCOPED_TRACE(summary);
    EXPECT_NE(summary.find("queues 2, kernel flow hash"), std::string::npos);
    EXPECT_EQ(summary_count(summary, "not_intercepted"), kFlows * kEach);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(summary, m,
                                  std::regex("accounting +received (\\d+), outcomes (\\d+): "
                                             "balanced")));
    EXPECT_EQ(m[1], m[2]);
}

}  // namespace
