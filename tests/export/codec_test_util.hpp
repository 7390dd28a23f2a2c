// Shared helpers of the codec tests: hex, sample records and warrants.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "liprobe/export/encoder.hpp"

namespace liprobe::test {

inline std::vector<uint8_t> from_hex(const std::string& hex) {
    std::vector<uint8_t> out;
    int hi = -1;
    for (char ch : hex) {
        int v;
        if (ch >= '0' && ch <= '9')
            v = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            v = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F')
            v = ch - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<uint8_t>(hi << 4 | v));
            hi = -1;
        }
    }
    return out;
}

inline std::string to_hex(const uint8_t* p, size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += d[p[i] >> 4];
        s += d[p[i] & 15];
    }
    return s;
}
inline std::string to_hex(const std::vector<uint8_t>& v) {
    return to_hex(v.data(), v.size());
}

// A record that owns its bytes.
struct OwnedRecord {
    exporter::Record rec;
    std::vector<uint8_t> bytes;
    OwnedRecord(exporter::RecordKind kind, std::vector<uint8_t> data) : bytes(std::move(data)) {
        rec.kind = kind;
        rec.data = bytes.data();
        rec.len = static_cast<uint32_t>(bytes.size());
        rec.capacity = rec.len;
    }
};

inline void set_v4(exporter::IpEndpoint& ep, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
                   uint16_t port) {
    ep = exporter::IpEndpoint{};
    ep.family = 4;
    ep.addr[0] = a;
    ep.addr[1] = b;
    ep.addr[2] = c;
    ep.addr[3] = d;
    ep.port = port;
}

inline void set_v6(exporter::IpEndpoint& ep, uint8_t last, uint16_t port) {
    ep = exporter::IpEndpoint{};
    ep.family = 6;
    ep.addr[0] = 0x20;
    ep.addr[1] = 0x01;
    ep.addr[2] = 0x0d;
    ep.addr[3] = 0xb8;
    ep.addr[15] = last;
    ep.port = port;
}

// An RTP packet: version 2, PT 96, given seq, SSRC 0x11223344, payload of n octets.
inline std::vector<uint8_t> rtp_packet(uint16_t seq, size_t payload) {
    std::vector<uint8_t> p = {0x80,
                              0x60,
                              static_cast<uint8_t>(seq >> 8),
                              static_cast<uint8_t>(seq),
                              0,
                              0,
                              0x0a,
                              0x0b,
                              0x11,
                              0x22,
                              0x33,
                              0x44};
    for (size_t i = 0; i < payload; ++i) p.push_back(static_cast<uint8_t>(i * 7 + 1));
    return p;
}

inline std::vector<uint8_t> sip_message(const std::string& first_line, size_t body = 0) {
    std::string s = first_line + "\r\nVia: SIP/2.0/UDP 192.0.2.1:5060\r\nCall-ID: abc@x\r\n";
    s += "Content-Length: " + std::to_string(body) + "\r\n\r\n" + std::string(body, 'v');
    return std::vector<uint8_t>(s.begin(), s.end());
}

}  // namespace liprobe::test
