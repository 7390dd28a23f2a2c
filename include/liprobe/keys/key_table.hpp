// MKI -> candidate SRTP contexts. Lookups are lock-free from any thread (rte_hash with lock-free
// read/write concurrency); updates come from one control thread; replaced and revoked contexts
// are freed after an rte_rcu_qsbr grace period and zeroised. Key memory is mlock()ed and
// excluded from core dumps (MADV_DONTDUMP). Requires an initialised EAL.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "liprobe/keys/context.hpp"
#include "liprobe/keys/key_model.hpp"

struct rte_hash;
struct rte_rcu_qsbr;

namespace liprobe::keys {

struct KeyTableConfig {
    std::string name = "liprobe_mki";  // rte_hash name, unique per process
    uint32_t capacity = 1u << 20;      // MKIs (each gmk member needs two: long and short share one)
    uint32_t max_readers = 64;         // RCU reader thread ids 0..max_readers-1
    int socket_id = -1;                // SOCKET_ID_ANY
};

struct KeyInfo {  // GET /v1/keys and keytool: never key material
    std::string key_name;
    KeyType type;
    std::vector<std::string> mkis_hex;
    int64_t not_before_us, not_after_us;
    size_t contexts;
};

class KeyTable {
  public:
    explicit KeyTable(const KeyTableConfig& config);  // throws std::runtime_error on failure
    ~KeyTable();
    KeyTable(const KeyTable&) = delete;
    KeyTable& operator=(const KeyTable&) = delete;

    // ---- fast path (any thread) ----
    // Returns nullptr when the MKI is unknown. The result stays valid until the calling reader
    // reports a quiescent state.
    const MkiCandidates* lookup(const uint8_t* mki, size_t mki_len) const;
    // The same for up to kMaxBulkLookup MKIs at once (rte_hash pipelines the bucket fetches, which
    // hides the cache misses of a large table). mkis[i] == nullptr gives out[i] == nullptr.
    static constexpr uint32_t kMaxBulkLookup = 32;
    void lookup_bulk(const uint8_t* const* mkis, const uint8_t* mki_lens, uint32_t n,
                     const MkiCandidates** out) const;
    // Bit n set when some registered MKI has length n (1..16): where to look in a packet tail.
    uint32_t mki_length_mask() const;
    // Bit 1 << SrtpProfile set when some installed context uses that (RTP) profile: which tail
    // layouts (tag lengths behind the MKI) a packet may have. Set before a new context is
    // published, cleared after the last one is withdrawn.
    uint32_t profile_mask() const;
    // RCU reader registration and quiescent-state reports (workers: once per burst).
    void register_reader(unsigned reader_id);
    void unregister_reader(unsigned reader_id);
    void quiescent(unsigned reader_id) const;

    // ---- control plane (one thread) ----
    // Installs all contexts of one derived entry, replacing a previous entry with the same
    // key_name. Returns "" on success, else the reason (nothing is changed then).
    // Loading a batch (preload, POST /v1/keys): derive_keys()/derive_keys_text() (which refuses
    // duplicates within the batch, see key_model.hpp), then install() each entry that is ok, in
    // order. An MKI another key_name already registered is added as a further candidate (tried
    // in order, the authentication tag decides).
    std::string install(const EntryResult& entry);
    bool revoke(const std::string& key_name);  // false when unknown
    std::vector<KeyInfo> list() const;
    size_t context_count() const;
    size_t entry_count() const;  // key_names installed
    // Frees (after zeroising) everything whose grace period has ended; non-blocking.
    size_t reclaim();
    // Blocks until every registered reader has passed a quiescent state, then reclaims.
    void synchronize();

    rte_rcu_qsbr* rcu() const { return rcu_; }

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    rte_hash* hash_ = nullptr;
    rte_rcu_qsbr* rcu_ = nullptr;
};

// Allocates n bytes of key memory: page aligned, mlock()ed, MADV_DONTDUMP. Freed with
// free_key_memory after OPENSSL_cleanse. Control plane only. The KeyTable carves its contexts
// from 2 MiB-aligned slabs of such memory (advised for transparent huge pages); a freed context
// slot is zeroised (whole slot) and stays mapped in its slab for reuse until the table is
// destroyed.
void* alloc_key_memory(size_t n);
void free_key_memory(void* p, size_t n);
// mlock() is best effort (without CAP_IPC_LOCK, RLIMIT_MEMLOCK may refuse it): refusing keys
// would lose CC, so failures are counted here for the metrics instead.
size_t key_memory_lock_failures();

}  // namespace liprobe::keys
