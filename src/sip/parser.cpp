#include <cstring>

#include "liprobe/sip/message.hpp"

namespace liprobe::sip {
namespace {

inline bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '-':
        case '.':
        case '!':
        case '%':
        case '*':
        case '_':
        case '+':
        case '`':
        case '\'':
        case '~':
            return true;
        default:
            return false;
    }
}

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_token_char(c)) return false;
    return true;
}

inline bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Parses 1..max_digits decimal digits exactly; false on anything else.
bool parse_uint(std::string_view s, size_t max_digits, uint64_t& v) {
    if (s.empty() || s.size() > max_digits) return false;
    v = 0;
    for (char c : s) {
        if (!is_digit(c)) return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
}

std::string_view trim_sp(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Next line starting at pos (CRLF or bare LF). Returns false when no line end remains.
bool next_line(std::string_view data, size_t& pos, std::string_view& line) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) return false;
    size_t end = nl;
    if (end > pos && data[end - 1] == '\r') --end;
    line = data.substr(pos, end - pos);
    pos = nl + 1;
    return true;
}

struct HeaderName {
    std::string_view name;
    HeaderId id;
};
constexpr HeaderName kHeaderNames[] = {
    {"Call-ID", HeaderId::call_id},
    {"i", HeaderId::call_id},
    {"From", HeaderId::from},
    {"f", HeaderId::from},
    {"To", HeaderId::to},
    {"t", HeaderId::to},
    {"CSeq", HeaderId::cseq},
    {"Via", HeaderId::via},
    {"v", HeaderId::via},
    {"Contact", HeaderId::contact},
    {"m", HeaderId::contact},
    {"Content-Type", HeaderId::content_type},
    {"c", HeaderId::content_type},
    {"Content-Length", HeaderId::content_length},
    {"l", HeaderId::content_length},
    {"Content-Encoding", HeaderId::content_encoding},
    {"e", HeaderId::content_encoding},
    {"Subject", HeaderId::subject},
    {"s", HeaderId::subject},
    {"Supported", HeaderId::supported},
    {"k", HeaderId::supported},
    {"Max-Forwards", HeaderId::max_forwards},
    {"Route", HeaderId::route},
    {"Record-Route", HeaderId::record_route},
    {"P-Asserted-Identity", HeaderId::p_asserted_identity},
    {"P-Preferred-Identity", HeaderId::p_preferred_identity},
    {"P-Asserted-Service", HeaderId::p_asserted_service},
    {"P-Preferred-Service", HeaderId::p_preferred_service},
    {"Event", HeaderId::event},
    {"o", HeaderId::event},
    {"Refer-To", HeaderId::refer_to},
    {"r", HeaderId::refer_to},
    {"Referred-By", HeaderId::referred_by},
    {"b", HeaderId::referred_by},
    {"Allow-Events", HeaderId::allow_events},
    {"u", HeaderId::allow_events},
    {"Accept-Contact", HeaderId::accept_contact},
    {"a", HeaderId::accept_contact},
    {"Session-Expires", HeaderId::session_expires},
    {"x", HeaderId::session_expires},
    {"User-Agent", HeaderId::user_agent},
};

constexpr std::string_view kMethodNames[] = {
    "",          "INVITE", "ACK",     "BYE",  "CANCEL", "REGISTER", "OPTIONS", "PRACK",
    "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER",  "MESSAGE",  "UPDATE",
};

ParseError parse_start_line(std::string_view line, SipMessage& out) {
    if (istarts_with(line, "SIP/2.0 ")) {
        out.is_request = false;
        std::string_view rest = line.substr(8);
        if (rest.size() < 3 || !is_digit(rest[0]) || !is_digit(rest[1]) || !is_digit(rest[2]))
            return ParseError::bad_status_code;
        uint16_t code =
            static_cast<uint16_t>((rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0'));
        if (code < 100 || code > 699) return ParseError::bad_status_code;
        rest = rest.substr(3);
        if (!rest.empty()) {
            if (rest.front() != ' ') return ParseError::bad_status_code;
            rest = rest.substr(1);
        }
        out.status_code = code;
        out.reason = rest;
        return ParseError::ok;
    }
    out.is_request = true;
    size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return ParseError::bad_start_line;
    std::string_view method = line.substr(0, sp1);
    if (!is_token(method)) return ParseError::bad_method;
    size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return ParseError::bad_start_line;
    std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (uri.empty()) return ParseError::bad_request_uri;
    for (char c : uri)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return ParseError::bad_request_uri;
    if (!iequals(line.substr(sp2 + 1), "SIP/2.0")) return ParseError::bad_version;
    out.method_text = method;
    out.method = method_from_name(method);
    out.request_uri_text = uri;
    if (!parse_uri(uri, out.request_uri)) return ParseError::bad_request_uri;
    return ParseError::ok;
}

ParseError parse_cseq(std::string_view value, SipMessage& out) {
    size_t i = 0;
    while (i < value.size() && is_digit(value[i])) ++i;
    uint64_t n = 0;
    if (!parse_uint(value.substr(0, i), 10, n) || n > 0xffffffffull) return ParseError::bad_cseq;
    std::string_view method = trim_lws(value.substr(i));
    if (method.size() == value.size() - i || !is_token(method))  // needs LWS, then a token
        return ParseError::bad_cseq;
    out.cseq = static_cast<uint32_t>(n);
    out.cseq_method_text = method;
    out.cseq_method = method_from_name(method);
    return ParseError::ok;
}

void split_content_type(std::string_view value, std::string_view& type, std::string_view& params) {
    size_t semi = value.find(';');
    type = trim_lws(value.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : trim_lws(value.substr(semi + 1));
}

// The content type of a MIME part from its header block.
void parse_part_headers(std::string_view block, BodyPart& part) {
    size_t pos = 0;
    std::string_view line;
    std::string_view ct_value;
    size_t ct_begin = std::string_view::npos;
    bool in_ct = false;
    while (pos < block.size()) {
        size_t line_begin = pos;
        if (!next_line(block, pos, line)) {
            line = block.substr(pos);
            pos = block.size();
        }
        if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
            if (in_ct) ct_value = block.substr(ct_begin, line_begin + line.size() - ct_begin);
            continue;
        }
        in_ct = false;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = trim_sp(line.substr(0, colon));
        if (iequals(name, "Content-Type") || iequals(name, "c")) {
            in_ct = true;
            ct_begin = line_begin + colon + 1;
            ct_value = line.substr(colon + 1);
        }
    }
    split_content_type(ct_value, part.content_type, part.type_params);
}

ParseError parse_multipart(std::string_view body, std::string_view boundary, SipMessage& out) {
    if (boundary.empty() || boundary.size() > 70) return ParseError::bad_multipart;
    // Locates "--boundary" at a line start at or after from; returns the index of the "--".
    auto find_delimiter = [&](size_t from) -> size_t {
        while (from < body.size()) {
            size_t b = body.find(boundary, from);
            if (b == std::string_view::npos || b < 2) {
                if (b == std::string_view::npos) return b;
                from = b + 1;
                continue;
            }
            size_t dash = b - 2;
            if (body[dash] == '-' && body[dash + 1] == '-' && (dash == 0 || body[dash - 1] == '\n'))
                return dash;
            from = b + 1;
        }
        return std::string_view::npos;
    };
    size_t delim = find_delimiter(0);
    if (delim == std::string_view::npos) return ParseError::bad_multipart;
    while (true) {
        size_t after = delim + 2 + boundary.size();
        if (body.substr(after, 2) == "--") return ParseError::ok;  // close delimiter
        while (after < body.size() && (body[after] == ' ' || body[after] == '\t')) ++after;
        if (body.substr(after, 2) == "\r\n") {
            after += 2;
        } else if (body.substr(after, 1) == "\n") {
            after += 1;
        } else {
            return ParseError::bad_multipart;
        }
        size_t next = find_delimiter(after);
        if (next == std::string_view::npos) return ParseError::bad_multipart;
        size_t part_end = next;  // drop the line break that belongs to the delimiter
        if (part_end > after && body[part_end - 1] == '\n') --part_end;
        if (part_end > after && body[part_end - 1] == '\r') --part_end;
        if (out.part_count == kMaxBodyParts) return ParseError::too_many_parts;
        std::string_view part = body.substr(after, part_end - after);
        BodyPart& bp = out.parts[out.part_count++];
        // Part headers end at the first empty line; a part may start with it (no headers).
        size_t hdr_end, body_begin;
        if (part.substr(0, 2) == "\r\n") {
            hdr_end = 0;
            body_begin = 2;
        } else if (part.substr(0, 1) == "\n") {
            hdr_end = 0;
            body_begin = 1;
        } else if (size_t e = part.find("\r\n\r\n"); e != std::string_view::npos) {
            hdr_end = e;
            body_begin = e + 4;
            if (size_t l = part.find("\n\n"); l != std::string_view::npos && l < e) {
                hdr_end = l;
                body_begin = l + 2;
            }
        } else if (size_t l = part.find("\n\n"); l != std::string_view::npos) {
            hdr_end = l;
            body_begin = l + 2;
        } else {
            return ParseError::bad_multipart;
        }
        parse_part_headers(part.substr(0, hdr_end), bp);
        bp.body = part.substr(body_begin);
        delim = next;
    }
}

}  // namespace

const char* parse_error_name(ParseError e) {
    switch (e) {
        case ParseError::ok:
            return "ok";
        case ParseError::empty:
            return "empty";
        case ParseError::too_large:
            return "too_large";
        case ParseError::truncated_start_line:
            return "truncated_start_line";
        case ParseError::bad_start_line:
            return "bad_start_line";
        case ParseError::bad_method:
            return "bad_method";
        case ParseError::bad_request_uri:
            return "bad_request_uri";
        case ParseError::bad_version:
            return "bad_version";
        case ParseError::bad_status_code:
            return "bad_status_code";
        case ParseError::headers_truncated:
            return "headers_truncated";
        case ParseError::bad_header_line:
            return "bad_header_line";
        case ParseError::bad_header_folding:
            return "bad_header_folding";
        case ParseError::too_many_headers:
            return "too_many_headers";
        case ParseError::duplicate_header:
            return "duplicate_header";
        case ParseError::missing_call_id:
            return "missing_call_id";
        case ParseError::missing_cseq:
            return "missing_cseq";
        case ParseError::bad_cseq:
            return "bad_cseq";
        case ParseError::missing_from:
            return "missing_from";
        case ParseError::bad_from:
            return "bad_from";
        case ParseError::missing_to:
            return "missing_to";
        case ParseError::bad_to:
            return "bad_to";
        case ParseError::bad_content_length:
            return "bad_content_length";
        case ParseError::body_truncated:
            return "body_truncated";
        case ParseError::bad_multipart:
            return "bad_multipart";
        case ParseError::too_many_parts:
            return "too_many_parts";
    }
    return "unknown";
}

Method method_from_name(std::string_view name) {
    for (size_t i = 1; i < std::size(kMethodNames); ++i)
        if (kMethodNames[i] == name) return static_cast<Method>(i);
    return Method::unknown;
}

const char* method_name(Method m) {
    size_t i = static_cast<size_t>(m);
    return i < std::size(kMethodNames) && i > 0 ? kMethodNames[i].data() : "unknown";
}

HeaderId header_id_from_name(std::string_view name) {
    if (name.empty()) return HeaderId::other;
    const char first = static_cast<char>(name[0] | 0x20);  // cheap pre-check before iequals
    for (const auto& h : kHeaderNames)
        if (h.name.size() == name.size() && (h.name[0] | 0x20) == first && iequals(h.name, name))
            return h.id;
    return HeaderId::other;
}

const Header* SipMessage::find(HeaderId id) const {
    for (size_t i = 0; i < header_count; ++i)
        if (headers[i].id == id) return &headers[i];
    return nullptr;
}

ParseError parse_message(std::string_view data, SipMessage& out, const ParseLimits& limits) {
    out = SipMessage{};
    if (data.size() > limits.max_message_size) return ParseError::too_large;
    size_t pos = 0;
    // RFC 3261 7.5: CRLFs before the start line are ignored (stream keep-alives).
    while (pos < data.size() && (data[pos] == '\r' || data[pos] == '\n')) ++pos;
    if (pos == data.size()) return ParseError::empty;
    data = data.substr(pos);
    pos = 0;

    std::string_view line;
    if (!next_line(data, pos, line)) return ParseError::truncated_start_line;
    if (ParseError e = parse_start_line(line, out); e != ParseError::ok) return e;

    const size_t max_headers = limits.max_headers < kMaxHeaders ? limits.max_headers : kMaxHeaders;
    size_t value_begin = 0;  // offset of the last header's value, for folding
    while (true) {
        size_t line_begin = pos;
        if (!next_line(data, pos, line)) return ParseError::headers_truncated;
        if (line.empty()) break;
        if (line.front() == ' ' || line.front() == '\t') {
            if (out.header_count == 0) return ParseError::bad_header_folding;
            Header& last = out.headers[out.header_count - 1];
            last.value = trim_lws(data.substr(value_begin, line_begin + line.size() - value_begin));
            continue;
        }
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) return ParseError::bad_header_line;
        std::string_view name = trim_sp(line.substr(0, colon));
        if (!is_token(name)) return ParseError::bad_header_line;
        if (out.header_count == max_headers) return ParseError::too_many_headers;
        Header& h = out.headers[out.header_count++];
        h.name = name;
        h.value = trim_lws(line.substr(colon + 1));
        h.id = header_id_from_name(name);
        value_begin = line_begin + colon + 1;
    }
    const size_t body_begin = pos;

    const Header *call_id = nullptr, *cseq = nullptr, *from = nullptr, *to = nullptr,
                 *clen = nullptr, *ctype = nullptr;
    for (size_t i = 0; i < out.header_count; ++i) {
        const Header& h = out.headers[i];
        const Header** slot = nullptr;
        switch (h.id) {
            case HeaderId::call_id:
                slot = &call_id;
                break;
            case HeaderId::cseq:
                slot = &cseq;
                break;
            case HeaderId::from:
                slot = &from;
                break;
            case HeaderId::to:
                slot = &to;
                break;
            case HeaderId::content_length:
                slot = &clen;
                break;
            case HeaderId::content_type:
                slot = &ctype;
                break;
            case HeaderId::p_asserted_identity: {
                std::string_view items[kMaxIdentities];
                size_t room = kMaxIdentities - out.asserted_identity_count;
                bool more = false;
                size_t n = split_header_list(h.value, items, room, &more);
                if (more) out.asserted_identities_truncated = true;
                for (size_t k = 0; k < n; ++k) {
                    NameAddr& na = out.asserted_identities[out.asserted_identity_count];
                    if (parse_name_addr(items[k], na)) ++out.asserted_identity_count;
                }
                break;
            }
            default:
                break;
        }
        if (slot) {
            if (*slot) return ParseError::duplicate_header;
            *slot = &h;
        }
    }
    if (!call_id || call_id->value.empty()) return ParseError::missing_call_id;
    out.call_id = call_id->value;
    if (!cseq) return ParseError::missing_cseq;
    if (ParseError e = parse_cseq(cseq->value, out); e != ParseError::ok) return e;
    if (!from) return ParseError::missing_from;
    if (!parse_name_addr(from->value, out.from)) return ParseError::bad_from;
    if (!to) return ParseError::missing_to;
    if (!parse_name_addr(to->value, out.to)) return ParseError::bad_to;
    if (ctype) split_content_type(ctype->value, out.content_type, out.content_type_params);

    const size_t available = data.size() - body_begin;
    if (clen) {
        uint64_t n = 0;
        if (!parse_uint(trim_lws(clen->value), 10, n) || n > limits.max_message_size)
            return ParseError::bad_content_length;
        if (n > available) return ParseError::body_truncated;
        out.content_length = static_cast<int64_t>(n);
        out.body = data.substr(body_begin, n);
        out.trailing_octets = available - n;
    } else {
        out.body = data.substr(body_begin);
    }
    out.raw = data.substr(0, body_begin + out.body.size());

    if (!out.body.empty()) {
        if (istarts_with(out.content_type, "multipart/")) {
            std::string_view boundary = find_param(out.content_type_params, "boundary");
            if (ParseError e = parse_multipart(out.body, boundary, out); e != ParseError::ok)
                return e;
        } else {
            out.parts[0] = BodyPart{out.content_type, out.content_type_params, out.body};
            out.part_count = 1;
        }
    }
    for (size_t i = 0; i < out.part_count; ++i) {
        const BodyPart& p = out.parts[i];
        if (out.sdp.empty() && iequals(p.content_type, "application/sdp")) out.sdp = p.body;
        if (out.mcptt_info.empty() &&
            iequals(p.content_type, "application/vnd.3gpp.mcptt-info+xml"))
            out.mcptt_info = p.body;
    }
    return ParseError::ok;
}

FrameResult frame_message(std::string_view stream, size_t max_message_size) {
    FrameResult r;
    size_t pos = 0;
    while (pos < stream.size() && (stream[pos] == '\r' || stream[pos] == '\n')) ++pos;
    r.skipped = pos;
    std::string_view msg = stream.substr(pos);
    pos = 0;
    std::string_view line;
    uint64_t content_length = 0;
    bool have_length = false;
    while (true) {
        if (!next_line(msg, pos, line)) {
            if (msg.size() > max_message_size) {
                r.status = FrameStatus::error;
                r.error = ParseError::too_large;
            }
            return r;  // need_more
        }
        if (pos > max_message_size) {
            r.status = FrameStatus::error;
            r.error = ParseError::too_large;
            return r;
        }
        if (line.empty()) break;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || line.front() == ' ' || line.front() == '\t')
            continue;
        std::string_view name = trim_sp(line.substr(0, colon));
        if (!iequals(name, "Content-Length") && !iequals(name, "l")) continue;
        uint64_t n = 0;
        if (have_length || !parse_uint(trim_lws(line.substr(colon + 1)), 10, n) ||
            n > max_message_size) {
            r.status = FrameStatus::error;
            r.error = have_length ? ParseError::duplicate_header : ParseError::bad_content_length;
            return r;
        }
        have_length = true;
        content_length = n;
    }
    const uint64_t total = pos + content_length;  // RFC 3261 18.3: absent means 0 on streams
    if (total > max_message_size) {
        r.status = FrameStatus::error;
        r.error = ParseError::too_large;
        return r;
    }
    if (msg.size() < total) return r;
    r.status = FrameStatus::complete;
    r.length = static_cast<size_t>(total);
    return r;
}

}  // namespace liprobe::sip
