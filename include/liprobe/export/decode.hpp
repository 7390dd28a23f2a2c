// Decoders of both delivery formats into one plain struct, for liprobe-lemf and tests.
// Control-plane code: allocates freely, bounded by the PDU's own length; malformed input gives
// an error string, never a crash or a read outside the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "liprobe/export/encoder.hpp"

namespace liprobe::exporter {

enum class PduKind : uint8_t {
    cc_rtp,
    cc_ip,
    iri_sip,
    keepalive,
    keepalive_response,
    // ETSI 102 232-1 Payload hI1-Operation [3] with a Notification (TS 101 671)
    li_activated,
    li_deactivated,
    li_modified,
    other
};
const char* pdu_kind_name(PduKind k);
const char* direction_name(Direction d);
const char* iri_type_name(IriType t);

struct DecodedPdu {
    Format format = Format::etsi102232;
    PduKind kind = PduKind::other;
    uint32_t sequence = 0;
    bool has_sequence = false;
    int64_t time_sec = 0;    // Unix seconds
    uint32_t time_nsec = 0;  // ETSI: microseconds * 1000
    bool has_time = false;
    Direction direction = Direction::indeterminate;
    bool has_direction = false;
    IriType iri_type = IriType::cont;  // ETSI IRI only
    bool has_iri_type = false;
    IpEndpoint src, dst;  // ETSI IRI: addresses; X: addresses and ports
    bool has_addresses = false;
    bool has_ports = false;
    uint8_t ip_protocol = 0;
    bool has_ip_protocol = false;
    std::vector<uint8_t> payload;  // RTP packet, IP packet or SIP message
    uint64_t cin = 0;              // ETSI CIN, or X correlation ID
    bool has_cin = false;

    // ETSI TS 102 232-1
    std::vector<uint8_t> ps_domain_id;  // OID contents octets
    std::string liid, operator_id, network_element_id, authorization_country, delivery_country;
    uint32_t timestamp_qualifier = 0;
    bool has_timestamp_qualifier = false;
    uint32_t frame_type = 0;     // IPMMCC frameType
    int32_t mmcc_protocol = -1;  // IPMMCC mMCCprotocol, -1 when absent
    // HI1-Operation Notification (kind li_activated / li_deactivated / li_modified)
    std::vector<uint8_t> hi1_domain_id;  // domainID contents octets (empty when absent)
    std::string hi1_liid, hi1_operator_id;
    std::string hi1_time;  // timeStamp as sent: utcTime "YYMMDDhhmmssZ" (or localTime text)

    // ETSI TS 103 221-2
    uint16_t x_version = 0, x_pdu_type = 0, x_payload_format = 0, x_payload_direction = 0;
    uint8_t xid[16] = {};
    std::string matched_target;

    int64_t time_us() const { return time_sec * 1000000 + time_nsec / 1000; }
};

// Decodes exactly one complete PDU of len octets (as delimited by frame_length()).
// Returns true on success; on failure false with a short reason in error.
bool decode_pdu(Format format, const uint8_t* pdu, size_t len, DecodedPdu& out, std::string& error);

}  // namespace liprobe::exporter
