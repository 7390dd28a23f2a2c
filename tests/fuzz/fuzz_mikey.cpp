// libFuzzer harness: MIKEY I_MESSAGE parsing, raw and through the base64 summary path.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "liprobe/sip/mikey.hpp"

using namespace liprobe::sip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    MikeyMessage message;
    (void)parse_mikey(std::span<const uint8_t>(data, size), message);
    MikeySummary summary;
    (void)decode_mikey_summary(std::string_view(reinterpret_cast<const char*>(data), size),
                               summary);
    return 0;
}
