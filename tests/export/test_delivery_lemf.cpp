// End to end: the exporter delivers over mutual TLS on loopback to liprobe-lemf (a separate
// process, path in $LIPROBE_LEMF), whose summary.json is the judge: PDU counts, missing
// sequence numbers (gaps) and duplicates per (LIID, CIN, stream).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "eal.hpp"
#include "liprobe/export/exporter.hpp"
#include "test_delivery_support.hpp"

using namespace liprobe::exporter;
using liprobe::test::eventually;
using nlohmann::json;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// One liprobe-lemf process. stdout/stderr go to OUT/lemf-<n>.log.
class Lemf {
  public:
    Lemf(const std::string& out, uint16_t port, std::vector<std::string> extra = {}) : out_(out) {
        const char* path = std::getenv("LIPROBE_LEMF");
        if (path == nullptr) throw std::runtime_error("LIPROBE_LEMF is not set");
        static int counter = 0;
        log_ = out + "/lemf-" + std::to_string(counter++) + ".log";
        const auto& p = liprobe::test::pki();
        std::vector<std::string> args = {path,
                                         "--listen",
                                         "127.0.0.1:" + std::to_string(port),
                                         "--cert",
                                         p.server_cert,
                                         "--key",
                                         p.server_key,
                                         "--ca",
                                         p.ca,
                                         "--out",
                                         out};
        args.insert(args.end(), extra.begin(), extra.end());
        pid_ = fork();
        if (pid_ == 0) {
            int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(fd, 1);
            dup2(fd, 2);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(argv[0], argv.data());
            _exit(127);
        }
        bool ready = eventually(
            [&] {
                std::string text = read_file(log_);
                size_t at = text.find("listening on 127.0.0.1:");
                if (at == std::string::npos) return false;
                size_t nl = text.find('\n', at);
                if (nl == std::string::npos) return false;
                port_ = static_cast<uint16_t>(std::stoi(text.substr(at + 23, nl - at - 23)));
                return true;
            },
            10);
        if (!ready) throw std::runtime_error("liprobe-lemf did not start: " + read_file(log_));
    }
    ~Lemf() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    uint16_t port() const { return port_; }
    // SIGTERM (the receiver stops reading at once: what sits in its socket is lost), wait,
    // and return DIR/summary.json.
    json stop() {
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(log_);
        return json::parse(read_file(out_ + "/summary.json"));
    }
    std::string log() const { return read_file(log_); }

  private:
    std::string out_, log_;
    pid_t pid_ = -1;
    uint16_t port_ = 0;
};

const json* find_stream(const json& summary, const std::string& liid, uint64_t cin,
                        const std::string& stream) {
    for (const json& s : summary.at("streams")) {
        if (s.at("liid") == liid && s.at("cin") == cin && s.at("stream") == stream) return &s;
    }
    return nullptr;
}

class LemfDeliveryTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(liprobe::test::init_eal());
        liprobe::test::pki();
        dir_ = liprobe::test::make_temp_dir("lemf");
        out_ = dir_ + "/out";
        spool_parent_ = dir_ + "/spool";
        mkdir(out_.c_str(), 0700);
    }
    void TearDown() override { liprobe::test::remove_tree(dir_); }

    DestinationConfig config(uint16_t port) { return liprobe::test::test_destination(port); }
    std::unique_ptr<Exporter> make(const DestinationConfig& c) {
        return liprobe::test::make_exporter(c);
    }

    static void submit_cc(Exporter& exp, uint32_t first, uint32_t count) {
        for (uint32_t i = first; i < first + count; ++i)
            liprobe::test::submit_paced(exp, liprobe::test::make_record(exp, 1, false, i));
    }

    static bool all_confirmed(const Exporter& exp, uint64_t total) {
        return eventually([&] {
            auto s = exp.snapshot();
            return s.queued == 0 && s.encoded_pdus == total && s.buffered_bytes == 0 &&
                   s.spooled_bytes == 0 && s.confirmed_pdus + s.lost_spool_full >= total;
        });
    }

    std::string dir_, out_, spool_parent_;
};

TEST_F(LemfDeliveryTest, HundredThousandPdusArriveWithoutGapsOrDuplicates) {
    Lemf lemf(out_, 0);
    auto exp = make(config(lemf.port()));
    ASSERT_TRUE(exp);
    exp->start();
    const uint32_t per_stream = 25000;
    for (uint32_t i = 0; i < per_stream; ++i) {
        for (uint32_t cin : {1u, 2u}) {
            liprobe::test::submit_paced(*exp, liprobe::test::make_record(*exp, cin, false, i));
            liprobe::test::submit_paced(*exp, liprobe::test::make_record(*exp, cin, true, i));
        }
    }
    ASSERT_TRUE(all_confirmed(*exp, 4 * per_stream)) << exp->last_error();
    exp->stop();
    json summary = lemf.stop();
    EXPECT_EQ(summary["pdus"], 100000u);
    EXPECT_EQ(summary["missing"], 0u);
    EXPECT_EQ(summary["duplicates"], 0u);
    EXPECT_EQ(summary["tls_failures"], 0u);
    EXPECT_EQ(summary["malformed_connections"], 0u);
    ASSERT_EQ(summary["streams"].size(), 4u);
    for (uint64_t cin : {1u, 2u}) {
        for (const char* stream : {"cc", "iri"}) {
            const json* s = find_stream(summary, "LIID1", cin, stream);
            ASSERT_NE(s, nullptr) << cin << stream;
            EXPECT_EQ((*s)["pdus"], per_stream);
            EXPECT_EQ((*s)["first_seq"], 0u);
            EXPECT_EQ((*s)["next_seq"], per_stream);
            EXPECT_EQ((*s)["gap_events"], 0u);
        }
    }
    auto s = exp->snapshot();
    EXPECT_EQ(s.sent_pdus, 100000u);
    EXPECT_EQ(s.lost(), 0u);
    EXPECT_EQ(s.reconnects, 0u);
}

// --- refusals

void expect_exporter_refused(Exporter& exp, const std::string& reason_part) {
    exp.start();
    ASSERT_TRUE(eventually([&] { return exp.snapshot().tls_failures >= 2; })) << exp.last_error();
    std::string error = exp.last_error();
    exp.stop();
    EXPECT_EQ(exp.snapshot().confirmed_pdus, 0u);
    EXPECT_NE(error.find(reason_part), std::string::npos) << error;
}

TEST_F(LemfDeliveryTest, ClientWithoutCertificateIsRefused) {
    Lemf lemf(out_, 0);
    // The exporter itself cannot be configured without one (see test_delivery); a bare
    // OpenSSL client shows that the receiver would refuse it anyway.
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx, liprobe::test::pki().ca.c_str(), nullptr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(lemf.port());
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    int rc = SSL_connect(ssl);
    // TLS 1.3: the refusal arrives as an alert on the first read after the handshake.
    uint8_t byte;
    if (rc == 1) rc = SSL_read(ssl, &byte, 1);
    EXPECT_LE(rc, 0);
    char reason[256];
    ERR_error_string_n(ERR_peek_last_error(), reason, sizeof reason);
    EXPECT_NE(std::string(reason).find("certificate required"), std::string::npos) << reason;
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    json summary = lemf.stop();
    EXPECT_EQ(summary["tls_failures"], 1u);
    EXPECT_EQ(summary["pdus"], 0u);
}

TEST_F(LemfDeliveryTest, ClientCertificateFromAnotherCaIsRefused) {
    Lemf lemf(out_, 0);
    auto c = config(lemf.port());
    c.cert = liprobe::test::pki().other_client_cert;
    c.key = liprobe::test::pki().other_client_key;
    auto exp = make(c);
    ASSERT_TRUE(exp);
    submit_cc(*exp, 0, 10);
    expect_exporter_refused(*exp, "alert unknown ca");
    json summary = lemf.stop();
    EXPECT_GE(summary["tls_failures"], 2u);
    EXPECT_EQ(summary["pdus"], 0u);
}

TEST_F(LemfDeliveryTest, ServerCertificateFromAnotherCaIsRefused) {
    Lemf lemf(out_, 0);
    auto c = config(lemf.port());
    c.ca = liprobe::test::pki().other_ca;
    auto exp = make(c);
    ASSERT_TRUE(exp);
    submit_cc(*exp, 0, 10);
    expect_exporter_refused(*exp, "certificate verify failed");
    EXPECT_EQ(lemf.stop()["pdus"], 0u);
}

TEST_F(LemfDeliveryTest, WrongServerNameIsRefused) {
    Lemf lemf(out_, 0);
    auto c = config(lemf.port());
    c.server_name = "other.test";
    auto exp = make(c);
    ASSERT_TRUE(exp);
    submit_cc(*exp, 0, 10);
    expect_exporter_refused(*exp, "hostname mismatch");
    EXPECT_EQ(lemf.stop()["pdus"], 0u);
}

TEST_F(LemfDeliveryTest, ServerOfferingOnlyTls11IsRefused) {
    Lemf lemf(out_, 0, {"--test-only-tls11"});
    auto exp = make(config(lemf.port()));
    ASSERT_TRUE(exp);
    submit_cc(*exp, 0, 10);
    expect_exporter_refused(*exp, "protocol version");
    EXPECT_EQ(lemf.stop()["pdus"], 0u);
}

// --- outage: the receiver is stopped mid-stream and started again on the same port
// (--resume continues its sequence checks): every PDU arrives.

void outage(LemfDeliveryTest* t, Exporter& exp, Lemf& first, const std::string& out, uint32_t total,
            bool expect_spool) {
    (void)t;
    exp.start();
    uint16_t port = first.port();
    const uint32_t before = total / 4;
    for (uint32_t i = 0; i < before; ++i)
        liprobe::test::submit_paced(exp, liprobe::test::make_record(exp, 1, false, i));
    ASSERT_TRUE(eventually([&] { return exp.snapshot().sent_pdus >= before / 2; }));
    json first_summary = first.stop();
    for (uint32_t i = before; i < total; ++i)
        liprobe::test::submit_paced(exp, liprobe::test::make_record(exp, 1, false, i));
    ASSERT_TRUE(eventually([&] { return exp.snapshot().encoded_pdus == total; }));
    if (expect_spool) {
        EXPECT_GT(exp.snapshot().spooled_pdus, 0u);
    } else {
        EXPECT_EQ(exp.snapshot().spooled_pdus, 0u);
    }
    Lemf second(out, port, {"--resume"});
    ASSERT_TRUE(eventually([&] {
        auto s = exp.snapshot();
        return s.confirmed_pdus >= total && s.buffered_bytes == 0 && s.spooled_bytes == 0;
    })) << exp.last_error();
    exp.stop();
    json summary = second.stop();
    const json* s = find_stream(summary, "LIID1", 1, "cc");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ((*s)["missing"], 0u) << summary.dump();
    EXPECT_EQ((*s)["next_seq"], total);
    // Resent PDUs show up as duplicates, never as gaps.
    EXPECT_EQ((*s)["pdus"].get<uint64_t>() - (*s)["duplicates"].get<uint64_t>(), total);
    EXPECT_LE((*s)["duplicates"].get<uint64_t>(), exp.snapshot().resent_pdus);
    EXPECT_EQ(exp.snapshot().lost(), 0u);
    EXPECT_GE(exp.snapshot().reconnects, 1u);
    EXPECT_GT(first_summary["pdus"].get<uint64_t>(), 0u);
}

TEST_F(LemfDeliveryTest, OutageMemoryBufferPathLosesNothing) {
    Lemf first(out_, 0);
    auto c = config(first.port());
    c.spool_dir = spool_parent_;
    auto exp = make(c);
    ASSERT_TRUE(exp);
    outage(this, *exp, first, out_, 20000, false);
}

TEST_F(LemfDeliveryTest, OutageSpoolPathLosesNothing) {
    Lemf first(out_, 0);
    auto c = config(first.port());
    c.spool_dir = spool_parent_;
    c.buffer_mb = 0.02;  // about 80 PDUs in memory, the rest spooled
    auto exp = make(c);
    ASSERT_TRUE(exp);
    outage(this, *exp, first, out_, 20000, true);
}

TEST_F(LemfDeliveryTest, SpoolLimitLossEqualsTheGapTheLemfReports) {
    uint16_t port = liprobe::test::free_port();
    auto c = config(port);
    c.spool_dir = spool_parent_;
    c.buffer_mb = 0.02;
    c.spool_limit_mb = 0.25;
    auto exp = make(c);
    ASSERT_TRUE(exp);
    exp->start();
    const uint32_t total = 10000;
    submit_cc(*exp, 0, total);
    ASSERT_TRUE(eventually([&] { return exp->snapshot().encoded_pdus == total; }));
    EXPECT_GT(exp->snapshot().lost_spool_full, 0u);
    Lemf lemf(out_, port);
    ASSERT_TRUE(all_confirmed(*exp, total)) << exp->last_error();
    exp->stop();
    json summary = lemf.stop();
    const json* s = find_stream(summary, "LIID1", 1, "cc");
    ASSERT_NE(s, nullptr);
    auto snap = exp->snapshot();
    EXPECT_EQ((*s)["missing"], snap.lost_spool_full) << summary.dump();
    EXPECT_EQ((*s)["pdus"].get<uint64_t>() + snap.lost_spool_full, total);
    EXPECT_EQ((*s)["duplicates"], 0u);
    EXPECT_EQ((*s)["next_seq"], total);
    EXPECT_EQ(snap.lost(), snap.lost_spool_full);
}

}  // namespace
