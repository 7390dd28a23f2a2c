#include "sip_builder.hpp"

#include <stdexcept>

namespace liprobe::gen {
namespace {

void append16(Bytes& b, size_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}

// IDR (RFC 6043 6.6): next | role | type 1 (URI) | length(16) | data.
void append_idr(Bytes& b, uint8_t next, uint8_t role, const std::string& uri) {
    b.insert(b.end(), {next, role, 1});
    append16(b, uri.size());
    b.insert(b.end(), uri.begin(), uri.end());
}

}  // namespace

Bytes mikey_sakke_i_message(const MikeyIMessage& m, Random& rng) {
    constexpr uint8_t kT = 5, kRand = 11, kIdr = 14, kSp = 10, kSakke = 26, kSign = 4;
    if (m.rand.size() != 16) throw std::runtime_error("MIKEY RAND must be 16 octets");
    Bytes b = {1, 26, kT, 0x01};  // version 1, SAKKE msg, next T, V 0 | PRF-HMAC-SHA-256
    const Bytes csb = be32(m.csb_id);
    b.insert(b.end(), csb.begin(), csb.end());
    b.insert(b.end(), {0, 1});      // #CS 0, CS ID map type 1 (empty map: default PCK profile)
    b.insert(b.end(), {kRand, 0});  // T: NTP-UTC
    for (int shift = 56; shift >= 0; shift -= 8)
        b.push_back(static_cast<uint8_t>(m.ntp_utc >> shift));
    b.insert(b.end(), {kIdr, 16});
    b.insert(b.end(), m.rand.begin(), m.rand.end());
    append_idr(b, kIdr, 1, m.initiator);  // IDRi
    append_idr(b, kIdr, 2, m.responder);  // IDRr
    append_idr(b, kIdr, 6, m.kms);        // IDRkmsi
    append_idr(b, kSp, 7, m.kms);         // IDRkmsr
    // SP: the TS 33.180 PCK default profile (AES-GCM, 16-octet key, 12-octet salt, AES-CM PRF,
    // KDR 0, 16-octet AEAD tag); refs/specs.md 5.
    const Bytes params = {0, 1, 6, 1, 1, 16, 4, 1, 12, 5, 1, 0, 6, 1, 0, 20, 1, 16};
    b.insert(b.end(), {kSakke, 0, 0});
    append16(b, params.size());
    b.insert(b.end(), params.begin(), params.end());
    // SAKKE (RFC 6509): parameter set 1, ID scheme 2, SED = 04 || x || y || masked SSV.
    Bytes sed = rng.bytes(273);
    sed[0] = 0x04;
    b.insert(b.end(), {kSign, 1, 2});
    append16(b, sed.size());
    b.insert(b.end(), sed.begin(), sed.end());
    // SIGN: type 2 (ECCSI) in the top 4 bits, 12-bit length 129.
    const Bytes signature = rng.bytes(129);
    b.push_back(static_cast<uint8_t>(0x20 | (signature.size() >> 8)));
    b.push_back(static_cast<uint8_t>(signature.size()));
    b.insert(b.end(), signature.begin(), signature.end());
    return b;
}

std::string sdp(const SdpMedia& m, uint64_t session_id, uint64_t version) {
    const std::string ip = m.ipv6 ? "IP6 " : "IP4 ";
    std::string s = "v=0\r\n";
    s += "o=- " + std::to_string(session_id) + " " + std::to_string(version) + " IN " + ip +
         m.address + "\r\n";
    s += "s=-\r\n";
    s += "c=IN " + ip + m.address + "\r\n";
    s += "t=0 0\r\n";
    s += "m=audio " + std::to_string(m.port) + (m.srtp ? " RTP/SAVP" : " RTP/AVP") + " 0\r\n";
    s += "a=rtpmap:0 PCMU/8000\r\n";
    if (m.rtcp_mux) s += "a=rtcp-mux\r\n";
    if (!m.mikey_b64.empty()) s += "a=key-mgmt:mikey " + m.mikey_b64 + "\r\n";
    for (const std::string& line : m.crypto) s += "a=crypto:" + line + "\r\n";
    s += "a=sendrecv\r\n";
    return s;
}

std::string mcptt_info_xml(const std::string& request_uri, const std::string& calling_user_id,
                           const std::string& calling_group_id) {
    std::string x =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
        "<mcpttinfo xmlns=\"urn:3gpp:ns:mcpttInfo:1.0\">\r\n<mcptt-Params>\r\n";
    x += calling_group_id.empty() ? "<session-type>private</session-type>\r\n"
                                  : "<session-type>prearranged</session-type>\r\n";
    auto element = [&](const char* name, const std::string& value) {
        if (value.empty()) return;
        x += std::string("<") + name + "><mcpttURI>" + value + "</mcpttURI></" + name + ">\r\n";
    };
    element("mcptt-request-uri", request_uri);
    element("mcptt-calling-user-id", calling_user_id);
    element("mcptt-calling-group-id", calling_group_id);
    x += "</mcptt-Params>\r\n</mcpttinfo>\r\n";
    return x;
}

std::string SipText::render() const {
    std::string body, content_type;
    if (parts.size() == 1) {
        body = parts[0].body;
        content_type = parts[0].content_type;
    } else if (parts.size() > 1) {
        for (const BodyPart& p : parts) {
            body += "--" + boundary + "\r\nContent-Type: " + p.content_type + "\r\n\r\n" + p.body +
                    "\r\n";
        }
        body += "--" + boundary + "--\r\n";
        content_type = "multipart/mixed;boundary=" + boundary;
    }
    std::string s = start_line + "\r\n";
    for (const auto& [name, value] : headers) s += name + ": " + value + "\r\n";
    if (!content_type.empty()) s += "Content-Type: " + content_type + "\r\n";
    s += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return s;
}

}  // namespace liprobe::gen
