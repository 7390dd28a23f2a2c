// The StreamFramer for SIP over TCP: Content-Length framing by liprobe::sip::frame_message
// (RFC 3261 18.3). Header-only so that liprobe_net does not link the SIP component (net sits
// below sip); whoever includes this links liprobe_sip_dep.
#pragma once

#include <string_view>

#include "liprobe/net/tcp_reassembly.hpp"
#include "liprobe/sip/message.hpp"

namespace liprobe::net {

inline StreamFrame frame_sip_stream(const uint8_t* data, size_t len, size_t max_message) {
    const sip::FrameResult r =
        sip::frame_message(std::string_view(reinterpret_cast<const char*>(data), len), max_message);
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
            break;
    }
    return f;
}

}  // namespace liprobe::net
