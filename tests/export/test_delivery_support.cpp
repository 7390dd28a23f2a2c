// Test support for the delivery tests (see test_delivery_support.hpp).
#include "test_delivery_support.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "liprobe/export/decode.hpp"

namespace liprobe::test {

using namespace liprobe::exporter;

std::string make_temp_dir(const std::string& tag) {
    std::string tmpl = (std::filesystem::temp_directory_path() / ("liprobe-" + tag + "-XXXXXX"));
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return tmpl;
}

void remove_tree(const std::string& dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

namespace {

struct PkiHolder {
    Pki pki;
    PkiHolder() {
        pki.dir = make_temp_dir("pki");
        const std::string& d = pki.dir;
        // EC P-256 keys; certificates valid two days; server SAN: DNS lemf.test, IP 127.0.0.1.
        // The expired ones (same keys) ended a day ago (-days -1: notAfter before notBefore).
        const std::string script = R"(set -e
K="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $K -keyout ca.key -out ca.pem -days 2 -subj /CN=liprobe-test-ca
openssl req -x509 $K -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca
echo "subjectAltName=DNS:lemf.test,IP:127.0.0.1" > server.ext
echo "extendedKeyUsage=clientAuth" > client.ext
openssl req $K -keyout server.key -out server.csr -subj /CN=lemf.test
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days 2 -extfile server.ext
openssl req $K -keyout client.key -out client.csr -subj /CN=probe
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem \
  -days 2 -extfile client.ext
openssl req $K -keyout other-client.key -out other-client.csr -subj /CN=intruder
openssl x509 -req -in other-client.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial \
  -out other-client.pem -days 2 -extfile client.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
  -out expired-server.pem -days -1 -extfile server.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
  -out expired-client.pem -days -1 -extfile client.ext
)";
        {
            FILE* f = std::fopen((d + "/make-pki.sh").c_str(), "w");
            if (f == nullptr) throw std::runtime_error("cannot write make-pki.sh");
            std::fputs(script.c_str(), f);
            std::fclose(f);
        }
        std::string command = "cd '" + d + "' && sh make-pki.sh >make-pki.log 2>&1";
        if (std::system(command.c_str()) != 0)
            throw std::runtime_error("openssl CLI could not create the test PKI (see " + d +
                                     "/make-pki.log)");
        pki.ca = d + "/ca.pem";
        pki.ca_key = d + "/ca.key";
        pki.server_cert = d + "/server.pem";
        pki.server_key = d + "/server.key";
        pki.client_cert = d + "/client.pem";
        pki.client_key = d + "/client.key";
        pki.other_ca = d + "/other-ca.pem";
        pki.other_client_cert = d + "/other-client.pem";
        pki.other_client_key = d + "/other-client.key";
        pki.expired_server_cert = d + "/expired-server.pem";
        pki.expired_client_cert = d + "/expired-client.pem";
    }
    ~PkiHolder() { remove_tree(pki.dir); }
};

}  // namespace

const Pki& pki() {
    static PkiHolder holder;
    return holder.pki;
}

exporter::DestinationConfig test_destination(uint16_t port) {
    const auto& p = pki();
    exporter::DestinationConfig c;
    c.id = "lemf1";
    c.address = "127.0.0.1:" + std::to_string(port);
    c.cert = p.client_cert;
    c.key = p.client_key;
    c.ca = p.ca;
    c.server_name = "lemf.test";
    c.backoff_min_s = 0.02;
    c.backoff_max_s = 0.2;
    c.keepalive_s = 5;
    c.drain_timeout_s = 0;  // tests that drain set it
    c.connect_timeout_s = 5;
    c.ring_size = 8192;
    c.small_records = 4096;
    c.small_capacity = 512;
    c.large_records = 0;
    return c;
}

const exporter::ProbeIdentity& test_probe() {
    static const exporter::ProbeIdentity probe{"OP1", "NE1", "NZ"};
    return probe;
}

std::unique_ptr<exporter::Exporter> make_exporter(const exporter::DestinationConfig& c) {
    std::string error;
    auto exp = exporter::Exporter::create(c, test_probe(), error);
    EXPECT_TRUE(exp) << error;
    if (exp) {
        exporter::WarrantInfo w;
        w.liid = "LIID1";
        for (int i = 0; i < 16; ++i) w.xid[i] = static_cast<uint8_t>(i + 1);
        w.matched_target = "sip:alice@example.org";
        exp->set_warrants({w});
    }
    return exp;
}

uint16_t free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
}

MiniReceiver::MiniReceiver(const Options& options) : options_(options) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(options.port);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 8) != 0)
        throw std::runtime_error(std::string("MiniReceiver bind: ") + strerror(errno));
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (options.tls) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
        const Pki& p = pki();
        const std::string& cert = options.server_cert.empty() ? p.server_cert : options.server_cert;
        SSL_CTX_use_certificate_chain_file(ctx, cert.c_str());
        SSL_CTX_use_PrivateKey_file(ctx, p.server_key.c_str(), SSL_FILETYPE_PEM);
        SSL_CTX_load_verify_locations(ctx, p.ca.c_str(), nullptr);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
        if (options.max_version != 0) {
            // An old-protocol server: OpenSSL 3 refuses TLS 1.1 at the default security level.
            SSL_CTX_set_min_proto_version(ctx, 0);
            SSL_CTX_set_max_proto_version(ctx, options.max_version);
            SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
        }
        if (!options.tls12_ciphers.empty())
            SSL_CTX_set_cipher_list(ctx, options.tls12_ciphers.c_str());
        ctx_ = ctx;
    }
    thread_ = std::thread([this] { run(); });
}

MiniReceiver::~MiniReceiver() {
    kill();
    if (ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

void MiniReceiver::kill() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) {
        close(listen_fd_);
        listen_fd_ = -1;
    }
}

std::map<StreamKey, std::vector<uint32_t>> MiniReceiver::arrivals() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return arrivals_;
}

std::vector<StreamKey> MiniReceiver::order() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return order_;
}

void MiniReceiver::run() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    while (!stop_.load()) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (poll(&p, 1, 10) <= 0) continue;
        int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) continue;
        connections_.fetch_add(1);
        timeval tv{0, 10000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        serve(fd);
        if (stop_.load()) {
            // Killed: RST, so whatever the kernel still holds for us is gone.
            linger lg{1, 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(fd);
    }
}

void MiniReceiver::serve(int fd) {
    SSL* ssl = nullptr;
    if (ctx_ != nullptr) {
        ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
        SSL_set_fd(ssl, fd);
        while (true) {
            int rc = SSL_accept(ssl);
            if (rc == 1) break;
            int err = SSL_get_error(ssl, rc);
            if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && !stop_.load())
                continue;
            handshake_failures_.fetch_add(1);
            ERR_clear_error();
            SSL_free(ssl);
            // Close normally (FIN after the alert), as a TLS server does on a refused handshake.
            shutdown(fd, SHUT_WR);
            return;
        }
    }
    auto encoder = PduEncoder::create(options_.format, ProbeIdentity{"LEMF", "LEMF", "XX"});
    std::vector<uint8_t> buf(1 << 20);
    size_t used = 0;
    uint8_t answer[512];
    while (!stop_.load()) {
        long n;
        if (options_.read_pause_us > 0)
            std::this_thread::sleep_for(std::chrono::microseconds(options_.read_pause_us));
        const size_t room = options_.read_bytes == 0
                                ? buf.size() - used
                                : std::min(buf.size() - used, options_.read_bytes);
        if (ssl != nullptr) {
            size_t got = 0;
            int rc = SSL_read_ex(ssl, buf.data() + used, room, &got);
            if (rc != 1) {
                int err = SSL_get_error(ssl, rc);
                ERR_clear_error();
                if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) continue;
                if (err != SSL_ERROR_ZERO_RETURN && !stop_.load())
                    std::fprintf(stderr, "MiniReceiver: read failed (%d)\n", err);
                break;
            }
            n = static_cast<long>(got);
        } else {
            n = recv(fd, buf.data() + used, room, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) break;
        }
        used += static_cast<size_t>(n);
        size_t off = 0;
        bool bad = false;
        while (true) {
            long frame = frame_length(options_.format, buf.data() + off, used - off);
            if (frame < 0) {
                std::fprintf(stderr, "MiniReceiver: malformed stream at offset %zu:", off);
                for (size_t i = 0; i < std::min<size_t>(used, 400); ++i)
                    std::fprintf(stderr, "%s%02x", i == off ? " | " : "", buf[i]);
                std::fprintf(stderr, "\n");
                bad = true;
                break;
            }
            if (frame == 0) break;
            const uint8_t* pdu = buf.data() + off;
            size_t len = static_cast<size_t>(frame);
            off += len;
            if (is_keepalive(options_.format, pdu, len)) {
                keepalives_.fetch_add(1);
                if (!options_.answer_keepalives) continue;
                size_t alen = encoder->encode_keepalive_response(pdu, len, answer, sizeof answer);
                if (ssl != nullptr) {
                    size_t written = 0;
                    SSL_write_ex(ssl, answer, alen, &written);
                } else {
                    send(fd, answer, alen, MSG_NOSIGNAL);
                }
                continue;
            }
            DecodedPdu d;
            std::string error;
            if (!decode_pdu(options_.format, pdu, len, d, error) || !d.has_sequence) {
                decode_errors_.fetch_add(1);
                continue;
            }
            std::string liid = d.liid;
            if (options_.format == Format::x3) {
                char hex[33];
                for (int i = 0; i < 16; ++i) std::snprintf(hex + 2 * i, 3, "%02x", d.xid[i]);
                liid = hex;
            }
            StreamKey key{liid, d.cin, d.kind == PduKind::iri_sip ? "IRI" : "CC"};
            {
                std::lock_guard<std::mutex> lock(mutex_);
                arrivals_[key].push_back(d.sequence);
                order_.push_back(key);
            }
            pdus_.fetch_add(1);
        }
        if (bad) break;
        std::memmove(buf.data(), buf.data() + off, used - off);
        used -= off;
    }
    if (ssl != nullptr) SSL_free(ssl);
}

Record* make_record(Exporter& exp, uint32_t cin, bool iri, uint32_t index) {
    Record* r = nullptr;
    while ((r = exp.try_get_record(200)) == nullptr)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    r->warrant = 0;
    r->cin = cin;
    r->time_us = 1700000000000000 + index;
    r->src.family = r->dst.family = 4;
    const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    std::memcpy(r->src.addr, a, 4);
    std::memcpy(r->dst.addr, b, 4);
    r->src.port = 40000;
    r->dst.port = 40002;
    if (iri) {
        r->kind = RecordKind::iri_sip;
        r->iri_type = IriType::cont;
        r->direction = Direction::from_target;
        r->ip_protocol = 17;
        int n = std::snprintf(reinterpret_cast<char*>(r->data), r->capacity,
                              "MESSAGE sip:b@x SIP/2.0\r\nCSeq: %u MESSAGE\r\n\r\n", index);
        r->len = static_cast<uint32_t>(n);
    } else {
        r->kind = RecordKind::cc_rtp;
        r->direction = index % 2 ? Direction::to_target : Direction::from_target;
        r->ip_protocol = 17;
        r->len = 200;
        std::memset(r->data, 0, 200);
        r->data[0] = 0x80;
        r->data[1] = 0x60;
        r->data[2] = static_cast<uint8_t>(index >> 8);
        r->data[3] = static_cast<uint8_t>(index);
        std::memcpy(r->data + 12, &index, 4);
    }
    return r;
}

void submit_paced(Exporter& exp, Record* record) {
    while (exp.snapshot().queued + 2 >= exp.config().ring_size)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    exp.submit(record);
}

}  // namespace liprobe::test
