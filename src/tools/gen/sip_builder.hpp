// Text of the signalling liprobe-gen writes: MIKEY-SAKKE I_MESSAGEs (structurally valid, random
// SED and signature: nobody can or needs to decrypt them), SDP offers/answers, the MCPTT
// mcptt-info XML body and SIP messages with a correct Content-Length.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"

namespace liprobe::gen {

struct MikeyIMessage {
    uint32_t csb_id = 0;               // PCK-ID (private call)
    uint64_t ntp_utc = 0;              // T payload
    Bytes rand;                        // 16 octets: the RAND the PCK was derived with
    std::string initiator, responder;  // IDRi / IDRr (MCPTT IDs)
    std::string kms;                   // IDRkmsi / IDRkmsr
};
// HDR(type 26, PRF 1, #CS 0, map type 1) T RAND IDRi IDRr IDRkmsi IDRkmsr SP SAKKE SIGN.
Bytes mikey_sakke_i_message(const MikeyIMessage& m, Random& rng);

struct SdpMedia {
    std::string address;  // c= (IPv4 or IPv6 literal)
    bool ipv6 = false;
    uint16_t port = 0;
    bool srtp = true;  // RTP/SAVP, else RTP/AVP
    bool rtcp_mux = false;
    std::string mikey_b64;  // a=key-mgmt:mikey (media level) when not empty
    // RFC 4568 SDES: one "a=crypto:" line (media level) per value, e.g.
    // "1 AES_CM_128_HMAC_SHA1_80 inline:<base64 key||salt>|2^31|1:4".
    std::vector<std::string> crypto;
};
// version: the o= session version, one more in each re-offer (RFC 3264 8: an unchanged version
// means an unchanged description).
std::string sdp(const SdpMedia& m, uint64_t session_id, uint64_t version = 1);

// <mcpttinfo><mcptt-Params>... with <mcpttURI> wrapped values; empty values left out.
std::string mcptt_info_xml(const std::string& request_uri, const std::string& calling_user_id,
                           const std::string& calling_group_id = {});

struct BodyPart {
    std::string content_type;
    std::string body;
};

struct SipText {
    std::string start_line;
    std::vector<std::pair<std::string, std::string>> headers;  // before Content-Type/-Length
    std::vector<BodyPart> parts;  // none, one (single body) or several (multipart/mixed)
    std::string boundary = "liprobe-gen-boundary";
    std::string render() const;
};

}  // namespace liprobe::gen
