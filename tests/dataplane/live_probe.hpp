// Helpers of the tests that drive a running liprobe: free loopback ports, polling, curl, the
// Prometheus text parser (python3-prometheus-client) and sending a capture's UDP frames as real
// datagrams from the addresses they name (configured on a namespace's loopback).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../control/pki.hpp"
#include "liprobe/net/parse.hpp"
#include "process.hpp"

namespace liprobe::test {

// A port that was free a moment ago (the config needs a number, not 0).
inline int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

inline bool wait_for(const std::function<bool()>& done, int seconds) {
    for (int i = 0; i < seconds * 20; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
}

// Starts liprobe-lemf (BIN) on a loopback port without TLS, format etsi102232, writing into
// DIR/lemf; its pid in `pid`. Returns the port it listens on, -1 when it did not say.
inline int start_plain_lemf(const std::string& bin, const std::string& dir, pid_t& pid) {
    pid = spawn({bin, "--listen", "127.0.0.1:0", "--plain", "--format", "etsi102232", "--out",
                 dir + "/lemf"},
                dir + "/lemf.out", dir + "/lemf.err");
    int port = -1;
    wait_for(
        [&] {
            const std::string out = slurp(dir + "/lemf.out");
            const size_t at = out.find("listening on ");
            const size_t nl = out.find('\n', at);
            if (at == std::string::npos || nl == std::string::npos) return false;
            const std::string addr = out.substr(at + 13, nl - at - 13);
            port = std::stoi(addr.substr(addr.rfind(':') + 1));
            return true;
        },
        10);
    return port;
}

// GET /metrics on PORT through the Prometheus client library's parser: {"name{labels}": value}
// and {"#type name": type}; null when it could not be read.
inline nlohmann::json scrape_metrics(const std::string& dir, int port) {
    std::string text;
    if (run_curl(dir, {"http://127.0.0.1:" + std::to_string(port) + "/metrics"}, text) != 200)
        return nullptr;
    write_text(dir + "/metrics.txt", text, 0644);
    write_text(dir + "/parse.py",
               "import json, sys\n"
               "from prometheus_client.parser import "
               "text_string_to_metric_families\n"
               "out = {}\n"
               "for f in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
               "    for s in f.samples:\n"
               "        labels = ','.join(k + '=' + v for k, v in "
               "sorted(s.labels.items()))\n"
               "        out[s.name + ('{' + labels + '}' if labels else '')] = "
               "s.value\n"
               "    out['#type ' + f.name] = f.type\n"
               "print(json.dumps(out))\n",
               0644);
    // Debian's interpreter: its dist-packages hold python3-prometheus-client.
    const pid_t pid = spawn({"/usr/bin/python3", dir + "/parse.py", dir + "/metrics.txt"},
                            dir + "/parsed.json", dir + "/parse.err");
    if (pid < 0 || wait_exit_within(pid, 20) != 0) {
        ADD_FAILURE() << "prometheus parser refused /metrics: " << slurp(dir + "/parse.err");
        return nullptr;
    }
    return nlohmann::json::parse(slurp(dir + "/parsed.json"));
}

// Sends the UDP payload of an Ethernet/IPv4 frame from its source address and port to its
// destination (both configured on the namespace's loopback), as a real host would.
inline bool send_frame(const std::vector<uint8_t>& frame) {
    net::ParsedPacket p;
    if (net::parse_frame(frame.data(), static_cast<uint32_t>(frame.size()), net::LinkType::ethernet,
                         p) != net::ParseStatus::ok)
        return false;
    sockaddr_in src{}, dst{};
    src.sin_family = dst.sin_family = AF_INET;
    std::memcpy(&src.sin_addr, frame.data() + p.l3_offset + 12, 4);
    std::memcpy(&dst.sin_addr, frame.data() + p.l3_offset + 16, 4);
    src.sin_port = htons(p.src_port);
    dst.sin_port = htons(p.dst_port);
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0 &&
                    sendto(fd, frame.data() + p.payload_offset, p.payload_len, 0,
                           reinterpret_cast<sockaddr*>(&dst),
                           sizeof dst) == static_cast<ssize_t>(p.payload_len);
    close(fd);
    return ok;
}

// Moves the test process into a network namespace of its own whose loopback carries the calls'
// addresses (192.0.2.10 and .20, TEST-NET-1 only inside the namespace). Needs root; call it
// through ASSERT_NO_FATAL_FAILURE.
inline void enter_private_loopback(const std::string& dir) {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    for (const std::vector<std::string>& cmd :
         {std::vector<std::string>{"ip", "link", "set", "lo", "up"},
          {"ip", "addr", "add", "192.0.2.10/32", "dev", "lo"},
          {"ip", "addr", "add", "192.0.2.20/32", "dev", "lo"}}) {
        const pid_t ip = spawn(cmd, dir + "/ip.out", dir + "/ip.err");
        ASSERT_EQ(wait_exit(ip), 0) << slurp(dir + "/ip.err");
    }
}

// The fixture of the tests that run a probe and a LEMF as child processes (LEMF_BIN): a temporary
// directory, a test CA with the API server's certificate and one API client certificate, and the
// two processes, killed at the end if still running.
class LiveProbeTest : public ::testing::Test {
  protected:
    // client: the client certificate's name and CN; stem: of the EAL file prefix (unique per test
    // binary, so parallel suites never share an EAL runtime directory).
    void set_up(const std::string& client, const std::string& client_cn, const std::string& stem) {
        dir_ = make_temp_dir();
        std::filesystem::create_directories(dir_ + "/lemf");
        ca_ = std::make_unique<TestCa>(dir_, "ca");
        server_ = ca_->issue("api", {{"O", "liprobe test"}, {"CN", "localhost"}}, true);
        client_ = ca_->issue(client, {{"O", "Operator"}, {"CN", client_cn}}, false);
        prefix_ = stem + std::to_string(getpid());
    }
    void TearDown() override {
        for (pid_t* p : {&probe_, &lemf_})
            if (*p > 0) {
                kill(*p, SIGKILL);
                wait_exit(*p);
            }
        if (!HasFailure()) std::filesystem::remove_all(dir_);
    }

    int start_lemf() { return start_plain_lemf(LEMF_BIN, dir_, lemf_); }

    std::string dir_, prefix_;
    std::unique_ptr<TestCa> ca_;
    std::pair<std::string, std::string> server_, client_;  // certificate, key
    pid_t probe_ = -1, lemf_ = -1;
};

}  // namespace liprobe::test
