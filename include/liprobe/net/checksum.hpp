// Internet checksums (RFC 1071) and in-place rewriting of a parsed UDP packet whose payload
// changed length (e.g. SRTP replaced by the plain RTP): IPv4 total length and header checksum,
// IPv6 payload length, UDP length and checksum over the pseudo-header. No allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "liprobe/net/parse.hpp"

namespace liprobe::net {

// Adds data to a running 32-bit ones' complement sum of big-endian 16-bit words. An odd length
// pads the last octet with zero, so only the final chunk of a sum may be odd.
uint32_t checksum_add(uint32_t sum, const uint8_t* data, size_t len);
// Folds the carries and complements: the value to store in a checksum field.
uint16_t checksum_fold(uint32_t sum);

// IPv4 header checksum of header_len octets, computed as if the checksum field were zero.
uint16_t ipv4_header_checksum(const uint8_t* header, size_t header_len);

// UDP checksum of the datagram located by p (status ok) over the IPv4/IPv6 pseudo-header, the
// UDP header (its checksum field taken as zero) and the payload. A computed 0 is returned as
// 0xFFFF (RFC 768). The pseudo-header destination is the IPv6 header's destination.
uint16_t udp_checksum(const uint8_t* frame, const ParsedPacket& p);

// True when the stored checksums verify (a zero IPv4 UDP checksum means "none" and passes).
bool ipv4_header_checksum_ok(const uint8_t* frame, const ParsedPacket& p);
bool udp_checksum_ok(const uint8_t* frame, const ParsedPacket& p);

// Recomputes the IPv4 header checksum and the UDP checksum in place. An IPv4 UDP checksum of
// zero stays zero (the sender chose none); IPv6 always gets one.
void update_checksums(uint8_t* frame, const ParsedPacket& p);

// The payload at frame + p.payload_offset now holds new_payload_len octets (the caller made
// sure the buffer holds them). Sets the IPv4 total length or IPv6 payload length, the UDP
// length, and both checksums; updates p (payload_len, l3_end). Returns the new frame length:
// everything up to the end of the new IP datagram (link padding/trailer after it is dropped),
// or 0 when p is not a whole UDP datagram or the new length does not fit the IP length field.
uint32_t set_udp_payload_length(uint8_t* frame, ParsedPacket& p, uint32_t new_payload_len);

}  // namespace liprobe::net
