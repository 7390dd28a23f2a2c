#include "liprobe/media/flow_table.hpp"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

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

const FlowInfo* FlowTable::lookup(const FlowKey& key) const {
    void* data = nullptr;
    if (rte_hash_lookup_data(hash_, &key, &data) < 0) return nullptr;
    return static_cast<const FlowInfo*>(data);
}

void FlowTable::lookup_bulk(const FlowKey* const* keys, unsigned n, const FlowInfo** out) const {
    static_assert(kMaxBulk <= RTE_HASH_LOOKUP_BULK_MAX);
    if (n == 0) return;
    const void* ks[kMaxBulk];
    void* data[kMaxBulk];
    for (unsigned i = 0; i < n; ++i) ks[i] = keys[i];
    uint64_t hits = 0;
    if (rte_hash_lookup_bulk_data(hash_, ks, n, &hits, data) < 0) hits = 0;
    for (unsigned i = 0; i < n; ++i)
        out[i] = (hits >> i) & 1 ? static_cast<const FlowInfo*>(data[i]) : nullptr;
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
    if (rte_hash_add_key_data(table_.hash_, &info->key, info) < 0) {
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
