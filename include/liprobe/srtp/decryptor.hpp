// The per-worker SRTP/SRTCP decryption path: locate MKI (+RCC ROC) in the packet tail, resolve it
// in the KeyTable (or take the flow's own SDES contexts), pick the context (cached winner per
// stream), estimate the ROC per SSRC, and decrypt by the context's profile (AEAD AES-GCM, RFC 7714;
// AES-CM with HMAC-SHA1, RFC 3711), in bursts of up to 32 packets. One SrtpDecryptor per thread; it
// owns its IPsec-MB engines and its bounded stream-state table. No allocation, lock or syscall
// after construction.
#pragma once

#include <cstdint>
#include <memory>

#include "liprobe/crypto/gcm.hpp"
#include "liprobe/keys/key_table.hpp"

namespace liprobe::srtp {

inline constexpr uint16_t kMaxBurst = 32;

enum class Outcome : uint8_t { decrypted = 0, auth_failed, unknown_mki, malformed };
inline constexpr size_t kOutcomeCount = 4;
const char* outcome_name(Outcome o);

struct Packet {
    // in
    uint8_t* data = nullptr;  // first octet of the RTP/RTCP header; decrypted in place
    uint32_t len = 0;         // the UDP payload length
    bool is_rtcp = false;
    int8_t preferred_cs_id = -1;  // PCK: CS-ID expected from the dialog direction, -1 unknown
    int64_t time_us = 0;          // packet time vs the contexts' validity (0: not checked)
    // SDES (keys from the dialog's SDP): the contexts of the packet's flow and sender, tried in
    // order instead of the MKI table (each matches only packets carrying its own MKI, if it has
    // one). flow_stream names the sender's stream state, so the ROC carries over a re-key.
    const keys::SrtpContext* const* flow_contexts = nullptr;
    uint8_t flow_context_count = 0;
    uint64_t flow_stream = 0;
    // out
    Outcome outcome = Outcome::malformed;
    uint32_t plain_len = 0;  // decrypted: length of the plain RTP/RTCP packet at data
    uint32_t roc = 0;        // SRTP: ROC used; SRTCP: SRTCP index
    const keys::SrtpContext* context = nullptr;  // decrypted: the context that authenticated it
};

struct Counters {
    uint64_t outcome[kOutcomeCount] = {};
    uint64_t expired_key = 0;        // MKI known, no context valid at packet time (unknown_mki)
    uint64_t trial_decryptions = 0;  // extra GCM attempts spent on multi-candidate MKIs
    uint64_t stream_evictions = 0;   // stream-state table full: oldest entry replaced
    uint64_t rcc_roc_used = 0;       // packets whose ROC came from an RCC field
};

struct DecryptorConfig {
    uint32_t max_streams = 65536;  // per-thread stream state entries (power of two)
};

class SrtpDecryptor {
  public:
    SrtpDecryptor(const keys::KeyTable& table, const DecryptorConfig& config = {});
    ~SrtpDecryptor();
    SrtpDecryptor(const SrtpDecryptor&) = delete;
    SrtpDecryptor& operator=(const SrtpDecryptor&) = delete;

    // Decrypts n <= kMaxBurst packets; sets outcome etc. on each. Counters are updated.
    void decrypt_burst(Packet* packets, uint16_t n);
    void decrypt_one(Packet& packet) { decrypt_burst(&packet, 1); }

    const Counters& counters() const { return counters_; }
    const crypto::GcmEngine& gcm() const { return gcm_; }

  private:
    struct StreamTable;
    // mac: the packet's HMAC from the burst's hash stage, or nullptr.
    void decrypt_flow_keyed(Packet& p, size_t header_len, uint16_t seq, uint32_t ssrc,
                            const crypto::CmMacJob* mac);
    const keys::KeyTable& table_;
    crypto::GcmEngine gcm_;
    std::unique_ptr<StreamTable> streams_;
    Counters counters_;
    bool vaes_hash_keys_ = false;  // GCM key powers in the VAES layout (prefetch targets)
};

}  // namespace liprobe::srtp
