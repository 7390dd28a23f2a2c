// Encoders of the two delivery formats behind one interface, used by the exporter thread.
// encode() never allocates: static header parts are cached per (warrant, CIN) by the
// implementation in preallocated storage and patched per PDU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "liprobe/export/record.hpp"

namespace liprobe::exporter {

enum class Format : uint8_t { etsi102232, x3 };
// "etsi102232" / "x3"; returns false for anything else.
bool parse_format(std::string_view text, Format& out);
const char* format_name(Format f);

// Which logical sequence-number stream a record belongs to: per (LIID, CIN), CC and IRI apart;
// HI1 notifications (CIN 0) count in a stream of their own per LIID.
enum class SeqStream : uint8_t { cc = 0, iri = 1, hi1 = 2 };
inline constexpr size_t kSeqStreams = 3;
inline SeqStream seq_stream_of(const Record& r) {
    switch (r.kind) {
        case RecordKind::iri_sip:
            return SeqStream::iri;
        case RecordKind::hi1_li_deactivated:
            return SeqStream::hi1;
        default:
            return SeqStream::cc;
    }
}

class PduEncoder {
  public:
    virtual ~PduEncoder() = default;
    static std::unique_ptr<PduEncoder> create(Format format, const ProbeIdentity& probe);

    virtual Format format() const = 0;
    // Largest PDU overhead added to a record's bytes (so out can be sized: len + overhead).
    virtual size_t max_overhead() const = 0;
    // Encodes one record as a complete PDU. Returns its length, or 0 when cap is too small.
    virtual size_t encode(const Record& record, const WarrantInfo& warrant, uint32_t sequence,
                          uint8_t* out, size_t cap) = 0;
    // A keep-alive PDU (102 232: TRIPayload keep-alive; X3: Keepalive with sequence number).
    virtual size_t encode_keepalive(uint32_t sequence, int64_t time_us, uint8_t* out,
                                    size_t cap) = 0;
    // The answer a receiver sends to a keep-alive (keep-aliveResponse / Keepalive Ack).
    virtual size_t encode_keepalive_response(const uint8_t* keepalive, size_t len, uint8_t* out,
                                             size_t cap) = 0;
};

// Stream framing, both formats: given the bytes received so far, the length of the first
// complete PDU; 0 when more bytes are needed; -1 when the stream is malformed.
long frame_length(Format format, const uint8_t* data, size_t avail);
// True when the PDU is a keep-alive response (what the exporter waits for after a keep-alive),
// or a keep-alive (what a receiver must answer).
bool is_keepalive_response(Format format, const uint8_t* pdu, size_t len);
bool is_keepalive(Format format, const uint8_t* pdu, size_t len);

}  // namespace liprobe::exporter
