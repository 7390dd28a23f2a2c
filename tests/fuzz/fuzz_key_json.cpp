// libFuzzer harness: the key-provisioning JSON (keys::derive_keys_text).
#include <cstddef>
#include <cstdint>
#include <string>

#include "liprobe/keys/key_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    (void)liprobe::keys::derive_keys_text(std::string(reinterpret_cast<const char*>(data), size));
    return 0;
}
