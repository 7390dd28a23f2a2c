// An SRTP crypto context as the fast path sees it: MKI, session keys (expanded once), validity.
// Allocated by the key table in locked, non-dumpable memory; read lock-free by the workers.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "liprobe/crypto/srtp.hpp"

namespace liprobe::keys {

enum class KeyType : uint8_t { gmk, pck, srtp };
enum class PckDirection : uint8_t { none, initiator, receiver };

// The JSON "type" of a key entry (design.md 3.3).
inline const char* key_type_name(KeyType t) {
    switch (t) {
        case KeyType::gmk:
            return "gmk";
        case KeyType::pck:
            return "pck";
        case KeyType::srtp:
            return "srtp";
    }
    return "?";
}

inline constexpr size_t kMaxMkiLen = 16;

struct SrtpContext;

// What an MKI resolves to: one context, or several tried in order (PCK CS-ID 0 and 1; the short
// GMK MKI = GMK-ID shared by all members). Immutable once published. An MKI with a single
// candidate publishes the block embedded in that context's hot line (owned_by_context), so a
// lookup leads straight to the context instead of through a separate heap block.
struct MkiCandidates {
    uint32_t count = 0;
    bool owned_by_context = false;  // embedded in a context: freed with it, never on its own
    const SrtpContext* const* contexts = nullptr;
};

// Layout, for the fast path's cache misses (decryptor.cpp prefetches by these offsets): the first
// cache line holds everything read per packet besides key material (the embedded candidate
// block, id, validity, ROC rate, CS-ID); the RTP key schedule and salt follow, then RTCP's, then
// the cold control-plane fields.
struct alignas(64) SrtpContext {
    // ---- hot line (64 octets) ----
    MkiCandidates self_candidates;  // {1, &self}: published when this context is an MKI's only one
    const SrtpContext* self = nullptr;
    uint64_t id = 0;            // unique for the table's lifetime, never reused
    int64_t not_before_us = 0;  // 0: no bound (Unix microseconds)
    int64_t not_after_us = 0;   // 0: no bound
    uint16_t roc_rate = 0;      // RCCm3 R: ROC after the MKI when SEQ % R == 0; 0 = never
    // RTP protection profile (SRTCP: crypto::srtcp_profile of it), read to pick the tail layout
    // and transform before any key line is touched.
    crypto::SrtpProfile profile = crypto::SrtpProfile::aead_aes_128_gcm;
    uint8_t cs_id = 0;
    KeyType type = KeyType::srtp;
    PckDirection direction = PckDirection::none;
    uint8_t mki_len = 0;
    uint32_t key_id = 0;  // GMK-ID / PCK-ID; 0 for srtp entries
    uint32_t csb_id = 0;  // GUK-ID for gmk, PCK-ID for pck
    // ---- key material ----
    crypto::SrtpSessionKeys rtp;   // labels 0/2
    crypto::SrtpSessionKeys rtcp;  // labels 3/5
    // ---- cold ----
    uint8_t mki[kMaxMkiLen] = {};  // the full MKI of this context
    // Control-plane only: the entry's key_id text (srtp: MKI hex). A GMK member is told by
    // csb_id (its GUK-ID); its MC Service user ID stays in the ContextSpec, not in key memory.
    std::string key_name;
};

// The MKI at p (len <= kMaxMkiLen octets) as two zero-padded little-endian words, with
// fixed-size loads only: a variable-length memcpy/memcmp here becomes masked vector loads of the
// packet tail in libc, which stalled the fast path (a store-forwarding/line-split penalty on a
// line just written).
inline void load_mki_words(const uint8_t* p, size_t len, uint64_t out[2]) {
    uint64_t lo = 0, hi = 0;
    if (len >= 8) {
        std::memcpy(&lo, p, 8);
        for (size_t i = 8; i < len; ++i) hi |= uint64_t{p[i]} << (8 * (i - 8));
    } else {
        for (size_t i = 0; i < len; ++i) lo |= uint64_t{p[i]} << (8 * i);
    }
    out[0] = lo;
    out[1] = hi;
}

inline bool valid_at(const SrtpContext& c, int64_t now_us) {
    return (c.not_before_us == 0 || now_us >= c.not_before_us) &&
           (c.not_after_us == 0 || now_us <= c.not_after_us);
}

}  // namespace liprobe::keys
