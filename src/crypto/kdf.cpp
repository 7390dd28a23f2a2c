// Key derivation functions of the TS 33.180 key chain: HMAC-SHA-256 and AES-CTR on Intel
// IPsec-MB (HMAC and CNTR jobs, imb_jobs.hpp), SHA-256 on OpenSSL 3 (EVP_Digest). Algorithms and
// vectors: refs/specs.md sections 2-4.
#include "liprobe/crypto/kdf.hpp"

#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "imb_jobs.hpp"

namespace liprobe::crypto {
namespace {

constexpr size_t kSha256Len = 32;
constexpr size_t kAesBlockLen = 16;
constexpr size_t kSrtpSaltLen = 14;  // RFC 3711: 112-bit master salt
constexpr size_t kAeadMasterSaltLen = 12;

[[noreturn]] void openssl_failure(const char* what) {
    throw std::runtime_error(std::string("OpenSSL failure: ") + what);
}

// One IPsec-MB manager per thread for the KDFs (control plane: the HTTPS threads derive). The
// SSE manager, not the auto-selected one: the key chain submits one short HMAC at a time, which
// its SHA-NI code does in ~200 ns, while the AVX-512 manager's 16-lane SHA-256 takes ~1,700 ns
// for a lone job (and OpenSSL's EVP_MAC ~500-800 ns); AES-CTR runs on AES-NI either way.
class ImbManager {
  public:
    ImbManager() {
        mgr_ = alloc_mb_mgr(0);
        if (mgr_ == nullptr) throw std::runtime_error("IPsec-MB: alloc_mb_mgr failed");
        init_mb_mgr_sse(mgr_);
        if (imb_get_errno(mgr_) != 0) {  // no SSE4.2/AES-NI: whatever the CPU has
            IMB_ARCH arch = IMB_ARCH_NONE;
            init_mb_mgr_auto(mgr_, &arch);
            if (imb_get_errno(mgr_) != 0 || arch == IMB_ARCH_NONE) {
                free_mb_mgr(mgr_);
                throw std::runtime_error("IPsec-MB: no usable architecture on this CPU");
            }
        }
    }
    ~ImbManager() { free_mb_mgr(mgr_); }
    ImbManager(const ImbManager&) = delete;
    ImbManager& operator=(const ImbManager&) = delete;
    IMB_MGR* get() const { return mgr_; }

  private:
    IMB_MGR* mgr_ = nullptr;
};

IMB_MGR* thread_imb() {
    thread_local ImbManager manager;
    return manager.get();
}

// HMAC-SHA-256 (RFC 2104) on IPsec-MB's HMAC job (IMB_AUTH_HMAC_SHA_256), one per thread.
// OpenSSL 3.0's EVP_MAC duplicated a digest context (an allocation) on every restart and final,
// and with its parameter handling that overhead cost more than the hashing for the short
// messages of the key chain (five HMACs per GMK member: about half of a key POST's instructions
// under callgrind, a fifth of its time under perf).
// An IPsec-MB HMAC job takes the key in the form its API defines: the SHA-256 states after the
// key block XOR ipad and XOR opad, each made with the library's one-block SHA-256 call (as
// srtp_cm.cpp does for HMAC-SHA1, and DPDK's aesni_mb driver for every HMAC); the library then
// computes the HMAC. They are made once per key: the key chain of one GMK reuses it for every
// member.
class HmacSha256 {
  public:
    HmacSha256() = default;
    ~HmacSha256() {
        OPENSSL_cleanse(ipad_hash_, sizeof(ipad_hash_));
        OPENSSL_cleanse(opad_hash_, sizeof(opad_hash_));
        OPENSSL_cleanse(key_.data(), key_.size());
    }
    HmacSha256(const HmacSha256&) = delete;
    HmacSha256& operator=(const HmacSha256&) = delete;

    // Loads the key unless it is the one already loaded. Keys of the TS 33.180 chain are 16 or
    // 32 octets (MIKEY PRF chunks at most 32): longer than a SHA-256 block is refused rather
    // than pre-hashed here.
    void set_key(ByteView key) {
        if (key_len_ == key.size() && CRYPTO_memcmp(key.data(), key_.data(), key_len_) == 0) return;
        if (key.size() > kBlockLen)
            throw std::invalid_argument("HMAC-SHA-256 key longer than 64 octets");
        IMB_MGR* mgr = thread_imb();
        detail::hmac_pad_states<kBlockLen>(key.data(), key.size(), ipad_hash_, opad_hash_,
                                           [mgr](const uint8_t* block, uint8_t* state) {
                                               IMB_SHA256_ONE_BLOCK(mgr, block, state);
                                           });
        std::copy(key.begin(), key.end(), key_.begin());
        key_len_ = key.size();
    }
    // HMAC of msg[0 .. len) under the loaded key.
    void mac(const uint8_t* msg, size_t len, uint8_t out[kSha256Len]) {
        IMB_JOB job;
        detail::hmac_job(job, IMB_AUTH_HMAC_SHA_256, ipad_hash_, opad_hash_, msg, len, out,
                         kSha256Len);
        if (IMB_SUBMIT_HASH_BURST(thread_imb(), &job, 1, IMB_AUTH_HMAC_SHA_256) != 1 ||
            job.status != IMB_STATUS_COMPLETED) {
            throw std::runtime_error("IPsec-MB: HMAC-SHA-256 job failed");
        }
    }

  private:
    static constexpr size_t kBlockLen = IMB_SHA_256_BLOCK_SIZE;
    static constexpr size_t kNoKey = SIZE_MAX;
    alignas(16) uint8_t ipad_hash_[IMB_SHA256_DIGEST_SIZE_IN_BYTES] = {};
    alignas(16) uint8_t opad_hash_[IMB_SHA256_DIGEST_SIZE_IN_BYTES] = {};
    std::array<uint8_t, kBlockLen> key_{};  // copy of the loaded key, to detect reuse
    size_t key_len_ = kNoKey;
};
static_assert(kSha256Len == IMB_SHA256_DIGEST_SIZE_IN_BYTES);

HmacSha256& thread_hmac() {
    thread_local HmacSha256 hmac;
    return hmac;
}

// AES-CTR on Intel IPsec-MB, one manager per thread. OpenSSL's EVP re-initialisation for each
// new IV (four per master key: the RFC 3711 labels) went through its parameter machinery (name
// lookups, string compares) and cost more than the AES itself (perf: ~7 % of a key POST). Here
// the key schedule is expanded once per master key and each keystream is one CNTR job.
class AesCtr {
  public:
    AesCtr() : mgr_(thread_imb()) {}
    ~AesCtr() {
        OPENSSL_cleanse(key_.data(), key_.size());
        OPENSSL_cleanse(enc_keys_, sizeof(enc_keys_));
    }
    AesCtr(const AesCtr&) = delete;
    AesCtr& operator=(const AesCtr&) = delete;

    // Writes out_len octets of keystream (the encryption of zeros) to out.
    void keystream(ByteView key, const uint8_t iv[kAesBlockLen], uint8_t* out, size_t out_len) {
        if (key.size() != 16 && key.size() != 24 && key.size() != 32) {
            throw std::invalid_argument("AES-CTR key must be 16, 24 or 32 octets, got " +
                                        std::to_string(key.size()));
        }
        // The session keys of a context come from one master key: expand it once.
        const bool same_key =
            key_len_ == key.size() && CRYPTO_memcmp(key.data(), key_.data(), key_len_) == 0;
        if (!same_key) {
            key_len_ = 0;
            alignas(16) uint8_t dec_keys[16 * 15];  // not used by CTR; the API writes it
            if (key.size() == 16)
                IMB_AES_KEYEXP_128(mgr_, key.data(), enc_keys_, dec_keys);
            else if (key.size() == 24)
                IMB_AES_KEYEXP_192(mgr_, key.data(), enc_keys_, dec_keys);
            else
                IMB_AES_KEYEXP_256(mgr_, key.data(), enc_keys_, dec_keys);
            OPENSSL_cleanse(dec_keys, sizeof(dec_keys));
            std::copy(key.begin(), key.end(), key_.begin());
            key_len_ = key.size();
        }
        std::fill(out, out + out_len, uint8_t{0});
        if (out_len == 0) return;
        if (!detail::aes_ctr(mgr_, enc_keys_, key_len_, iv, out, out_len))
            throw std::runtime_error("IPsec-MB: AES-CTR job failed");
    }

  private:
    IMB_MGR* mgr_ = nullptr;
    alignas(16) uint8_t enc_keys_[16 * 15] = {};  // AES-256: 15 round keys
    std::array<uint8_t, 32> key_{};               // copy of the loaded key, to detect reuse
    size_t key_len_ = 0;
};

AesCtr& thread_aes_ctr() {
    thread_local AesCtr aes;
    return aes;
}

void append_be16(Bytes& out, size_t value) {
    out.push_back(static_cast<uint8_t>(value >> 8));
    out.push_back(static_cast<uint8_t>(value));
}

// TS 33.220 B.2 parameter: P || L (2-octet big-endian length).
void append_param(Bytes& out, ByteView param) {
    if (param.size() > 0xFFFF) {
        throw std::invalid_argument("KDF parameter longer than 65535 octets");
    }
    out.insert(out.end(), param.begin(), param.end());
    append_be16(out, param.size());
}

}  // namespace

std::array<uint8_t, 32> kdf_33220(ByteView key, uint8_t fc, std::span<const ByteView> params) {
    size_t total = 1;
    for (const ByteView p : params) {
        if (p.size() > 0xFFFF)
            throw std::invalid_argument("KDF parameter longer than 65535 octets");
        total += p.size() + 2;
    }
    // S = FC || P0 || L0 || ...: on the stack for the usual short identities (one per GMK member
    // on the key API's path), on the heap beyond.
    uint8_t small[256];
    Bytes large;
    uint8_t* s = small;
    if (total > sizeof(small)) {
        large.resize(total);
        s = large.data();
    }
    size_t at = 0;
    s[at++] = fc;
    for (const ByteView p : params) {
        if (!p.empty()) std::memcpy(s + at, p.data(), p.size());
        at += p.size();
        s[at++] = static_cast<uint8_t>(p.size() >> 8);
        s[at++] = static_cast<uint8_t>(p.size());
    }

    std::array<uint8_t, 32> out{};
    HmacSha256& hmac = thread_hmac();
    hmac.set_key(key);
    hmac.mac(s, total, out.data());
    return out;
}

Bytes kdf_integer_param(uint64_t value) {
    Bytes out;
    for (int shift = 56; shift >= 0; shift -= 8) {
        const auto octet = static_cast<uint8_t>(value >> shift);
        if (octet != 0 || !out.empty()) out.push_back(octet);
    }
    if (out.empty()) out.push_back(0);  // zero is one 0x00 octet
    return out;
}

uint32_t user_salt(ByteView gmk, std::string_view mc_user_id) {
    constexpr uint8_t kFcUserSalt = 0x50;  // TS 33.180 F.1.3
    const ByteView params[] = {as_bytes(mc_user_id)};
    const std::array<uint8_t, 32> out = kdf_33220(gmk, kFcUserSalt, params);
    const uint32_t last32 = (uint32_t{out[28]} << 24) | (uint32_t{out[29]} << 16) |
                            (uint32_t{out[30]} << 8) | uint32_t{out[31]};
    return last32 & 0x0FFFFFFFu;  // the 28 least significant bits
}

uint32_t guk_id(uint32_t gmk_id, ByteView gmk, std::string_view mc_user_id) {
    // The salt has its top 4 bits clear, so the purpose tag of the GMK-ID survives the XOR.
    return gmk_id ^ user_salt(gmk, mc_user_id);
}

uint32_t gmk_id_from_guk_id(uint32_t guk, ByteView gmk, std::string_view mc_user_id) {
    return guk ^ user_salt(gmk, mc_user_id);
}

std::array<uint8_t, 32> mikey_sakke_uid(std::string_view uri, std::string_view kms_uri,
                                        uint64_t user_key_period, uint64_t user_key_offset,
                                        uint64_t ntp_seconds_now) {
    if (user_key_period == 0) throw std::invalid_argument("UserKeyPeriod must not be 0");
    if (ntp_seconds_now < user_key_offset) {
        throw std::invalid_argument("time is before the UserKeyOffset");
    }
    const uint64_t period_number = (ntp_seconds_now - user_key_offset) / user_key_period;
    const Bytes period = kdf_integer_param(user_key_period);
    const Bytes offset = kdf_integer_param(user_key_offset);
    const Bytes number = kdf_integer_param(period_number);

    // TS 33.180 F.2.1.1: built like a TS 33.220 B.2 input with the dummy FC 0x00, then hashed
    // with plain SHA-256 (not HMAC).
    Bytes s;
    s.push_back(0x00);
    append_param(s, as_bytes("MIKEY-SAKKE-UID"));
    append_param(s, as_bytes(uri));
    append_param(s, as_bytes(kms_uri));
    append_param(s, period);
    append_param(s, offset);
    append_param(s, number);

    std::array<uint8_t, 32> out{};
    unsigned int len = 0;
    if (EVP_Digest(s.data(), s.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
        len != out.size()) {
        openssl_failure("EVP_Digest(SHA-256)");
    }
    return out;
}

namespace {

// P(s, label, m) of RFC 3830 4.1.2 XORed over the inkey chunks, written to out[0 .. out_len).
void mikey_prf_into(ByteView inkey, ByteView label, uint8_t* out, size_t out_len) {
    constexpr size_t kChunkLen = 32;  // 256-bit inkey chunks (refs 3.1)
    const size_t blocks = (out_len + kSha256Len - 1) / kSha256Len;
    const size_t chunks = std::max<size_t>(1, (inkey.size() + kChunkLen - 1) / kChunkLen);

    HmacSha256& hmac = thread_hmac();
    // A_i || label, contiguous for the HMAC job; A_0 = label alone. On the stack for the MIKEY
    // labels (constant || CS-ID || CSB-ID || RAND of at most 255 octets), on the heap beyond.
    uint8_t small[kSha256Len + 9 + 255];
    Bytes large;
    const size_t message_len = kSha256Len + label.size();
    uint8_t* message = small;
    if (message_len > sizeof(small)) {
        large.resize(message_len);
        message = large.data();
    }
    if (!label.empty()) std::memcpy(message + kSha256Len, label.data(), label.size());
    uint8_t* a = message;
    uint8_t block[kSha256Len];
    std::fill(out, out + out_len, uint8_t{0});
    for (size_t c = 0; c < chunks; ++c) {
        const size_t begin = c * kChunkLen;
        const size_t len = std::min(kChunkLen, inkey.size() - std::min(begin, inkey.size()));
        hmac.set_key(inkey.subspan(std::min(begin, inkey.size()), len));
        // P(s, label, m): A_0 = label, A_i = HMAC(s, A_{i-1}), block_i = HMAC(s, A_i || label).
        for (size_t i = 0; i < blocks; ++i) {
            if (i == 0) {
                hmac.mac(message + kSha256Len, label.size(), a);
            } else {
                hmac.mac(a, kSha256Len, block);  // not in place: a job's input and tag apart
                std::memcpy(a, block, kSha256Len);
            }
            hmac.mac(message, message_len, block);
            const size_t from = i * kSha256Len;
            const size_t n = std::min(kSha256Len, out_len - from);
            for (size_t k = 0; k < n; ++k) out[from + k] ^= block[k];
        }
    }
    OPENSSL_cleanse(message, message_len);
    OPENSSL_cleanse(block, sizeof(block));
}

}  // namespace

Bytes mikey_prf_sha256(ByteView inkey, ByteView label, size_t out_len) {
    Bytes out(out_len);
    mikey_prf_into(inkey, label, out.data(), out.size());
    return out;
}

void mikey_derive_into(ByteView tgk, uint32_t constant, uint8_t cs_id, uint32_t csb_id,
                       ByteView rand, uint8_t* out, size_t out_len) {
    if (rand.size() > 255) throw std::invalid_argument("MIKEY RAND longer than 255 octets");
    // RFC 3830 4.1.3: label = constant || cs_id || csb_id || RAND (big-endian integers).
    uint8_t label[9 + 255];
    for (int i = 0; i < 4; ++i) label[i] = static_cast<uint8_t>(constant >> (24 - 8 * i));
    label[4] = cs_id;
    for (int i = 0; i < 4; ++i) label[5 + i] = static_cast<uint8_t>(csb_id >> (24 - 8 * i));
    if (!rand.empty()) std::memcpy(label + 9, rand.data(), rand.size());
    mikey_prf_into(tgk, ByteView(label, 9 + rand.size()), out, out_len);
}

Bytes mikey_derive(ByteView tgk, uint32_t constant, uint8_t cs_id, uint32_t csb_id, ByteView rand,
                   size_t out_len) {
    Bytes out(out_len);
    mikey_derive_into(tgk, constant, cs_id, csb_id, rand, out.data(), out.size());
    return out;
}

void srtp_kdf_into(ByteView master_key, ByteView master_salt, SrtpKdfLabel label, uint8_t* out,
                   size_t out_len) {
    if (master_salt.size() != kSrtpSaltLen && master_salt.size() != kAeadMasterSaltLen) {
        throw std::invalid_argument("SRTP master salt must be 12 or 14 octets, got " +
                                    std::to_string(master_salt.size()));
    }
    // x = salt14 XOR (label << 48) with KDR = 0 (r = 0): the label lands on octet 7. A 12-octet
    // AEAD salt is salt || 00 00 (RFC 7714 section 11, errata 4938; libsrtp does the same).
    // The AES-CM IV is x || 00 00.
    std::array<uint8_t, kAesBlockLen> iv{};
    std::copy(master_salt.begin(), master_salt.end(), iv.begin());
    iv[7] ^= static_cast<uint8_t>(label);
    thread_aes_ctr().keystream(master_key, iv.data(), out, out_len);
    OPENSSL_cleanse(iv.data(), iv.size());
}

Bytes srtp_kdf(ByteView master_key, ByteView master_salt, SrtpKdfLabel label, size_t out_len) {
    Bytes out(out_len);
    srtp_kdf_into(master_key, master_salt, label, out.data(), out.size());
    return out;
}

Bytes aes_ctr_keystream(ByteView key, const std::array<uint8_t, 16>& iv, size_t out_len) {
    Bytes out(out_len);
    thread_aes_ctr().keystream(key, iv.data(), out.data(), out.size());
    return out;
}

}  // namespace liprobe::crypto
