// Key derivation functions of the TS 33.180 key chain, on OpenSSL 3 (EVP_MAC HMAC-SHA-256,
// SHA-256, AES-CTR). Algorithms and vectors: refs/specs.md sections 2-4.
#include "liprobe/crypto/kdf.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace liprobe::crypto {
namespace {

constexpr size_t kSha256Len = 32;
constexpr size_t kAesBlockLen = 16;
constexpr size_t kSrtpSaltLen = 14;  // RFC 3711: 112-bit master salt
constexpr size_t kAeadMasterSaltLen = 12;

[[noreturn]] void openssl_failure(const char* what) {
    throw std::runtime_error(std::string("OpenSSL failure: ") + what);
}

// A reusable HMAC-SHA-256 context, one per thread: fetching the algorithm and allocating a context
// per call dominates the cost for the short messages of the key chain. Re-keying recomputes only
// the inner/outer pads; restart() reuses the current key.
class HmacSha256 {
  public:
    HmacSha256() {
        mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        if (mac_ == nullptr) openssl_failure("EVP_MAC_fetch(HMAC)");
        ctx_ = EVP_MAC_CTX_new(mac_);
        if (ctx_ == nullptr) openssl_failure("EVP_MAC_CTX_new");
        char digest[] = "SHA256";
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
            OSSL_PARAM_construct_end(),
        };
        if (EVP_MAC_CTX_set_params(ctx_, params) != 1) openssl_failure("HMAC digest");
    }
    ~HmacSha256() {
        EVP_MAC_CTX_free(ctx_);  // cleanses the key copy it holds
        EVP_MAC_free(mac_);
        OPENSSL_cleanse(key_.data(), key_.size());
    }
    HmacSha256(const HmacSha256&) = delete;
    HmacSha256& operator=(const HmacSha256&) = delete;

    // Keys the context, or only restarts it when the key is the one already loaded: the key
    // chain of one GMK calls this many times with the same key, and re-keying is the expensive
    // part of an HMAC over a short message.
    void set_key(ByteView key) {
        if (key_len_ != kNoKey && key.size() == key_len_ &&
            CRYPTO_memcmp(key.data(), key_.data(), key_len_) == 0) {
            restart();
            return;
        }
        // A null key pointer means "keep the previous key" to OpenSSL; never pass one.
        static const uint8_t kEmpty = 0;
        const uint8_t* p = key.empty() ? &kEmpty : key.data();
        key_len_ = kNoKey;
        if (EVP_MAC_init(ctx_, p, key.size(), nullptr) != 1) openssl_failure("EVP_MAC_init");
        if (key.size() <= key_.size()) {
            std::copy(key.begin(), key.end(), key_.begin());
            key_len_ = key.size();
        }
    }
    void restart() {
        if (EVP_MAC_init(ctx_, nullptr, 0, nullptr) != 1) openssl_failure("EVP_MAC_init");
    }
    void update(ByteView data) {
        if (data.empty()) return;
        if (EVP_MAC_update(ctx_, data.data(), data.size()) != 1) openssl_failure("EVP_MAC_update");
    }
    void final(uint8_t out[kSha256Len]) {
        size_t len = 0;
        if (EVP_MAC_final(ctx_, out, &len, kSha256Len) != 1 || len != kSha256Len) {
            openssl_failure("EVP_MAC_final");
        }
    }

  private:
    static constexpr size_t kNoKey = SIZE_MAX;
    EVP_MAC* mac_ = nullptr;
    EVP_MAC_CTX* ctx_ = nullptr;
    std::array<uint8_t, 64> key_{};  // copy of the loaded key, to detect reuse
    size_t key_len_ = kNoKey;
};

HmacSha256& thread_hmac() {
    thread_local HmacSha256 hmac;
    return hmac;
}

// Likewise for AES-CTR: fetched ciphers and one cipher context per thread.
class AesCtr {
  public:
    AesCtr() {
        aes128_ = EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr);
        aes192_ = EVP_CIPHER_fetch(nullptr, "AES-192-CTR", nullptr);
        aes256_ = EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
        ctx_ = EVP_CIPHER_CTX_new();
        if (aes128_ == nullptr || aes192_ == nullptr || aes256_ == nullptr || ctx_ == nullptr) {
            openssl_failure("EVP_CIPHER_fetch(AES-CTR)");
        }
    }
    ~AesCtr() {
        OPENSSL_cleanse(key_.data(), key_.size());
        EVP_CIPHER_CTX_free(ctx_);
        EVP_CIPHER_free(aes128_);
        EVP_CIPHER_free(aes192_);
        EVP_CIPHER_free(aes256_);
    }
    AesCtr(const AesCtr&) = delete;
    AesCtr& operator=(const AesCtr&) = delete;

    // Writes out_len octets of keystream (the encryption of zeros) to out.
    void keystream(ByteView key, const uint8_t iv[kAesBlockLen], uint8_t* out, size_t out_len) {
        const EVP_CIPHER* cipher = nullptr;
        switch (key.size()) {
            case 16:
                cipher = aes128_;
                break;
            case 24:
                cipher = aes192_;
                break;
            case 32:
                cipher = aes256_;
                break;
            default:
                throw std::invalid_argument("AES-CTR key must be 16, 24 or 32 octets, got " +
                                            std::to_string(key.size()));
        }
        // The four session keys of a context come from one master key: set the key schedule
        // once and only change the IV while the key stays the same.
        const bool same_key =
            key_len_ == key.size() && CRYPTO_memcmp(key.data(), key_.data(), key_len_) == 0;
        if (!same_key) {
            key_len_ = 0;
            if (EVP_EncryptInit_ex2(ctx_, cipher, key.data(), iv, nullptr) != 1) {
                openssl_failure("EVP_EncryptInit_ex2");
            }
            std::copy(key.begin(), key.end(), key_.begin());
            key_len_ = key.size();
        } else if (EVP_EncryptInit_ex2(ctx_, nullptr, nullptr, iv, nullptr) != 1) {
            openssl_failure("EVP_EncryptInit_ex2");
        }
        std::fill(out, out + out_len, uint8_t{0});
        size_t done = 0;
        while (done < out_len) {
            // EVP_EncryptUpdate takes an int length; the KDF outputs are tiny, but stay correct.
            const int chunk = static_cast<int>(std::min<size_t>(out_len - done, 1u << 30));
            int written = 0;
            if (EVP_EncryptUpdate(ctx_, out + done, &written, out + done, chunk) != 1 ||
                written != chunk) {
                openssl_failure("EVP_EncryptUpdate");
            }
            done += static_cast<size_t>(chunk);
        }
    }

  private:
    EVP_CIPHER* aes128_ = nullptr;
    EVP_CIPHER* aes192_ = nullptr;
    EVP_CIPHER* aes256_ = nullptr;
    EVP_CIPHER_CTX* ctx_ = nullptr;
    std::array<uint8_t, 32> key_{};  // copy of the loaded key, to detect reuse
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
    Bytes s;
    size_t total = 1;
    for (const ByteView p : params) total += p.size() + 2;
    s.reserve(total);
    s.push_back(fc);
    for (const ByteView p : params) append_param(s, p);

    std::array<uint8_t, 32> out{};
    HmacSha256& hmac = thread_hmac();
    hmac.set_key(key);
    hmac.update(s);
    hmac.final(out.data());
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

Bytes mikey_prf_sha256(ByteView inkey, ByteView label, size_t out_len) {
    constexpr size_t kChunkLen = 32;  // 256-bit inkey chunks (refs 3.1)
    const size_t blocks = (out_len + kSha256Len - 1) / kSha256Len;
    const size_t chunks = std::max<size_t>(1, (inkey.size() + kChunkLen - 1) / kChunkLen);

    Bytes out(blocks * kSha256Len, 0);
    HmacSha256& hmac = thread_hmac();
    uint8_t a[kSha256Len];
    uint8_t block[kSha256Len];
    for (size_t c = 0; c < chunks; ++c) {
        const size_t begin = c * kChunkLen;
        const size_t len = std::min(kChunkLen, inkey.size() - std::min(begin, inkey.size()));
        hmac.set_key(inkey.subspan(std::min(begin, inkey.size()), len));
        // P(s, label, m): A_0 = label, A_i = HMAC(s, A_{i-1}), block_i = HMAC(s, A_i || label).
        ByteView previous = label;
        for (size_t i = 0; i < blocks; ++i) {
            hmac.restart();
            hmac.update(previous);
            hmac.final(a);
            previous = ByteView(a, kSha256Len);
            hmac.restart();
            hmac.update(previous);
            hmac.update(label);
            hmac.final(block);
            uint8_t* dst = out.data() + i * kSha256Len;
            for (size_t k = 0; k < kSha256Len; ++k) dst[k] ^= block[k];
        }
    }
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(block, sizeof(block));
    if (out.size() > out_len) {
        OPENSSL_cleanse(out.data() + out_len, out.size() - out_len);
        out.resize(out_len);
    }
    return out;
}

Bytes mikey_derive(ByteView tgk, uint32_t constant, uint8_t cs_id, uint32_t csb_id, ByteView rand,
                   size_t out_len) {
    // RFC 3830 4.1.3: label = constant || cs_id || csb_id || RAND (big-endian integers).
    Bytes label;
    label.reserve(9 + rand.size());
    for (int shift = 24; shift >= 0; shift -= 8)
        label.push_back(static_cast<uint8_t>(constant >> shift));
    label.push_back(cs_id);
    for (int shift = 24; shift >= 0; shift -= 8)
        label.push_back(static_cast<uint8_t>(csb_id >> shift));
    label.insert(label.end(), rand.begin(), rand.end());
    return mikey_prf_sha256(tgk, label, out_len);
}

Bytes srtp_kdf(ByteView master_key, ByteView master_salt, SrtpKdfLabel label, size_t out_len) {
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
    Bytes out(out_len);
    thread_aes_ctr().keystream(master_key, iv.data(), out.data(), out.size());
    OPENSSL_cleanse(iv.data(), iv.size());
    return out;
}

Bytes aes_ctr_keystream(ByteView key, const std::array<uint8_t, 16>& iv, size_t out_len) {
    Bytes out(out_len);
    thread_aes_ctr().keystream(key, iv.data(), out.data(), out.size());
    return out;
}

}  // namespace liprobe::crypto
