#include "liprobe/net/checksum.hpp"

namespace liprobe::net {
namespace {

inline void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

constexpr uint32_t kUdpHeaderLen = 8;
constexpr uint32_t kIpv6HeaderLen = 40;

// Sum of the pseudo-header (RFC 768 / RFC 8200 8.1) for a UDP datagram of udp_len octets.
uint32_t pseudo_header_sum(const uint8_t* frame, const ParsedPacket& p, uint32_t udp_len) {
    const uint8_t* ip = frame + p.l3_offset;
    uint32_t sum = 0;
    if (p.ip_version == 4) {
        sum = checksum_add(sum, ip + 12, 8);  // source and destination
    } else {
        sum = checksum_add(sum, ip + 8, 32);
    }
    sum += kIpProtoUdp;
    sum += udp_len & 0xFFFF;
    sum += udp_len >> 16;
    return sum;
}

}  // namespace

uint32_t checksum_add(uint32_t sum, const uint8_t* data, size_t len) {
    size_t i = 0;
    for (; i + 1 < len; i += 2) sum += (uint32_t{data[i]} << 8) | data[i + 1];
    if (i < len) sum += uint32_t{data[i]} << 8;
    // Keep room for more additions: fold once the top bits start filling.
    while (sum >> 28) sum = (sum & 0xFFFF) + (sum >> 16);
    return sum;
}

uint16_t checksum_fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xFFFF);
}

uint16_t ipv4_header_checksum(const uint8_t* header, size_t header_len) {
    uint32_t sum = checksum_add(0, header, 10);
    sum = checksum_add(sum, header + 12, header_len - 12);
    return checksum_fold(sum);
}

uint16_t udp_checksum(const uint8_t* frame, const ParsedPacket& p) {
    const uint32_t udp_len = kUdpHeaderLen + p.payload_len;
    const uint8_t* udp = frame + p.l4_offset;
    uint32_t sum = pseudo_header_sum(frame, p, udp_len);
    sum = checksum_add(sum, udp, 6);  // ports and length; the checksum field counts as zero
    sum = checksum_add(sum, udp + kUdpHeaderLen, p.payload_len);
    const uint16_t folded = checksum_fold(sum);
    return folded == 0 ? 0xFFFF : folded;
}

bool ipv4_header_checksum_ok(const uint8_t* frame, const ParsedPacket& p) {
    if (p.ip_version != 4) return true;
    const uint8_t* ip = frame + p.l3_offset;
    const size_t header_len = (ip[0] & 0x0F) * 4u;
    const uint16_t stored = static_cast<uint16_t>((ip[10] << 8) | ip[11]);
    return stored == ipv4_header_checksum(ip, header_len);
}

bool udp_checksum_ok(const uint8_t* frame, const ParsedPacket& p) {
    const uint8_t* udp = frame + p.l4_offset;
    const uint16_t stored = static_cast<uint16_t>((udp[6] << 8) | udp[7]);
    if (stored == 0 && p.ip_version == 4) return true;
    return stored == udp_checksum(frame, p);
}

void update_checksums(uint8_t* frame, const ParsedPacket& p) {
    uint8_t* ip = frame + p.l3_offset;
    if (p.ip_version == 4) {
        put16(ip + 10, ipv4_header_checksum(ip, (ip[0] & 0x0F) * 4u));
    }
    uint8_t* udp = frame + p.l4_offset;
    const bool no_checksum = p.ip_version == 4 && udp[6] == 0 && udp[7] == 0;
    if (!no_checksum) put16(udp + 6, udp_checksum(frame, p));
}

uint32_t set_udp_payload_length(uint8_t* frame, ParsedPacket& p, uint32_t new_payload_len) {
    if (p.status != ParseStatus::ok) return 0;
    const uint32_t udp_len = kUdpHeaderLen + new_payload_len;
    const uint32_t ip_len = p.l4_offset - p.l3_offset + udp_len;  // IP header(s) + UDP
    if (udp_len > 0xFFFF) return 0;
    uint8_t* ip = frame + p.l3_offset;
    if (p.ip_version == 4) {
        if (ip_len > 0xFFFF) return 0;
        put16(ip + 2, static_cast<uint16_t>(ip_len));
    } else {
        if (ip_len - kIpv6HeaderLen > 0xFFFF) return 0;
        put16(ip + 4, static_cast<uint16_t>(ip_len - kIpv6HeaderLen));
    }
    put16(frame + p.l4_offset + 4, static_cast<uint16_t>(udp_len));
    p.payload_len = new_payload_len;
    p.l3_end = p.l3_offset + ip_len;
    update_checksums(frame, p);
    return p.l3_end;
}

}  // namespace liprobe::net
