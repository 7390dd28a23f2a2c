// libFuzzer harness: the SRTP/SRTCP trailer, MKI lookup, candidate trials and ROC logic of
// srtp::SrtpDecryptor over a packet sequence (packet_sequence.hpp; the first octet of each packet
// chooses RTP or RTCP). Small key table: a 4-octet MKI with one context and a 4-octet MKI shared
// by two contexts (trial decryption), and a small stream table so that eviction is reached.
#include <rte_eal.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "eal.hpp"
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
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    srtp::DecryptorConfig config;
    config.max_streams = 8;
    srtp::SrtpDecryptor decryptor(*table, config);
    std::vector<uint8_t> buffer;
    uint64_t fed = 0;
    liprobe::fuzz::for_each_packet(data, size, [&](const uint8_t* packet, uint32_t len) {
        if (len < 1) return;
        buffer.assign(packet + 1, packet + len);  // exactly sized: ASan sees any overread
        srtp::Packet p;
        p.data = buffer.data();
        p.len = len - 1;
        p.is_rtcp = packet[0] & 1;
        decryptor.decrypt_one(p);
        ++fed;
    });
    uint64_t sum = 0;
    for (uint64_t v : decryptor.counters().outcome) sum += v;
    if (sum != fed) __builtin_trap();  // every packet counted under exactly one outcome
    return 0;
}
