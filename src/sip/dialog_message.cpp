#include "liprobe/sip/dialog_message.hpp"

namespace liprobe::sip {

void extract_dialog_message(const SipMessage& msg, McpttInfoParser& xml, DialogMessage& out) {
    out = DialogMessage{};
    out.message = &msg;
    out.call_id = msg.call_id;
    out.is_request = msg.is_request;
    out.method = msg.method;
    out.status_code = msg.status_code;
    out.cseq = msg.cseq;
    out.cseq_method = msg.cseq_method;
    out.from_tag = msg.from.tag;
    out.to_tag = msg.to.tag;
    if (!msg.sdp.empty()) {
        out.has_sdp = true;
        out.sdp_error = parse_sdp(msg.sdp, out.sdp);
        if (out.sdp_error == SdpError::ok) {
            std::string_view mikey = out.sdp.session_mikey;
            for (size_t i = 0; mikey.empty() && i < out.sdp.media_count; ++i)
                mikey = out.sdp.media[i].mikey;
            if (!mikey.empty()) {
                out.has_mikey = true;
                out.mikey_error = decode_mikey_summary(mikey, out.mikey);
            }
        }
    }
    if (!msg.mcptt_info.empty()) {
        out.has_mcptt_info = true;
        out.mcptt_error = xml.parse(msg.mcptt_info, out.mcptt);
    }
}

}  // namespace liprobe::sip
