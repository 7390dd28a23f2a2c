// SRTP contexts keyed by a media flow instead of an MKI: SDES (RFC 4568), whose keys travel in the
// intercepted dialog's own SDP. One pool per worker, carved at construction from locked,
// non-dumpable key memory (keys::alloc_key_memory), so a worker creates contexts with no
// allocation or syscall. The owning worker creates and retires them; any worker reads them
// through the flow table; a retired context is zeroised and reused only after an rte_rcu_qsbr
// grace period of the flow table's RCU (the readers that may still hold it report there).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "liprobe/crypto/gcm.hpp"
#include "liprobe/crypto/srtp.hpp"
#include "liprobe/keys/context.hpp"

struct rte_rcu_qsbr;

namespace liprobe::keys {

class FlowKeyPool {
  public:
    // capacity contexts (0: SDES off, create() always refuses); rcu: the flow table's.
    FlowKeyPool(uint32_t capacity, rte_rcu_qsbr* rcu, unsigned owner);
    ~FlowKeyPool();
    FlowKeyPool(const FlowKeyPool&) = delete;
    FlowKeyPool& operator=(const FlowKeyPool&) = delete;

    // A context for one master key and salt (and its MKI, mki_len 0..kMaxMkiLen), session keys
    // derived at once (RFC 3711 KDF, KDR 0). nullptr when the pool is empty (counted) or a length
    // does not fit the profile.
    const SrtpContext* create(const crypto::GcmEngine& engine, crypto::SrtpProfile profile,
                              std::span<const uint8_t> master_key,
                              std::span<const uint8_t> master_salt, const uint8_t* mki,
                              size_t mki_len);
    // No flow names c any more (its flows were replaced or removed): zeroised and reused after
    // the grace period.
    void retire(const SrtpContext* c);
    // Returns retired contexts whose grace period ended to the pool. Non-blocking.
    void reclaim();
    // Blocking (end of run): waits for every retired context's grace period.
    void drain();

    uint32_t capacity() const { return capacity_; }
    uint32_t in_use() const { return in_use_; }
    uint64_t exhausted() const { return exhausted_; }  // create() refused: pool empty

  private:
    struct Retired {
        uint64_t token;
        SrtpContext* context;
    };
    void release(SrtpContext* c);
    rte_rcu_qsbr* rcu_;
    uint8_t* memory_ = nullptr;
    size_t memory_bytes_ = 0;
    uint32_t capacity_ = 0;
    uint32_t in_use_ = 0;
    uint64_t exhausted_ = 0;
    uint64_t next_id_;
    std::vector<SrtpContext*> free_;  // stack, reserved to capacity
    std::vector<Retired> retired_;    // ring, capacity entries
    size_t retired_head_ = 0, retired_count_ = 0;
};

}  // namespace liprobe::keys
