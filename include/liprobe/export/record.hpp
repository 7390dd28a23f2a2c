// What the workers hand to the exporters: one CC or IRI record, fixed header + bytes, allocated
// from a pool by the producer (no heap on the fast path) and returned to it by the exporter.
#pragma once

#include <cstdint>
#include <string>

namespace liprobe::exporter {

enum class RecordKind : uint8_t {
    cc_rtp = 0,   // decrypted (or plain) RTP packet: header as received, payload in clear
    cc_ip = 1,    // encrypted CC: the original IP packet, unchanged
    iri_sip = 2,  // one SIP message of an intercepted dialog
    // Control record, no data: the warrant (LIID) was deactivated (X1 DeactivateTask /
    // DeactivateAllTasks, a ModifyTask that drops it or its destination, a SIGHUP that removes
    // it). Queued by the control plane behind the workers' last records of that warrant, so
    // the LEMF sees it after the LIID's last CC/IRI. ETSI 102 232: an HI1-Operation
    // liDeactivated PS-PDU; TS 103 221-2 has no such PDU (the X3 encoder refuses it).
    hi1_li_deactivated = 3,
};

// ETSI TS 102 232-1 payloadDirection values.
enum class Direction : uint8_t { from_target = 0, to_target = 1, indeterminate = 2 };

// ETSI TS 102 232-1 IRIType values.
enum class IriType : uint8_t { begin = 1, end = 2, cont = 3, report = 4 };

struct IpEndpoint {
    uint8_t family = 4;  // 4 or 6
    uint8_t addr[16] = {};
    uint16_t port = 0;
};

inline constexpr uint32_t kMaxRecordBytes = 65535;

struct Record {
    RecordKind kind = RecordKind::cc_rtp;
    Direction direction = Direction::indeterminate;
    IriType iri_type = IriType::cont;
    uint8_t ip_protocol = 17;  // of the packet / SIP transport
    uint32_t warrant = 0;      // index into the exporter's WarrantInfo table
    uint32_t cin = 0;          // communicationIdentityNumber / X2/X3 correlation ID
    int64_t time_us = 0;       // Unix microseconds: time of interception
    IpEndpoint src, dst;
    uint32_t len = 0;         // octets used in data
    uint32_t capacity = 0;    // octets available in data
    uint8_t* data = nullptr;  // the payload (RTP packet, IP packet or SIP message)
};

// Per warrant, set by the control plane; the encoders read it.
struct WarrantInfo {
    std::string liid;            // 1..25 octets
    uint8_t xid[16] = {};        // TS 103 221-1 XID (UUID) for X2/X3
    std::string matched_target;  // X2/X3 "matched target identifier" (UTF-8)
};

// Per probe: HI header identities (design.md 3.2 [probe]).
struct ProbeIdentity {
    std::string operator_id;          // 1..16 octets
    std::string network_element_id;   // 1..16 octets
    std::string country_code = "XX";  // 2 letters: authorization and delivery country code
};

}  // namespace liprobe::exporter
