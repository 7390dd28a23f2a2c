// The shared media flow table (design.md 1): media endpoints negotiated in the SDP of intercepted
// dialogs -> what a worker needs to intercept a packet sent to or from that endpoint. An rte_hash
// with lock-free readers (any worker looks up any flow) and serialised writers (the worker that
// parsed the SDP installs and removes). Values come from a fixed pool (bounded memory: a FlowInfo
// is well under the 512 octets per media flow of issue 4); a replaced or removed value returns to
// the pool only after an rte_rcu_qsbr grace period, so a reader never sees freed memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct rte_hash;
struct rte_ring;
struct rte_rcu_qsbr;

namespace liprobe::keys {
struct SrtpContext;
}

namespace liprobe::media {

inline constexpr size_t kMaxDialogWarrants = 8;

// Which party of a dialog: the initiator sent the dialog-creating INVITE.
enum class Side : uint8_t { initiator = 0, receiver = 1, unknown = 2 };
inline Side other_side(Side s) {
    return s == Side::initiator ? Side::receiver : s == Side::receiver ? Side::initiator : s;
}

// A UDP endpoint (address, port), the hash key. 32 octets, the last 12 always zero: rte_hash
// compares 16-, 32-, ... octet keys with vector instructions, any other length with memcmp (a
// profiled 4 % of the intercepted path with the former 20-octet key).
struct FlowKey {
    uint8_t family = 0;  // 4 or 6
    uint8_t reserved = 0;
    uint16_t port = 0;  // host order
    uint8_t addr[16] = {};
    uint8_t zero[12] = {};
    bool operator==(const FlowKey&) const = default;
};
static_assert(sizeof(FlowKey) == 32);

enum class FlowKind : uint8_t { rtp = 0, rtcp = 1, rtp_rtcp_mux = 2 };

// One intercepting warrant of a flow: what every CC record of it needs.
struct FlowWarrant {
    uint32_t warrant = 0;  // global warrant id (exporter WarrantInfo index)
    uint32_t cin = 0;
    Side target_side = Side::unknown;  // where this warrant's target is in the dialog
};

// SDES contexts of a flow per sending side, tried in order: the current keys of the side's latest
// SDP, then offered ones (an offer's alternatives before its answer), then the previous keys (in
// flight during a re-key).
inline constexpr size_t kMaxFlowSdesContexts = 8;

struct FlowInfo {
    FlowKey key;
    Side owner = Side::unknown;  // the side whose SDP named this endpoint (it receives there)
    FlowKind kind = FlowKind::rtp;
    bool secure = false;  // SRTP profile (SAVP) in the SDP
    uint8_t warrant_count = 0;
    FlowWarrant warrants[kMaxDialogWarrants];
    uint64_t owner_tag = 0;  // the dialog that installed it (worker, slot, generation)
    uint32_t pool_index = 0;
    // SDES (RFC 4568): by sending side (Side::initiator, Side::receiver), the contexts keyed by
    // that side's a=crypto lines for this flow's media stream; none: the MKI table decides.
    uint8_t sdes_count[2] = {0, 0};
    const keys::SrtpContext* sdes[2][kMaxFlowSdesContexts] = {};
};
static_assert(sizeof(FlowInfo) <= 512, "design: at most 512 octets per media flow");

// What a packet's two flow lookups found (Interceptor::on_udp: its destination endpoint first,
// then its source), done for a whole burst at once by FlowTable::lookup_bulk.
struct FlowLookup {
    const FlowInfo* dst = nullptr;
    const FlowInfo* src = nullptr;
};

struct FlowTableConfig {
    std::string name = "liprobe_flows";  // rte_hash name, unique per process
    uint32_t capacity = 65536;           // endpoints (a call with audio uses about 4)
    rte_rcu_qsbr* rcu = nullptr;         // grace periods for values; required
};

struct FlowTableCounters {
    uint64_t installed = 0, replaced = 0, removed = 0, refused_full = 0, retired_pending = 0;
};

class FlowTable;

// One per writing thread (a worker): its own queue of values waiting for a grace period.
class FlowWriter {
  public:
    explicit FlowWriter(FlowTable& table);
    ~FlowWriter();  // the table must still exist; waits for nothing (see FlowTable::drain)
    FlowWriter(const FlowWriter&) = delete;
    FlowWriter& operator=(const FlowWriter&) = delete;

    // A zeroed value from the pool, or nullptr when the table is full (counted).
    FlowInfo* allocate();
    // Gives back a value that was never installed.
    void release(FlowInfo* info);
    // Installs info for info->key, replacing (and retiring) any previous value. False when the
    // hash is full: info is released and the refusal counted.
    bool install(FlowInfo* info);
    // Removes key when its current value was installed by owner_tag. True when removed.
    bool remove(const FlowKey& key, uint64_t owner_tag);
    // Returns retired values whose grace period ended to the pool. Non-blocking; call per burst.
    void reclaim();
    // Blocking: waits for the grace period of everything retired (control plane, end of run).
    void drain();

    const FlowTableCounters& counters() const { return counters_; }

  private:
    struct Retired {
        uint64_t token;
        FlowInfo* info;
        int32_t key_position;  // < 0: the key stays (a replaced value)
    };
    void retire(FlowInfo* info, int32_t key_position);
    FlowTable& table_;
    std::vector<Retired> retired_;  // ring, capacity == pool size (never overflows)
    size_t head_ = 0, count_ = 0;
    FlowTableCounters counters_;
};

class FlowTable {
  public:
    explicit FlowTable(const FlowTableConfig& config);  // throws std::runtime_error
    ~FlowTable();
    FlowTable(const FlowTable&) = delete;
    FlowTable& operator=(const FlowTable&) = delete;

    // Fast path, any registered RCU reader: valid until the caller's next quiescent report.
    // A key whose slot in the presence filter is empty is not installed, without touching the
    // rte_hash (the common case: traffic of nobody's warrant).
    const FlowInfo* lookup(const FlowKey& key) const;
    // The same for n keys at once (at most kMaxBulk): the keys that pass the filter go to
    // rte_hash's bulk lookup, which prefetches the buckets of every key before comparing.
    // out[i] is nullptr where keys[i] is not installed.
    static constexpr unsigned kMaxBulk = 64;
    void lookup_bulk(const FlowKey* const* keys, unsigned n, const FlowInfo** out) const;
    uint32_t size() const;  // installed endpoints
    uint32_t capacity() const { return capacity_; }
    rte_rcu_qsbr* rcu() const { return rcu_; }

  private:
    friend class FlowWriter;
    // Presence filter: per slot (a second hash of the key), how many installed keys map there.
    // A writer counts a new key in before adding it to the hash and out after deleting it, so a
    // reader that finds 0 may answer "not installed" (as a lookup just before the add or just
    // after the delete would). Saturated counts (65535) stay: only false positives, never misses.
    uint32_t filter_slot(const FlowKey& key) const;
    bool may_contain(const FlowKey& key) const;
    void filter_add(const FlowKey& key, int delta);
    std::unique_ptr<std::atomic<uint16_t>[]> filter_;
    uint32_t filter_mask_ = 0;
    rte_hash* hash_ = nullptr;
    rte_ring* free_ = nullptr;
    rte_rcu_qsbr* rcu_ = nullptr;
    uint32_t capacity_ = 0;
    std::vector<FlowInfo> pool_;
};

}  // namespace liprobe::media
