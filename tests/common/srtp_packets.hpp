// Test helpers shared by the SRTP suites (tests/crypto, tests/srtp): hex vectors as printed in
// the RFCs, and deterministic RTP/RTCP packets covering CSRCs, header extensions and edge sizes.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace liprobe::test {

using Bytes = std::vector<uint8_t>;

// Hex digits to octets; spaces and line breaks of copied vectors are skipped.
inline Bytes hex(std::string_view text) {
    Bytes out;
    int high = -1;
    for (char c : text) {
        int v;
        if (c >= '0' && c <= '9') {
            v = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            v = c - 'A' + 10;
        } else {
            continue;
        }
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<uint8_t>(high << 4 | v));
            high = -1;
        }
    }
    EXPECT_LT(high, 0) << "odd number of hex digits";
    return out;
}

inline void put_be16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
inline void put_be32(Bytes& b, uint32_t v) {
    put_be16(b, static_cast<uint16_t>(v >> 16));
    put_be16(b, static_cast<uint16_t>(v));
}

// RTP packet with cc CSRCs, a header extension of ext_words words when ext_words >= 0, and a
// deterministic payload.
inline Bytes make_rtp(uint16_t seq, uint32_t ssrc, unsigned cc, int ext_words, size_t payload_len) {
    Bytes p;
    p.push_back(static_cast<uint8_t>(0x80 | (ext_words >= 0 ? 0x10 : 0) | cc));
    p.push_back(static_cast<uint8_t>((seq & 1 ? 0x80 : 0) | 96));
    put_be16(p, seq);
    put_be32(p, 160u * seq);
    put_be32(p, ssrc);
    for (unsigned i = 0; i < cc; ++i) put_be32(p, 0x10000000u + i);
    if (ext_words >= 0) {
        put_be16(p, 0xbede);
        put_be16(p, static_cast<uint16_t>(ext_words));
        for (int i = 0; i < 4 * ext_words; ++i) p.push_back(static_cast<uint8_t>(0x30 + i));
    }
    for (size_t i = 0; i < payload_len; ++i) p.push_back(static_cast<uint8_t>(i * 7 + seq));
    return p;
}

// Compound RTCP: SR (no report blocks) followed by an APP packet with app_words data words.
inline Bytes make_rtcp(uint32_t ssrc, size_t app_words) {
    Bytes p = {0x80, 200, 0x00, 0x06};
    put_be32(p, ssrc);
    for (int i = 0; i < 20; ++i) p.push_back(static_cast<uint8_t>(0x50 + i));
    p.push_back(0x81);
    p.push_back(204);
    put_be16(p, static_cast<uint16_t>(2 + app_words));
    put_be32(p, ssrc);
    for (char c : std::string("TEST")) p.push_back(static_cast<uint8_t>(c));
    for (size_t i = 0; i < 4 * app_words; ++i) p.push_back(static_cast<uint8_t>(i ^ 0x5a));
    return p;
}

// Payload sizes of packet i of a cross-check run: the edges first (empty, one block and
// around it, MTU-sized), then a spread up to 1200.
inline size_t payload_size(int i) {
    static const size_t kEdges[] = {0, 1, 15, 16, 17, 1200, 1199, 160};
    if (i < 8) return kEdges[i];
    return static_cast<size_t>(i) * 37 % 1201;
}

}  // namespace liprobe::test
