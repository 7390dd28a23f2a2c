// The key provisioning API of design.md 3.3 on the ControlServer:
//   POST   /v1/keys            role keys: a batch; each entry answered "ok" or a precise reason
//   DELETE /v1/keys/{key_id}   role keys: revoke (zeroised after the RCU grace period)
//   GET    /v1/keys            role read: ids, types, MKIs, validity, never key material
// Entries go through the same validation as the preload (keys::derive_keys_text, then
// KeyTable::install), derived on the calling HTTPS thread (batches derive in parallel) and
// installed under one lock (the key table has one writer at a time). Every install bumps the
// key generation, which makes the workers retry the packets waiting in their pending queue.
// Every key change and every refused request goes to the audit log, key ids only hashed.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "liprobe/control/audit.hpp"
#include "liprobe/control/https_server.hpp"

namespace liprobe::keys {
class KeyTable;
}

namespace liprobe::control {

struct KeyApiCounters {
    std::atomic<uint64_t> installed{0};  // entries installed (new or replacing)
    std::atomic<uint64_t> refused{0};    // entries refused
    std::atomic<uint64_t> revoked{0};    // DELETEs that removed a key
    std::atomic<uint64_t> expired{0};    // keys retired because their not_after passed
    std::atomic<uint64_t> bad_requests{0};
    std::atomic<uint64_t> entries{0};   // key entries in the table now
    std::atomic<uint64_t> contexts{0};  // SRTP contexts in the table now
};

class KeyService {
  public:
    // `now_us` is the wall clock (Unix microseconds) for refusing already expired keys and for
    // retiring keys; tests pass their own.
    KeyService(keys::KeyTable& table, std::atomic<uint64_t>& key_generation, AuditLog& audit,
               std::function<int64_t()> now_us = {});

    void register_routes(ControlServer& server);

    HttpResponse post_keys(const HttpRequest& request);
    HttpResponse delete_key(const HttpRequest& request);  // captures[0] = key_id
    HttpResponse get_keys(const HttpRequest& request);

    // Control loop, a few times per second: revokes keys whose not_after has passed (on the
    // wall clock; the workers already refuse them on packet time) and frees, zeroised, what
    // the workers no longer reference. Returns the keys retired.
    size_t maintain();

    size_t key_count() const { return counters_.entries.load(); }
    const KeyApiCounters& counters() const { return counters_; }

  private:
    // Publishes the table's sizes in counters() (after a change; with mutex_ held).
    void refresh_sizes();

    keys::KeyTable& table_;
    std::atomic<uint64_t>& key_generation_;
    AuditLog& audit_;
    std::function<int64_t()> now_us_;
    mutable std::mutex mutex_;  // the key table's single writer
    // The earliest not_after of the installed keys (INT64_MAX: none; may be stale-early, never
    // late): maintain() scans the table only when it has passed. Guarded by mutex_. The first
    // maintain() scans anyway (keys preloaded before the service existed).
    int64_t next_expiry_us_ = INT64_MIN;
    KeyApiCounters counters_;
};

}  // namespace liprobe::control
