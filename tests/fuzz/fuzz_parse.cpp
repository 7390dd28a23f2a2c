// libFuzzer harness: L2-L4 parsing and GTP-U of one untrusted frame. The first input octet picks
// the link type; parse_tcp/parse_gtpu run on whatever parse_frame located, as the pipeline does.
#include <cstddef>
#include <cstdint>

#include "liprobe/net/gtpu.hpp"
#include "liprobe/net/parse.hpp"

using namespace liprobe::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const auto link = static_cast<LinkType>(data[0] % 4);
    ParsedPacket p;
    const ParseStatus status = parse_frame(data + 1, static_cast<uint32_t>(size - 1), link, p);
    if (status == ParseStatus::ok) {
        GtpuHeader gtpu;
        (void)parse_gtpu(data + 1, p, gtpu);
    } else if (status == ParseStatus::not_udp && p.protocol == kIpProtoTcp) {
        TcpSegment seg;
        (void)parse_tcp(data + 1, p, seg);
    }
    return 0;
}
