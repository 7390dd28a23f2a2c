// Real-looking SIP messages shared by the sip and targets tests (synthetic, written for these
// tests; addresses from the documentation ranges of RFC 5737 / RFC 3849).
#pragma once

#include <string>
#include <vector>

namespace liprobe::test {

// Joins header lines with CRLF, adds Content-Length (computed) and the body.
inline std::string sip_message(const std::vector<std::string>& lines, const std::string& body = "",
                               bool add_length = true) {
    std::string m;
    for (const auto& l : lines) m += l + "\r\n";
    if (add_length) m += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    m += "\r\n";
    m += body;
    return m;
}

inline std::string sdp_offer() {
    return "v=0\r\n"
           "o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
           "s=-\r\n"
           "c=IN IP4 192.0.2.10\r\n"
           "t=0 0\r\n"
           "m=audio 49170 RTP/AVP 0 8 97\r\n"
           "a=rtpmap:0 PCMU/8000\r\n"
           "a=rtpmap:97 iLBC/8000\r\n"
           "m=video 51372 RTP/AVP 31\r\n"
           "a=rtpmap:31 H261/90000\r\n";
}

inline std::string invite_with_sdp() {
    return sip_message(
        {"INVITE sip:bob@biloxi.example.com SIP/2.0",
         "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8", "Max-Forwards: 70",
         "To: Bob <sip:bob@biloxi.example.com>",
         "From: \"Alice, A.\" <sip:alice@atlanta.example.com>;tag=1928301774",
         "Call-ID: a84b4c76e66710@pc33.atlanta.example.com", "CSeq: 314159 INVITE",
         "Contact: <sip:alice@pc33.atlanta.example.com>",
         "P-Asserted-Identity: \"Alice\" <sip:alice@atlanta.example.com>, <tel:+1-201-555-0123>",
         "Content-Type: application/sdp"},
        sdp_offer());
}

inline std::string mcptt_info_xml() {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
           "<mcpttinfo xmlns=\"urn:3gpp:ns:mcpttInfo:1.0\">\r\n"
           "<mcptt-Params>\r\n"
           "<session-type>prearranged</session-type>\r\n"
           "<mcptt-request-uri><mcpttURI>sip:group-17@mcptt.example.org</mcpttURI>"
           "</mcptt-request-uri>\r\n"
           "<mcptt-calling-user-id><mcpttURI>sip:Carol@mcptt.example.org</mcpttURI>"
           "</mcptt-calling-user-id>\r\n"
           "</mcptt-Params>\r\n"
           "</mcpttinfo>\r\n";
}

inline std::string mcptt_multipart_invite() {
    std::string body =
        "--boundary1\r\n"
        "Content-Type: application/sdp\r\n"
        "\r\n"
        "v=0\r\n"
        "o=- 1 1 IN IP6 2001:db8::10\r\n"
        "s=-\r\n"
        "c=IN IP6 2001:db8::10\r\n"
        "t=0 0\r\n"
        "m=audio 40000 RTP/SAVP 96\r\n"
        "a=rtcp-mux\r\n"
        "a=key-mgmt:mikey ARoFARJ43KsAAQsA\r\n"
        "m=application 40002 udp MCPTT\r\n"
        "a=fmtp:MCPTT mc_queueing\r\n"
        "\r\n"
        "--boundary1\r\n"
        "Content-Type: application/vnd.3gpp.mcptt-info+xml\r\n"
        "\r\n" +
        mcptt_info_xml() + "--boundary1--\r\n";
    return sip_message(
        {"INVITE sip:mcptt-orig-part@psi.example.org SIP/2.0",
         "v: SIP/2.0/UDP [2001:db8::10]:5060;branch=z9hG4bK776asdhds",
         "f: <sip:carol@ims.example.org>;tag=887s", "t: <sip:mcptt-orig-part@psi.example.org>",
         "i: 3848276298220188511@2001:db8::10", "CSeq: 1 INVITE", "m: <sip:[2001:db8::10]:5060>",
         "P-Preferred-Service: urn:urn-7:3gpp-service.ims.icsi.mcptt",
         "c: multipart/mixed;boundary=boundary1"},
        body);
}

}  // namespace liprobe::test
