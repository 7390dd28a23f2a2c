// Non-blocking TCP + mutual-TLS client for the exporter (see tls.hpp for the policy).
#include "liprobe/export/tls.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace liprobe::exporter {

const char* const kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string openssl_error_text() {
    std::string text;
    unsigned long code;
    while ((code = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        if (!text.empty()) text += "; ";
        text += buf;
    }
    return text.empty() ? "no OpenSSL reason" : text;
}

std::unique_ptr<TlsClientContext> TlsClientContext::create(const TlsClientConfig& config,
                                                           std::string& error) {
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr) {
        error = "SSL_CTX_new: " + openssl_error_text();
        return nullptr;
    }
    auto fail = [&](const std::string& what) {
        error = what + ": " + openssl_error_text();
        SSL_CTX_free(ctx);
        return nullptr;
    };
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        return fail("cannot set TLS 1.2 minimum");
    if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1)
        return fail("cannot set TLS 1.2 cipher list");
    // No renegotiation, no compression, no tickets to keep: a long-lived session per connect.
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_AUTO_RETRY);
    if (config.cert.empty() || config.key.empty() || config.ca.empty()) {
        SSL_CTX_free(ctx);
        error = "TLS needs cert, key and ca";
        return nullptr;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, config.cert.c_str()) != 1)
        return fail("cannot load client certificate " + config.cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, config.key.c_str(), SSL_FILETYPE_PEM) != 1)
        return fail("cannot load client key " + config.key);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return fail("client key " + config.key + " does not match certificate " + config.cert);
    if (SSL_CTX_load_verify_locations(ctx, config.ca.c_str(), nullptr) != 1)
        return fail("cannot load CA " + config.ca);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    return std::unique_ptr<TlsClientContext>(new TlsClientContext(ctx));
}

TlsClientContext::~TlsClientContext() {
    SSL_CTX_free(ctx_);
}

bool split_host_port(const std::string& address, std::string& host, uint16_t& port) {
    std::string port_text;
    if (!address.empty() && address[0] == '[') {
        size_t close = address.find(']');
        if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
            return false;
        host = address.substr(1, close - 1);
        port_text = address.substr(close + 2);
    } else {
        size_t colon = address.rfind(':');
        if (colon == std::string::npos || address.find(':') != colon) return false;
        host = address.substr(0, colon);
        port_text = address.substr(colon + 1);
    }
    if (host.empty() || port_text.empty() || port_text.size() > 5) return false;
    unsigned long value = 0;
    for (char c : port_text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<unsigned long>(c - '0');
    }
    if (value == 0 || value > 65535) return false;
    port = static_cast<uint16_t>(value);
    return true;
}

static bool resolve(const std::string& host, uint16_t port, addrinfo** out, std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, out);
    if (rc != 0) {
        error = "cannot resolve " + host + ": " + gai_strerror(rc);
        return false;
    }
    return true;
}

bool is_loopback_host(const std::string& host) {
    addrinfo* list = nullptr;
    std::string error;
    if (!resolve(host, 1, &list, error)) return false;
    bool all_loopback = list != nullptr;
    for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            auto* sin = reinterpret_cast<sockaddr_in*>(a->ai_addr);
            all_loopback &= (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
        } else if (a->ai_family == AF_INET6) {
            auto* sin6 = reinterpret_cast<sockaddr_in6*>(a->ai_addr);
            all_loopback &= IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) != 0;
        } else {
            all_loopback = false;
        }
    }
    freeaddrinfo(list);
    return all_loopback;
}

Connection::~Connection() {
    close();
}

void Connection::close_gracefully() {
    if (ssl_ != nullptr && SSL_is_init_finished(ssl_)) {
        ERR_clear_error();
        SSL_shutdown(ssl_);
        ERR_clear_error();
    }
    close();
}

void Connection::close() {
    if (ssl_ != nullptr) {
        SSL_free(ssl_);
        ssl_ = nullptr;
    }
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    tcp_connected_ = false;
    write_wants_read_ = false;
    failed_in_tls_ = false;
}

bool Connection::start(const std::string& host, uint16_t port, const TlsClientContext* tls,
                       const std::string& server_name, std::string& error) {
    close();
    addrinfo* list = nullptr;
    if (!resolve(host, port, &list, error)) return false;
    // The first address only: destinations name one LEMF endpoint.
    addrinfo* a = list;
    fd_ = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        error = std::string("socket: ") + strerror(errno);
        freeaddrinfo(list);
        return false;
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = ::connect(fd_, a->ai_addr, a->ai_addrlen);
    int connect_errno = errno;
    freeaddrinfo(list);
    if (rc != 0 && connect_errno != EINPROGRESS) {
        error = "connect to " + host + ":" + std::to_string(port) + ": " + strerror(connect_errno);
        close();
        return false;
    }
    tcp_connected_ = rc == 0;
    if (tls != nullptr) {
        ERR_clear_error();
        ssl_ = SSL_new(tls->get());
        if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) {
            error = "SSL_new: " + openssl_error_text();
            close();
            return false;
        }
        const std::string& name = server_name.empty() ? host : server_name;
        in6_addr scratch;
        bool is_ip = inet_pton(AF_INET, name.c_str(), &scratch) == 1 ||
                     inet_pton(AF_INET6, name.c_str(), &scratch) == 1;
        if (is_ip) {
            X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
            if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) {
                error = "bad server IP name " + name;
                close();
                return false;
            }
        } else {
            if (SSL_set_tlsext_host_name(ssl_, name.c_str()) != 1 ||
                SSL_set1_host(ssl_, name.c_str()) != 1) {
                error = "cannot set server name " + name + ": " + openssl_error_text();
                close();
                return false;
            }
        }
        SSL_set_connect_state(ssl_);
    }
    return true;
}

Connection::Progress Connection::progress(std::string& error, bool& tls_failure) {
    tls_failure = false;
    if (fd_ < 0) {
        error = "not connected";
        return Progress::failed;
    }
    if (!tcp_connected_) {
        int so_error = 0;
        socklen_t len = sizeof so_error;
        if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) so_error = errno;
        if (so_error == EINPROGRESS || so_error == EALREADY) return Progress::in_progress;
        if (so_error != 0) {
            error = std::string("TCP connect: ") + strerror(so_error);
            return Progress::failed;
        }
        // SO_ERROR is 0 both when connected and while still connecting: ask the peer name.
        sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        if (getpeername(fd_, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
            if (errno == ENOTCONN) return Progress::in_progress;
            error = std::string("TCP connect: ") + strerror(errno);
            return Progress::failed;
        }
        tcp_connected_ = true;
    }
    if (ssl_ == nullptr) return Progress::connected;
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl_);
    if (rc == 1) return Progress::connected;
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Progress::in_progress;
    tls_failure = true;
    long verify = SSL_get_verify_result(ssl_);
    error = "TLS handshake failed: ";
    if (verify != X509_V_OK) {
        error += std::string("server certificate: ") + X509_verify_cert_error_string(verify) + "; ";
    }
    if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        error += errno != 0 ? std::string(strerror(errno)) : "peer closed the connection";
    } else {
        error += openssl_error_text();
    }
    return Progress::failed;
}

long Connection::write(const uint8_t* data, size_t len, std::string& error) {
    write_wants_read_ = false;
    if (ssl_ == nullptr) {
        ssize_t n = ::send(fd_, data, len, MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
        error = std::string("send: ") + strerror(errno);
        return -1;
    }
    ERR_clear_error();
    size_t written = 0;
    int rc = SSL_write_ex(ssl_, data, len, &written);
    if (rc == 1) return static_cast<long>(written);
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_WRITE) return 0;
    if (err == SSL_ERROR_WANT_READ) {
        write_wants_read_ = true;
        return 0;
    }
    if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        error = std::string("TLS write: ") + (errno != 0 ? strerror(errno) : "connection closed");
    } else {
        failed_in_tls_ = err == SSL_ERROR_SSL;
        error = "TLS write: " + openssl_error_text();
    }
    return -1;
}

long Connection::read(uint8_t* out, size_t cap, std::string& error) {
    if (ssl_ == nullptr) {
        ssize_t n = ::recv(fd_, out, cap, 0);
        if (n > 0) return n;
        if (n == 0) {
            error = "connection closed by the receiver";
            return -1;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
        error = std::string("recv: ") + strerror(errno);
        return -1;
    }
    ERR_clear_error();
    size_t got = 0;
    int rc = SSL_read_ex(ssl_, out, cap, &got);
    if (rc == 1) return static_cast<long>(got);
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return 0;
    if (err == SSL_ERROR_ZERO_RETURN) {
        error = "connection closed by the receiver (TLS close_notify)";
    } else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        error = std::string("TLS read: ") +
                (errno != 0 ? strerror(errno) : "connection closed by the receiver");
    } else {
        failed_in_tls_ = err == SSL_ERROR_SSL;
        error = "TLS read: " + openssl_error_text();
    }
    return -1;
}

std::string Connection::describe() const {
    if (ssl_ == nullptr) return "plain TCP";
    return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
}

}  // namespace liprobe::exporter
