// SDP (RFC 4566) for media interception: connection addresses, media lines, RTCP ports
// (RFC 3605 a=rtcp, RFC 5761 a=rtcp-mux) and key management: MIKEY (RFC 4567 a=key-mgmt:mikey)
// and SDES (RFC 4568 a=crypto). Zero-copy and allocation-free.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace liprobe::sip {

struct IpAddr {
    uint8_t family = 0;               // 0: none/unresolved (FQDN), 4 or 6
    std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4 octets, network order
    bool operator==(const IpAddr&) const = default;
};
// Parses a literal IPv4 or IPv6 address (no brackets); false otherwise.
bool parse_ip(std::string_view text, IpAddr& out);

inline constexpr size_t kMaxMediaStreams = 8;
// RFC 4568 a=crypto lines kept per media stream (an offer lists alternatives; more are counted).
inline constexpr size_t kMaxCryptoLines = 4;

enum class MediaDirection : uint8_t { sendrecv, sendonly, recvonly, inactive };

struct MediaStream {
    std::string_view media;       // "audio", "video", "application", ...
    std::string_view proto;       // "RTP/AVP", "RTP/SAVP", "UDP/TLS/RTP/SAVP", ...
    std::string_view formats;     // the rest of the m= line
    uint16_t port_count = 1;      // m=audio 49170/2 -> 2
    bool secure = false;          // proto is an SRTP profile (contains "SAVP")
    bool rtcp_mux = false;        // a=rtcp-mux
    bool rtcp_attribute = false;  // a=rtcp present
    MediaDirection direction = MediaDirection::sendrecv;
    IpAddr rtp_addr;        // media-level c=, else session-level c=
    uint16_t rtp_port = 0;  // 0: stream rejected or disabled
    // RTCP: the rtp port itself with rtcp-mux; else a=rtcp port (and its address if given);
    // else rtp_port + 1 (RFC 3550). 0 when rtp_port is 0.
    IpAddr rtcp_addr;
    uint16_t rtcp_port = 0;
    std::string_view mikey;  // base64 of a=key-mgmt:mikey, media level else session level
    // Values of the media-level a=crypto attributes (RFC 4568 5.1: media level only), in order.
    std::array<std::string_view, kMaxCryptoLines> crypto{};
    uint8_t crypto_count = 0;
    bool crypto_truncated = false;  // more than kMaxCryptoLines (the rest ignored)
};

struct SdpSession {
    IpAddr connection;               // session-level c=
    std::string_view session_mikey;  // session-level a=key-mgmt:mikey
    MediaDirection direction = MediaDirection::sendrecv;
    std::array<MediaStream, kMaxMediaStreams> media{};
    size_t media_count = 0;
    bool media_truncated = false;  // more m= lines than kMaxMediaStreams (the rest ignored)
};

enum class SdpError : uint8_t {
    ok = 0,
    empty,
    bad_line,        // not "<letter>=<value>"
    bad_connection,  // c= not "IN IP4|IP6 <address>"
    bad_media,       // m= malformed
    bad_rtcp,        // a=rtcp malformed
    no_media,
};
const char* sdp_error_name(SdpError e);

SdpError parse_sdp(std::string_view body, SdpSession& out);

}  // namespace liprobe::sip
