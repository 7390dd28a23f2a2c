// AES-GCM on Intel IPsec-MB's direct (synchronous) API. The key schedule and GHASH key powers
// are computed once per key (expand_key); decrypt/encrypt use only stack state.
#include "liprobe/crypto/gcm.hpp"

#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include <cstring>
#include <stdexcept>

namespace liprobe::crypto {

static_assert(sizeof(gcm_key_data) <= sizeof(GcmKey::expanded),
              "GcmKey::expanded is too small for IPsec-MB's struct gcm_key_data");
static_assert(alignof(GcmKey) >= 64 && offsetof(GcmKey, expanded) % 64 == 0,
              "IPsec-MB wants the expanded GCM key 64-octet aligned");
static_assert(kGcmIvLen == IMB_GCM_IV_DATA_LEN && kGcmTagLen == IMB_MAX_TAG_LEN);

namespace {

const gcm_key_data* key_data(const GcmKey& key) {
    return reinterpret_cast<const gcm_key_data*>(key.expanded);
}

// IPsec-MB's parameter checks may reject null buffers even for zero lengths; a dummy non-null
// pointer keeps the empty-plaintext (SRTCP E=0) and empty-AAD cases valid.
alignas(16) const uint8_t kEmpty[16] = {};

// Runs GCM encryption or decryption; the tag computed over aad and the ciphertext goes to tag.
void run_gcm(IMB_MGR* mgr, const GcmKey& key, bool encrypt, const uint8_t* iv, const uint8_t* aad,
             size_t aad_len, const uint8_t* src, uint8_t* dst, size_t len, uint8_t* tag) {
    gcm_context_data ctx;
    alignas(16) uint8_t empty_out[16];
    if (len == 0) {
        src = kEmpty;
        dst = empty_out;  // never written: there is nothing to encrypt
    }
    if (aad_len == 0) aad = kEmpty;
    const gcm_key_data* kd = key_data(key);
    if (key.profile == AeadProfile::aes_256_gcm) {
        if (encrypt) {
            IMB_AES256_GCM_ENC(mgr, kd, &ctx, dst, src, len, iv, aad, aad_len, tag, kGcmTagLen);
        } else {
            IMB_AES256_GCM_DEC(mgr, kd, &ctx, dst, src, len, iv, aad, aad_len, tag, kGcmTagLen);
        }
    } else {
        if (encrypt) {
            IMB_AES128_GCM_ENC(mgr, kd, &ctx, dst, src, len, iv, aad, aad_len, tag, kGcmTagLen);
        } else {
            IMB_AES128_GCM_DEC(mgr, kd, &ctx, dst, src, len, iv, aad, aad_len, tag, kGcmTagLen);
        }
    }
    // The context holds keystream-derived state; do not leave it on the stack.
    OPENSSL_cleanse(&ctx, sizeof(ctx));
}

}  // namespace

GcmEngine::GcmEngine() {
    mgr_ = alloc_mb_mgr(0);
    if (mgr_ == nullptr) throw std::runtime_error("IPsec-MB: cannot allocate a manager");
    IMB_ARCH arch = IMB_ARCH_NONE;
    init_mb_mgr_auto(mgr_, &arch);
    if (imb_get_errno(mgr_) != 0 || arch == IMB_ARCH_NONE) {
        free_mb_mgr(mgr_);
        mgr_ = nullptr;
        throw std::runtime_error("IPsec-MB: no usable architecture on this CPU");
    }
    arch_ = static_cast<int>(arch);
}

GcmEngine::~GcmEngine() {
    if (mgr_ != nullptr) free_mb_mgr(mgr_);
}

const char* GcmEngine::architecture() const {
    switch (static_cast<IMB_ARCH>(arch_)) {
        case IMB_ARCH_AVX512:
            return "AVX512";
        case IMB_ARCH_AVX2:
            return "AVX2";
        case IMB_ARCH_AVX:
            return "AVX";
        case IMB_ARCH_SSE:
            return "SSE";
        case IMB_ARCH_NOAESNI:
            return "NO-AESNI";
        default:
            return "unknown";
    }
}

bool GcmEngine::expand_key(std::span<const uint8_t> key, GcmKey& out) const {
    auto* kd = reinterpret_cast<gcm_key_data*>(out.expanded);
    if (key.size() == 16) {
        IMB_AES128_GCM_PRE(mgr_, key.data(), kd);
        out.profile = AeadProfile::aes_128_gcm;
        return true;
    }
    if (key.size() == 32) {
        IMB_AES256_GCM_PRE(mgr_, key.data(), kd);
        out.profile = AeadProfile::aes_256_gcm;
        return true;
    }
    return false;
}

bool GcmEngine::decrypt(const GcmKey& key, const uint8_t iv[kGcmIvLen], const uint8_t* aad,
                        size_t aad_len, const uint8_t* src, uint8_t* dst, size_t len,
                        const uint8_t tag[kGcmTagLen]) const {
    // Start from the complement of the received tag: should the library ever skip writing the
    // tag (parameter check), the comparison below fails instead of reading stale stack.
    uint8_t computed[kGcmTagLen];
    for (size_t i = 0; i < kGcmTagLen; ++i) computed[i] = static_cast<uint8_t>(~tag[i]);
    run_gcm(mgr_, key, false, iv, aad, aad_len, src, dst, len, computed);
    const bool ok = CRYPTO_memcmp(computed, tag, kGcmTagLen) == 0;
    if (!ok && len != 0) {
        if (dst == src) {
            // CTR mode is its own inverse: encrypting the plaintext again restores the
            // ciphertext, so the caller can try another candidate key on the same packet.
            run_gcm(mgr_, key, true, iv, aad, aad_len, dst, dst, len, computed);
        } else {
            OPENSSL_cleanse(dst, len);
        }
    }
    OPENSSL_cleanse(computed, sizeof(computed));
    return ok;
}

void GcmEngine::encrypt(const GcmKey& key, const uint8_t iv[kGcmIvLen], const uint8_t* aad,
                        size_t aad_len, const uint8_t* src, uint8_t* dst, size_t len,
                        uint8_t tag[kGcmTagLen]) const {
    run_gcm(mgr_, key, true, iv, aad, aad_len, src, dst, len, tag);
}

void wipe(GcmKey& key) {
    OPENSSL_cleanse(key.expanded, sizeof(key.expanded));
}

}  // namespace liprobe::crypto
