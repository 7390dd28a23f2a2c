// GTP-U (3GPP TS 29.281) decapsulation: the G-PDU header on UDP port 2152, its optional
// sequence number / N-PDU number / next-extension-type octets and the chain of extension
// headers, locating the inner IPv4/IPv6 packet (which parse_ip() then parses like any other).
// Fast path: no allocation, never reads outside [frame + udp payload, + payload_len).
#pragma once

#include <cstdint>

#include "liprobe/net/parse.hpp"

namespace liprobe::net {

inline constexpr uint16_t kGtpuPort = 2152;
inline constexpr uint8_t kGtpuMessageGpdu = 255;
// Bound on the extension-header chain (PDU session container, UDP port, PDCP number, ...).
inline constexpr unsigned kMaxGtpuExtensions = 8;

enum class GtpuStatus : uint8_t {
    ok = 0,
    truncated,      // payload ends inside the 8-octet header or the optional 4 octets
    bad_version,    // version != 1 or protocol type != 1 (GTP' is not GTP-U)
    not_gpdu,       // a signalling message (echo, error indication, end marker, ...)
    bad_length,     // the length field runs past the UDP payload
    bad_extension,  // extension of length 0, truncated, or more than kMaxGtpuExtensions
};
const char* gtpu_status_name(GtpuStatus status);

struct GtpuHeader {
    uint8_t message_type = 0;
    uint32_t teid = 0;
    bool has_sequence = false;
    uint16_t sequence = 0;
    uint8_t n_pdu = 0;
    uint8_t extension_count = 0;
    uint32_t inner_offset = 0;  // first octet of the inner IP packet, relative to frame
    uint32_t inner_end = 0;     // one past the T-PDU (header length field), relative to frame
};

// Parses the GTP-U header at frame + p.payload_offset of a UDP datagram p (status ok).
GtpuStatus parse_gtpu(const uint8_t* frame, const ParsedPacket& p, GtpuHeader& out);

}  // namespace liprobe::net
