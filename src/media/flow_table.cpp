#include "liprobe/media/flow_table.hpp"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace liprobe::media {

namespace {
uint32_t next_pow2(uint32_t v) {
    uint32_t p = 1;
    while (p < v) p <<= 1;
    return p;
}

// rte_hash_crc reads the key in 8-octet words; FlowKeys sit at 4-octet alignment inside other
// structs (and in rte_hash's key store), so the key is hashed from an aligned copy (UBSan).
// rte_hash passes its key_len, sizeof(FlowKey): three CRC32-C steps over the 20 octets that
// vary, without rte_hash_crc's length loop (a profiled 3-8 % of the not-intercepted path).
uint32_t flow_key_hash(const void* key, uint32_t len, uint32_t init) {
    if (len != sizeof(FlowKey)) {
        alignas(8) uint8_t copy[sizeof(FlowKey)];
        std::memcpy(copy, key, sizeof copy);
        return rte_hash_crc(copy, len < sizeof copy ? len : sizeof copy, init);
    }
    uint64_t w0, w1;
    uint32_t w2;
    std::memcpy(&w0, key, 8);
    std::memcpy(&w1, static_cast<const uint8_t*>(key) + 8, 8);
    std::memcpy(&w2, static_cast<const uint8_t*>(key) + 16, 4);
    return rte_hash_crc_4byte(w2, rte_hash_crc_8byte(w1, rte_hash_crc_8byte(w0, init)));
}
}  // namespace

FlowTable::FlowTable(const FlowTableConfig& config) : rcu_(config.rcu) {
    if (rcu_ == nullptr) throw std::runtime_error("flow table: an RCU variable is required");
    capacity_ = config.capacity < 8 ? 8 : config.capacity;
    rte_hash_parameters params{};
    params.name = config.name.c_str();
    params.entries = capacity_;
    params.key_len = sizeof(FlowKey);
    params.hash_func = flow_key_hash;
    params.socket_id = SOCKET_ID_ANY;
    // Lock-free readers; writers (workers that parse SDP, at SIP rate) serialised by rte_hash.
    params.extra_flag =
        RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD;
    hash_ = rte_hash_create(&params);
    if (hash_ == nullptr)
        throw std::runtime_error("flow table: rte_hash_create failed: " +
                                 std::string(rte_strerror(rte_errno)));
    // Four filter slots per endpoint of capacity: about 1 in 4 slots used when the table is full,
    // fewer false positives at the usual occupancy (2 octets each: 512 KiB at 65,536 flows).
    const uint32_t slots = next_pow2(std::min<uint32_t>(capacity_, 1u << 22) * 4);
    filter_ = std::make_unique<std::atomic<uint16_t>[]>(slots);
    for (uint32_t i = 0; i < slots; ++i) filter_[i].store(0, std::memory_order_relaxed);
    filter_mask_ = slots - 1;
    pool_.resize(capacity_);
    const std::string ring_name = config.name + "_free";
    free_ = rte_ring_create(ring_name.c_str(), next_pow2(capacity_ + 1), SOCKET_ID_ANY, 0);
    if (free_ == nullptr) {
        rte_hash_free(hash_);
        throw std::runtime_error("flow table: rte_ring_create failed: " +
                                 std::string(rte_strerror(rte_errno)));
    }
    for (uint32_t i = 0; i < capacity_; ++i) {
        pool_[i].pool_index = i;
        FlowInfo* p = &pool_[i];
        rte_ring_enqueue(free_, p);
    }
}

FlowTable::~FlowTable() {
    rte_hash_free(hash_);
    rte_ring_free(free_);
}

uint32_t FlowTable::filter_slot(const FlowKey& key) const {
    // Another seed than rte_hash's (0): independent of the bucket index.
    return flow_key_hash(&key, sizeof key, 0x9e3779b9u) & filter_mask_;
}

bool FlowTable::may_contain(const FlowKey& key) const {
    return filter_[filter_slot(key)].load(std::memory_order_relaxed) != 0;
}

void FlowTable::filter_add(const FlowKey& key, int delta) {
    std::atomic<uint16_t>& c = filter_[filter_slot(key)];
    uint16_t v = c.load(std::memory_order_relaxed);
    for (;;) {
        if (v == UINT16_MAX || (delta < 0 && v == 0)) return;  // saturated: stays
        const uint16_t next = static_cast<uint16_t>(delta > 0 ? v + 1 : v - 1);
        if (c.compare_exchange_weak(v, next, std::memory_order_release, std::memory_order_relaxed))
            return;
    }
}

const FlowInfo* FlowTable::lookup(const FlowKey& key) const {
    if (!may_contain(key)) return nullptr;
    void* data = nullptr;
    if (rte_hash_lookup_data(hash_, &key, &data) < 0) return nullptr;
    return static_cast<const FlowInfo*>(data);
}

void FlowTable::lookup_bulk(const FlowKey* const* keys, unsigned n, const FlowInfo** out) const {
    static_assert(kMaxBulk <= RTE_HASH_LOOKUP_BULK_MAX);
    const void* ks[kMaxBulk];
    void* data[kMaxBulk];
    uint8_t index[kMaxBulk];
    uint32_t slot[kMaxBulk];
    for (unsigned i = 0; i < n; ++i) {  // the filter's lines are fetched for all keys at once
        slot[i] = filter_slot(*keys[i]);
        rte_prefetch0(&filter_[slot[i]]);
    }
    unsigned m = 0;
    for (unsigned i = 0; i < n; ++i) {
        out[i] = nullptr;
        if (filter_[slot[i]].load(std::memory_order_relaxed) == 0) continue;
        ks[m] = keys[i];
        index[m++] = static_cast<uint8_t>(i);
    }
    if (m == 0) return;
    uint64_t hits = 0;
    if (rte_hash_lookup_bulk_data(hash_, ks, m, &hits, data) < 0) hits = 0;
    for (unsigned j = 0; j < m; ++j)
        if ((hits >> j) & 1) out[index[j]] = static_cast<const FlowInfo*>(data[j]);
}

uint32_t FlowTable::size() const {
    return static_cast<uint32_t>(rte_hash_count(hash_));
}

FlowWriter::FlowWriter(FlowTable& table) : table_(table), retired_(table.capacity_ + 1) {}

FlowWriter::~FlowWriter() = default;

FlowInfo* FlowWriter::allocate() {
    void* p = nullptr;
    if (rte_ring_dequeue(table_.free_, &p) != 0) {
        reclaim();
        if (rte_ring_dequeue(table_.free_, &p) != 0) {
            ++counters_.refused_full;
            return nullptr;
        }
    }
    FlowInfo* info = static_cast<FlowInfo*>(p);
    const uint32_t index = info->pool_index;
    *info = FlowInfo{};
    info->pool_index = index;
    return info;
}

void FlowWriter::release(FlowInfo* info) {
    rte_ring_enqueue(table_.free_, info);
}

void FlowWriter::retire(FlowInfo* info, int32_t key_position) {
    // Cannot overflow: the ring holds one entry per pool value, and a value is retired once.
    if (count_ == retired_.size()) return;
    retired_[(head_ + count_) % retired_.size()] =
        Retired{rte_rcu_qsbr_start(table_.rcu_), info, key_position};
    ++count_;
    counters_.retired_pending = count_;
}

bool FlowWriter::install(FlowInfo* info) {
    void* old = nullptr;
    const bool had = rte_hash_lookup_data(table_.hash_, &info->key, &old) >= 0;
    if (!had) table_.filter_add(info->key, +1);  // counted in before readers can find it
    if (rte_hash_add_key_data(table_.hash_, &info->key, info) < 0) {
        if (!had) table_.filter_add(info->key, -1);
        ++counters_.refused_full;
        release(info);
        return false;
    }
    if (had && old != nullptr && old != info) {
        retire(static_cast<FlowInfo*>(old), -1);
        ++counters_.replaced;
    } else {
        ++counters_.installed;
    }
    return true;
}

bool FlowWriter::remove(const FlowKey& key, uint64_t owner_tag) {
    void* data = nullptr;
    if (rte_hash_lookup_data(table_.hash_, &key, &data) < 0) return false;
    if (static_cast<FlowInfo*>(data)->owner_tag != owner_tag) return false;
    const int32_t pos = rte_hash_del_key(table_.hash_, &key);
    if (pos < 0) return false;
    table_.filter_add(key, -1);  // counted out once readers can no longer find it
    retire(static_cast<FlowInfo*>(data), pos);
    ++counters_.removed;
    return true;
}

void FlowWriter::reclaim() {
    while (count_ > 0) {
        Retired& r = retired_[head_];
        if (rte_rcu_qsbr_check(table_.rcu_, r.token, false) != 1) break;
        if (r.key_position >= 0) rte_hash_free_key_with_position(table_.hash_, r.key_position);
        rte_ring_enqueue(table_.free_, r.info);
        head_ = (head_ + 1) % retired_.size();
        --count_;
    }
    counters_.retired_pending = count_;
}

void FlowWriter::drain() {
    while (count_ > 0) {
        Retired& r = retired_[head_];
        rte_rcu_qsbr_check(table_.rcu_, r.token, true);
        if (r.key_position >= 0) rte_hash_free_key_with_position(table_.hash_, r.key_position);
        rte_ring_enqueue(table_.free_, r.info);
        head_ = (head_ + 1) % retired_.size();
        --count_;
    }
    counters_.retired_pending = 0;
}

}  // namespace liprobe::media
