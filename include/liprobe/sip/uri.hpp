// Zero-copy splitting of SIP/SIPS/tel URIs and of name-addr header values (From, To,
// P-Asserted-Identity). Every view points into the caller's message. No allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace liprobe::sip {

enum class UriScheme : uint8_t { other, sip, sips, tel };

struct Uri {
    std::string_view text;  // the whole URI, without angle brackets
    UriScheme scheme = UriScheme::other;
    std::string_view scheme_text;  // as written ("SIP", "tel", ...)
    std::string_view user;         // sip: user before any ':' password; tel: the number
    std::string_view password;     // sip only
    std::string_view host;         // sip only; IPv6 references keep their brackets
    std::string_view port;         // digits, may be empty
    std::string_view params;       // after the first ';' (without it), up to '?'
    std::string_view headers;      // after '?'

    // True when params holds name[=value] (name case-insensitive; value case-insensitive
    // too, which suits user=phone, transport=..., lr).
    bool has_param(std::string_view name, std::string_view value = {}) const;
};

// Splits text as a URI. Returns false when it has no "scheme:" prefix or an empty remainder.
// Schemes other than sip/sips/tel are accepted with scheme == other and only text set.
bool parse_uri(std::string_view text, Uri& out);

// From/To/P-Asserted-Identity style value: [display-name] <uri> *(;param) or addr-spec *(;param).
struct NameAddr {
    std::string_view display;  // without quotes; empty when absent
    Uri uri;
    std::string_view tag;     // the "tag" header parameter
    std::string_view params;  // header parameters after the URI (without the first ';')
};

// Returns false when no URI can be found in value.
bool parse_name_addr(std::string_view value, NameAddr& out);

// Splits a comma-separated header value at top level (commas inside quotes and <> kept).
// Returns the number of elements written (at most cap); *more is set when elements were
// left out because cap was reached. Empty elements are skipped.
size_t split_header_list(std::string_view value, std::string_view* out, size_t cap,
                         bool* more = nullptr);

// Finds parameter name in a ';'-separated parameter list (name case-insensitive); returns
// its value (unquoted if quoted) or an empty view; *found tells presence.
std::string_view find_param(std::string_view params, std::string_view name, bool* found = nullptr);

// Trims SP, HT, CR and LF (folded header values keep their CRLF inside the view).
std::string_view trim_lws(std::string_view s);
inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
        if (x != y) return false;
    }
    return true;
}

}  // namespace liprobe::sip
