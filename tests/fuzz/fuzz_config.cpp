// libFuzzer harness: the TOML configuration (control::parse_config); no files are opened.
#include <cstddef>
#include <cstdint>
#include <string>

#include "liprobe/control/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    (void)liprobe::control::parse_config(std::string(reinterpret_cast<const char*>(data), size),
                                         "fuzz.toml", "/nonexistent");
    return 0;
}
