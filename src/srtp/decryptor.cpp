// Per-worker SRTP/SRTCP decryption. Fast path: no allocation after construction, no locks, no
// syscalls, no exceptions. Contexts are only reached through candidates returned by lookup()
// in the current burst; the per-stream cache stores context ids, never pointers.
#include "liprobe/srtp/decryptor.hpp"

#include <intel-ipsec-mb.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "liprobe/crypto/srtp.hpp"

namespace liprobe::srtp {

namespace {

inline uint16_t load_be16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t load_be32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// Largest protected packet handled (a UDP payload is at most 65,507 octets).
constexpr size_t kMaxPacket = 65536;
// Slots probed per lookup in the open-addressing stream table.
constexpr uint32_t kProbeWindow = 8;
constexpr uint32_t kNoCandidate = UINT32_MAX;

// The stream-state key of a flow-keyed (SDES) stream: an MKI length no MKI has.
constexpr uint8_t kFlowKeyedStream = 0xFF;

struct StreamKey {
    StreamKey(uint32_t ssrc_, bool rtcp_, size_t mki_len_, const uint8_t* mki_)
        : ssrc(ssrc_), rtcp(rtcp_), mki_len(static_cast<uint8_t>(mki_len_)) {
        keys::load_mki_words(mki_, mki_len_, mki);
    }
    StreamKey(uint32_t ssrc_, bool rtcp_, uint64_t flow_stream)
        : ssrc(ssrc_), rtcp(rtcp_), mki_len(kFlowKeyedStream), mki{flow_stream, 0} {}
    uint32_t ssrc;
    bool rtcp;
    uint8_t mki_len;
    uint64_t mki[2];  // zero-padded
};

struct alignas(64) StreamEntry {
    uint64_t context_id = 0;  // winner among the MKI's candidates; 0 = none yet
    uint64_t last_use = 0;
    uint32_t ssrc = 0;
    uint32_t roc = 0;
    uint32_t candidate_index = kNoCandidate;
    uint16_t s_l = 0;
    uint8_t mki_len = 0;  // 0: free slot
    bool rtcp = false;
    bool initialised = false;  // s_l / roc hold an authenticated index
    uint64_t mki[2] = {0, 0};  // zero-padded

    bool matches(const StreamKey& k) const {
        return mki_len == k.mki_len && ssrc == k.ssrc && rtcp == k.rtcp && mki[0] == k.mki[0] &&
               mki[1] == k.mki[1];
    }
};

// Prefetches the cache lines of one session key that a GCM call on a packet of about len octets
// reads: the AES round keys (176 or 240 octets at the start of IPsec-MB's struct gcm_key_data),
// the GHASH key powers, and GcmKey::profile with the salt behind it. The VAES code stores
// H^48..H^1 at offsets 16*15..16*62 and a message of b blocks uses H^b..H^1, the highest
// offsets; the other code paths keep H^8..H^1 (and, SSE/AVX, their Karatsuba halves) at
// 240..495. (gcm_keys_vaes_avx512.asm / gcm_keys_avx2_avx512.asm / gcm_keys_sse_avx.asm.)
inline void prefetch_key_lines(const crypto::SrtpSessionKeys& k, size_t len, bool vaes) {
    const uint8_t* base = k.key.expanded;  // 64-octet aligned
    for (size_t off = 0; off < 240; off += 64) rte_prefetch0(base + off);
    constexpr size_t kHashKeysEnd = 16 * 63;
    size_t first = 240;
    size_t end = 16 * 31;
    if (vaes) {
        const size_t blocks = std::min<size_t>(len / 16 + 1, 48);  // payload + AAD
        first = 16 * (63 - blocks);
        end = kHashKeysEnd;
    }
    for (size_t off = first & ~size_t{63}; off < end; off += 64) rte_prefetch0(base + off);
    rte_prefetch0(&k.key.profile);
    rte_prefetch0(k.salt);
}

// The AES-CM/HMAC-SHA1 key material of one direction: round keys, HMAC pad states, salt and
// lengths (crypto::CmHmacKey, 320 octets from a 64-octet aligned start).
inline void prefetch_cm_key_lines(const crypto::SrtpSessionKeys& k) {
    const auto* base = reinterpret_cast<const uint8_t*>(&k.cm);
    for (size_t off = 0; off < sizeof(crypto::CmHmacKey); off += 64) rte_prefetch0(base + off);
}

// Stage 3 runs this many packets ahead of the decryption: the key lines of a whole burst at once
// (~9 lines a packet) overran the core's outstanding-miss slots and stalled on the prefetches
// themselves; a few packets ahead keeps them in flight behind the GCM of the current one.
constexpr uint16_t kKeyPrefetchAhead = 4;
inline uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

}  // namespace

// Stream state, allocated once at construction.
struct SrtpDecryptor::StreamTable {
    explicit StreamTable(uint32_t max_streams) {
        uint32_t size = 64;
        while (size < max_streams && size < (1u << 30)) size <<= 1;
        slots.reset(new StreamEntry[size]);
        mask = size - 1;
    }

    static uint64_t hash(const StreamKey& k) {
        uint64_t h = mix(uint64_t{k.ssrc} << 16 ^ uint64_t{k.mki_len} << 1 ^ (k.rtcp ? 1 : 0));
        h = mix(h ^ k.mki[0]);
        return mix(h ^ k.mki[1]);
    }

    StreamEntry* find(const StreamKey& k) {
        const uint64_t h = hash(k);
        for (uint32_t i = 0; i < kProbeWindow; ++i) {
            StreamEntry& e = slots[(h + i) & mask];
            if (e.mki_len != 0 && e.matches(k)) return &e;
        }
        return nullptr;
    }

    // A slot for a new stream: a free one in the window, else the least recently used one.
    StreamEntry* insert(const StreamKey& k, uint64_t& evictions) {
        const uint64_t h = hash(k);
        StreamEntry* victim = nullptr;
        for (uint32_t i = 0; i < kProbeWindow; ++i) {
            StreamEntry& e = slots[(h + i) & mask];
            if (e.mki_len == 0) {
                victim = &e;
                break;
            }
            if (victim == nullptr || e.last_use < victim->last_use) victim = &e;
        }
        if (victim->mki_len != 0) ++evictions;
        *victim = StreamEntry{};
        victim->ssrc = k.ssrc;
        victim->rtcp = k.rtcp;
        victim->mki_len = k.mki_len;
        victim->mki[0] = k.mki[0];
        victim->mki[1] = k.mki[1];
        return victim;
    }

    std::unique_ptr<StreamEntry[]> slots;
    uint32_t mask = 0;
    uint64_t clock = 0;
    // The tail layout (MKI length, trailer behind it) that matched last, tried first: usually
    // all packets of a deployment share one layout, so a miss costs a single hash lookup.
    uint8_t hint_len[2] = {0, 0};
    uint8_t hint_trailer[2] = {0, 0};
};

const char* outcome_name(Outcome o) {
    switch (o) {
        case Outcome::decrypted:
            return "decrypted";
        case Outcome::auth_failed:
            return "auth_failed";
        case Outcome::unknown_mki:
            return "unknown_mki";
        case Outcome::malformed:
            return "malformed";
    }
    return "unknown";
}

SrtpDecryptor::SrtpDecryptor(const keys::KeyTable& table, const DecryptorConfig& config)
    : table_(table), streams_(std::make_unique<StreamTable>(config.max_streams)) {
    // IPsec-MB's AVX512 manager runs the VAES GCM code when the CPU has VAES and VPCLMULQDQ;
    // that code keeps 48 GHASH key powers, stored highest first (see prefetch_key_lines).
    const IMB_MGR* mgr = gcm_.manager();
    const uint64_t vaes = IMB_FEATURE_VAES | IMB_FEATURE_VPCLMULQDQ;
    vaes_hash_keys_ =
        std::strcmp(gcm_.architecture(), "AVX512") == 0 && (mgr->features & vaes) == vaes;
}

SrtpDecryptor::~SrtpDecryptor() = default;

namespace {

// RFC 4771 ROC transmission rate R: the packets with SEQ mod R == 0 carry the ROC. R is 1 in
// every TS 33.180 layout, so that (and any power of two) costs no division per packet.
inline bool carries_roc(uint16_t seq, uint32_t rate) {
    if (rate == 1) return true;
    if (rate == 0) return false;
    if ((rate & (rate - 1)) == 0) return (seq & (rate - 1)) == 0;
    return seq % rate == 0;
}

// What follows the MKI in a packet: nothing (AEAD; AEAD SRTCP), an RCC ROC (AEAD SRTP) or the
// 4-octet tag of a _32 suite (both 4 octets), or the 10-octet tag of an _80 suite (and of every
// AES-CM SRTCP). Up to three layouts per MKI length, in the order tried, from the profiles
// installed (KeyTable::profile_mask).
struct Trailers {
    uint8_t n = 0;
    uint8_t len[3] = {};
};

constexpr uint32_t bit(crypto::SrtpProfile p) {
    return 1u << static_cast<unsigned>(p);
}
constexpr uint32_t kAeadProfiles =
    bit(crypto::SrtpProfile::aead_aes_128_gcm) | bit(crypto::SrtpProfile::aead_aes_256_gcm);
constexpr uint32_t kCm80Profiles = bit(crypto::SrtpProfile::aes_cm_128_hmac_sha1_80) |
                                   bit(crypto::SrtpProfile::aes_256_cm_hmac_sha1_80);
constexpr uint32_t kCm32Profiles = bit(crypto::SrtpProfile::aes_cm_128_hmac_sha1_32) |
                                   bit(crypto::SrtpProfile::aes_256_cm_hmac_sha1_32);
constexpr uint8_t kRccOrTag32 = 4;
constexpr uint8_t kTag80 = 10;

Trailers trailers_for(uint32_t profiles, bool rtcp) {
    Trailers t;
    // An empty table still names its outcomes as the AEAD-only probe did.
    const bool aead = (profiles & kAeadProfiles) != 0 || profiles == 0;
    if (rtcp) {
        if (aead) t.len[t.n++] = 0;
        if ((profiles & (kCm80Profiles | kCm32Profiles)) != 0) t.len[t.n++] = kTag80;
        return t;
    }
    // RCC first (the group default), as before the AES-CM profiles.
    if (aead || (profiles & kCm32Profiles) != 0) t.len[t.n++] = kRccOrTag32;
    if (aead) t.len[t.n++] = 0;
    if ((profiles & kCm80Profiles) != 0) t.len[t.n++] = kTag80;
    return t;
}

// What one packet's search saw, to name the outcome when nothing decrypted it.
struct Search {
    bool room = false;      // some layout left room for header + tag + tail
    bool known = false;     // some MKI hypothesis was registered
    bool valid = false;     // some candidate was valid at the packet time
    uint32_t attempts = 0;  // GCM attempts
};

// One decryption of p with context c, the packet's tail (MKI + trailer) being tail octets: in
// place; on failure the packet is unchanged (another candidate may be tried). mac: the packet's
// HMAC from stage 3b, used when it was computed with these keys, this ROC and this length.
bool unprotect(const crypto::GcmEngine& gcm, const keys::SrtpContext& c, const Packet& p,
               size_t header_len, size_t mki_len, size_t tail, uint32_t roc,
               const crypto::CmMacJob* mac, size_t& plain_len, uint32_t& index_or_roc) {
    const bool aead = crypto::profile_info(c.profile).aead;
    const size_t len = p.len;
    index_or_roc = roc;
    if (p.is_rtcp) {
        return aead ? crypto::srtcp_decrypt(gcm, c.rtcp, p.data, len - tail, &plain_len,
                                            &index_or_roc)
                    : crypto::srtcp_cm_decrypt(gcm, c.rtcp, p.data, len, mki_len, &plain_len,
                                               &index_or_roc);
    }
    size_t payload_len = 0;
    bool ok;
    if (aead) {
        ok = crypto::srtp_decrypt(gcm, c.rtp, p.data, len - tail, header_len, roc, &payload_len);
    } else if (mac != nullptr && mac->ok && mac->keys == &c.rtp && mac->roc == roc &&
               mac->auth_len == len - tail) {
        ok = crypto::srtp_cm_decrypt_with_mac(gcm, c.rtp, p.data, len, header_len, mki_len, roc,
                                              mac->mac, &payload_len);
    } else {
        ok = crypto::srtp_cm_decrypt(gcm, c.rtp, p.data, len, header_len, mki_len, roc,
                                     &payload_len);
    }
    plain_len = header_len + payload_len;
    return ok;
}

// After an authenticated packet: the stream remembers its winner and, for SRTP, its highest
// index (an RCC ROC is authoritative, for late entry; estimates only move forward).
void learn(StreamEntry& e, const keys::SrtpContext& c, uint32_t candidate_index, uint64_t clock,
           bool rtcp, uint32_t roc, uint16_t seq, bool rcc) {
    e.context_id = c.id;
    e.candidate_index = candidate_index;
    e.last_use = clock;
    if (rtcp) return;
    const uint64_t new_index = uint64_t{roc} << 16 | seq;
    const uint64_t old_index = uint64_t{e.roc} << 16 | e.s_l;
    if (rcc || !e.initialised || new_index > old_index) {
        e.roc = roc;
        e.s_l = seq;
        e.initialised = true;
    }
}

void set_decrypted(Packet& p, const keys::SrtpContext& c, size_t plain_len, uint32_t index_or_roc) {
    p.outcome = Outcome::decrypted;
    p.plain_len = static_cast<uint32_t>(plain_len);
    p.roc = index_or_roc;
    p.context = &c;
}

}  // namespace

void SrtpDecryptor::decrypt_burst(Packet* packets, uint16_t n) {
    while (n > kMaxBurst) {
        decrypt_burst(packets, kMaxBurst);
        packets += kMaxBurst;
        n -= kMaxBurst;
    }
    StreamTable& st = *streams_;
    const uint32_t lengths = table_.mki_length_mask();
    const uint32_t profiles = table_.profile_mask();
    const Trailers trailers[2] = {trailers_for(profiles, false), trailers_for(profiles, true)};
    // Shortest protected body behind the header when no AEAD context is installed: AES-CM
    // packets carry their tag behind the MKI, AEAD ones a 16-octet tag in front of it.
    const bool any_aead = (profiles & kAeadProfiles) != 0 || profiles == 0;

    // Stages 1-3 turn the chain of dependent cache misses of each packet (hash bucket and key
    // store -> candidate block = the context's hot line -> key schedule, stream slot) into
    // overlapping misses: stages 1 and 2 issue one level for the whole burst before anything
    // waits on it; stage 3 (key lines) runs kKeyPrefetchAhead packets ahead of stage 4, the
    // decryption.
    //
    // Stage 1: where the MKI sits under the layout that matched last, and one lookup of all of
    // them (rte_hash pipelines the bucket and key fetches of a bulk lookup).
    const uint8_t* pre_mki[kMaxBurst];
    uint8_t pre_len[kMaxBurst];
    const keys::MkiCandidates* pre_cands[kMaxBurst];
    // The SSRC of every packet with a hinted MKI, read once here for stages 2-4.
    uint32_t pre_ssrc[kMaxBurst];
    for (uint16_t pi = 0; pi < n; ++pi) {
        const Packet& p = packets[pi];
        pre_mki[pi] = nullptr;
        pre_len[pi] = 0;
        pre_ssrc[pi] = 0;
        if (p.flow_context_count > 0) continue;  // SDES: the flow names its contexts
        const int kind = p.is_rtcp ? 1 : 0;
        const size_t hint_len = st.hint_len[kind];
        if (hint_len == 0 || (lengths >> hint_len & 1u) == 0 || p.data == nullptr) continue;
        const size_t tail = hint_len + st.hint_trailer[kind];
        if (p.len < crypto::kRtpFixedHeaderLen + tail || p.len > kMaxPacket) continue;
        pre_mki[pi] = p.data + p.len - tail;
        pre_len[pi] = static_cast<uint8_t>(hint_len);
        pre_ssrc[pi] = load_be32(p.data + (p.is_rtcp ? 4 : 8));
    }
    if (n > 1) {
        table_.lookup_bulk(pre_mki, pre_len, n, pre_cands);
    } else {
        pre_cands[0] = pre_mki[0] != nullptr ? table_.lookup(pre_mki[0], pre_len[0]) : nullptr;
    }
    // Stage 2: the candidate blocks (for a lone candidate, its context's hot line) and the
    // stream slots.
    for (uint16_t pi = 0; pi < n; ++pi) {
        const Packet& p = packets[pi];
        if (p.flow_context_count > 0 && p.data != nullptr && p.len >= crypto::kRtpFixedHeaderLen) {
            // SDES: the flow names the context; its HMAC pad states are read by stage 3b.
            const keys::SrtpContext* c = p.flow_contexts[0];
            rte_prefetch0(c);
            const crypto::SrtpSessionKeys& k = p.is_rtcp ? c->rtcp : c->rtp;
            rte_prefetch0(k.cm.ipad_hash);
            rte_prefetch0(k.cm.opad_hash);
            const StreamKey key(load_be32(p.data + (p.is_rtcp ? 4 : 8)), p.is_rtcp, p.flow_stream);
            rte_prefetch0(&st.slots[StreamTable::hash(key) & st.mask]);
            continue;
        }
        if (pre_cands[pi] == nullptr) continue;
        rte_prefetch0(pre_cands[pi]);
        const StreamKey key(pre_ssrc[pi], packets[pi].is_rtcp, pre_len[pi], pre_mki[pi]);
        rte_prefetch0(&st.slots[StreamTable::hash(key) & st.mask]);
    }
    // Stage 3: for the context most likely to decrypt (the stream's cached winner, else the
    // first candidate), its hot line and the key schedule lines GCM will read.
    auto prefetch_keys = [&](uint16_t pi) {
        const Packet& p = packets[pi];
        const keys::SrtpContext* c = nullptr;
        const keys::MkiCandidates* cands = pre_cands[pi];
        if (p.flow_context_count > 0) {
            c = p.flow_contexts[0];
        } else {
            if (cands == nullptr || cands->count == 0) return;
            uint32_t index = 0;
            if (cands->count > 1) {
                const StreamEntry* e =
                    st.find(StreamKey(pre_ssrc[pi], p.is_rtcp, pre_len[pi], pre_mki[pi]));
                if (e != nullptr && e->candidate_index < cands->count) index = e->candidate_index;
            }
            c = cands->contexts[index];
            rte_prefetch0(c);
        }
        const crypto::SrtpSessionKeys& k = p.is_rtcp ? c->rtcp : c->rtp;
        if (crypto::profile_info(c->profile).aead) {
            prefetch_key_lines(k, p.len, vaes_hash_keys_);
        } else {
            prefetch_cm_key_lines(k);
        }
    };
    const uint16_t ahead = std::min<uint16_t>(n, kKeyPrefetchAhead);
    for (uint16_t pi = 0; pi < ahead; ++pi) prefetch_keys(pi);

    // Stage 3b: the HMAC-SHA1 tags of the AES-CM SRTP packets whose hinted layout leads to an
    // AES-CM context, all in one IPsec-MB hash burst (its multi-buffer SHA-1 runs them side by
    // side; one at a time it would compute a whole lane set per packet). Computed with the ROC
    // the stream state estimates now; stage 4 uses a MAC only when its packet is attempted with
    // that same context, layout and ROC, and otherwise computes its own.
    // SDES packets take part too: their flow names the context (the stream's last winner, else
    // the first).
    crypto::CmMacJob macs[kMaxBurst];
    uint8_t mac_of[kMaxBurst];
    size_t mac_count = 0;
    const bool table_cm = (profiles & (kCm80Profiles | kCm32Profiles)) != 0;
    for (uint16_t pi = 0; pi < n; ++pi) {
        mac_of[pi] = UINT8_MAX;
        const Packet& p = packets[pi];
        if (p.is_rtcp || p.data == nullptr || p.len < crypto::kRtpFixedHeaderLen) continue;
        const keys::SrtpContext* c = nullptr;
        const StreamEntry* e = nullptr;
        size_t mki_len = 0;
        if (p.flow_context_count > 0) {
            e = st.find(StreamKey(load_be32(p.data + 8), false, p.flow_stream));
            const uint32_t index =
                e != nullptr && e->candidate_index < p.flow_context_count ? e->candidate_index : 0;
            c = p.flow_contexts[index];
            mki_len = c->mki_len;
            if (crypto::profile_info(c->profile).aead) continue;
        } else {
            const keys::MkiCandidates* cands = pre_cands[pi];
            if (!table_cm || cands == nullptr || cands->count == 0) continue;
            e = st.find(StreamKey(pre_ssrc[pi], false, pre_len[pi], pre_mki[pi]));
            uint32_t index = 0;
            if (e != nullptr && e->candidate_index < cands->count) index = e->candidate_index;
            c = cands->contexts[index];
            mki_len = pre_len[pi];
            if (crypto::profile_info(c->profile).aead || c->rtp.cm.tag_len != st.hint_trailer[0])
                continue;
        }
        const size_t header_len = crypto::rtp_header_length(p.data, p.len);
        const size_t tail = mki_len + c->rtp.cm.tag_len;
        if (header_len == 0 || p.len < header_len + tail) continue;
        crypto::CmMacJob& j = macs[mac_count];
        j.pkt = p.data;
        j.auth_len = p.len - tail;
        j.roc = e != nullptr && e->initialised
                    ? crypto::estimate_roc(e->s_l, e->roc, load_be16(p.data + 2))
                    : 0;
        j.keys = &c->rtp;
        mac_of[pi] = static_cast<uint8_t>(mac_count++);
    }
    if (mac_count > 0) crypto::srtp_cm_macs(gcm_, macs, mac_count);

    // Stage 4: decrypt, packet by packet.
    for (uint16_t pi = 0; pi < n; ++pi) {
        if (pi + ahead < n) prefetch_keys(static_cast<uint16_t>(pi + ahead));
        Packet& p = packets[pi];
        p.outcome = Outcome::malformed;
        p.plain_len = 0;
        p.roc = 0;
        p.context = nullptr;
        const uint8_t* const data = p.data;
        const size_t len = p.len;
        const bool rtcp = p.is_rtcp;
        const size_t min_len = rtcp ? crypto::kRtcpHeaderLen : crypto::kRtpFixedHeaderLen;

        Search s;
        bool done = false;
        if (data == nullptr || len < min_len || len > kMaxPacket || (data[0] >> 6) != 2) {
            ++counters_.outcome[static_cast<size_t>(Outcome::malformed)];
            continue;
        }
        size_t header_len = crypto::kRtcpHeaderLen;
        uint16_t seq = 0;
        uint32_t ssrc = 0;
        if (rtcp) {
            ssrc = pre_mki[pi] != nullptr ? pre_ssrc[pi] : load_be32(data + 4);
        } else {
            header_len = crypto::rtp_header_length(data, len);
            if (header_len == 0) {
                ++counters_.outcome[static_cast<size_t>(Outcome::malformed)];
                continue;
            }
            seq = load_be16(data + 2);
            ssrc = pre_mki[pi] != nullptr ? pre_ssrc[pi] : load_be32(data + 8);
        }
        // AEAD SRTP: header | ct | tag | MKI | [ROC]. AEAD SRTCP: header(8) | ct | tag |
        // E|index | MKI. AES-CM SRTP: header | ct | MKI | tag; SRTCP: header(8) | ct | E|index |
        // MKI | tag (RFC 3711 3.1, 3.4).
        const size_t base = header_len + (rtcp ? crypto::kSrtcpIndexLen : 0);
        const size_t aead_fixed = base + crypto::kGcmTagLen;
        if (p.flow_context_count > 0) {
            decrypt_flow_keyed(p, header_len, seq, ssrc,
                               mac_of[pi] != UINT8_MAX ? &macs[mac_of[pi]] : nullptr);
            ++counters_.outcome[static_cast<size_t>(p.outcome)];
            continue;
        }

        // Tries one tail layout: MKI of mki_len octets, followed by trailer octets (an RCC ROC
        // or an AES-CM tag).
        auto try_layout = [&](size_t mki_len, size_t trailer,
                              const keys::MkiCandidates* looked_up) -> bool {
            const size_t tail = mki_len + trailer;
            // A layout only AEAD contexts can have needs room for the GCM tag too.
            const bool cm_possible =
                trailer != 0 && (trailer == kTag80 || rtcp || (profiles & kCm32Profiles) != 0);
            if (len < (cm_possible ? base : aead_fixed) + tail) return false;
            s.room = true;
            const uint8_t* mki = data + len - tail;
            const keys::MkiCandidates* cands =
                looked_up != nullptr ? looked_up : table_.lookup(mki, mki_len);
            if (cands == nullptr || cands->count == 0) return false;
            s.known = true;

            const StreamKey key(ssrc, rtcp, mki_len, mki);
            StreamEntry* stream = st.find(key);
            const uint32_t estimated_roc = stream != nullptr && stream->initialised
                                               ? crypto::estimate_roc(stream->s_l, stream->roc, seq)
                                               : 0;

            // One candidate: skipped when not valid now, or when the layout is not its own (the
            // trailer must be its tag, or for AEAD SRTP its RCC ROC exactly on the packets that
            // carry one); else one attempt in place (the packet is restored on failure).
            auto attempt = [&](uint32_t index) -> bool {
                const keys::SrtpContext* c = cands->contexts[index];
                if (p.time_us != 0 && !keys::valid_at(*c, p.time_us)) return false;
                s.valid = true;
                const bool aead = crypto::profile_info(c->profile).aead;
                bool rcc = false;
                if (aead) {
                    if (rtcp ? trailer != 0 : trailer == kTag80) return false;
                    rcc = !rtcp && trailer == kRccOrTag32;
                    if (!rtcp && carries_roc(seq, c->roc_rate) != rcc) return false;
                    if (len < aead_fixed + tail) return false;
                } else {
                    const crypto::SrtpSessionKeys& k = rtcp ? c->rtcp : c->rtp;
                    if (trailer != k.cm.tag_len) return false;
                }
                const uint32_t roc =
                    rcc ? load_be32(data + len - crypto::kRccRocLen) : estimated_roc;
                if (++s.attempts > 1) ++counters_.trial_decryptions;
                size_t plain_len = 0;
                uint32_t index_or_roc = roc;
                const crypto::CmMacJob* mac = mac_of[pi] != UINT8_MAX ? &macs[mac_of[pi]] : nullptr;
                if (!unprotect(gcm_, *c, p, header_len, mki_len, tail, roc, mac, plain_len,
                               index_or_roc))
                    return false;
                // Authenticated: now the stream state may learn from this packet.
                StreamEntry* e =
                    stream != nullptr ? stream : st.insert(key, counters_.stream_evictions);
                learn(*e, *c, index, ++st.clock, rtcp, roc, seq, rcc);
                if (rcc) ++counters_.rcc_roc_used;
                set_decrypted(p, *c, plain_len, index_or_roc);
                return true;
            };

            // Order: the stream's cached winner (if still the same context), then the
            // preferred CS-ID, then the rest in registration order.
            uint32_t winner = kNoCandidate;
            if (stream != nullptr && stream->candidate_index < cands->count &&
                cands->contexts[stream->candidate_index]->id == stream->context_id) {
                winner = stream->candidate_index;
                if (attempt(winner)) return true;
            }
            const int preferred = p.preferred_cs_id;
            if (preferred >= 0) {
                for (uint32_t i = 0; i < cands->count; ++i)
                    if (i != winner && cands->contexts[i]->cs_id == preferred && attempt(i))
                        return true;
            }
            for (uint32_t i = 0; i < cands->count; ++i) {
                if (i == winner || (preferred >= 0 && cands->contexts[i]->cs_id == preferred))
                    continue;
                if (attempt(i)) return true;
            }
            return false;
        };

        const int kind = rtcp ? 1 : 0;
        const size_t hint_len = st.hint_len[kind];
        const uint8_t hint_trailer = st.hint_trailer[kind];
        if (hint_len != 0 && (lengths >> hint_len & 1u))
            done = try_layout(hint_len, hint_trailer, pre_cands[pi]);
        // Longest MKI first; per length the trailers in trailers_for() order.
        const Trailers& tr = trailers[kind];
        for (size_t l = keys::kMaxMkiLen; !done && l >= 1; --l) {
            if ((lengths >> l & 1u) == 0) continue;
            for (uint8_t t = 0; !done && t < tr.n; ++t) {
                if (l == hint_len && tr.len[t] == hint_trailer) continue;
                if (try_layout(l, tr.len[t], nullptr)) {
                    done = true;
                    st.hint_len[kind] = static_cast<uint8_t>(l);
                    st.hint_trailer[kind] = tr.len[t];
                }
            }
        }

        if (!done) {
            if (s.attempts > 0) {
                p.outcome = Outcome::auth_failed;  // key known, the packet does not verify
            } else if (s.known && s.valid) {
                p.outcome = Outcome::malformed;  // tail contradicts the context's RCC layout
            } else if (s.known) {
                p.outcome = Outcome::unknown_mki;  // known MKI, but no context valid now
                ++counters_.expired_key;
            } else if (s.room || (lengths == 0 && len >= (any_aead ? aead_fixed : base))) {
                p.outcome = Outcome::unknown_mki;
            } else {
                p.outcome = Outcome::malformed;
            }
        }
        ++counters_.outcome[static_cast<size_t>(p.outcome)];
    }
}

// SDES: the flow's contexts in order, the stream's last winner first. Each context has its own
// tail: its MKI (if any) then the AES-CM tag (none for AEAD; SDES has no RCC ROC). A context
// whose MKI is not the packet's is skipped without an attempt.
void SrtpDecryptor::decrypt_flow_keyed(Packet& p, size_t header_len, uint16_t seq, uint32_t ssrc,
                                       const crypto::CmMacJob* mac) {
    StreamTable& st = *streams_;
    const bool rtcp = p.is_rtcp;
    const size_t base = header_len + (rtcp ? crypto::kSrtcpIndexLen : 0);
    const StreamKey key(ssrc, rtcp, p.flow_stream);
    StreamEntry* stream = st.find(key);
    const uint32_t roc = !rtcp && stream != nullptr && stream->initialised
                             ? crypto::estimate_roc(stream->s_l, stream->roc, seq)
                             : 0;
    uint32_t attempts = 0;
    auto attempt = [&](uint32_t index) -> bool {
        const keys::SrtpContext& c = *p.flow_contexts[index];
        if (p.time_us != 0 && !keys::valid_at(c, p.time_us)) return false;
        const bool aead = crypto::profile_info(c.profile).aead;
        const size_t trailer = aead ? 0 : (rtcp ? c.rtcp : c.rtp).cm.tag_len;
        const size_t tail = c.mki_len + trailer;
        if (p.len < base + (aead ? crypto::kGcmTagLen : 0) + tail) return false;
        if (c.mki_len > 0 && std::memcmp(p.data + p.len - tail, c.mki, c.mki_len) != 0)
            return false;
        if (++attempts > 1) ++counters_.trial_decryptions;
        size_t plain_len = 0;
        uint32_t index_or_roc = roc;
        if (!unprotect(gcm_, c, p, header_len, c.mki_len, tail, roc, mac, plain_len, index_or_roc))
            return false;
        StreamEntry* e = stream != nullptr ? stream : st.insert(key, counters_.stream_evictions);
        learn(*e, c, index, ++st.clock, rtcp, roc, seq, false);
        set_decrypted(p, c, plain_len, index_or_roc);
        return true;
    };
    uint32_t winner = kNoCandidate;
    if (stream != nullptr && stream->candidate_index < p.flow_context_count &&
        p.flow_contexts[stream->candidate_index]->id == stream->context_id) {
        winner = stream->candidate_index;
        if (attempt(winner)) return;
    }
    for (uint32_t i = 0; i < p.flow_context_count; ++i)
        if (i != winner && attempt(i)) return;
    // Keys known from the SDP: a packet none of them authenticates failed authentication; one
    // no context could even be tried (wrong MKI, too short, outside validity) is malformed for
    // them. Neither waits for a key: the dialog gave all it will give.
    p.outcome = attempts > 0 ? Outcome::auth_failed : Outcome::malformed;
}

}  // namespace liprobe::srtp
