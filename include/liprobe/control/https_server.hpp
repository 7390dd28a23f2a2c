// The control plane's HTTPS listener (design.md 3.3, 3.4): one mutual-TLS server on
// `[control] listen` serving the key API and X1 on control threads, never on worker lcores.
// TLS 1.2 minimum, RFC 9325 cipher suites; the client certificate subject is mapped to roles
// through `[[control.client]]`. A request without a certificate fails the TLS handshake; an
// unknown subject or a missing role is answered 403 with no detail.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "liprobe/control/config.hpp"

namespace liprobe::control {

class AuditLog;

struct HttpRequest {
    std::string method;                 // "GET", "POST", "DELETE"
    std::string path;                   // as requested, without the query
    std::vector<std::string> captures;  // regex captures of the route pattern, in order
    std::string body;
    std::string content_type;
    std::string client_subject;  // the verified client certificate's subject (RFC 2253 form)
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class ControlServer {
  public:
    // Loads the certificate, key and client CA of `section`; throws std::runtime_error with a
    // message that names the file and the problem (never key material) when they are unusable.
    explicit ControlServer(const ControlSection& section);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Registers a handler for METHOD and a path regex (ECMAScript, whole-path match). Only a
    // client whose subject holds `required_role` (a RoleBits bit) reaches it. Call before start().
    void route(const std::string& method, const std::string& path_regex, uint8_t required_role,
               HttpHandler handler);

    // Refused requests (unknown subject, missing role) are recorded here (the server answers
    // 403 with an empty body). Optional; call before start(). The log must outlive the server.
    void set_audit(AuditLog* audit);

    // Binds and serves on its own threads. Returns false with `error` set when it cannot bind.
    bool start(std::string& error);
    void stop();
    uint16_t port() const;  // the bound port (useful with port 0 in tests)

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace liprobe::control
