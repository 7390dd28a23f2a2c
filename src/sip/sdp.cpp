#include "liprobe/sip/sdp.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "liprobe/sip/uri.hpp"

namespace liprobe::sip {
namespace {

bool parse_port(std::string_view s, uint16_t& port) {
    if (s.empty() || s.size() > 5) return false;
    uint32_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    if (v > 65535) return false;
    port = static_cast<uint16_t>(v);
    return true;
}

// Splits off the next space-separated word.
std::string_view next_word(std::string_view& s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    size_t sp = s.find_first_of(" \t");
    std::string_view w = s.substr(0, sp);
    s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp);
    return w;
}

// "IN IP4 <addr>[/ttl[/n]]" (c= value, or the tail of a=rtcp).
bool parse_connection(std::string_view v, IpAddr& out) {
    std::string_view nettype = next_word(v);
    std::string_view addrtype = next_word(v);
    std::string_view addr = next_word(v);
    if (!iequals(nettype, "IN") || addr.empty() || !trim_lws(v).empty()) return false;
    bool v6 = iequals(addrtype, "IP6");
    if (!v6 && !iequals(addrtype, "IP4")) return false;
    if (!v6) addr = addr.substr(0, addr.find('/'));  // multicast TTL / count
    out = IpAddr{};
    if (!parse_ip(addr, out)) {
        out = IpAddr{};  // an FQDN: legal, but gives no address to intercept on
        return true;
    }
    return (out.family == 6) == v6;
}

MediaDirection direction_of(std::string_view attr, MediaDirection current) {
    if (attr == "sendrecv") return MediaDirection::sendrecv;
    if (attr == "sendonly") return MediaDirection::sendonly;
    if (attr == "recvonly") return MediaDirection::recvonly;
    if (attr == "inactive") return MediaDirection::inactive;
    return current;
}

}  // namespace

bool parse_ip(std::string_view text, IpAddr& out) {
    char buf[64];
    if (text.empty() || text.size() >= sizeof(buf)) return false;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    out = IpAddr{};
    if (inet_pton(AF_INET, buf, out.bytes.data()) == 1) {
        out.family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, buf, out.bytes.data()) == 1) {
        out.family = 6;
        return true;
    }
    out = IpAddr{};
    return false;
}

const char* sdp_error_name(SdpError e) {
    switch (e) {
        case SdpError::ok:
            return "ok";
        case SdpError::empty:
            return "empty";
        case SdpError::bad_line:
            return "bad_line";
        case SdpError::bad_connection:
            return "bad_connection";
        case SdpError::bad_media:
            return "bad_media";
        case SdpError::bad_rtcp:
            return "bad_rtcp";
        case SdpError::no_media:
            return "no_media";
    }
    return "unknown";
}

SdpError parse_sdp(std::string_view body, SdpSession& out) {
    out = SdpSession{};
    if (trim_lws(body).empty()) return SdpError::empty;
    struct Pending {  // per-media facts finalised after all lines are read
        bool has_c = false;
        IpAddr c;
        bool rtcp_has_addr = false;
        IpAddr rtcp_addr;
        uint16_t rtcp_port = 0;
        bool has_direction = false;
    };
    Pending pending[kMaxMediaStreams];
    MediaStream* cur = nullptr;
    Pending* cur_p = nullptr;
    bool skipping = false;  // inside an m= section beyond kMaxMediaStreams
    size_t pos = 0;
    while (pos < body.size()) {
        size_t nl = body.find('\n', pos);
        size_t end = nl == std::string_view::npos ? body.size() : nl;
        std::string_view line = body.substr(pos, end - pos);
        pos = nl == std::string_view::npos ? body.size() : nl + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        if (line.size() < 2 || line[1] != '=') return SdpError::bad_line;
        const char type = line[0];
        std::string_view v = line.substr(2);
        if (type == 'm') {
            if (out.media_count == kMaxMediaStreams) {
                out.media_truncated = true;
                skipping = true;
                continue;
            }
            skipping = false;
            cur_p = &pending[out.media_count];
            cur = &out.media[out.media_count++];
            cur->media = next_word(v);
            std::string_view port = next_word(v);
            cur->proto = next_word(v);
            cur->formats = trim_lws(v);
            size_t slash = port.find('/');
            if (slash != std::string_view::npos) {
                uint16_t count = 0;
                if (!parse_port(port.substr(slash + 1), count) || count == 0)
                    return SdpError::bad_media;
                cur->port_count = count;
                port = port.substr(0, slash);
            }
            if (cur->media.empty() || cur->proto.empty() || !parse_port(port, cur->rtp_port))
                return SdpError::bad_media;
            cur->secure = cur->proto.find("SAVP") != std::string_view::npos;
            continue;
        }
        if (skipping) continue;
        if (type == 'c') {
            IpAddr a;
            if (!parse_connection(v, a)) return SdpError::bad_connection;
            if (cur) {
                cur_p->has_c = true;
                cur_p->c = a;
            } else {
                out.connection = a;
            }
        } else if (type == 'a') {
            size_t colon = v.find(':');
            std::string_view name = v.substr(0, colon);
            std::string_view value =
                colon == std::string_view::npos ? std::string_view{} : v.substr(colon + 1);
            if (name == "rtcp-mux") {
                if (cur) cur->rtcp_mux = true;
            } else if (name == "rtcp") {
                if (!cur) continue;  // only meaningful at media level
                std::string_view port = next_word(value);
                if (!parse_port(port, cur_p->rtcp_port) || cur_p->rtcp_port == 0)
                    return SdpError::bad_rtcp;
                cur->rtcp_attribute = true;
                if (!trim_lws(value).empty()) {
                    if (!parse_connection(value, cur_p->rtcp_addr)) return SdpError::bad_rtcp;
                    cur_p->rtcp_has_addr = cur_p->rtcp_addr.family != 0;
                }
            } else if (name == "crypto") {
                if (!cur) continue;  // RFC 4568 9.1: media level only
                if (cur->crypto_count == kMaxCryptoLines) {
                    cur->crypto_truncated = true;
                } else {
                    cur->crypto[cur->crypto_count++] = value;
                }
            } else if (name == "key-mgmt") {
                std::string_view proto = next_word(value);
                if (!iequals(proto, "mikey")) continue;
                std::string_view data = trim_lws(value);
                if (cur) {
                    cur->mikey = data;
                } else {
                    out.session_mikey = data;
                }
            } else if (colon == std::string_view::npos) {
                if (cur) {
                    cur->direction = direction_of(name, cur->direction);
                    cur_p->has_direction = true;
                } else {
                    out.direction = direction_of(name, out.direction);
                }
            }
        }
    }
    if (out.media_count == 0) return SdpError::no_media;
    for (size_t i = 0; i < out.media_count; ++i) {
        MediaStream& m = out.media[i];
        const Pending& p = pending[i];
        m.rtp_addr = p.has_c ? p.c : out.connection;
        if (!p.has_direction) m.direction = out.direction;
        if (m.mikey.empty()) m.mikey = out.session_mikey;
        if (m.rtp_port == 0) continue;
        if (m.rtcp_mux) {
            m.rtcp_addr = m.rtp_addr;
            m.rtcp_port = m.rtp_port;
        } else if (m.rtcp_attribute) {
            m.rtcp_addr = p.rtcp_has_addr ? p.rtcp_addr : m.rtp_addr;
            m.rtcp_port = p.rtcp_port;
        } else {
            m.rtcp_addr = m.rtp_addr;
            m.rtcp_port = m.rtp_port == 65535 ? 0 : static_cast<uint16_t>(m.rtp_port + 1);
        }
    }
    return SdpError::ok;
}

}  // namespace liprobe::sip
