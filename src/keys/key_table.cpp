// MKI key table: rte_hash (lock-free readers, one writer) from a fixed 20-octet MKI key to an
// immutable MkiCandidates block (the one embedded in the context when the MKI has a single
// candidate); contexts live in locked, non-dumpable key memory; everything a reader may still
// hold is freed (after zeroising) only once an rte_rcu_qsbr grace period ended.
#include "liprobe/keys/key_table.hpp"

#include <openssl/crypto.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <deque>
#include <map>
#include <new>
#include <stdexcept>
#include <unordered_map>

namespace liprobe::keys {

namespace {

// The rte_hash key: length first so that MKIs of different lengths never collide.
// 8-aligned with explicit zero padding: rte_hash_crc reads keys in 8-octet words, and every
// octet of the key is hashed and compared.
struct alignas(8) HashKey {
    uint8_t len = 0;
    uint8_t pad[3] = {};
    uint8_t mki[kMaxMkiLen] = {};
    uint8_t tail[4] = {};
};
static_assert(sizeof(HashKey) == 24);

HashKey make_key(const uint8_t* mki, size_t len) {
    HashKey k;
    k.len = static_cast<uint8_t>(len);
    uint64_t words[2];
    load_mki_words(mki, len, words);
    std::memcpy(k.mki, words, sizeof(words));
    return k;
}

// Control-plane map of the registered MKIs, keyed by the HashKey itself (a std::string of it,
// longer than the small-string buffer, cost an allocation per lookup) and hashed like rte_hash
// does: an install looks up every MKI of its entry, in a table of up to a million MKIs.
struct HashKeyHash {
    size_t operator()(const HashKey& k) const { return rte_hash_crc(&k, sizeof(HashKey), 0); }
};
struct HashKeyEqual {
    bool operator()(const HashKey& a, const HashKey& b) const {
        return std::memcmp(&a, &b, sizeof(HashKey)) == 0;
    }
};
template <typename T>
using HashKeyMap = std::unordered_map<HashKey, T, HashKeyHash, HashKeyEqual>;

size_t page_size() {
    static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return size;
}

size_t round_to_pages(size_t n) {
    const size_t p = page_size();
    return (n + p - 1) / p * p;
}

std::atomic<size_t> g_lock_failures{0};

// The fast path reads the hot line, then the RTP key schedule and salt, at these offsets.
static_assert(alignof(SrtpContext) == 64);
static_assert(offsetof(SrtpContext, rtp) == 64, "SrtpContext: the hot line must stay 64 octets");

// A 2 MiB-aligned slab of key memory the kernel may back with one transparent huge page: the
// workers touch contexts spread over tens of megabytes, and with 4 KiB pages nearly every
// context access also missed the TLB. Same protections as alloc_key_memory.
void* alloc_key_slab(size_t bytes) {
    const size_t span = bytes * 2;
    void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    const auto start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + bytes - 1) / bytes * bytes;
    if (aligned > start) munmap(raw, aligned - start);
    if (start + span > aligned + bytes)
        munmap(reinterpret_cast<void*>(aligned + bytes), start + span - (aligned + bytes));
    void* p = reinterpret_cast<void*>(aligned);
    (void)madvise(p, bytes, MADV_HUGEPAGE);  // advice only: 4 KiB pages still work
    (void)madvise(p, bytes, MADV_DONTDUMP);
    if (mlock(p, bytes) != 0) g_lock_failures.fetch_add(1, std::memory_order_relaxed);
    return p;
}

// Contexts are carved from key-memory slabs: a page per context would lock 2.4x the memory
// needed and cost five syscalls per key. A freed slot is zeroised and stays in its (locked)
// slab for reuse; slabs are unmapped when the table is destroyed.
class ContextPool {
  public:
    static constexpr size_t kSlotSize = (sizeof(SrtpContext) + 63) / 64 * 64;
    static constexpr size_t kSlabBytes = size_t{2} << 20;  // one huge page

    ContextPool() = default;
    ContextPool(const ContextPool&) = delete;
    ContextPool& operator=(const ContextPool&) = delete;
    ~ContextPool() {
        for (void* slab : slabs_) free_key_memory(slab, kSlabBytes);
    }

    void* allocate() {
        if (free_.empty()) {
            void* slab = alloc_key_slab(kSlabBytes);
            if (slab == nullptr) return nullptr;
            slabs_.push_back(slab);
            auto* base = static_cast<uint8_t*>(slab);
            for (size_t i = kSlabBytes / kSlotSize; i-- > 0;) free_.push_back(base + i * kSlotSize);
        }
        void* slot = free_.back();
        free_.pop_back();
        return slot;
    }
    void release(void* slot) {
        OPENSSL_cleanse(slot, kSlotSize);
        free_.push_back(slot);
    }

  private:
    std::vector<void*> slabs_;
    std::vector<void*> free_;
};

// The contexts an MKI resolves to, per contributing key_name, in registration order.
using Contributors = std::vector<std::pair<std::string, std::vector<const SrtpContext*>>>;

// One published MkiCandidates block for lists of contexts taken in order (for_each_list calls
// its argument with each list): a lone context's own embedded block, else a heap block with its
// pointer array right behind it.
template <typename ForEachList>
MkiCandidates* make_block_of(ForEachList for_each_list) {
    size_t count = 0;
    const SrtpContext* first = nullptr;
    for_each_list([&](const std::vector<const SrtpContext*>& list) {
        if (count == 0 && !list.empty()) first = list.front();
        count += list.size();
    });
    if (count == 1) return const_cast<MkiCandidates*>(&first->self_candidates);
    const size_t bytes = sizeof(MkiCandidates) + count * sizeof(const SrtpContext*);
    void* mem = ::operator new(bytes);
    auto* block = new (mem) MkiCandidates;
    auto** array = reinterpret_cast<const SrtpContext**>(block + 1);
    size_t at = 0;
    for_each_list([&](const std::vector<const SrtpContext*>& list) {
        for (const SrtpContext* c : list) array[at++] = c;
    });
    block->count = static_cast<uint32_t>(count);
    block->contexts = array;
    return block;
}

MkiCandidates* make_block(const std::vector<const SrtpContext*>& list) {
    return make_block_of([&list](auto&& visit) { visit(list); });
}

MkiCandidates* make_block(const Contributors& contributors) {
    return make_block_of([&contributors](auto&& visit) {
        for (const auto& contributor : contributors) visit(contributor.second);
    });
}

// Embedded blocks go with their context (which is retired no earlier than the block); blocks are
// freed before contexts in every batch, so the flag is read from live memory.
void free_block(MkiCandidates* block) {
    if (block->owned_by_context) return;
    block->~MkiCandidates();
    ::operator delete(block);
}

// One direction's session keys in the form the fast path uses: GCM key schedule and salt for
// the AEAD profiles, AES round keys, HMAC pad states and salt for AES-CM (whose SRTCP may have
// its own profile: the _32 suites keep an 80-bit SRTCP tag).
bool expand_direction(const crypto::GcmEngine& gcm, crypto::SrtpProfile profile,
                      const SecretBytes& key, const SecretBytes& salt, const SecretBytes& auth,
                      crypto::SrtpSessionKeys& out) {
    if (!crypto::profile_info(profile).aead) {
        return crypto::expand_cm_keys(gcm, profile, key.bytes(), salt.bytes(), auth.bytes(), out);
    }
    if (salt.size() != crypto::kAeadSaltLen || !gcm.expand_key(key.bytes(), out.key)) return false;
    std::memcpy(out.salt, salt.data(), crypto::kAeadSaltLen);
    out.profile = profile;
    return true;
}

bool expand_session_keys(const crypto::GcmEngine& gcm, const ContextSpec& s, SrtpContext& c) {
    return expand_direction(gcm, s.profile, s.rtp_key, s.rtp_salt, s.rtp_auth, c.rtp) &&
           expand_direction(gcm, crypto::srtcp_profile(s.profile), s.rtcp_key, s.rtcp_salt,
                            s.rtcp_auth, c.rtcp);
}

}  // namespace

size_t key_memory_lock_failures() {
    return g_lock_failures.load(std::memory_order_relaxed);
}

void* alloc_key_memory(size_t n) {
    const size_t bytes = round_to_pages(n == 0 ? 1 : n);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    // Excluded from core dumps before any secret is written.
    (void)madvise(p, bytes, MADV_DONTDUMP);
    // Best effort: without CAP_IPC_LOCK a low RLIMIT_MEMLOCK would otherwise refuse keys (and so
    // lose CC); the failure is counted and exported instead (key_memory_lock_failures()).
    if (mlock(p, bytes) != 0) g_lock_failures.fetch_add(1, std::memory_order_relaxed);
    return p;
}

void free_key_memory(void* p, size_t n) {
    if (p == nullptr) return;
    const size_t bytes = round_to_pages(n == 0 ? 1 : n);
    OPENSSL_cleanse(p, bytes);
    (void)munlock(p, bytes);
    munmap(p, bytes);
}

struct KeyTable::Impl {
    // One installed entry (key_name): its contexts, and per MKI the contexts it contributes.
    struct Entry {
        KeyType type = KeyType::srtp;
        int64_t not_before_us = 0, not_after_us = 0;
        std::vector<SrtpContext*> contexts;
        std::vector<std::pair<HashKey, std::vector<const SrtpContext*>>> mkis;  // in order
    };
    // One registered MKI: contributors in registration order, and what readers see now.
    struct Registration {
        HashKey key;
        Contributors contributors;
        MkiCandidates* published = nullptr;
    };
    // Things a reader may still hold, freed when the grace period of token has ended.
    struct Retired {
        uint64_t token = 0;
        std::vector<SrtpContext*> contexts;
        std::vector<MkiCandidates*> blocks;
        std::vector<int32_t> key_positions;
    };

    crypto::GcmEngine gcm;  // control-plane key expansion only
    ContextPool pool;
    std::map<std::string, Entry> entries;
    HashKeyMap<Registration> mkis;
    std::deque<Retired> retired;
    std::atomic<uint32_t> length_mask{0};
    uint32_t length_refs[kMaxMkiLen + 1] = {};
    std::atomic<uint32_t> profile_mask{0};
    size_t profile_refs[crypto::kSrtpProfileCount] = {};
    uint64_t next_id = 1;
    size_t live_contexts = 0;
    uint32_t capacity = 0;

    void destroy_context(SrtpContext* c) {
        // The key schedules live in the slot, which release() cleanses whole.
        c->~SrtpContext();
        pool.release(c);
    }

    void update_mask() {
        uint32_t mask = 0;
        for (size_t n = 1; n <= kMaxMkiLen; ++n)
            if (length_refs[n] != 0) mask |= 1u << n;
        length_mask.store(mask, std::memory_order_release);
    }

    // delta +1 for contexts about to be published, -1 for withdrawn ones.
    void count_profiles(const std::vector<SrtpContext*>& contexts, int delta) {
        for (const SrtpContext* c : contexts) {
            size_t& refs = profile_refs[static_cast<size_t>(c->profile)];
            refs = delta > 0 ? refs + 1 : refs - 1;
        }
        uint32_t mask = 0;
        for (size_t p = 0; p < crypto::kSrtpProfileCount; ++p)
            if (profile_refs[p] != 0) mask |= 1u << p;
        profile_mask.store(mask, std::memory_order_release);
    }
};

KeyTable::KeyTable(const KeyTableConfig& config) : impl_(std::make_unique<Impl>()) {
    if (config.capacity == 0 || config.max_readers == 0)
        throw std::runtime_error("key table: capacity and max_readers must be > 0");
    impl_->capacity = config.capacity;
    rte_hash_parameters params{};
    params.name = config.name.c_str();
    params.entries = config.capacity;
    params.key_len = sizeof(HashKey);
    params.hash_func = rte_hash_crc;
    params.hash_func_init_val = 0;
    params.socket_id = config.socket_id;
    // Lock-free readers with a single writer; the extendable bucket table keeps the capacity
    // reachable whatever the cuckoo placement.
    params.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    hash_ = rte_hash_create(&params);
    if (hash_ == nullptr)
        throw std::runtime_error("key table: rte_hash_create failed: " +
                                 std::string(rte_strerror(rte_errno)));
    const size_t rcu_bytes = rte_rcu_qsbr_get_memsize(config.max_readers);
    rcu_ = static_cast<rte_rcu_qsbr*>(
        rte_zmalloc_socket("liprobe_key_rcu", rcu_bytes, RTE_CACHE_LINE_SIZE, config.socket_id));
    if (rcu_ == nullptr || rte_rcu_qsbr_init(rcu_, config.max_readers) != 0) {
        rte_free(rcu_);
        rte_hash_free(hash_);
        throw std::runtime_error("key table: cannot set up rte_rcu_qsbr");
    }
}

KeyTable::~KeyTable() {
    // No reader may use the table any more: free everything at once.
    for (auto& [name, reg] : impl_->mkis)
        if (reg.published != nullptr) free_block(reg.published);
    for (auto& r : impl_->retired)
        for (auto* b : r.blocks) free_block(b);
    for (auto& r : impl_->retired)
        for (auto* c : r.contexts) impl_->destroy_context(c);
    for (auto& [name, entry] : impl_->entries)
        for (auto* c : entry.contexts) impl_->destroy_context(c);
    rte_hash_free(hash_);
    rte_free(rcu_);
}

const MkiCandidates* KeyTable::lookup(const uint8_t* mki, size_t mki_len) const {
    if (mki_len == 0 || mki_len > kMaxMkiLen) return nullptr;
    const HashKey key = make_key(mki, mki_len);
    void* data = nullptr;
    if (rte_hash_lookup_data(hash_, &key, &data) < 0) return nullptr;
    return static_cast<const MkiCandidates*>(data);
}

void KeyTable::lookup_bulk(const uint8_t* const* mkis, const uint8_t* mki_lens, uint32_t n,
                           const MkiCandidates** out) const {
    HashKey keys[kMaxBulkLookup];
    const void* key_ptrs[kMaxBulkLookup];
    uint32_t slot_of[kMaxBulkLookup];
    uint32_t count = 0;
    for (uint32_t i = 0; i < n && i < kMaxBulkLookup; ++i) {
        out[i] = nullptr;
        if (mkis[i] == nullptr || mki_lens[i] == 0 || mki_lens[i] > kMaxMkiLen) continue;
        keys[count] = make_key(mkis[i], mki_lens[i]);
        key_ptrs[count] = &keys[count];
        slot_of[count++] = i;
    }
    if (count == 0) return;
    void* data[kMaxBulkLookup];
    uint64_t hits = 0;
    if (rte_hash_lookup_bulk_data(hash_, key_ptrs, count, &hits, data) <= 0) return;
    for (uint32_t k = 0; k < count; ++k)
        if (hits >> k & 1) out[slot_of[k]] = static_cast<const MkiCandidates*>(data[k]);
}

uint32_t KeyTable::profile_mask() const {
    return impl_->profile_mask.load(std::memory_order_acquire);
}

uint32_t KeyTable::mki_length_mask() const {
    return impl_->length_mask.load(std::memory_order_acquire);
}

void KeyTable::register_reader(unsigned reader_id) {
    if (rte_rcu_qsbr_thread_register(rcu_, reader_id) != 0)
        throw std::runtime_error("key table: bad RCU reader id");
    rte_rcu_qsbr_thread_online(rcu_, reader_id);
}

void KeyTable::unregister_reader(unsigned reader_id) {
    rte_rcu_qsbr_thread_offline(rcu_, reader_id);
    rte_rcu_qsbr_thread_unregister(rcu_, reader_id);
}

void KeyTable::quiescent(unsigned reader_id) const {
    rte_rcu_qsbr_quiescent(rcu_, reader_id);
}

std::string KeyTable::install(const EntryResult& entry) {
    if (!entry.ok) return entry.reason.empty() ? "entry was not derived" : entry.reason;
    if (std::string why = install_problem(entry); !why.empty()) return why;
    const std::string& name = entry.contexts.front().key_name;
    Impl& im = *impl_;

    // Build the new contexts first: nothing is visible to readers until the hash is updated.
    Impl::Entry fresh;
    fresh.type = entry.contexts.front().type;
    fresh.not_before_us = entry.contexts.front().not_before_us;
    fresh.not_after_us = entry.contexts.front().not_after_us;
    fresh.contexts.reserve(entry.contexts.size());
    fresh.mkis.reserve(entry.contexts.size() + 1);  // a full MKI each, and a shared short one
    auto drop_fresh = [&] {
        for (auto* c : fresh.contexts) im.destroy_context(c);
    };
    for (const auto& s : entry.contexts) {
        void* slot = im.pool.allocate();
        if (slot == nullptr) {
            drop_fresh();
            return "out of key memory";
        }
        auto* c = new (slot) SrtpContext;
        c->id = im.next_id++;  // before publication: readers compare ids of cached winners
        c->self = c;
        c->self_candidates.count = 1;
        c->self_candidates.owned_by_context = true;
        c->self_candidates.contexts = &c->self;
        fresh.contexts.push_back(c);
        if (!expand_session_keys(im.gcm, s, *c)) {
            drop_fresh();
            return "session key expansion failed";
        }
        c->not_before_us = s.not_before_us;
        c->not_after_us = s.not_after_us;
        c->key_id = s.key_id;
        c->csb_id = s.csb_id;
        c->roc_rate = static_cast<uint16_t>(s.roc_rate);  // <= 65535 (key model, install_problem)
        c->profile = s.profile;
        std::memcpy(c->mki, s.mki.data(), s.mki.size());
        c->mki_len = static_cast<uint8_t>(s.mki.size());
        c->cs_id = s.cs_id;
        c->type = s.type;
        c->direction = s.direction;
        c->key_name = s.key_name;
        // Group the entry's contexts by MKI: the full MKI, and the short one (GMK-ID) if any.
        auto add = [&](const MkiBytes& mki) {
            const HashKey k = make_key(mki.data(), mki.size());
            for (auto& [key, list] : fresh.mkis)
                if (std::memcmp(&key, &k, sizeof(k)) == 0) return list.push_back(c);
            fresh.mkis.push_back({k, {c}});
        };
        add(s.mki);
        if (!s.short_mki.empty() && s.short_mki != s.mki) add(s.short_mki);
    }

    // Every MKI the change touches: those of the fresh entry (whose contributor `name` gets the
    // fresh list) and those only the replaced entry had (whose contributor `name` goes).
    struct Change {
        HashKey key;
        Impl::Registration* reg;                       // nullptr: a brand-new MKI
        const std::vector<const SrtpContext*>* fresh;  // nullptr: name stops contributing
    };
    auto old_it = im.entries.find(name);
    std::vector<Change> changes;
    changes.reserve(fresh.mkis.size() +
                    (old_it != im.entries.end() ? old_it->second.mkis.size() : 0));
    size_t new_keys = 0;
    for (auto& [k, list] : fresh.mkis) {
        auto reg = im.mkis.find(k);
        Impl::Registration* r = reg == im.mkis.end() ? nullptr : &reg->second;
        new_keys += r == nullptr;
        changes.push_back({k, r, &list});
    }
    if (old_it != im.entries.end()) {
        for (const auto& old_mki : old_it->second.mkis) {
            const HashKey& k = old_mki.first;  // clang 14 cannot capture a structured binding
            const bool kept = std::any_of(
                fresh.mkis.begin(), fresh.mkis.end(),
                [&k](const auto& f) { return std::memcmp(&f.first, &k, sizeof(HashKey)) == 0; });
            if (kept) continue;
            auto reg = im.mkis.find(k);
            if (reg != im.mkis.end()) changes.push_back({k, &reg->second, nullptr});
        }
    }
    // Capacity: only brand-new MKIs need a slot.
    if (im.mkis.size() + new_keys > im.capacity) {
        drop_fresh();
        return "key table full";
    }

    Impl::Retired retire;
    retire.blocks.reserve(changes.size());
    im.count_profiles(fresh.contexts, +1);  // before readers can reach them
    // 1. Brand-new MKIs (the only step that can fail: undo it completely then). Their only
    // contributor is this entry.
    std::vector<HashKey> added;
    for (const Change& ch : changes) {
        if (ch.reg != nullptr) continue;
        MkiCandidates* block = make_block(*ch.fresh);
        if (rte_hash_add_key_data(hash_, &ch.key, block) < 0) {
            retire.blocks.push_back(block);
            for (auto& a : added) {
                auto reg = im.mkis.find(a);
                const int32_t pos = rte_hash_del_key(hash_, &reg->second.key);
                if (pos >= 0) retire.key_positions.push_back(pos);
                retire.blocks.push_back(reg->second.published);
                --im.length_refs[reg->second.key.len];
                im.mkis.erase(reg);
            }
            // Readers may have seen the fresh contexts: they go through the grace period too.
            im.update_mask();
            im.count_profiles(fresh.contexts, -1);
            retire.contexts = fresh.contexts;
            retire.token = rte_rcu_qsbr_start(rcu_);
            im.retired.push_back(std::move(retire));
            return "key table full";
        }
        Impl::Registration& reg = im.mkis[ch.key];
        reg.key = ch.key;
        reg.contributors.push_back({name, *ch.fresh});
        reg.published = block;
        added.push_back(ch.key);
        ++im.length_refs[ch.key.len];
    }
    // 2. MKIs registered before: this entry's contexts replace its earlier ones in place (the
    // order of contributors is the order of trial), or join at the end; the data pointer is
    // replaced (an update in place, cannot run out of space). 3. An MKI nobody registers any
    // more leaves the hash.
    for (const Change& ch : changes) {
        if (ch.reg == nullptr) continue;
        auto& contributors = ch.reg->contributors;
        if (ch.fresh != nullptr) {
            auto mine = std::find_if(contributors.begin(), contributors.end(),
                                     [&name](const auto& p) { return p.first == name; });
            if (mine != contributors.end())
                mine->second = *ch.fresh;
            else
                contributors.push_back({name, *ch.fresh});
        } else {
            std::erase_if(contributors, [&name](const auto& p) { return p.first == name; });
        }
        retire.blocks.push_back(ch.reg->published);
        if (contributors.empty()) {
            const int32_t pos = rte_hash_del_key(hash_, &ch.reg->key);
            if (pos >= 0) retire.key_positions.push_back(pos);
            --im.length_refs[ch.key.len];
            im.mkis.erase(ch.key);
            continue;
        }
        ch.reg->published = make_block(ch.reg->contributors);
        rte_hash_add_key_data(hash_, &ch.reg->key, ch.reg->published);
    }
    im.update_mask();

    im.live_contexts += fresh.contexts.size();
    if (old_it != im.entries.end()) {
        retire.contexts = std::move(old_it->second.contexts);
        im.live_contexts -= retire.contexts.size();
        im.count_profiles(retire.contexts, -1);
        old_it->second = std::move(fresh);
    } else {
        im.entries.emplace(name, std::move(fresh));
    }
    if (!retire.contexts.empty() || !retire.blocks.empty() || !retire.key_positions.empty()) {
        retire.token = rte_rcu_qsbr_start(rcu_);
        im.retired.push_back(std::move(retire));
    }
    return "";
}

bool KeyTable::revoke(const std::string& key_name) {
    Impl& im = *impl_;
    auto it = im.entries.find(key_name);
    if (it == im.entries.end()) return false;
    Impl::Retired retire;
    for (auto& [k, list] : it->second.mkis) {
        auto reg = im.mkis.find(k);
        if (reg == im.mkis.end()) continue;
        auto& contributors = reg->second.contributors;
        std::erase_if(contributors, [&](const auto& p) { return p.first == key_name; });
        retire.blocks.push_back(reg->second.published);
        if (contributors.empty()) {
            const int32_t pos = rte_hash_del_key(hash_, &reg->second.key);
            if (pos >= 0) retire.key_positions.push_back(pos);
            --im.length_refs[k.len];
            im.mkis.erase(reg);
        } else {
            reg->second.published = make_block(contributors);
            rte_hash_add_key_data(hash_, &reg->second.key, reg->second.published);
        }
    }
    im.update_mask();
    im.count_profiles(it->second.contexts, -1);
    retire.contexts = std::move(it->second.contexts);
    im.live_contexts -= retire.contexts.size();
    im.entries.erase(it);
    retire.token = rte_rcu_qsbr_start(rcu_);
    im.retired.push_back(std::move(retire));
    return true;
}

std::vector<KeyInfo> KeyTable::list() const {
    std::vector<KeyInfo> out;
    for (const auto& [name, entry] : impl_->entries) {
        KeyInfo info;
        info.key_name = name;
        info.type = entry.type;
        for (const auto& [k, list] : entry.mkis) info.mkis_hex.push_back(to_hex(k.mki, k.len));
        info.not_before_us = entry.not_before_us;
        info.not_after_us = entry.not_after_us;
        info.contexts = entry.contexts.size();
        out.push_back(std::move(info));
    }
    return out;
}

size_t KeyTable::context_count() const {
    return impl_->live_contexts;
}

size_t KeyTable::entry_count() const {
    return impl_->entries.size();
}

size_t KeyTable::reclaim() {
    Impl& im = *impl_;
    size_t freed = 0;
    // Tokens grow monotonically: stop at the first whose grace period is still running.
    while (!im.retired.empty() && rte_rcu_qsbr_check(rcu_, im.retired.front().token, false) == 1) {
        Impl::Retired& r = im.retired.front();
        for (auto* b : r.blocks) free_block(b);
        for (auto* c : r.contexts) im.destroy_context(c);
        for (int32_t pos : r.key_positions) rte_hash_free_key_with_position(hash_, pos);
        freed += r.contexts.size();
        im.retired.pop_front();
    }
    return freed;
}

void KeyTable::synchronize() {
    rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
    reclaim();
}

}  // namespace liprobe::keys
