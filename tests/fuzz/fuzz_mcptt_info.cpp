// libFuzzer harness: mcptt-info XML bodies (pugixml in a fixed arena).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "liprobe/sip/mcptt_info.hpp"

using namespace liprobe::sip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static McpttInfoParser parser;  // one per thread in the probe; reused across inputs as there
    McpttIds ids;
    (void)parser.parse(std::string_view(reinterpret_cast<const char*>(data), size), ids);
    return 0;
}
