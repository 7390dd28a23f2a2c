// liprobe-lemf: one connection (TLS or plain TCP): handshake, framing, decoding, keep-alive
// answers. Any malformed input closes this connection with a logged reason.
#include <openssl/err.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "lemf.hpp"

namespace liprobe::lemf {
namespace {

using exporter::DecodedPdu;
using exporter::PduKind;

constexpr size_t kMaxBuffer = (16u << 20) + 4096;  // frame_length never accepts more
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);

std::string openssl_errors() {
    std::string s;
    while (unsigned long e = ERR_get_error()) {
        char b[256];
        ERR_error_string_n(e, b, sizeof b);
        if (!s.empty()) s += "; ";
        s += b;
    }
    return s.empty() ? "no OpenSSL error queued" : s;
}

class Channel {
  public:
    Channel(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
    // > 0 octets read; 0 peer closed; -1 timeout (try again); -2 error (reason set).
    long read(uint8_t* p, size_t n, std::string& reason) {
        if (!ssl_) {
            const ssize_t r = ::recv(fd_, p, n, 0);
            if (r >= 0) return r;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return -1;
            reason = std::string("recv: ") + std::strerror(errno);
            return -2;
        }
        const int r = SSL_read(ssl_, p, static_cast<int>(std::min<size_t>(n, 1 << 30)));
        if (r > 0) return r;
        const int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -1;
        if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EINTR)) return -1;
        if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return 0;  // TCP closed, no notify
        reason = "TLS read: " + openssl_errors();
        return -2;
    }
    bool write_all(const uint8_t* p, size_t n, const std::atomic<bool>& stop) {
        while (n > 0) {
            long w;
            if (ssl_) {
                const int r = SSL_write(ssl_, p, static_cast<int>(n));
                if (r <= 0) {
                    const int e = SSL_get_error(ssl_, r);
                    if ((e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) && !stop) continue;
                    return false;
                }
                w = r;
            } else {
                const ssize_t r = ::send(fd_, p, n, MSG_NOSIGNAL);
                if (r < 0) {
                    if ((errno == EAGAIN || errno == EINTR) && !stop) continue;
                    return false;
                }
                w = r;
            }
            p += w;
            n -= static_cast<size_t>(w);
        }
        return true;
    }

  private:
    int fd_;
    SSL* ssl_;
};

bool handshake(SSL* ssl, const Connection& c, const std::atomic<bool>& stop, std::string& why) {
    const auto deadline = std::chrono::steady_clock::now() + kHandshakeTimeout;
    for (;;) {
        ERR_clear_error();
        const int r = SSL_accept(ssl);
        if (r == 1) return true;
        const int e = SSL_get_error(ssl, r);
        const bool retry = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
                           (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EINTR) &&
                            ERR_peek_error() == 0);
        if (retry && !stop && std::chrono::steady_clock::now() < deadline) continue;
        if (retry) {
            why = "TLS handshake timed out";
        } else {
            why = "TLS handshake failed: " + openssl_errors();
            const long v = SSL_get_verify_result(ssl);
            if (v != X509_V_OK)
                why +=
                    std::string(" (client certificate: ") + X509_verify_cert_error_string(v) + ")";
        }
        (void)c;
        return false;
    }
}

}  // namespace

void serve_connection(Connection conn, SSL_CTX* ctx, exporter::Format format, Store& store,
                      const std::atomic<bool>& stop) {
    store.connection_opened();
    const std::string who = "connection " + std::to_string(conn.id) + " from " + conn.peer;
    // Short receive timeout so the thread notices shutdown; sends may block a little longer.
    timeval tv{0, 200000};
    ::setsockopt(conn.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    timeval stv{5, 0};
    ::setsockopt(conn.fd, SOL_SOCKET, SO_SNDTIMEO, &stv, sizeof stv);

    SSL* ssl = nullptr;
    if (ctx) {
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, conn.fd);
        std::string why;
        if (!handshake(ssl, conn, stop, why)) {
            std::fprintf(stderr, "lemf: %s: %s\n", who.c_str(), why.c_str());
            store.tls_failure(who + ": " + why);
            SSL_free(ssl);
            ::close(conn.fd);
            store.connection_closed();
            return;
        }
        std::fprintf(stderr, "lemf: %s: %s %s\n", who.c_str(), SSL_get_version(ssl),
                     SSL_get_cipher_name(ssl));
    } else {
        std::fprintf(stderr, "lemf: %s: plain TCP\n", who.c_str());
    }

    Channel ch(conn.fd, ssl);
    std::vector<uint8_t> buf(1 << 20);
    size_t have = 0;
    std::string reason;  // non-empty: malformed, closed because of it
    std::vector<uint8_t> answer(512);
    auto enc = exporter::PduEncoder::create(format, exporter::ProbeIdentity{"LEMF", "", "XX"});
    DecodedPdu pdu;
    std::string err;
    uint64_t pdus = 0;
    bool peer_closed = false;
    std::string io_error;  // transport failure: logged, not counted as malformed input

    while (!stop && reason.empty() && io_error.empty()) {
        if (have == buf.size()) {
            if (buf.size() >= kMaxBuffer) {
                reason = "PDU larger than the receive buffer";
                break;
            }
            buf.resize(std::min(buf.size() * 2, kMaxBuffer));
        }
        const long n = ch.read(buf.data() + have, buf.size() - have, io_error);
        if (n == -1) continue;
        if (n == -2) break;
        if (n == 0) {
            peer_closed = true;
            if (have > 0) reason = "connection closed in the middle of a PDU";
            break;
        }
        have += static_cast<size_t>(n);
        size_t off = 0;
        while (reason.empty() && io_error.empty()) {
            const long fl = exporter::frame_length(format, buf.data() + off, have - off);
            if (fl < 0) {
                reason = "bad framing at stream octet " + std::to_string(off);
                break;
            }
            if (fl == 0) break;
            const uint8_t* p = buf.data() + off;
            const size_t len = static_cast<size_t>(fl);
            if (!exporter::decode_pdu(format, p, len, pdu, err)) {
                reason = "malformed PDU: " + err;
                break;
            }
            if (pdu.kind == PduKind::keepalive) {
                const size_t an =
                    enc->encode_keepalive_response(p, len, answer.data(), answer.size());
                if (an == 0 || !ch.write_all(answer.data(), an, stop)) {
                    if (an == 0)
                        reason = "cannot answer keep-alive";
                    else
                        io_error = "write of keep-alive answer failed";
                    break;
                }
                store.keepalive_answered();
            } else if (pdu.kind == PduKind::keepalive_response) {
                store.keepalive_response_seen();
            } else {
                store.record(pdu, len);
                ++pdus;
            }
            off += len;
        }
        if (off > 0) {
            std::memmove(buf.data(), buf.data() + off, have - off);
            have -= off;
        }
    }

    if (!reason.empty()) {
        std::fprintf(stderr, "lemf: %s: closed after %lu PDUs: %s\n", who.c_str(),
                     static_cast<unsigned long>(pdus), reason.c_str());
        store.malformed_connection(who + ": " + reason);
    } else {
        std::fprintf(stderr, "lemf: %s: %s after %lu PDUs\n", who.c_str(),
                     !io_error.empty() ? io_error.c_str()
                     : peer_closed     ? "closed by peer"
                                       : "closed at shutdown",
                     static_cast<unsigned long>(pdus));
    }
    if (ssl) {
        if (!reason.empty() || !peer_closed) SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    ::close(conn.fd);
    store.connection_closed();
}

}  // namespace liprobe::lemf
