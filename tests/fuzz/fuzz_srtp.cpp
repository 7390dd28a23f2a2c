// libFuzzer harness: the SRTP/SRTCP trailer, MKI lookup, candidate trials and ROC logic of
// srtp::SrtpDecryptor over a packet sequence (packet_sequence.hpp; the first octet of each packet
// chooses RTP or RTCP, the second bit the SDES path). Small key table: a 4-octet MKI with one
// context and a 4-octet MKI shared by two contexts (trial decryption), and a small stream table so
// that eviction is reached. SDES: packets name three flow contexts (AES_CM_128_HMAC_SHA1_80
// without MKI, AES_CM_128_HMAC_SHA1_32 with a 2-octet MKI, AEAD_AES_128_GCM without MKI), and go
// through decrypt_burst in bursts of up to 8 so that the burst's HMAC stage is reached.
#include <rte_eal.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "eal.hpp"
#include "liprobe/keys/flow_keys.hpp"
#include "liprobe/keys/key_table.hpp"
#include "liprobe/srtp/decryptor.hpp"
#include "packet_sequence.hpp"

using namespace liprobe;

namespace {

keys::ContextSpec context(const std::string& name, std::vector<uint8_t> mki, uint8_t seed) {
    keys::ContextSpec s;
    s.type = keys::KeyType::srtp;
    s.key_name = name;
    s.mki = std::move(mki);
    std::vector<uint8_t> key(16), salt(12);
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed * 31 + i);
    for (size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<uint8_t>(seed ^ (i * 5));
    s.rtp_key = keys::SecretBytes(key);
    s.rtp_salt = keys::SecretBytes(salt);
    s.rtcp_key = keys::SecretBytes(key);
    s.rtcp_salt = keys::SecretBytes(salt);
    return s;
}

void install(keys::KeyTable& table, const std::string& name, std::vector<keys::ContextSpec> specs) {
    keys::EntryResult e;
    e.ok = true;
    e.key_name = name;
    e.contexts = std::move(specs);
    if (!table.install(e).empty()) __builtin_trap();
}

keys::KeyTable* table = nullptr;
keys::FlowKeyPool* sdes_pool = nullptr;
const keys::SrtpContext* sdes[3] = {};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (!liprobe::test::init_eal()) __builtin_trap();
    keys::KeyTableConfig config;
    config.name = "fuzz_mki";
    config.capacity = 64;
    config.max_readers = 2;
    table = new keys::KeyTable(config);
    install(*table, "one", {context("one", {0xc0, 0xff, 0xee, 0x01}, 1)});
    install(
        *table, "two",
        {context("two", {0xc0, 0xff, 0xee, 0x02}, 2), context("two", {0xc0, 0xff, 0xee, 0x02}, 3)});
    sdes_pool = new keys::FlowKeyPool(3, nullptr, 0);
    static crypto::GcmEngine engine;
    const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const uint8_t salt[14] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
                              0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad};
    const uint8_t mki[2] = {0x5d, 0xe5};
    sdes[0] = sdes_pool->create(engine, crypto::SrtpProfile::aes_cm_128_hmac_sha1_80, key, salt,
                                nullptr, 0);
    sdes[1] = sdes_pool->create(engine, crypto::SrtpProfile::aes_cm_128_hmac_sha1_32, key, salt,
                                mki, sizeof(mki));
    sdes[2] = sdes_pool->create(engine, crypto::SrtpProfile::aead_aes_128_gcm, key,
                                std::span<const uint8_t>(salt, 12), nullptr, 0);
    if (sdes[0] == nullptr || sdes[1] == nullptr || sdes[2] == nullptr) __builtin_trap();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    srtp::DecryptorConfig config;
    config.max_streams = 8;
    srtp::SrtpDecryptor decryptor(*table, config);
    constexpr size_t kBurst = 8;
    std::vector<uint8_t> buffers[kBurst];  // exactly sized: ASan sees any overread
    srtp::Packet burst[kBurst];
    size_t n = 0;
    uint64_t fed = 0;
    auto decrypt = [&] {
        decryptor.decrypt_burst(burst, static_cast<uint16_t>(n));
        fed += n;
        n = 0;
    };
    liprobe::fuzz::for_each_packet(data, size, [&](const uint8_t* packet, uint32_t len) {
        if (len < 1) return;
        buffers[n].assign(packet + 1, packet + len);
        srtp::Packet& p = burst[n];
        p = srtp::Packet{};
        p.data = buffers[n].data();
        p.len = len - 1;
        p.is_rtcp = packet[0] & 1;
        if (packet[0] & 2) {
            p.flow_contexts = sdes;
            p.flow_context_count = 3;
            p.flow_stream = packet[0] >> 2;
        }
        if (++n == kBurst || (packet[0] & 0x80) != 0) decrypt();
    });
    if (n > 0) decrypt();
    uint64_t sum = 0;
    for (uint64_t v : decryptor.counters().outcome) sum += v;
    if (sum != fed) __builtin_trap();  // every packet counted under exactly one outcome
    return 0;
}
