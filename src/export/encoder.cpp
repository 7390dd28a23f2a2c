// Format selection, encoder factory and stream framing shared by both delivery formats.
#include "liprobe/export/encoder.hpp"

#include "liprobe/export/ber.hpp"
#include "liprobe/export/etsi102232.hpp"
#include "liprobe/export/x3.hpp"

namespace liprobe::exporter {
namespace {

// No PDU we accept is larger: the biggest record is 64 KiB plus a small header. A length field
// above this means a corrupt or hostile stream, not a PDU to wait for.
constexpr size_t kMaxPduLength = 16u << 20;

long etsi_frame_length(const uint8_t* d, size_t avail) {
    if (avail < 2) return avail == 1 && d[0] != ber::kSequence ? -1 : 0;
    if (d[0] != ber::kSequence) return -1;
    size_t length = 0, header = 2;
    if (d[1] < 0x80) {
        length = d[1];
    } else {
        const size_t n = d[1] & 0x7f;
        if (n == 0 || n > 4) return -1;  // indefinite, or absurdly long length field
        if (avail < 2 + n) return 0;
        for (size_t i = 0; i < n; ++i) length = (length << 8) | d[2 + i];
        header += n;
    }
    if (length > kMaxPduLength) return -1;
    return static_cast<long>(header + length) <= static_cast<long>(avail)
               ? static_cast<long>(header + length)
               : 0;
}

long x_frame_length(const uint8_t* d, size_t avail) {
    if (avail >= 4) {
        const uint16_t type = static_cast<uint16_t>((d[2] << 8) | d[3]);
        if (type < x3::kX2 || type > x3::kKeepaliveAck) return -1;
    }
    if (avail < 12) return 0;
    const uint32_t hl =
        (uint32_t{d[4]} << 24) | (uint32_t{d[5]} << 16) | (uint32_t{d[6]} << 8) | d[7];
    const uint32_t pl =
        (uint32_t{d[8]} << 24) | (uint32_t{d[9]} << 16) | (uint32_t{d[10]} << 8) | d[11];
    if (hl < x3::kHeaderLength || hl > kMaxPduLength || pl > kMaxPduLength ||
        hl + pl > kMaxPduLength)
        return -1;
    const size_t total = size_t{hl} + pl;
    return total <= avail ? static_cast<long>(total) : 0;
}

// The TRIPayload choice number of an ETSI PS-PDU, or -1 when it has none.
int etsi_tri_choice(const uint8_t* pdu, size_t len) {
    ber::Reader outer(pdu, len);
    ber::Tlv t;
    if (!outer.next(t) || !t.is(0, true, 16)) return -1;
    ber::Reader r(t.value, t.length);
    while (r.next(t)) {
        if (!t.is_ctx(2, true)) continue;
        ber::Reader pr(t.value, t.length);
        ber::Tlv tri, inner;
        if (!pr.next(tri) || !tri.is_ctx(2, true)) return -1;
        ber::Reader ir(tri.value, tri.length);
        if (!ir.next(inner) || inner.tag_class != 2 || inner.constructed) return -1;
        return static_cast<int>(inner.number);
    }
    return -1;
}

int x_type(const uint8_t* pdu, size_t len) {
    if (len < x3::kHeaderLength) return -1;
    return (pdu[2] << 8) | pdu[3];
}

}  // namespace

bool parse_format(std::string_view text, Format& out) {
    if (text == "etsi102232") {
        out = Format::etsi102232;
        return true;
    }
    if (text == "x3") {
        out = Format::x3;
        return true;
    }
    return false;
}

const char* format_name(Format f) {
    return f == Format::x3 ? "x3" : "etsi102232";
}

std::unique_ptr<PduEncoder> PduEncoder::create(Format format, const ProbeIdentity& probe) {
    if (format == Format::x3) return std::make_unique<x3::X3Encoder>();
    // An identity that cannot be encoded gives no encoder; config validation names the field
    // (etsi::Etsi102232Encoder::valid_identity).
    if (!etsi::Etsi102232Encoder::valid_identity(probe, nullptr)) return nullptr;
    return std::make_unique<etsi::Etsi102232Encoder>(probe);
}

long frame_length(Format format, const uint8_t* data, size_t avail) {
    if (data == nullptr) return 0;
    return format == Format::x3 ? x_frame_length(data, avail) : etsi_frame_length(data, avail);
}

bool is_keepalive(Format format, const uint8_t* pdu, size_t len) {
    if (pdu == nullptr) return false;
    if (format == Format::x3) return x_type(pdu, len) == x3::kKeepalive;
    return etsi_tri_choice(pdu, len) == 3;
}

bool is_keepalive_response(Format format, const uint8_t* pdu, size_t len) {
    if (pdu == nullptr) return false;
    if (format == Format::x3) return x_type(pdu, len) == x3::kKeepaliveAck;
    return etsi_tri_choice(pdu, len) == 4;
}

}  // namespace liprobe::exporter
