#include "liprobe/net/gtpu.hpp"

namespace liprobe::net {
namespace {

constexpr uint32_t kGtpuMandatoryLen = 8;
constexpr uint32_t kGtpuOptionalLen = 4;
constexpr uint8_t kFlagExtension = 0x04;
constexpr uint8_t kFlagSequence = 0x02;
constexpr uint8_t kFlagNpdu = 0x01;

}  // namespace

const char* gtpu_status_name(GtpuStatus status) {
    switch (status) {
        case GtpuStatus::ok:
            return "ok";
        case GtpuStatus::truncated:
            return "truncated";
        case GtpuStatus::bad_version:
            return "bad_version";
        case GtpuStatus::not_gpdu:
            return "not_gpdu";
        case GtpuStatus::bad_length:
            return "bad_length";
        case GtpuStatus::bad_extension:
            return "bad_extension";
    }
    return "unknown";
}

GtpuStatus parse_gtpu(const uint8_t* frame, const ParsedPacket& p, GtpuHeader& out) {
    out = GtpuHeader{};
    const uint8_t* g = frame + p.payload_offset;
    const uint32_t room = p.payload_len;
    if (room < kGtpuMandatoryLen) return GtpuStatus::truncated;
    const uint8_t flags = g[0];
    if ((flags >> 5) != 1 || (flags & 0x10) == 0) return GtpuStatus::bad_version;
    out.message_type = g[1];
    const uint32_t length = (uint32_t{g[2]} << 8) | g[3];  // octets after the mandatory header
    out.teid = (uint32_t{g[4]} << 24) | (uint32_t{g[5]} << 16) | (uint32_t{g[6]} << 8) | g[7];
    if (length > room - kGtpuMandatoryLen) return GtpuStatus::bad_length;
    const uint32_t end = kGtpuMandatoryLen + length;
    uint32_t pos = kGtpuMandatoryLen;
    if (flags & (kFlagExtension | kFlagSequence | kFlagNpdu)) {
        // The 4 optional octets are present when any of E, S, PN is set (TS 29.281 5.1).
        if (end - pos < kGtpuOptionalLen) return GtpuStatus::truncated;
        out.has_sequence = (flags & kFlagSequence) != 0;
        out.sequence = static_cast<uint16_t>((g[pos] << 8) | g[pos + 1]);
        out.n_pdu = g[pos + 2];
        uint8_t next_type = (flags & kFlagExtension) ? g[pos + 3] : 0;
        pos += kGtpuOptionalLen;
        while (next_type != 0) {
            if (out.extension_count == kMaxGtpuExtensions) return GtpuStatus::bad_extension;
            if (end - pos < 1) return GtpuStatus::bad_extension;
            const uint32_t ext_len = g[pos] * 4u;  // in 4-octet units, including itself
            if (ext_len == 0 || ext_len > end - pos) return GtpuStatus::bad_extension;
            next_type = g[pos + ext_len - 1];
            pos += ext_len;
            ++out.extension_count;
        }
    }
    if (out.message_type != kGtpuMessageGpdu) return GtpuStatus::not_gpdu;
    out.inner_offset = p.payload_offset + pos;
    out.inner_end = p.payload_offset + end;
    return GtpuStatus::ok;
}

}  // namespace liprobe::net
