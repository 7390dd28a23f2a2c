// libFuzzer harness: an X1 POST body (x1::Service::handle: pugixml, the message readers, the
// task store rules and the response writer), with no backend and no state file. The response
// must always be a well-formed document.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <pugixml.hpp>
#include <string_view>

#include "liprobe/x1/service.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    liprobe::x1::ServiceOptions options;
    options.ne_identifier = "probe-1";
    liprobe::x1::Service service({}, options, nullptr, nullptr);
    const auto reply =
        service.handle(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    pugi::xml_document doc;
    if (!doc.load_string(reply.xml.c_str())) std::abort();
    return 0;
}
