// Zero-copy SIP message parser (RFC 3261): start line, headers (with compact forms and line
// folding), the headers a dialog and target matching need, and the body split into parts
// (single body or multipart/*). All views point into the caller's buffer, which must outlive
// the SipMessage. Bounded and allocation-free: fit for the fast path. Malformed input yields a
// ParseError (named by parse_error_name()), never a crash.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "liprobe/sip/uri.hpp"

namespace liprobe::sip {

enum class ParseError : uint8_t {
    ok = 0,
    empty,
    too_large,
    truncated_start_line,
    bad_start_line,
    bad_method,
    bad_request_uri,
    bad_version,
    bad_status_code,
    headers_truncated,  // no empty line ending the header section
    bad_header_line,
    bad_header_folding,
    too_many_headers,
    duplicate_header,
    missing_call_id,
    missing_cseq,
    bad_cseq,
    missing_from,
    bad_from,
    missing_to,
    bad_to,
    bad_content_length,
    body_truncated,  // fewer octets than Content-Length
    bad_multipart,
    too_many_parts,
};
const char* parse_error_name(ParseError e);

enum class Method : uint8_t {
    unknown = 0,
    invite,
    ack,
    bye,
    cancel,
    register_,
    options,
    prack,
    subscribe,
    notify,
    publish,
    info,
    refer,
    message,
    update,
};
Method method_from_name(std::string_view name);  // case-sensitive, as RFC 3261 says
const char* method_name(Method m);

enum class HeaderId : uint8_t {
    other = 0,
    call_id,
    from,
    to,
    cseq,
    via,
    contact,
    content_type,
    content_length,
    content_encoding,
    subject,
    supported,
    max_forwards,
    route,
    record_route,
    p_asserted_identity,
    p_preferred_identity,
    p_asserted_service,
    p_preferred_service,
    event,
    refer_to,
    referred_by,
    allow_events,
    accept_contact,
    session_expires,
    user_agent,
};
// Full names and compact forms (i f t v m c l e s k o r b u a x), case-insensitive.
HeaderId header_id_from_name(std::string_view name);

struct Header {
    std::string_view name;
    std::string_view value;  // trimmed; a folded value keeps its inner CRLF + whitespace
    HeaderId id = HeaderId::other;
};

struct BodyPart {
    std::string_view content_type;  // media type only ("application/sdp"), no parameters
    std::string_view type_params;   // after the first ';'
    std::string_view body;
};

inline constexpr size_t kMaxHeaders = 64;
inline constexpr size_t kMaxIdentities = 4;  // P-Asserted-Identity values kept
inline constexpr size_t kMaxBodyParts = 8;

struct ParseLimits {
    size_t max_message_size = 65535;
    size_t max_headers = kMaxHeaders;  // capped at kMaxHeaders
};

struct SipMessage {
    std::string_view raw;  // start line to end of body (leading CRLFs skipped)
    bool is_request = false;

    // Request line.
    std::string_view method_text;
    Method method = Method::unknown;
    std::string_view request_uri_text;
    Uri request_uri;  // scheme == other when not sip/sips/tel

    // Status line.
    uint16_t status_code = 0;
    std::string_view reason;

    std::array<Header, kMaxHeaders> headers{};
    size_t header_count = 0;

    std::string_view call_id;
    uint32_t cseq = 0;
    std::string_view cseq_method_text;
    Method cseq_method = Method::unknown;
    NameAddr from, to;
    std::array<NameAddr, kMaxIdentities> asserted_identities{};
    size_t asserted_identity_count = 0;
    bool asserted_identities_truncated = false;  // more values than kMaxIdentities

    std::string_view content_type;  // media type only, e.g. "multipart/mixed"
    std::string_view content_type_params;
    int64_t content_length = -1;  // -1: header absent
    std::string_view body;
    size_t trailing_octets = 0;  // octets after Content-Length (ignored, as RFC 3261 18.3 says)

    // Body parts: the body itself as one part, or each part of a multipart body.
    std::array<BodyPart, kMaxBodyParts> parts{};
    size_t part_count = 0;
    std::string_view sdp;         // first application/sdp part, empty if none
    std::string_view mcptt_info;  // first application/vnd.3gpp.mcptt-info+xml part

    // First header with this id (nullptr if none).
    const Header* find(HeaderId id) const;
    bool is_response() const { return !is_request; }
};

// Parses one message from a UDP payload or a framed TCP message. Without Content-Length the
// body is the rest of data (datagram semantics).
ParseError parse_message(std::string_view data, SipMessage& out, const ParseLimits& limits = {});

// Framing for stream transports (RFC 3261 18.3): how long the message at the start of stream is.
enum class FrameStatus : uint8_t { complete, need_more, error };
struct FrameResult {
    FrameStatus status = FrameStatus::need_more;
    size_t skipped = 0;  // leading CRLFs (keep-alives) before the message
    size_t length = 0;   // message length after skipped, when complete
    ParseError error = ParseError::ok;
};
FrameResult frame_message(std::string_view stream, size_t max_message_size = 65535);

}  // namespace liprobe::sip
