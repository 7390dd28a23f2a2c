// ETSI TS 102 232-1 PS-PDU encoder (BER) with TS 102 232-5 IPMMCC / IPMMIRI payloads.
//
// Object identifiers emitted (refs/specs.md 8.2):
//  - li-psDomainId {itu-t(0) identified-organization(4) etsi(0) securityDomain(2)
//    lawfulIntercept(2) li-ps(5) genHeader(1) version17(17)}: the LI-PS-PDU module version that
//    OpenLI/libwandder emit, so every deployed OpenLI-compatible LEMF decoder accepts it; the
//    fields we use are unchanged in later module versions.
//  - iPMMCCObjId 5.5.6.2 and iPMMIRIObjId 5.5.6.1 (relative OIDs of TS 102 232-5, as OpenLI).
//
// Speed: the static part of the PSHeader (domain id, LIID, country codes, communication
// identifier with CIN) is encoded once per (warrant, CIN) into a preallocated, bounded,
// 4-way set-associative LRU cache; per PDU only lengths, sequence number and time are written.
// encode() never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "liprobe/export/encoder.hpp"

namespace liprobe::exporter::etsi {

inline constexpr uint8_t kPsDomainId[] = {0x04, 0x00, 0x02, 0x02, 0x05, 0x01, 0x11};
inline constexpr uint8_t kIpmmccObjId[] = {0x05, 0x05, 0x06, 0x02};
inline constexpr uint8_t kIpmmiriObjId[] = {0x05, 0x05, 0x06, 0x01};

// HI1 notification of a deactivated warrant (RecordKind::hi1_li_deactivated), as OpenLI sends
// it: Payload hI1-Operation [3] (TS 102 232-1), HI1-Operation liDeactivated [2] Notification
// (ETSI TS 101 671 HI1NotificationOperations) with domainID = hi1OperationId {itu-t(0)
// identified-organization(4) etsi(0) securityDomain(2) lawfulIntercept(2) hi1(0)
// notificationOperations(1) version6(6)}, lawfulInterceptionIdentifier, communicationIdentifier
// {network-Identifier {operator-Identifier}} and timeStamp utcTime. The PSHeader names the LIID
// with CIN 0 (dialog CINs start at 1) and a sequence number of its own per LIID.
inline constexpr uint8_t kHi1NotificationDomainId[] = {0x04, 0x00, 0x02, 0x02, 0x00, 0x01, 0x06};
inline constexpr uint8_t kPayloadHi1Operation = 3;  // Payload CHOICE hI1-Operation [3]
inline constexpr uint8_t kHi1LiDeactivated = 2;     // HI1-Operation CHOICE liDeactivated [2]
// HI2Operations operator-Identifier is OCTET STRING (SIZE (1..5)): the first 5 octets of
// [probe] operator_id (the PSHeader carries all of it).
inline constexpr size_t kHi1OperatorIdMax = 5;
inline constexpr size_t kUtcTimeLength = 13;  // "YYMMDDhhmmssZ"

// TS 102 232-5 FrameType / MMCCprotocol values we emit.
inline constexpr uint8_t kFrameIp = 0;
inline constexpr uint8_t kFrameRtp = 2;
inline constexpr uint8_t kMmccRtp = 0;
// TS 102 232-1 timeStampQualifier timeOfInterception.
inline constexpr uint8_t kTimeOfInterception = 1;
// IPAddress iP-assignment notKnown.
inline constexpr uint8_t kAssignmentNotKnown = 3;

// encode_keepalive() has no warrant: its PSHeader carries this LIID and CIN 0. The LEMF must
// not treat keep-alives as part of any (LIID, CIN) sequence stream.
inline constexpr std::string_view kKeepaliveLiid = "liprobe";
// Longest LIID we encode (TS 102 232-1 says 1..25; we accept more rather than truncate).
inline constexpr size_t kMaxLiid = 255;

class Etsi102232Encoder final : public PduEncoder {
  public:
    // Fails (returns false, why set) when the identity cannot be encoded: operator id 1..16,
    // network element id 0..16 octets, country code exactly 2 characters.
    static bool valid_identity(const ProbeIdentity& probe, const char** why);

    explicit Etsi102232Encoder(const ProbeIdentity& probe);

    Format format() const override { return Format::etsi102232; }
    size_t max_overhead() const override { return kMaxOverhead; }
    size_t encode(const Record& record, const WarrantInfo& warrant, uint32_t sequence, uint8_t* out,
                  size_t cap) override;
    size_t encode_keepalive(uint32_t sequence, int64_t time_us, uint8_t* out, size_t cap) override;
    size_t encode_keepalive_response(const uint8_t* keepalive, size_t len, uint8_t* out,
                                     size_t cap) override;

    // A keep-alive whose PSHeader names a given LIID and CIN (e.g. refs 8.3's example).
    size_t encode_keepalive_for(std::string_view liid, uint32_t cin, uint32_t sequence,
                                int64_t time_us, uint8_t* out, size_t cap);

    uint64_t cache_hits() const { return hits_; }
    uint64_t cache_misses() const { return misses_; }

    static constexpr size_t kMaxOverhead = 1024;
    static constexpr size_t kMaxStaticHeader = 320;
    static constexpr size_t kCacheSets = 256;
    static constexpr size_t kCacheWays = 4;

  private:
    struct CachedHeader {
        uint64_t last_use = 0;
        uint32_t warrant = 0;
        uint32_t cin = 0;
        uint16_t length = 0;  // 0: empty slot
        uint16_t liid_offset = 0;
        uint8_t liid_length = 0;
        uint8_t bytes[kMaxStaticHeader];
    };

    // Static PSHeader part for (liid, cin): returns its length (0 if the LIID is too long).
    size_t build_static_header(std::string_view liid, uint32_t cin, uint8_t* out,
                               uint16_t* liid_offset) const;
    const CachedHeader* lookup(uint32_t warrant, uint32_t cin, std::string_view liid);
    // Writes the whole PS-PDU: static header + dynamic header + payload_len octets of payload
    // written by the caller afterwards. Returns the offset where the payload starts, or 0.
    size_t write_pdu_head(const uint8_t* static_hdr, size_t static_len, uint32_t sequence,
                          int64_t time_us, size_t payload_tlv_len, uint8_t* out, size_t cap) const;
    // The PS-PDU of a RecordKind::hi1_li_deactivated record (see kHi1NotificationDomainId).
    size_t encode_li_deactivated(const Record& record, const WarrantInfo& warrant,
                                 const CachedHeader& header, uint32_t sequence, uint8_t* out,
                                 size_t cap) const;

    ProbeIdentity probe_;
    std::vector<CachedHeader> cache_;  // kCacheSets * kCacheWays, allocated once
    uint64_t clock_ = 0, hits_ = 0, misses_ = 0;
};

}  // namespace liprobe::exporter::etsi
