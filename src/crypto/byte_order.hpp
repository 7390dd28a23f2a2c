// Big-endian loads and stores of packet fields, shared by the SRTP transforms of src/crypto.
#pragma once

#include <cstdint>

namespace liprobe::crypto::detail {

inline uint16_t load_be16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

inline uint32_t load_be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

inline void store_be32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

// RFC 3711 3.4: the E flag is the top bit of the SRTCP trailer, the index the other 31.
inline constexpr uint32_t kSrtcpEBit = 0x80000000u;
inline constexpr uint32_t kSrtcpIndexMask = 0x7fffffffu;

}  // namespace liprobe::crypto::detail
