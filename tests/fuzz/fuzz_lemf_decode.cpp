// libFuzzer harness: liprobe-lemf's decoders (ETSI TS 102 232 BER and TS 103 221-2 X3). The
// first octet picks the format.
#include <cstddef>
#include <cstdint>
#include <string>

#include "liprobe/export/decode.hpp"

using namespace liprobe::exporter;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const Format format = (data[0] & 1) ? Format::x3 : Format::etsi102232;
    DecodedPdu pdu;
    std::string error;
    (void)decode_pdu(format, data + 1, size - 1, pdu, error);
    return 0;
}
