#include "liprobe/control/key_api.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <climits>
#include <ctime>
#include <nlohmann/json.hpp>

#include "liprobe/keys/key_model.hpp"
#include "liprobe/keys/key_table.hpp"

namespace liprobe::control {

namespace {

using nlohmann::json;

int64_t wall_clock_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

json time_or_null(int64_t us) {
    if (us == 0) return nullptr;
    return rfc3339_utc(us);
}

HttpResponse json_response(int status, const json& body) {
    HttpResponse r;
    r.status = status;
    r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return r;
}

// derive_keys reports a body it cannot read as one failed result whose reason names the body
// or its "keys" member (an entry's reasons name the entry's own fields).
bool is_body_failure(const std::vector<keys::EntryResult>& results) {
    if (results.size() != 1 || results[0].ok || !results[0].type.empty()) return false;
    const std::string& r = results[0].reason;
    return r.rfind("body:", 0) == 0 || r.rfind("keys:", 0) == 0;
}

}  // namespace

KeyService::KeyService(keys::KeyTable& table, std::atomic<uint64_t>& key_generation,
                       AuditLog& audit, std::function<int64_t()> now_us)
    : table_(table),
      key_generation_(key_generation),
      audit_(audit),
      now_us_(now_us ? std::move(now_us) : std::function<int64_t()>(wall_clock_us)) {
    refresh_sizes();  // preloaded keys
}

void KeyService::register_routes(ControlServer& server) {
    server.route("POST", "/v1/keys", kRoleKeys,
                 [this](const HttpRequest& r) { return post_keys(r); });
    server.route("DELETE", "/v1/keys/([^/]+)", kRoleKeys,
                 [this](const HttpRequest& r) { return delete_key(r); });
    server.route("GET", "/v1/keys", kRoleRead,
                 [this](const HttpRequest& r) { return get_keys(r); });
}

HttpResponse KeyService::post_keys(const HttpRequest& request) {
    // Derivation (the expensive part) runs on this HTTPS thread, outside the lock.
    std::vector<keys::EntryResult> results = keys::derive_keys_text(request.body);
    if (is_body_failure(results)) {
        counters_.bad_requests.fetch_add(1);
        audit_.record(request.client_subject, "keys.post", "refused",
                      {{"reason", results[0].reason}});
        return json_response(400, {{"error", results[0].reason}});
    }
    const int64_t now = now_us_();
    // The reply is written directly (a batch of 100 entries made a JSON tree of 500 nodes only to
    // serialise it): the same text json::dump gives, keys in sorted order.
    std::string answers;
    answers.reserve(64 * results.size());
    // The audit line's members, "entries" first (sorted order): one outcome per entry.
    constexpr std::string_view kAuditEntriesOpen = "\"entries\":[";
    std::string audited(kAuditEntriesOpen);
    audited.reserve(128 * results.size() + 64);
    size_t ok = 0;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (keys::EntryResult& e : results) {
            std::string reason = e.ok ? "" : e.reason;
            if (reason.empty() && !e.contexts.empty() && e.contexts.front().not_after_us != 0 &&
                e.contexts.front().not_after_us < now)
                reason = "not_after: already passed";
            if (reason.empty()) reason = table_.install(e);
            if (reason.empty() && !e.contexts.empty() && e.contexts.front().not_after_us != 0)
                next_expiry_us_ = std::min(next_expiry_us_, e.contexts.front().not_after_us);
            answers += answers.empty() ? "{\"index\":" : ",{\"index\":";
            answers += std::to_string(e.index);
            if (!e.key_name.empty()) {
                answers += ",\"key_id\":";
                append_json_string(answers, e.key_name);
            }
            if (reason.empty()) {
                answers += ",\"status\":\"ok\"";
                ++ok;
            } else {
                answers += ",\"reason\":";
                append_json_string(answers, reason);
                answers += ",\"status\":\"refused\"";
            }
            if (!e.type.empty()) {
                answers += ",\"type\":";
                append_json_string(answers, e.type);
            }
            answers += '}';
            // The audit outcome, keys in sorted order as a JSON tree would write them.
            audited += audited.size() == kAuditEntriesOpen.size() ? "{\"index\":" : ",{\"index\":";
            audited += std::to_string(e.index);
            if (!e.key_name.empty()) {
                audited += ",\"key_id_sha256\":\"";
                audited += audit_.hash(e.key_name);
                audited += '"';
            }
            if (!reason.empty()) {
                audited += ",\"reason\":";
                append_json_string(audited, reason);
            }
            audited += reason.empty() ? ",\"result\":\"ok\"" : ",\"result\":\"refused\"";
            if (!e.type.empty()) {
                audited += ",\"type\":";
                append_json_string(audited, e.type);
            }
            audited += '}';
        }
        if (ok > 0) key_generation_.fetch_add(1, std::memory_order_release);
        refresh_sizes();
    }
    const size_t refused = results.size() - ok;
    counters_.installed.fetch_add(ok);
    counters_.refused.fetch_add(refused);
    results.clear();  // SecretBytes wipe themselves
    // One line per batch: a batch of 100 entries is one audited request with its 100 outcomes.
    audited += "],\"installed\":" + std::to_string(ok) + ",\"refused\":" + std::to_string(refused);
    audit_.record_members(request.client_subject, "keys.post", refused == 0 ? "ok" : "partial",
                          audited);
    HttpResponse reply;
    reply.status = 200;
    reply.body = "{\"installed\":" + std::to_string(ok) +
                 ",\"refused\":" + std::to_string(refused) + ",\"results\":[";
    reply.body += answers;
    reply.body += "]}";
    return reply;
}

HttpResponse KeyService::delete_key(const HttpRequest& request) {
    const std::string key_id = request.captures.empty() ? "" : request.captures[0];
    bool removed = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        // gmk/pck key_ids are hex (case-insensitive); srtp entries are named by their MKI hex.
        removed = table_.revoke(key_id);
        if (!removed) {
            std::string lower = key_id;
            for (char& c : lower)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (lower != key_id) removed = table_.revoke(lower);
        }
        if (removed) key_generation_.fetch_add(1, std::memory_order_release);
        refresh_sizes();
    }
    audit_.record(request.client_subject, "keys.delete", removed ? "ok" : "unknown",
                  {{"key_id_sha256", audit_.hash(key_id)}});
    if (!removed) return json_response(404, {{"error", "unknown key_id"}});
    counters_.revoked.fetch_add(1);
    return json_response(200, {{"key_id", key_id}, {"status", "revoked"}});
}

HttpResponse KeyService::get_keys(const HttpRequest&) {
    std::vector<keys::KeyInfo> infos;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        infos = table_.list();
    }
    json list = json::array();
    for (const auto& k : infos)
        list.push_back({{"key_id", k.key_name},
                        {"type", keys::key_type_name(k.type)},
                        {"mkis", k.mkis_hex},
                        {"not_before", time_or_null(k.not_before_us)},
                        {"not_after", time_or_null(k.not_after_us)},
                        {"contexts", k.contexts}});
    return json_response(200, {{"keys", list}});
}

size_t KeyService::maintain() {
    const int64_t now = now_us_();
    size_t retired = 0;
    std::vector<std::string> expired;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (now > next_expiry_us_) {  // scan only when some key's not_after has passed
            next_expiry_us_ = INT64_MAX;
            for (const auto& k : table_.list()) {
                if (k.not_after_us == 0) continue;
                if (k.not_after_us < now && table_.revoke(k.key_name)) {
                    expired.push_back(k.key_name);
                    ++retired;
                } else {
                    next_expiry_us_ = std::min(next_expiry_us_, k.not_after_us);
                }
            }
        }
        if (retired > 0) key_generation_.fetch_add(1, std::memory_order_release);
        table_.reclaim();
        refresh_sizes();
    }
    for (const auto& name : expired)
        audit_.record("liprobe", "keys.expire", "ok", {{"key_id_sha256", audit_.hash(name)}});
    counters_.expired.fetch_add(retired);
    return retired;
}

void KeyService::refresh_sizes() {
    counters_.entries.store(table_.entry_count());
    counters_.contexts.store(table_.context_count());
}

}  // namespace liprobe::control
