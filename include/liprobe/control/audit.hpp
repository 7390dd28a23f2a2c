// The audit log (issue 7): append-only JSON lines, one per warrant, task, destination and key
// change and per refused request: when, which client certificate subject, what. Target
// identities and key ids appear only as salted SHA-256 (ETSI TS 103 707 Annex D.4), the salt
// configured per deployment. Control plane only; thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace liprobe::control {

class AuditLog {
public:
    // Opens (creating, mode 0600) `path` for appending; empty path = audit records are dropped
    // (tests, offline runs). Throws std::runtime_error naming the path when it cannot be opened.
    AuditLog(const std::string& path, std::string salt);

    // Hex SHA-256 of salt || value: how identities and key ids are written.
    std::string hash(std::string_view value) const;

    // Appends {"time": RFC 3339 UTC, "subject": ..., "action": ..., "result": ..., ...details}
    // and flushes. `details` must already hold only hashed identities and key ids.
    void record(std::string_view subject, std::string_view action, std::string_view result,
                const nlohmann::json& details = nlohmann::json::object());

private:
    std::mutex mutex_;
    std::string path_;
    std::string salt_;
    int fd_ = -1;
};

}  // namespace liprobe::control
