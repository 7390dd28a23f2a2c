#include "liprobe/control/https_server.hpp"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <regex>
#include <stdexcept>
#include <thread>

#include "http_listener.hpp"
#include "liprobe/control/audit.hpp"
#include "liprobe/export/tls.hpp"

namespace liprobe::control {

namespace {

// The RFC 2253 subject of the peer's (already verified) certificate; "" without one.
std::string peer_subject(const SSL* ssl) {
    if (ssl == nullptr) return "";
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert == nullptr) return "";
    std::string subject;
    if (BIO* bio = BIO_new(BIO_s_mem())) {
        if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
            char* data = nullptr;
            const long n = BIO_get_mem_data(bio, &data);
            if (n > 0) subject.assign(data, static_cast<size_t>(n));
        }
        BIO_free(bio);
    }
    X509_free(cert);
    return subject;
}

std::string fail_text(const std::string& what) {
    return "control API: " + what + ": " + exporter::openssl_error_text();
}

// Server side of the RFC 9325 policy (export/tls.hpp has the client side): TLS 1.2 minimum,
// ECDHE + AEAD only with 1.2, a client certificate required and verified against client_ca.
void setup_context(SSL_CTX& ctx, const ControlSection& s) {
    if (s.cert.empty() || s.key.empty() || s.client_ca.empty())
        throw std::runtime_error("control API: cert, key and client_ca are required");
    if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1)
        throw std::runtime_error(fail_text("cannot set TLS 1.2 minimum"));
    if (SSL_CTX_set_cipher_list(&ctx, exporter::kTls12Ciphers) != 1)
        throw std::runtime_error(fail_text("cannot set TLS 1.2 cipher list"));
    SSL_CTX_set_options(
        &ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(&ctx, s.cert.c_str()) != 1)
        throw std::runtime_error(fail_text("cannot load server certificate " + s.cert));
    if (SSL_CTX_use_PrivateKey_file(&ctx, s.key.c_str(), SSL_FILETYPE_PEM) != 1)
        throw std::runtime_error(fail_text("cannot load server key " + s.key));
    if (SSL_CTX_check_private_key(&ctx) != 1)
        throw std::runtime_error(
            fail_text("server key " + s.key + " does not match certificate " + s.cert));
    if (SSL_CTX_load_verify_locations(&ctx, s.client_ca.c_str(), nullptr) != 1)
        throw std::runtime_error(fail_text("cannot load client CA " + s.client_ca));
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s.client_ca.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(&ctx, names);
    // No certificate, or one the CA did not sign: the handshake fails.
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    ERR_clear_error();
}

}  // namespace

struct ControlServer::Impl {
    ControlSection section;
    std::map<std::string, uint8_t> roles;  // subject -> RoleBits
    std::unique_ptr<httplib::SSLServer> server;
    HttpListener listener;
    AuditLog* audit = nullptr;

    uint8_t roles_of(const std::string& subject) const {
        auto it = roles.find(subject);
        return it == roles.end() ? 0 : it->second;
    }
    void refuse(const httplib::Request& req, httplib::Response& res, const std::string& subject,
                const char* why) {
        res.status = 403;
        res.set_content("", "text/plain");
        if (audit != nullptr)
            audit->record(subject, "request", "refused",
                          {{"method", req.method}, {"path", req.path}, {"reason", why}});
    }
};

ControlServer::ControlServer(const ControlSection& section) : impl_(std::make_unique<Impl>()) {
    impl_->section = section;
    for (const auto& c : section.clients) impl_->roles[c.subject] |= c.roles;
    std::string error;
    impl_->server = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
        try {
            setup_context(ctx, section);
            return true;
        } catch (const std::exception& e) {
            error = e.what();
            return false;
        }
    });
    if (!impl_->server->is_valid())
        throw std::runtime_error(error.empty() ? fail_text("cannot create the TLS context")
                                               : error);
    Impl* im = impl_.get();
    impl_->server->set_read_timeout(10, 0);
    // Without it, Nagle and the peer's delayed ACK hold each reply for 40 ms.
    impl_->server->set_tcp_nodelay(true);
    impl_->server->set_write_timeout(10, 0);
    impl_->server->set_payload_max_length(64u << 20);
    // A mediation function posts keys continuously over kept-alive connections: with httplib's
    // default of 5 requests per connection, every fifth POST paid a new mutual-TLS handshake
    // (certificates parsed and verified on both sides, ~10 % of the key API's CPU). Roles are
    // checked on every request, so a long-lived connection gains no authority.
    impl_->server->set_keep_alive_max_count(10000);
    // A subject without any role is refused before routing, whatever the path.
    impl_->server->set_pre_routing_handler(
        [im](const httplib::Request& req, httplib::Response& res) {
            const std::string subject = peer_subject(req.ssl);
            if (im->roles_of(subject) != 0) return httplib::Server::HandlerResponse::Unhandled;
            im->refuse(req, res, subject, "unknown subject");
            return httplib::Server::HandlerResponse::Handled;
        });
}

ControlServer::~ControlServer() {
    stop();
}

void ControlServer::set_audit(AuditLog* audit) {
    impl_->audit = audit;
}

void ControlServer::route(const std::string& method, const std::string& path_regex,
                          uint8_t required_role, HttpHandler handler) {
    Impl* im = impl_.get();
    auto wrapped = [im, required_role, method, handler = std::move(handler)](
                       const httplib::Request& req, httplib::Response& res) {
        const std::string subject = peer_subject(req.ssl);
        if ((im->roles_of(subject) & required_role) == 0) {
            im->refuse(req, res, subject, "role missing");
            return;
        }
        HttpRequest r;
        r.method = method;
        r.path = req.path;
        for (size_t i = 1; i < req.matches.size(); ++i) r.captures.push_back(req.matches[i].str());
        // The body is taken over, not copied (it may be large and may carry key material):
        // httplib is done with it once the handler runs.
        r.body = std::move(const_cast<std::string&>(req.body));
        r.content_type = req.get_header_value("Content-Type");
        r.client_subject = subject;
        HttpResponse out;
        try {
            out = handler(r);
        } catch (const std::exception&) {
            // Handlers report problems in their responses; an exception is a bug, and its text
            // might quote input, so it is not sent.
            out.status = 500;
            out.body = R"({"error":"internal error"})";
        }
        // Request bodies may carry key material: wipe before it is freed.
        if (!r.body.empty()) OPENSSL_cleanse(r.body.data(), r.body.size());
        res.status = out.status;
        res.set_content(out.body, out.content_type.c_str());
    };
    auto& s = *impl_->server;
    if (method == "GET")
        s.Get(path_regex, wrapped);
    else if (method == "POST")
        s.Post(path_regex, wrapped);
    else if (method == "PUT")
        s.Put(path_regex, wrapped);
    else if (method == "DELETE")
        s.Delete(path_regex, wrapped);
    else if (method == "PATCH")
        s.Patch(path_regex, wrapped);
    else
        throw std::invalid_argument("ControlServer::route: unsupported method " + method);
}

bool ControlServer::start(std::string& error) {
    return impl_->listener.start(*impl_->server, impl_->section.listen, "control API", error);
}

void ControlServer::stop() {
    if (impl_ && impl_->server) impl_->listener.stop(*impl_->server);
}

uint16_t ControlServer::port() const {
    return static_cast<uint16_t>(impl_->listener.port.load());
}

}  // namespace liprobe::control
