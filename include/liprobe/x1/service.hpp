// The X1 protocol (ETSI TS 103 221-1 subset) on top of the task store: an X1Request document in,
// an X1Response document out, one x1ResponseMessage per x1RequestMessage in order. Every change
// is applied to a copy of the state, handed to the Backend (the data plane builds warrants and
// exporters from it), saved to the state file, and only then becomes the state; a failure at any
// step answers an error and changes nothing. Every change and every refusal is audited with
// target identities and LIIDs as salted hashes. No network here: x1/routes.hpp is the HTTPS glue.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "liprobe/x1/task_store.hpp"

namespace liprobe::control {
class AuditLog;
}

namespace liprobe::x1 {

inline constexpr const char* kX1Namespace = "http://uri.etsi.org/03221/X1/2017/10";
inline constexpr const char* kCommonNamespace = "http://uri.etsi.org/03280/common/2017/07";
// liprobe's extension elements (taskDetailsExtensions, destinationDetails, targetIdentifier
// extensions): README, "X1".
inline constexpr const char* kLiprobeNamespace = "urn:liprobe:x1:1";
inline constexpr const char* kX1Version = "v1.13.1";

// What makes a state real: the data plane. apply() either takes the whole state (warrants and
// exporters for every task and destination) or refuses it with an error and keeps the old one.
class Backend {
  public:
    virtual ~Backend() = default;
    virtual std::optional<Error> apply(const State& next) = 0;
};

struct ServiceOptions {
    std::string ne_identifier;  // answered in neIdentifier; a request naming another NE is refused
    std::string state_path;     // empty: tasks do not survive a restart
};

struct Reply {
    int http_status = 200;
    std::string xml;
};

class Service {
  public:
    // `backend` and `audit` may be null (unit tests); both must outlive the service.
    Service(State initial, ServiceOptions options, Backend* backend, control::AuditLog* audit);

    // One POST body. HTTP 200 with an X1Response (errors inside, per message), or 400 with an
    // X1TopLevelErrorResponse when the body is not an X1Request at all.
    Reply handle(std::string_view xml, std::string_view client_subject);

    State state() const;

  private:
    mutable std::mutex mutex_;
    State state_;
    ServiceOptions options_;
    Backend* backend_;
    control::AuditLog* audit_;
    // Commits `next` (backend, state file) or returns why not.
    std::optional<Error> commit(State next);
    friend struct MessageHandler;
};

}  // namespace liprobe::x1
