// The StreamFramer for SIP over TCP: Content-Length framing by liprobe::sip::frame_message
// (RFC 3261 18.3). Header-only so that liprobe_net does not link the SIP component (net sits
// below sip); whoever includes this links liprobe_sip_dep.
#pragma once

#include <string_view>

#include "liprobe/net/tcp_reassembly.hpp"
#include "liprobe/sip/message.hpp"

namespace liprobe::net {

namespace detail {

// Header section length plus Content-Length of the message at data (after keep-alive CRLFs
// already skipped), or 0 when the header section is incomplete or has no usable length. Used
// only on the error path, to skip a too-large message exactly.
inline size_t sip_message_total_length(std::string_view m) {
    size_t pos = 0;
    uint64_t content_length = 0;
    while (pos < m.size()) {
        const size_t lf = m.find('\n', pos);
        if (lf == std::string_view::npos) return 0;
        std::string_view line = m.substr(pos, lf - pos);
        pos = lf + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) return content_length > (uint64_t{1} << 31) ? 0 : pos + content_length;
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = line.substr(0, colon);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        auto lower = [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); };
        const std::string_view kLong = "content-length";
        bool is_length = name.size() == 1 && lower(name[0]) == 'l';
        if (name.size() == kLong.size()) {
            is_length = true;
            for (size_t i = 0; i < name.size(); ++i) is_length &= lower(name[i]) == kLong[i];
        }
        if (!is_length) continue;
        uint64_t n = 0;
        for (char c : line.substr(colon + 1)) {
            if (c >= '0' && c <= '9') {
                n = n * 10 + static_cast<uint64_t>(c - '0');
                if (n > (uint64_t{1} << 32)) return 0;
            } else if (c != ' ' && c != '\t') {
                return 0;
            }
        }
        content_length = n;
    }
    return 0;
}

}  // namespace detail

inline StreamFrame frame_sip_stream(const uint8_t* data, size_t len, size_t max_message) {
    const std::string_view stream(reinterpret_cast<const char*>(data), len);
    const sip::FrameResult r = sip::frame_message(stream, max_message);
    StreamFrame f;
    f.skipped = r.skipped;
    f.length = r.length;
    switch (r.status) {
        case sip::FrameStatus::complete:
            f.status = StreamFrameStatus::complete;
            break;
        case sip::FrameStatus::need_more:
            f.status = StreamFrameStatus::need_more;
            break;
        case sip::FrameStatus::error:
            f.status = StreamFrameStatus::error;
            f.too_large = r.error == sip::ParseError::too_large;
            // frame_message reports a Content-Length above the bound as bad_content_length:
            // a valid but too large message when the same stream frames without the bound.
            if (r.error == sip::ParseError::bad_content_length) {
                constexpr size_t kUnbounded = size_t{1} << 30;
                f.too_large =
                    sip::frame_message(stream, kUnbounded).status != sip::FrameStatus::error;
            }
            // Its whole length, when known, lets the stream skip it exactly.
            if (f.too_large) f.length = detail::sip_message_total_length(stream.substr(r.skipped));
            break;
    }
    return f;
}

}  // namespace liprobe::net
