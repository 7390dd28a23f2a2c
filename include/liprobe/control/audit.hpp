// The audit log (issue 7): append-only JSON lines, one per warrant, task, destination and key
// change and per refused request: when, which client certificate subject, what. Target
// identities and key ids appear only as salted SHA-256 (ETSI TS 103 707 Annex D.4), the salt
// configured per deployment. Control plane only; thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace liprobe::control {

// Unix microseconds as RFC 3339 UTC ("2026-01-01T00:00:00Z", fractions when not whole).
std::string rfc3339_utc(int64_t unix_us);

// Appends s as a JSON string, exactly as nlohmann's dump (no ASCII escaping, invalid UTF-8
// replaced) writes it: for replies and audit lines written as text instead of through a tree.
void append_json_string(std::string& out, std::string_view s);

class AuditLog {
  public:
    // Opens (creating, mode 0600) `path` for appending; empty path = audit records are dropped
    // (tests, offline runs). Throws std::runtime_error naming the path when it cannot be opened.
    AuditLog(const std::string& path, std::string salt);
    ~AuditLog();
    AuditLog(const AuditLog&) = delete;
    AuditLog& operator=(const AuditLog&) = delete;

    // Hex SHA-256 of salt || value: how identities and key ids are written.
    std::string hash(std::string_view value) const;

    // Appends {"time": RFC 3339 UTC, "subject": ..., "action": ..., "result": ..., ...details}
    // and flushes. `details` must already hold only hashed identities and key ids. Taken by
    // value and moved into the line: a key POST's details hold one object per entry, and a
    // deep copy of them was a visible part of the request's cost.
    void record(std::string_view subject, std::string_view action, std::string_view result,
                nlohmann::json details = nlohmann::json::object());

    // record() for details already written as JSON text: `members` is a comma-separated list of
    // JSON members (no braces) whose names sort after "action" and before "result", so that the
    // line has the same sorted key order as record()'s. The key API's batch line (one outcome
    // per entry) is written this way: a JSON tree per outcome cost ~5 % of a POST.
    void record_members(std::string_view subject, std::string_view action, std::string_view result,
                        std::string_view members);

    // Lines that could not be written (disk full, I/O error): for the metrics.
    uint64_t write_failures() const { return write_failures_.load(); }

  private:
    void write_line(std::string& line);  // appends the newline
    std::mutex mutex_;
    std::string path_;
    std::string salt_;
    int fd_ = -1;
    std::atomic<uint64_t> write_failures_{0};
};

}  // namespace liprobe::control
