// ETSI TS 103 221-2 X2/X3 PDU encoder (refs/specs.md 9).
//
// Header version: kVersion = 5, the value OpenLI (the reference open X2/X3 implementation)
// sends and accepts for the current TS 103 221-2 releases. Wireshark 4.0's li5g dissector
// ("5gli") decodes any version when the port is set with Decode As; only its TLS heuristic
// insists on version 1, so use Decode As (tcp.port==N,li5g) on decrypted captures.
//
// Layout: 40-octet fixed header, then conditional attributes { type(2) len(2) value }, then the
// payload. CC: X3 (type 2) with payload format 8 (RTP packet) for decrypted RTP, 5/6 (IPv4/IPv6
// packet) for encrypted CC; IRI: X2 (type 1) with payload format 9 (SIP message). XID from the
// warrant, correlation ID = CIN. Attributes in this order: sequence number (8, 4 octets),
// timestamp (9, seconds then nanoseconds), source/destination address (10/11 or 12/13),
// source/destination port (14/15, for UDP, TCP and SCTP), IP protocol (16), matched target
// identifier (17, when the warrant has one). Everything static is copied straight from the
// WarrantInfo (16-octet XID, target string), so there is nothing to pre-encode: encode() is
// a sequence of fixed stores and two memcpy, with no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "liprobe/export/encoder.hpp"

namespace liprobe::exporter::x3 {

inline constexpr uint16_t kVersion = 5;
inline constexpr size_t kHeaderLength = 40;

enum PduType : uint16_t { kX2 = 1, kX3 = 2, kKeepalive = 3, kKeepaliveAck = 4 };

enum PayloadFormat : uint16_t {
    kFormatNone = 0,  // keepalive
    kFormatIpv4 = 5,
    kFormatIpv6 = 6,
    kFormatRtp = 8,
    kFormatSip = 9,
};

enum PayloadDirection : uint16_t {
    kDirReserved = 0,  // keepalive
    kDirUnknown = 1,
    kDirToTarget = 2,
    kDirFromTarget = 3,
    kDirMultiple = 4,
    kDirNotApplicable = 5,
};

enum AttributeType : uint16_t {
    kAttrSequence = 8,
    kAttrTimestamp = 9,
    kAttrSrcIpv4 = 10,
    kAttrDstIpv4 = 11,
    kAttrSrcIpv6 = 12,
    kAttrDstIpv6 = 13,
    kAttrSrcPort = 14,
    kAttrDstPort = 15,
    kAttrIpProtocol = 16,
    kAttrMatchedTarget = 17,
};

// A matched target identifier longer than this makes encode() fail (returns 0).
inline constexpr size_t kMaxMatchedTarget = 1024;

uint16_t to_x_direction(Direction d);
Direction from_x_direction(uint16_t d);

class X3Encoder final : public PduEncoder {
  public:
    Format format() const override { return Format::x3; }
    size_t max_overhead() const override { return kMaxOverhead; }
    size_t encode(const Record& record, const WarrantInfo& warrant, uint32_t sequence, uint8_t* out,
                  size_t cap) override;
    size_t encode_keepalive(uint32_t sequence, int64_t time_us, uint8_t* out, size_t cap) override;
    size_t encode_keepalive_response(const uint8_t* keepalive, size_t len, uint8_t* out,
                                     size_t cap) override;

    static constexpr size_t kMaxOverhead =
        kHeaderLength + 8 + 12 + 2 * 20 + 2 * 6 + 5 + 4 + kMaxMatchedTarget;
};

}  // namespace liprobe::exporter::x3
