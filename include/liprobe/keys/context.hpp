// An SRTP crypto context as the fast path sees it: MKI, session keys (expanded once), validity.
// Allocated by the key table in locked, non-dumpable memory; read lock-free by the workers.
#pragma once

#include <cstdint>
#include <string>

#include "liprobe/crypto/srtp.hpp"

namespace liprobe::keys {

enum class KeyType : uint8_t { gmk, pck, srtp };
enum class PckDirection : uint8_t { none, initiator, receiver };

inline constexpr size_t kMaxMkiLen = 16;

struct SrtpContext {
    crypto::SrtpSessionKeys rtp;   // labels 0/2
    crypto::SrtpSessionKeys rtcp;  // labels 3/5
    uint64_t id = 0;               // unique for the table's lifetime, never reused
    int64_t not_before_us = 0;     // 0: no bound (Unix microseconds)
    int64_t not_after_us = 0;      // 0: no bound
    uint32_t key_id = 0;           // GMK-ID / PCK-ID; 0 for srtp entries
    uint32_t csb_id = 0;           // GUK-ID for gmk, PCK-ID for pck
    uint32_t roc_rate = 0;         // RCCm3 R: ROC after the MKI when SEQ % R == 0; 0 = never
    uint8_t mki[kMaxMkiLen] = {};  // the full MKI of this context
    uint8_t mki_len = 0;
    uint8_t cs_id = 0;
    KeyType type = KeyType::srtp;
    PckDirection direction = PckDirection::none;
    // Cold, control-plane only: the member's MC Service user ID (gmk), or the entry's key_id text.
    std::string member;
    std::string key_name;
};

inline bool valid_at(const SrtpContext& c, int64_t now_us) {
    return (c.not_before_us == 0 || now_us >= c.not_before_us) &&
           (c.not_after_us == 0 || now_us <= c.not_after_us);
}

}  // namespace liprobe::keys
