// libFuzzer harness: SDP body parsing (RFC 4566 subset) of untrusted text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "liprobe/sip/sdp.hpp"

using namespace liprobe::sip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    SdpSession session;
    (void)parse_sdp(std::string_view(reinterpret_cast<const char*>(data), size), session);
    return 0;
}
