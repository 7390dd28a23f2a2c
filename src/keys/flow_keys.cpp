// Per-worker pool of SDES contexts (see flow_keys.hpp). No allocation after construction.
#include "liprobe/keys/flow_keys.hpp"

#include <openssl/crypto.h>
#include <rte_rcu_qsbr.h>

#include <cstring>
#include <new>
#include <stdexcept>

#include "liprobe/keys/key_table.hpp"

namespace liprobe::keys {

namespace {
constexpr size_t kSlot = (sizeof(SrtpContext) + 63) / 64 * 64;
// Context ids of flow-keyed contexts: the top bit set keeps them apart from the key table's, the
// worker in the next byte apart from other workers' (the decryptor's stream cache compares ids).
constexpr uint64_t kFlowKeyedIdBit = uint64_t{1} << 63;
}  // namespace

FlowKeyPool::FlowKeyPool(uint32_t capacity, rte_rcu_qsbr* rcu, unsigned owner)
    : rcu_(rcu), capacity_(capacity), next_id_(kFlowKeyedIdBit | uint64_t{owner & 0xFF} << 48) {
    if (capacity == 0) return;
    memory_bytes_ = size_t{capacity} * kSlot;
    memory_ = static_cast<uint8_t*>(alloc_key_memory(memory_bytes_));
    if (memory_ == nullptr) throw std::runtime_error("cannot map memory for SDES contexts");
    free_.reserve(capacity);
    for (uint32_t i = capacity; i-- > 0;)
        free_.push_back(reinterpret_cast<SrtpContext*>(memory_ + size_t{i} * kSlot));
    retired_.resize(capacity);
}

FlowKeyPool::~FlowKeyPool() {
    // Live contexts hold no heap memory (their strings stay empty): unmapping wipes them all.
    if (memory_ != nullptr) free_key_memory(memory_, memory_bytes_);
}

const SrtpContext* FlowKeyPool::create(const crypto::GcmEngine& engine, crypto::SrtpProfile profile,
                                       std::span<const uint8_t> master_key,
                                       std::span<const uint8_t> master_salt, const uint8_t* mki,
                                       size_t mki_len) {
    if (mki_len > kMaxMkiLen) return nullptr;
    if (free_.empty()) {
        ++exhausted_;
        return nullptr;
    }
    SrtpContext* c = new (free_.back()) SrtpContext;
    if (!crypto::derive_session_keys(engine, profile, master_key, master_salt, c->rtp, c->rtcp)) {
        c->~SrtpContext();
        OPENSSL_cleanse(static_cast<void*>(c), kSlot);
        return nullptr;
    }
    free_.pop_back();
    ++in_use_;
    c->self = c;
    c->self_candidates = MkiCandidates{1, true, &c->self};
    c->id = ++next_id_;
    c->profile = profile;
    c->type = KeyType::srtp;
    c->mki_len = static_cast<uint8_t>(mki_len);
    if (mki_len > 0) std::memcpy(c->mki, mki, mki_len);
    return c;
}

void FlowKeyPool::release(SrtpContext* c) {
    c->~SrtpContext();
    OPENSSL_cleanse(static_cast<void*>(c), kSlot);
    free_.push_back(c);
    --in_use_;
}

void FlowKeyPool::retire(const SrtpContext* c) {
    if (c == nullptr) return;
    // The ring holds at most capacity entries and every retired context was created here.
    retired_[(retired_head_ + retired_count_) % retired_.size()] =
        Retired{rte_rcu_qsbr_start(rcu_), const_cast<SrtpContext*>(c)};
    ++retired_count_;
}

void FlowKeyPool::reclaim() {
    while (retired_count_ > 0) {
        const Retired& r = retired_[retired_head_];
        if (rte_rcu_qsbr_check(rcu_, r.token, false) != 1) break;
        release(r.context);
        retired_head_ = (retired_head_ + 1) % retired_.size();
        --retired_count_;
    }
}

void FlowKeyPool::drain() {
    while (retired_count_ > 0) {
        const Retired& r = retired_[retired_head_];
        rte_rcu_qsbr_check(rcu_, r.token, true);
        release(r.context);
        retired_head_ = (retired_head_ + 1) % retired_.size();
        --retired_count_;
    }
}

}  // namespace liprobe::keys
