// Minimal BER (X.690) helpers for the ETSI TS 102 232 encoder and decoder: definite-length
// TLV writing with minimal lengths, non-negative INTEGER contents, and a bounds-checked reader.
// Only what PS-PDUs need: single-octet identifiers when writing; the reader accepts multi-octet
// tag numbers (so unknown fields can be skipped) but never indefinite lengths.
#pragma once

#include <cstddef>
#include <cstdint>

namespace liprobe::exporter::ber {

// Identifier octets used by PS-PDUs (class | constructed | number).
inline constexpr uint8_t kSequence = 0x30;
inline constexpr uint8_t kContext = 0x80;
inline constexpr uint8_t kConstructed = 0x20;
inline constexpr uint8_t ctx(uint8_t n) {
    return kContext | n;
}  // [n] primitive
inline constexpr uint8_t ctx_cons(uint8_t n) {
    return kContext | kConstructed | n;
}  // [n] cons.

// Octets of a definite length field for a content of n octets (short form below 128).
inline constexpr size_t length_size(size_t n) {
    return n < 0x80 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : n <= 0xffffff ? 4 : 5;
}
// Octets of a whole TLV with a one-octet identifier.
inline constexpr size_t tlv_size(size_t content) {
    return 1 + length_size(content) + content;
}

// Writes the length field; returns octets written (== length_size(n)).
inline size_t write_length(uint8_t* p, size_t n) {
    const size_t ls = length_size(n);
    if (ls == 1) {
        p[0] = static_cast<uint8_t>(n);
        return 1;
    }
    p[0] = static_cast<uint8_t>(0x80 | (ls - 1));
    for (size_t i = 1; i < ls; ++i) p[i] = static_cast<uint8_t>(n >> (8 * (ls - 1 - i)));
    return ls;
}

// Writes identifier + length; returns octets written.
inline size_t write_header(uint8_t* p, uint8_t tag, size_t content) {
    p[0] = tag;
    return 1 + write_length(p + 1, content);
}

// Contents octets of a non-negative INTEGER/ENUMERATED v in minimal two's complement.
inline constexpr size_t uint_size(uint64_t v) {
    // Significant bits plus a clear sign bit, rounded up to octets: 0..127 -> 1, 128 -> 2.
    const int bits = v == 0 ? 0 : 64 - __builtin_clzll(v);
    return static_cast<size_t>(bits / 8 + 1);
}
inline size_t write_uint_content(uint8_t* p, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        const size_t shift = 8 * (n - 1 - i);
        p[i] = shift >= 64 ? 0 : static_cast<uint8_t>(v >> shift);
    }
    return n;
}
// A whole primitive INTEGER/ENUMERATED TLV with identifier tag.
inline size_t uint_tlv_size(uint64_t v) {
    return 2 + uint_size(v);
}
inline size_t write_uint_tlv(uint8_t* p, uint8_t tag, uint64_t v) {
    const size_t n = uint_size(v);
    p[0] = tag;
    p[1] = static_cast<uint8_t>(n);
    write_uint_content(p + 2, v, n);
    return 2 + n;
}

// One decoded TLV. tag_class: 0 universal, 1 application, 2 context, 3 private.
struct Tlv {
    uint8_t tag_class = 0;
    bool constructed = false;
    uint32_t number = 0;
    const uint8_t* value = nullptr;
    size_t length = 0;
    size_t header_length = 0;  // identifier + length octets
    bool is(uint8_t cls, bool cons, uint32_t num) const {
        return tag_class == cls && constructed == cons && number == num;
    }
    bool is_ctx(uint32_t num, bool cons) const { return is(2, cons, num); }
};

// Iterates the TLVs of one content area. next() returns false at the end or on error; error()
// then tells which (nullptr at a clean end). Never reads outside [data, data + len).
class Reader {
  public:
    Reader(const uint8_t* data, size_t len) : pos_(data), end_(data + len) {}
    bool at_end() const { return pos_ == end_; }
    const char* error() const { return error_; }

    bool next(Tlv& out) {
        if (pos_ == end_) return false;
        const uint8_t* p = pos_;
        const size_t avail = static_cast<size_t>(end_ - p);
        size_t i = 0;
        const uint8_t id = p[i++];
        out.tag_class = id >> 6;
        out.constructed = (id & 0x20) != 0;
        uint32_t number = id & 0x1f;
        if (number == 0x1f) {
            number = 0;
            for (int k = 0;; ++k) {
                if (i >= avail) return fail("truncated tag");
                if (k == 4) return fail("tag number too large");
                const uint8_t b = p[i++];
                number = (number << 7) | (b & 0x7f);
                if ((b & 0x80) == 0) break;
            }
        }
        out.number = number;
        if (i >= avail) return fail("truncated length");
        const uint8_t l0 = p[i++];
        size_t length = 0;
        if (l0 < 0x80) {
            length = l0;
        } else if (l0 == 0x80) {
            return fail("indefinite length not supported");
        } else {
            const size_t n = l0 & 0x7f;
            if (n > 4) return fail("length field too long");
            if (avail - i < n) return fail("truncated length");
            for (size_t k = 0; k < n; ++k) length = (length << 8) | p[i++];
        }
        if (avail - i < length) return fail("length exceeds enclosing element");
        out.value = p + i;
        out.length = length;
        out.header_length = i;
        pos_ = p + i + length;
        return true;
    }

  private:
    bool fail(const char* why) {
        error_ = why;
        pos_ = end_;
        return false;
    }
    const uint8_t* pos_;
    const uint8_t* end_;
    const char* error_ = nullptr;
};

// Unsigned value of an INTEGER/ENUMERATED content (at most 8 significant octets; a leading
// zero octet is allowed). Returns false for empty, negative or oversized contents.
inline bool read_uint(const Tlv& t, uint64_t& out) {
    if (t.length == 0 || t.length > 9) return false;
    if (t.value[0] & 0x80) return false;
    if (t.length == 9 && t.value[0] != 0) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < t.length; ++i) v = (v << 8) | t.value[i];
    out = v;
    return true;
}

}  // namespace liprobe::exporter::ber
