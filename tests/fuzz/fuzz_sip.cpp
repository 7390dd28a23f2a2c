// libFuzzer harness: SIP message parsing and stream framing of untrusted text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "liprobe/sip/message.hpp"

using namespace liprobe::sip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    SipMessage message;
    (void)parse_message(text, message);
    (void)frame_message(text);
    return 0;
}
