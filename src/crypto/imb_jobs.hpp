// Intel IPsec-MB jobs shared by the SRTP AES-CM transforms (srtp_cm.cpp, per packet) and the key
// chain (kdf.cpp, control plane): one place that fills an HMAC or AES-CTR job and makes the HMAC
// key form the library's API takes. Inline; nothing here allocates.
#pragma once

#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace liprobe::crypto::detail {

// An HMAC job over msg[0 .. len): `alg` with the key given as its two pad states; mac_len
// octets of MAC to mac. Not submitted (a caller may burst several).
inline void hmac_job(IMB_JOB& job, IMB_HASH_ALG alg, const void* ipad_hash, const void* opad_hash,
                     const uint8_t* msg, size_t len, uint8_t* mac, size_t mac_len) {
    std::memset(&job, 0, sizeof(job));
    job.src = msg;
    job.hash_start_src_offset_in_bytes = 0;
    job.msg_len_to_hash_in_bytes = len;
    job.auth_tag_output = mac;
    job.auth_tag_output_len_in_bytes = mac_len;
    job.u.HMAC._hashed_auth_key_xor_ipad = static_cast<const uint8_t*>(ipad_hash);
    job.u.HMAC._hashed_auth_key_xor_opad = static_cast<const uint8_t*>(opad_hash);
    job.hash_alg = alg;
    job.cipher_mode = IMB_CIPHER_NULL;
    job.chain_order = IMB_ORDER_HASH_CIPHER;
}

// The key form of IPsec-MB's HMAC jobs (RFC 2104): the key block XOR ipad and XOR opad, each
// compressed once by the library's one-block hash (`one_block(block, state)`, e.g.
// IMB_SHA256_ONE_BLOCK). key_len must not exceed the block size (the caller checks).
template <size_t BlockSize, typename OneBlock>
void hmac_pad_states(const uint8_t* key, size_t key_len, uint8_t* ipad_hash, uint8_t* opad_hash,
                     OneBlock one_block) {
    alignas(16) uint8_t block[BlockSize];
    std::memset(block, 0x36, sizeof(block));
    for (size_t i = 0; i < key_len; ++i) block[i] ^= key[i];
    one_block(block, ipad_hash);
    std::memset(block, 0x5c, sizeof(block));
    for (size_t i = 0; i < key_len; ++i) block[i] ^= key[i];
    one_block(block, opad_hash);
    OPENSSL_cleanse(block, sizeof(block));
}

// AES-CTR over buf[0 .. len) in place: expanded encryption schedule of a 16-, 24- or 32-octet
// key and the 16-octet counter block iv. RFC 3711 4.1.1 counts in the low 16 bits of the block,
// which IPsec-MB's counter increment covers. False when IPsec-MB refused the job.
inline bool aes_ctr(IMB_MGR* mgr, const void* enc_keys, size_t key_len, const uint8_t iv[16],
                    uint8_t* buf, size_t len) {
    if (len == 0) return true;
    IMB_JOB job;
    std::memset(&job, 0, sizeof(job));
    job.enc_keys = enc_keys;
    job.dec_keys = enc_keys;  // CTR uses the encryption schedule both ways
    job.key_len_in_bytes = key_len;
    job.src = buf;
    job.dst = buf;
    job.cipher_start_src_offset_in_bytes = 0;
    job.msg_len_to_cipher_in_bytes = len;
    job.iv = iv;
    job.iv_len_in_bytes = 16;
    job.cipher_mode = IMB_CIPHER_CNTR;
    job.cipher_direction = IMB_DIR_ENCRYPT;
    job.hash_alg = IMB_AUTH_NULL;
    job.chain_order = IMB_ORDER_CIPHER_HASH;
    const IMB_KEY_SIZE_BYTES size = key_len == 32   ? IMB_KEY_256_BYTES
                                    : key_len == 24 ? IMB_KEY_192_BYTES
                                                    : IMB_KEY_128_BYTES;
    const uint32_t done =
        IMB_SUBMIT_CIPHER_BURST(mgr, &job, 1, IMB_CIPHER_CNTR, IMB_DIR_ENCRYPT, size);
    return done == 1 && job.status == IMB_STATUS_COMPLETED;
}

}  // namespace liprobe::crypto::detail
