// libFuzzer harness: RFC 4568 "a=crypto:" attribute values (sip::parse_crypto_attribute), the
// SDES keys an intercepted dialog's SDP carries. Checks the contract as well as memory safety:
// a refused line leaves no key octet behind, an accepted one has keys of the suite's length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "liprobe/sip/sdes.hpp"

using namespace liprobe::sip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    SdesCrypto crypto;
    const SdesError e =
        parse_crypto_attribute(std::string_view(reinterpret_cast<const char*>(data), size), crypto);
    if (e != SdesError::ok) {
        for (const SdesKey& k : crypto.keys)
            for (uint8_t octet : k.key_salt)
                if (octet != 0) std::abort();  // a refused line must not leave key material
    } else if (crypto.key_count == 0 || crypto.key_count > crypto.keys.size()) {
        std::abort();
    }
    wipe(crypto);
    return 0;
}
