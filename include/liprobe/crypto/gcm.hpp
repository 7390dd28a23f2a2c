// AES-GCM through Intel IPsec-MB's direct API. Key schedules are computed once (control plane);
// decryption is allocation-free and safe to call from any thread that owns its GcmEngine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

struct IMB_MGR;

namespace liprobe::crypto {

enum class AeadProfile : uint8_t { aes_128_gcm = 16, aes_256_gcm = 32 };

inline constexpr size_t kGcmTagLen = 16;
inline constexpr size_t kGcmIvLen = 12;
inline constexpr size_t kAeadSaltLen = 12;

// Opaque, 64-octet aligned IPsec-MB expanded key (struct gcm_key_data) plus the profile.
struct alignas(64) GcmKey {
    // >= sizeof(gcm_key_data) (1008 in IPsec-MB 1.3: the VAES/AVX512 path keeps 48 hash-key
    // powers); checked by static_assert in gcm.cpp.
    alignas(64) uint8_t expanded[1024];
    AeadProfile profile = AeadProfile::aes_128_gcm;
};

// One per thread: wraps an IMB_MGR initialised for the best architecture of this CPU.
class GcmEngine {
public:
    GcmEngine();
    ~GcmEngine();
    GcmEngine(const GcmEngine&) = delete;
    GcmEngine& operator=(const GcmEngine&) = delete;

    // "AVX512", "AVX2", "AVX", "SSE" or "NO-AESNI": which code path IPsec-MB selected.
    const char* architecture() const;

    // Control plane: expand a 16- or 32-octet key. Returns false on a bad length.
    bool expand_key(std::span<const uint8_t> key, GcmKey& out) const;

    // Decrypts in place-or-not (dst may equal src, or not overlap it) and checks the tag in
    // constant time. Returns true when the tag matches. On a mismatch dst holds no plaintext: in
    // place, the ciphertext is restored (another key may be tried); otherwise dst is zeroed.
    // len and aad_len may be 0 (pointers then may be null). No allocation, no syscall.
    bool decrypt(const GcmKey& key, const uint8_t iv[kGcmIvLen], const uint8_t* aad, size_t aad_len,
                 const uint8_t* src, uint8_t* dst, size_t len, const uint8_t tag[kGcmTagLen]) const;

    // Encryption (tests, generator and benchmarks only): writes the 16-octet tag.
    void encrypt(const GcmKey& key, const uint8_t iv[kGcmIvLen], const uint8_t* aad, size_t aad_len,
                 const uint8_t* src, uint8_t* dst, size_t len, uint8_t tag[kGcmTagLen]) const;

    IMB_MGR* manager() const { return mgr_; }

private:
    IMB_MGR* mgr_ = nullptr;
    int arch_ = 0;
};

// Zeroise (OPENSSL_cleanse) an expanded key.
void wipe(GcmKey& key);

}  // namespace liprobe::crypto
