// The exporter's transport: a non-blocking TCP connection, optionally wrapped in a mutual-TLS
// client session (OpenSSL 3). Control-plane code: it may allocate and log, never block for long.
//
// TLS policy (RFC 9325): TLS 1.2 minimum, 1.3 preferred (OpenSSL negotiates the highest);
// with 1.2 only ECDHE key exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305). The client
// presents its certificate and verifies the server's chain against the configured CA and its
// name against server_name (SSL_set1_host, or the IP address when server_name is one) and sends
// server_name as SNI.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace liprobe::exporter {

// The RFC 9325 cipher list for TLS 1.2 (TLS 1.3 suites are all AEAD; OpenSSL's defaults).
extern const char* const kTls12Ciphers;

struct TlsClientConfig {
    std::string cert;  // PEM client certificate (chain)
    std::string key;   // PEM private key of cert
    std::string ca;    // PEM CA certificate(s) the server's chain must end in
};

// One SSL_CTX per destination, built once.
class TlsClientContext {
  public:
    // nullptr with a precise reason in error when a file cannot be loaded or does not match.
    static std::unique_ptr<TlsClientContext> create(const TlsClientConfig& config,
                                                    std::string& error);
    ~TlsClientContext();
    TlsClientContext(const TlsClientContext&) = delete;
    TlsClientContext& operator=(const TlsClientContext&) = delete;
    SSL_CTX* get() const { return ctx_; }

  private:
    explicit TlsClientContext(SSL_CTX* ctx) : ctx_(ctx) {}
    SSL_CTX* ctx_;
};

// The OpenSSL error queue as one line (drains it). Never contains key material: OpenSSL's
// reasons name files, functions and checks only.
std::string openssl_error_text();

// "host:port" or "[v6]:port" -> host and port. False on a malformed address.
bool split_host_port(const std::string& address, std::string& host, uint16_t& port);
// True when every address host resolves to is a loopback address (127/8, ::1).
bool is_loopback_host(const std::string& host);

// A client connection. All calls are non-blocking; the owner polls fd().
class Connection {
  public:
    enum class Progress { connected, in_progress, failed };

    Connection() = default;
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Resolves host, starts a non-blocking TCP connect and, when tls is given, a TLS session.
    // False (with error) when the connect cannot even start.
    bool start(const std::string& host, uint16_t port, const TlsClientContext* tls,
               const std::string& server_name, std::string& error);
    // Advances TCP connect and TLS handshake. failed: error says why; tls_failure tells
    // whether the TLS layer (not TCP) refused.
    Progress progress(std::string& error, bool& tls_failure);

    // > 0: octets written; 0: would block (retry later with the SAME data and length);
    // -1: the connection failed (error says why).
    long write(const uint8_t* data, size_t len, std::string& error);
    // > 0: octets read; 0: nothing available now; -1: closed by the peer or failed.
    long read(uint8_t* out, size_t cap, std::string& error);
    // True when the last write would block on the socket becoming readable (TLS).
    bool write_wants_read() const { return write_wants_read_; }
    // True when the last failed read or write failed in the TLS layer (an alert from the peer,
    // e.g. a refused client certificate in TLS 1.3, which arrives after the handshake).
    bool failed_in_tls() const { return failed_in_tls_; }

    // Sends TLS close_notify (best effort, non-blocking), then closes.
    void close_gracefully();
    void close();
    bool is_open() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    // "TLSv1.3 TLS_AES_256_GCM_SHA384" or "plain TCP".
    std::string describe() const;

  private:
    int fd_ = -1;
    SSL* ssl_ = nullptr;
    bool tcp_connected_ = false;
    bool write_wants_read_ = false;
    bool failed_in_tls_ = false;
};

}  // namespace liprobe::exporter
