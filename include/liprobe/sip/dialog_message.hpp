// Everything dialog tracking needs from one parsed SIP message, in one struct: identifiers
// (Call-ID, tags, CSeq), what the message is, its SDP media streams, the MIKEY I_MESSAGE found
// in the SDP, and the MCPTT IDs of an mcptt-info body. Dialog state itself lives in the
// dataplane. Allocation-free; views point into the message buffer.
#pragma once

#include <cstdint>
#include <string_view>

#include "liprobe/sip/mcptt_info.hpp"
#include "liprobe/sip/message.hpp"
#include "liprobe/sip/mikey.hpp"
#include "liprobe/sip/sdp.hpp"

namespace liprobe::sip {

struct DialogMessage {
    std::string_view call_id;
    bool is_request = false;
    Method method = Method::unknown;  // requests
    uint16_t status_code = 0;         // responses
    uint32_t cseq = 0;
    Method cseq_method = Method::unknown;  // for responses: which request this answers
    std::string_view from_tag, to_tag;     // to_tag empty: no dialog established yet
    const SipMessage* message = nullptr;   // the parsed message (IRI content, URIs)

    bool has_sdp = false;
    SdpError sdp_error = SdpError::ok;  // meaningful when an SDP body was present
    SdpSession sdp;

    bool has_mikey = false;  // the first a=key-mgmt:mikey of the SDP (media or session level)
    MikeyError mikey_error = MikeyError::ok;
    MikeySummary mikey;

    bool has_mcptt_info = false;
    McpttInfoError mcptt_error = McpttInfoError::ok;
    McpttIds mcptt;

    // Convenience for the dialog state machine.
    bool is_invite_request() const { return is_request && method == Method::invite; }
    bool is_final_response() const { return !is_request && status_code >= 200; }
    bool is_success() const { return !is_request && status_code >= 200 && status_code < 300; }
};

// Fills out from msg (which must stay alive). Sub-parse failures (SDP, MIKEY, XML) are recorded
// in the *_error fields, never fatal: the SIP message is still usable as IRI.
void extract_dialog_message(const SipMessage& msg, McpttInfoParser& xml, DialogMessage& out);

}  // namespace liprobe::sip
