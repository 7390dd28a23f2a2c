// crypto_bench: the cost of liprobe's SRTP decryption path per packet, against anchors measured
// in the same run on the same machine (issue 2, design.md section 4).
//
// Workload: 160-octet payloads, 8-octet MKI and a 4-octet RCC ROC in every packet (the TS 33.180
// group-call layout), packets interleaved over 10,000 SSRCs (one context each), looked up in an
// MKI table of 1,000,000 entries (LIPROBE_BENCH_MKIS overrides, e.g. for a quick run).
//
// Every variant first restores the packet from a pristine copy (a 200-octet memcpy into a ring of
// 32 work slots, see restore()), because decryption works in place; the anchors pay the same
// cost, so the ratios are fair. harness_restore/burst:N measures that copy alone.
//
//   full_path/single, full_path/burst32   SrtpDecryptor: tail parse, MKI lookup, stream state,
//                                          ROC, GCM (what a worker does per packet)
//   anchor_ipsecmb_gcm                    raw IPsec-MB GCM on the same packets, keys at hand:
//                                          the ceiling
//   anchor_openssl_evp_gcm                OpenSSL EVP AES-128-GCM, one prepared ctx per stream
//   anchor_libsrtp/ssrcs:10000            libsrtp2 srtp_unprotect_mki, 10,000 SSRCs, one srtp_t
//                                          per stream found by SSRC in a hash table, MKI 8
//                                          (no RCC: libsrtp2 has no RCCm3)
//   anchor_libsrtp/ssrcs:1                the same with one SSRC: libsrtp2's best case
//
// AES_CM_128_HMAC_SHA1_80 (RFC 3711, the SDES default; no RCC, 10-octet tag after the MKI):
// 10,000 more SSRCs with their own contexts in the same table, packets protected with an
// 8-octet MKI by our encryptor (octet-identical to libsrtp2's), the same packets for both:
//   full_path_cm80/burst:N                SrtpDecryptor on the AES-CM/HMAC-SHA1 path (IPsec-MB
//                                          AES-CTR and HMAC-SHA1 jobs)
//   anchor_libsrtp_cm80/ssrcs:10000       libsrtp2 srtp_unprotect_mki, one srtp_t per stream
//                                          found by SSRC, as anchor_libsrtp
//   anchor_libsrtp_cm80/ssrcs:1           the same with one SSRC: libsrtp2's best case
//   full_path_sdes_cm80/burst:N           the same packets on the SDES path: each packet's flow
//                                          names its context (keys from an a=crypto line, MKI
//                                          checked), no MKI table lookup
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <rte_eal.h>
#include <srtp2/srtp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "libsrtp_session.hpp"
#include "liprobe/crypto/gcm.hpp"
#include "liprobe/crypto/kdf.hpp"
#include "liprobe/crypto/srtp.hpp"
#include "liprobe/keys/flow_keys.hpp"
#include "liprobe/keys/key_table.hpp"
#include "liprobe/srtp/decryptor.hpp"

namespace {

using liprobe::crypto::GcmEngine;
using liprobe::crypto::SrtpSessionKeys;

constexpr size_t kStreams = 10000;
constexpr size_t kPacketsPerStream = 4;
constexpr size_t kPackets = kStreams * kPacketsPerStream;
constexpr size_t kPayload = 160;
constexpr size_t kMkiLen = 8;
constexpr size_t kHeader = 12;
constexpr size_t kPacketLen = kHeader + kPayload + 16 + kMkiLen + 4;  // 200
constexpr size_t kSlot = 256;
// Packets are restored into a ring of 32 slots (one burst), not into a second copy of the whole
// packet set: see "restore" below.
constexpr size_t kWorkSlots = 32;

struct Stream {
    uint32_t ssrc;
    uint8_t mki[kMkiLen];
    uint8_t rtp_key[16];
    uint8_t rtp_salt[12];
    SrtpSessionKeys keys;           // for the raw IPsec-MB anchor
    EVP_CIPHER_CTX* evp = nullptr;  // for the OpenSSL anchor, key set once
};

struct World {
    std::vector<Stream> streams;
    std::vector<uint8_t> pristine;  // kPackets x kSlot
    std::vector<uint8_t> work;      // kWorkSlots x kSlot: where packets are restored and decrypted
    std::vector<uint16_t> stream_of;  // packet index -> stream index
    std::unique_ptr<liprobe::keys::KeyTable> table;
    std::unique_ptr<GcmEngine> gcm;
    size_t table_mkis = 0;
    // libsrtp anchor: packets protected by libsrtp2 (MKI 8, no ROC field)
    std::vector<uint8_t> srtp_pristine_10k, srtp_pristine_1;
    std::vector<uint16_t> srtp_len_10k, srtp_len_1;
    // AES_CM_128_HMAC_SHA1_80: streams (master key in rtp_key, 14-octet master salt) and their
    // libsrtp2-protected packets, decrypted by both full_path_cm80 and anchor_libsrtp_cm80.
    std::vector<Stream> cm_streams;
    std::vector<uint8_t> cm_salts;  // kStreams x 14
    std::vector<uint8_t> cm_pristine, cm_pristine_1;
    std::vector<uint16_t> cm_len, cm_len_1;
    // SDES: one flow-keyed context per AES-CM stream (full_path_sdes_cm80).
    std::unique_ptr<liprobe::keys::FlowKeyPool> sdes_pool;
    std::vector<const liprobe::keys::SrtpContext*> sdes_contexts;
};

constexpr size_t kCmSaltLen = 14;

World* g_world = nullptr;

void fill(std::mt19937_64& rng, uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(rng());
}

liprobe::keys::EntryResult make_entry(const std::string& name, const uint8_t* mki,
                                      const uint8_t* key, const uint8_t* salt) {
    liprobe::keys::EntryResult e;
    e.ok = true;
    e.type = "srtp";
    e.key_name = name;
    liprobe::keys::ContextSpec c;
    c.type = liprobe::keys::KeyType::srtp;
    c.key_name = name;
    c.mki.assign(mki, mki + kMkiLen);
    c.roc_rate = 1;
    c.rtp_key = liprobe::keys::SecretBytes({key, key + 16});
    c.rtp_salt = liprobe::keys::SecretBytes({salt, salt + 12});
    c.rtcp_key = c.rtp_key;
    c.rtcp_salt = c.rtp_salt;
    c.master_key = c.rtp_key;
    c.master_salt = c.rtp_salt;
    e.contexts.push_back(std::move(c));
    return e;
}

void build_rtp(uint8_t* out, uint32_t ssrc, uint16_t seq, std::mt19937_64& rng) {
    out[0] = 0x80;
    out[1] = 0x60;
    out[2] = seq >> 8;
    out[3] = seq & 0xff;
    uint32_t ts = seq * 160u;
    out[4] = ts >> 24, out[5] = ts >> 16, out[6] = ts >> 8, out[7] = ts;
    out[8] = ssrc >> 24, out[9] = ssrc >> 16, out[10] = ssrc >> 8, out[11] = ssrc;
    fill(rng, out + kHeader, kPayload);
}

// One libsrtp2 session for stream st (one SSRC, MKI 8): AES-128-GCM with the 12-octet salt of
// rtp_salt, or AES_CM_128_HMAC_SHA1_80 with the 14-octet salt cm_salt. master holds 30 octets.
srtp_t make_libsrtp_session(const Stream& st, const uint8_t* cm_salt, uint8_t* master) {
    return cm_salt != nullptr ? liprobe::bench::libsrtp_session(st.ssrc, st.rtp_key, cm_salt,
                                                                kCmSaltLen, st.mki, kMkiLen, master)
                              : liprobe::bench::libsrtp_session(st.ssrc, st.rtp_key, st.rtp_salt,
                                                                12, st.mki, kMkiLen, master);
}

// libsrtp2 packets for the anchors: one session per SSRC of the set, MKI 8; AES-128-GCM, or
// AES_CM_128_HMAC_SHA1_80 when cm_salts (14 octets a stream) is given.
void build_libsrtp_packets(const std::vector<Stream>& set, size_t streams, const uint8_t* cm_salts,
                           std::vector<uint8_t>& out, std::vector<uint16_t>& lens) {
    std::mt19937_64 rng(7);
    out.assign(kPackets * kSlot, 0);
    lens.assign(kPackets, 0);
    std::vector<srtp_t> sessions(streams);
    uint8_t master[30];
    for (size_t s = 0; s < streams; ++s) {
        sessions[s] = make_libsrtp_session(
            set[s], cm_salts != nullptr ? cm_salts + s * kCmSaltLen : nullptr, master);
    }
    for (size_t i = 0; i < kPackets; ++i) {
        size_t s = i % streams;
        uint16_t seq = static_cast<uint16_t>(i / streams + 1);
        uint8_t* p = &out[i * kSlot];
        build_rtp(p, set[s].ssrc, seq, rng);
        int len = kHeader + kPayload;
        if (srtp_protect_mki(sessions[s], p, &len, 1, 0) != srtp_err_status_ok) std::abort();
        lens[i] = static_cast<uint16_t>(len);
    }
    for (auto s : sessions) srtp_dealloc(s);
}

// A key-table entry of profile AES_CM_128_HMAC_SHA1_80 from a master key and 14-octet salt:
// the session keys through the RFC 3711 KDF, as the key model derives them.
liprobe::keys::EntryResult make_cm_entry(const std::string& name, const uint8_t* mki,
                                         const uint8_t* key, const uint8_t* salt) {
    using liprobe::crypto::srtp_kdf;
    using liprobe::crypto::SrtpKdfLabel;
    using liprobe::keys::SecretBytes;
    liprobe::keys::EntryResult e;
    e.ok = true;
    e.type = "srtp";
    e.key_name = name;
    liprobe::keys::ContextSpec c;
    c.type = liprobe::keys::KeyType::srtp;
    c.key_name = name;
    c.profile = liprobe::crypto::SrtpProfile::aes_cm_128_hmac_sha1_80;
    c.mki.assign(mki, mki + kMkiLen);
    c.master_key = SecretBytes({key, key + 16});
    c.master_salt = SecretBytes({salt, salt + kCmSaltLen});
    const liprobe::crypto::ByteView mk(key, 16), ms(salt, kCmSaltLen);
    c.rtp_key = SecretBytes(srtp_kdf(mk, ms, SrtpKdfLabel::rtp_encryption, 16));
    c.rtp_auth = SecretBytes(srtp_kdf(mk, ms, SrtpKdfLabel::rtp_auth, 20));
    c.rtp_salt = SecretBytes(srtp_kdf(mk, ms, SrtpKdfLabel::rtp_salt, kCmSaltLen));
    c.rtcp_key = SecretBytes(srtp_kdf(mk, ms, SrtpKdfLabel::rtcp_encryption, 16));
    c.rtcp_auth = SecretBytes(srtp_kdf(mk, ms, SrtpKdfLabel::rtcp_auth, 20));
    c.rtcp_salt = SecretBytes(srtp_kdf(mk, ms, SrtpKdfLabel::rtcp_salt, kCmSaltLen));
    e.contexts.push_back(std::move(c));
    return e;
}

World* build_world() {
    auto* w = new World;
    const char* env = std::getenv("LIPROBE_BENCH_MKIS");
    w->table_mkis = env ? std::strtoul(env, nullptr, 10) : 1000000;
    w->table_mkis = std::max(w->table_mkis, kStreams);
    std::mt19937_64 rng(42);
    w->gcm = std::make_unique<GcmEngine>();

    liprobe::keys::KeyTableConfig cfg;
    cfg.name = "bench_mki";
    const size_t all_mkis = w->table_mkis + kStreams;  // + the AES-CM streams
    cfg.capacity = static_cast<uint32_t>(all_mkis + all_mkis / 4);
    w->table = std::make_unique<liprobe::keys::KeyTable>(cfg);

    // The table: table_mkis distinct 8-octet MKIs; the first kStreams carry the traffic.
    w->streams.resize(kStreams);
    uint8_t mki[kMkiLen], key[16], salt[12];
    for (size_t i = 0; i < w->table_mkis; ++i) {
        uint64_t v = 0x0000000100000000ull + i * 0x9E3779B1ull;  // distinct, purpose tag 0
        for (size_t b = 0; b < kMkiLen; ++b) mki[b] = static_cast<uint8_t>(v >> (56 - 8 * b));
        fill(rng, key, 16);
        fill(rng, salt, 12);
        if (i < kStreams) {
            Stream& s = w->streams[i];
            s.ssrc = static_cast<uint32_t>(rng());
            std::memcpy(s.mki, mki, kMkiLen);
            std::memcpy(s.rtp_key, key, 16);
            std::memcpy(s.rtp_salt, salt, 12);
            w->gcm->expand_key({key, 16}, s.keys.key);
            std::memcpy(s.keys.salt, salt, 12);
            s.evp = EVP_CIPHER_CTX_new();
            EVP_DecryptInit_ex(s.evp, EVP_aes_128_gcm(), nullptr, key, nullptr);
        }
        std::string err = w->table->install(make_entry("k" + std::to_string(i), mki, key, salt));
        if (!err.empty()) {
            std::fprintf(stderr, "install failed: %s\n", err.c_str());
            std::abort();
        }
    }

    // The AES-CM streams: MKIs outside the range above, libsrtp2 protects their packets.
    w->cm_streams.resize(kStreams);
    w->cm_salts.resize(kStreams * kCmSaltLen);
    for (size_t i = 0; i < kStreams; ++i) {
        Stream& s = w->cm_streams[i];
        const uint64_t v = 0x00cc000000000000ull + i * 0x9E3779B1ull;
        for (size_t b = 0; b < kMkiLen; ++b) s.mki[b] = static_cast<uint8_t>(v >> (56 - 8 * b));
        s.ssrc = static_cast<uint32_t>(rng());
        fill(rng, s.rtp_key, 16);
        uint8_t* salt_i = &w->cm_salts[i * kCmSaltLen];
        fill(rng, salt_i, kCmSaltLen);
        std::string err =
            w->table->install(make_cm_entry("cm" + std::to_string(i), s.mki, s.rtp_key, salt_i));
        if (!err.empty()) {
            std::fprintf(stderr, "install failed: %s\n", err.c_str());
            std::abort();
        }
    }

    // Our packets (RCC ROC after the MKI), protected with our encryptor; interleaved by stream.
    w->pristine.assign(kPackets * kSlot, 0);
    w->work.assign(kWorkSlots * kSlot, 0);
    w->stream_of.resize(kPackets);
    uint8_t plain[kSlot];
    for (size_t i = 0; i < kPackets; ++i) {
        size_t s = i % kStreams;
        const Stream& st = w->streams[s];
        uint16_t seq = static_cast<uint16_t>(i / kStreams + 1);
        uint32_t roc = 3;
        build_rtp(plain, st.ssrc, seq, rng);
        uint8_t* p = &w->pristine[i * kSlot];
        size_t n =
            liprobe::crypto::srtp_encrypt(*w->gcm, st.keys, plain, kHeader + kPayload, roc, p);
        std::memcpy(p + n, st.mki, kMkiLen);
        p[n + kMkiLen] = 0, p[n + kMkiLen + 1] = 0, p[n + kMkiLen + 2] = 0,
              p[n + kMkiLen + 3] = static_cast<uint8_t>(roc);
        if (n + kMkiLen + 4 != kPacketLen) std::abort();
        w->stream_of[i] = static_cast<uint16_t>(s);
    }

    srtp_init();
    return w;
}

// Every variant decrypts in place, so each packet is first copied from the pristine set (10 MB,
// read from the shared cache like packets a NIC has just written) into a work slot. The work
// slots are a ring of one burst that stays in the core's cache: with a second 10 MB array each
// copy also paid write-allocate misses on lines last touched 40,000 packets earlier, which the
// per-packet variants partly hid behind the previous packet's GCM while a burst of 32 copies in a
// row could not (measured: harness_restore/burst:32 cost ~29 ns/packet alone and ~60-70 in the
// full path's profile). A real worker decrypts each packet in the mbuf it arrived in.
inline uint8_t* restore(World& w, size_t i) {
    uint8_t* p = &w.work[(i % kWorkSlots) * kSlot];
    std::memcpy(p, &w.pristine[i * kSlot], kPacketLen);
    return p;
}

// The decryptor over a packet set (restored into the work ring like restore()).
// flow: per stream, the SDES context its packets name (nullptr: the MKI table decides).
void run_full_path(benchmark::State& state, const std::vector<uint8_t>& pristine,
                   const uint16_t* lens,
                   const std::vector<const liprobe::keys::SrtpContext*>* flow = nullptr) {
    World& w = *g_world;
    const auto burst = static_cast<uint16_t>(state.range(0));
    liprobe::srtp::DecryptorConfig cfg;
    cfg.max_streams = 1u << 15;
    liprobe::srtp::SrtpDecryptor dec(*w.table, cfg);
    liprobe::srtp::Packet pkts[liprobe::srtp::kMaxBurst];
    size_t i = 0;
    uint64_t ok = 0;
    for (auto _ : state) {
        for (uint16_t b = 0; b < burst; ++b) {
            pkts[b] = {};
            uint8_t* p = &w.work[(i % kWorkSlots) * kSlot];
            std::memcpy(p, &pristine[i * kSlot], kPacketLen);
            pkts[b].data = p;
            pkts[b].len = lens != nullptr ? lens[i] : kPacketLen;
            if (flow != nullptr) {
                const size_t stream = i % kStreams;
                pkts[b].flow_contexts = &(*flow)[stream];
                pkts[b].flow_context_count = 1;
                pkts[b].flow_stream = stream;
            }
            if (++i == kPackets) i = 0;
        }
        dec.decrypt_burst(pkts, burst);
        for (uint16_t b = 0; b < burst; ++b)
            ok += pkts[b].outcome == liprobe::srtp::Outcome::decrypted;
    }
    const uint64_t total = state.iterations() * burst;
    if (ok != total) state.SkipWithError("not every packet decrypted");
    state.SetItemsProcessed(static_cast<int64_t>(total));
}

void full_path(benchmark::State& state) {
    run_full_path(state, g_world->pristine, nullptr);
}

// The AES-CM packets, built on first use (outside the timing) with our encryptor, like the GCM
// packets: libsrtp2 (on NSS) takes minutes to create and free 10,000 sessions. The octets are
// libsrtp2's own (tests/crypto/test_srtp_cm cross-checks both directions), and
// anchor_libsrtp_cm80 unprotects these same packets.
void ensure_cm_packets(World& w) {
    if (!w.cm_len.empty()) return;
    using liprobe::crypto::srtp_kdf;
    using liprobe::crypto::SrtpKdfLabel;
    std::mt19937_64 rng(9);
    w.cm_pristine.assign(kPackets * kSlot, 0);
    w.cm_len.assign(kPackets, 0);
    std::vector<SrtpSessionKeys> keys(kStreams);
    for (size_t s = 0; s < kStreams; ++s) {
        const liprobe::crypto::ByteView mk(w.cm_streams[s].rtp_key, 16),
            ms(&w.cm_salts[s * kCmSaltLen], kCmSaltLen);
        if (!liprobe::crypto::expand_cm_keys(
                *w.gcm, liprobe::crypto::SrtpProfile::aes_cm_128_hmac_sha1_80,
                srtp_kdf(mk, ms, SrtpKdfLabel::rtp_encryption, 16),
                srtp_kdf(mk, ms, SrtpKdfLabel::rtp_salt, kCmSaltLen),
                srtp_kdf(mk, ms, SrtpKdfLabel::rtp_auth, 20), keys[s])) {
            std::abort();
        }
    }
    uint8_t plain[kSlot];
    for (size_t i = 0; i < kPackets; ++i) {
        const size_t s = i % kStreams;
        const uint16_t seq = static_cast<uint16_t>(i / kStreams + 1);
        build_rtp(plain, w.cm_streams[s].ssrc, seq, rng);
        const size_t n = liprobe::crypto::srtp_cm_encrypt(
            *w.gcm, keys[s], plain, kHeader + kPayload, 0, w.cm_streams[s].mki, kMkiLen,
            &w.cm_pristine[i * kSlot]);
        if (n == 0) std::abort();
        w.cm_len[i] = static_cast<uint16_t>(n);
    }
    for (auto& k : keys) liprobe::crypto::wipe(k);
}

void full_path_cm80(benchmark::State& state) {
    ensure_cm_packets(*g_world);
    run_full_path(state, g_world->cm_pristine, g_world->cm_len.data());
}

void full_path_sdes_cm80(benchmark::State& state) {
    World& w = *g_world;
    ensure_cm_packets(w);
    if (w.sdes_contexts.empty()) {  // what an a=crypto line with the stream's key would give
        w.sdes_pool = std::make_unique<liprobe::keys::FlowKeyPool>(kStreams, nullptr, 0);
        for (size_t s = 0; s < kStreams; ++s) {
            const auto* c = w.sdes_pool->create(
                *w.gcm, liprobe::crypto::SrtpProfile::aes_cm_128_hmac_sha1_80,
                {w.cm_streams[s].rtp_key, 16}, {&w.cm_salts[s * kCmSaltLen], kCmSaltLen},
                w.cm_streams[s].mki, kMkiLen);
            if (c == nullptr) std::abort();
            w.sdes_contexts.push_back(c);
        }
    }
    run_full_path(state, w.cm_pristine, w.cm_len.data(), &w.sdes_contexts);
}

// The harness alone: the restore and Packet set-up of full_path, without decrypting. Not an
// anchor: it shows how much of every variant's figure is the benchmark's own overhead.
void harness_restore(benchmark::State& state) {
    World& w = *g_world;
    const auto burst = static_cast<uint16_t>(state.range(0));
    liprobe::srtp::Packet pkts[liprobe::srtp::kMaxBurst];
    size_t i = 0;
    for (auto _ : state) {
        for (uint16_t b = 0; b < burst; ++b) {
            pkts[b] = {};
            pkts[b].data = restore(w, i);
            pkts[b].len = kPacketLen;
            if (++i == kPackets) i = 0;
        }
        benchmark::DoNotOptimize(pkts);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * burst));
}

// IV = (00 00 || SSRC || ROC || SEQ) XOR salt, ROC from the RCC field (RFC 7714 8.1).
void rtp_iv(const uint8_t* p, const uint8_t* salt, uint8_t iv[12]) {
    const uint8_t plain[12] = {0,
                               0,
                               p[8],
                               p[9],
                               p[10],
                               p[11],
                               p[kPacketLen - 4],
                               p[kPacketLen - 3],
                               p[kPacketLen - 2],
                               p[kPacketLen - 1],
                               p[2],
                               p[3]};
    for (int b = 0; b < 12; ++b) iv[b] = plain[b] ^ salt[b];
}

void anchor_ipsecmb_gcm(benchmark::State& state) {
    World& w = *g_world;
    size_t i = 0;
    uint64_t ok = 0;
    for (auto _ : state) {
        uint8_t* p = restore(w, i);
        const Stream& st = w.streams[w.stream_of[i]];
        uint8_t iv[12];
        rtp_iv(p, st.keys.salt, iv);
        ok += w.gcm->decrypt(st.keys.key, iv, p, kHeader, p + kHeader, p + kHeader, kPayload,
                             p + kHeader + kPayload);
        if (++i == kPackets) i = 0;
    }
    if (ok != static_cast<uint64_t>(state.iterations())) state.SkipWithError("tag mismatch");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void anchor_openssl_evp_gcm(benchmark::State& state) {
    World& w = *g_world;
    size_t i = 0;
    uint64_t ok = 0;
    for (auto _ : state) {
        uint8_t* p = restore(w, i);
        const Stream& st = w.streams[w.stream_of[i]];
        uint8_t iv[12];
        rtp_iv(p, st.rtp_salt, iv);
        EVP_CIPHER_CTX* c = st.evp;
        int n = 0;
        EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, iv);
        EVP_DecryptUpdate(c, nullptr, &n, p, kHeader);
        EVP_DecryptUpdate(c, p + kHeader, &n, p + kHeader, kPayload);
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, p + kHeader + kPayload);
        ok += EVP_DecryptFinal_ex(c, p + kHeader + kPayload, &n) == 1;
        if (++i == kPackets) i = 0;
    }
    if (ok != static_cast<uint64_t>(state.iterations())) state.SkipWithError("tag mismatch");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// libsrtp2 as its users run it with many streams: one srtp_t per stream, found in a hash table
// by SSRC (putting 10,000 streams in one session would make srtp_unprotect walk its linked list
// of streams per packet and flatter us by ~2,000 x). libsrtp2 keeps replay state, so every pass
// over the packet set runs on fresh sessions (creation is excluded from the timing).
void run_libsrtp(benchmark::State& state, const std::vector<Stream>& set, size_t streams,
                 const uint8_t* cm_salts, const std::vector<uint8_t>& pristine,
                 const std::vector<uint16_t>& lens) {
    std::vector<uint8_t> work(kWorkSlots * kSlot);  // the same ring as restore()
    uint8_t master[30];
    std::unordered_map<uint32_t, srtp_t> sessions;
    auto make_sessions = [&] {
        for (auto& [ssrc, session] : sessions) srtp_dealloc(session);
        sessions.clear();
        for (size_t s = 0; s < streams; ++s) {
            sessions.emplace(
                set[s].ssrc,
                make_libsrtp_session(
                    set[s], cm_salts != nullptr ? cm_salts + s * kCmSaltLen : nullptr, master));
        }
    };
    make_sessions();
    size_t i = 0;
    uint64_t ok = 0;
    for (auto _ : state) {
        uint8_t* p = &work[(i % kWorkSlots) * kSlot];
        std::memcpy(p, &pristine[i * kSlot], kPacketLen);
        int len = lens[i];
        const uint32_t ssrc =
            uint32_t{p[8]} << 24 | uint32_t{p[9]} << 16 | uint32_t{p[10]} << 8 | p[11];
        const auto it = sessions.find(ssrc);
        ok += it != sessions.end() &&
              srtp_unprotect_mki(it->second, p, &len, 1) == srtp_err_status_ok;
        if (++i == kPackets) {
            i = 0;
            state.PauseTiming();
            make_sessions();
            state.ResumeTiming();
        }
    }
    for (auto& [ssrc, session] : sessions) srtp_dealloc(session);
    if (ok != static_cast<uint64_t>(state.iterations())) state.SkipWithError("unprotect failed");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void anchor_libsrtp(benchmark::State& state) {
    World& w = *g_world;
    const size_t streams = static_cast<size_t>(state.range(0));
    // Built on first use (outside the timing), so runs filtered to other variants start sooner.
    if (w.srtp_len_10k.empty()) {
        build_libsrtp_packets(w.streams, kStreams, nullptr, w.srtp_pristine_10k, w.srtp_len_10k);
        build_libsrtp_packets(w.streams, 1, nullptr, w.srtp_pristine_1, w.srtp_len_1);
    }
    run_libsrtp(state, w.streams, streams, nullptr,
                streams == 1 ? w.srtp_pristine_1 : w.srtp_pristine_10k,
                streams == 1 ? w.srtp_len_1 : w.srtp_len_10k);
}

void anchor_libsrtp_cm80(benchmark::State& state) {
    World& w = *g_world;
    const size_t streams = static_cast<size_t>(state.range(0));
    ensure_cm_packets(w);
    if (streams == 1 && w.cm_len_1.empty()) {
        build_libsrtp_packets(w.cm_streams, 1, w.cm_salts.data(), w.cm_pristine_1, w.cm_len_1);
    }
    run_libsrtp(state, w.cm_streams, streams, w.cm_salts.data(),
                streams == 1 ? w.cm_pristine_1 : w.cm_pristine,
                streams == 1 ? w.cm_len_1 : w.cm_len);
}

BENCHMARK(full_path)->Arg(1)->Arg(32)->ArgName("burst");
BENCHMARK(anchor_ipsecmb_gcm);
BENCHMARK(harness_restore)->Arg(1)->Arg(32)->ArgName("burst");
BENCHMARK(anchor_openssl_evp_gcm);
BENCHMARK(anchor_libsrtp)->Arg(kStreams)->Arg(1)->ArgName("ssrcs");
BENCHMARK(full_path_cm80)->Arg(1)->Arg(32)->ArgName("burst");
BENCHMARK(anchor_libsrtp_cm80)->Arg(kStreams)->Arg(1)->ArgName("ssrcs");
BENCHMARK(full_path_sdes_cm80)->Arg(1)->Arg(32)->ArgName("burst");

// Collects the per-packet time of every run (the median aggregate when --benchmark_repetitions
// is used) and prints ns/packet, Mpps and the ratios against the anchors after the run.
class RatioReporter : public benchmark::ConsoleReporter {
  public:
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const auto& r : runs) {
            if (r.error_occurred) continue;
            bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
            if (r.run_type == Run::RT_Aggregate && !median) continue;
            auto it = r.counters.find("items_per_second");
            if (it == r.counters.end()) continue;
            std::string name = r.run_name.str();
            if (median || !seen_median_.count(name)) ns_[name] = 1e9 / it->second.value;
            if (median) seen_median_[name] = true;
        }
    }
    void Finalize() override {
        ConsoleReporter::Finalize();
        std::printf("\n%-40s %12s %10s\n", "per packet", "ns/packet", "Mpps/core");
        for (auto& [n, ns] : ns_) std::printf("%-40s %12.1f %10.2f\n", n.c_str(), ns, 1e3 / ns);
        auto get = [&](const char* n) { return ns_.count(n) ? ns_[n] : 0.0; };
        double single = get("full_path/burst:1"), burst = get("full_path/burst:32");
        double ipsec = get("anchor_ipsecmb_gcm"), evp = get("anchor_openssl_evp_gcm");
        double srtp10k = get("anchor_libsrtp/ssrcs:10000"), srtp1 = get("anchor_libsrtp/ssrcs:1");
        if (burst > 0 && ipsec > 0) {
            std::printf("\nfull path (burst 32) / raw IPsec-MB GCM   = %.2f x  (target <= 2)\n",
                        burst / ipsec);
            std::printf("full path (single)   / raw IPsec-MB GCM   = %.2f x\n", single / ipsec);
            if (evp > 0)
                std::printf("OpenSSL EVP GCM      / full path (burst)  = %.2f x\n", evp / burst);
            if (srtp10k > 0)
                std::printf("libsrtp2 (10k SSRCs) / full path (burst)  = %.1f x  (target >= 10)\n",
                            srtp10k / burst);
            if (srtp1 > 0)
                std::printf("libsrtp2 (1 SSRC)    / full path (burst)  = %.1f x\n", srtp1 / burst);
        }
        double cm = get("full_path_cm80/burst:32"),
               cm_srtp = get("anchor_libsrtp_cm80/ssrcs:10000");
        if (cm > 0 && cm_srtp > 0) {
            std::printf(
                "AES_CM_128_HMAC_SHA1_80: libsrtp2 (10k SSRCs) / full path (burst) = %.1f x"
                "  (target >= 10)\n",
                cm_srtp / cm);
        }
        const double sdes = get("full_path_sdes_cm80/burst:32");
        if (sdes > 0 && cm_srtp > 0)
            std::printf(
                "AES_CM_128_HMAC_SHA1_80, SDES path: libsrtp2 (10k SSRCs) / full path (burst) = "
                "%.1f x  (target >= 10)\n",
                cm_srtp / sdes);
        const double cm_srtp1 = get("anchor_libsrtp_cm80/ssrcs:1");
        if (cm > 0 && cm_srtp1 > 0) {
            std::printf("AES_CM_128_HMAC_SHA1_80: libsrtp2 (1 SSRC) / full path (burst) = %.1f x\n",
                        cm_srtp1 / cm);
        }
        if (sdes > 0 && cm_srtp1 > 0)
            std::printf(
                "AES_CM_128_HMAC_SHA1_80, SDES path: libsrtp2 (1 SSRC) / full path (burst) = %.1f "
                "x\n",
                cm_srtp1 / sdes);
    }

  private:
    std::map<std::string, double> ns_;
    std::map<std::string, bool> seen_median_;
};

}  // namespace

int main(int argc, char** argv) {
    std::string prefix = "--file-prefix=liprobe-bench-" + std::to_string(getpid());
    const char* eal[] = {"crypto_bench",   "--no-huge", "--no-pci", "--no-shconf",
                         "--no-telemetry", "-m",        "2048",     "--log-level=lib.*:error",
                         prefix.c_str()};
    if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) {
        std::fprintf(stderr, "EAL init failed\n");
        return 1;
    }
    benchmark::Initialize(&argc, argv);
    std::fprintf(stderr, "building MKI table and packets...\n");
    g_world = build_world();
    std::printf("IPsec-MB architecture: %s; MKI table: %zu entries; %zu SSRCs; %zu-octet payload\n",
                g_world->gcm->architecture(), g_world->table_mkis, kStreams, kPayload);
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}
