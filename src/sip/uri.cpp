#include "liprobe/sip/uri.hpp"

namespace liprobe::sip {
namespace {

inline bool is_lws(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Index of the first of chars in s at or after from, outside double quotes; npos if none.
size_t find_unquoted(std::string_view s, char target, size_t from = 0) {
    bool quoted = false;
    for (size_t i = from; i < s.size(); ++i) {
        char c = s[i];
        if (quoted) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                quoted = false;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == target) {
            return i;
        }
    }
    return std::string_view::npos;
}

}  // namespace

std::string_view trim_lws(std::string_view s) {
    while (!s.empty() && is_lws(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_lws(s.back())) s.remove_suffix(1);
    return s;
}

std::string_view find_param(std::string_view params, std::string_view name, bool* found) {
    if (found) *found = false;
    while (!params.empty()) {
        size_t semi = find_unquoted(params, ';');
        std::string_view item = trim_lws(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
        size_t eq = item.find('=');
        std::string_view pname = trim_lws(item.substr(0, eq));
        if (!iequals(pname, name)) continue;
        if (found) *found = true;
        if (eq == std::string_view::npos) return {};
        std::string_view v = trim_lws(item.substr(eq + 1));
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        return v;
    }
    return {};
}

bool Uri::has_param(std::string_view name, std::string_view value) const {
    bool found = false;
    std::string_view v = find_param(params, name, &found);
    return found && (value.empty() || iequals(v, value));
}

bool parse_uri(std::string_view text, Uri& out) {
    out = Uri{};
    text = trim_lws(text);
    out.text = text;
    size_t colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view scheme = text.substr(0, colon);
    for (char c : scheme) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '-' || c == '.';
        if (!ok) return false;
    }
    std::string_view rest = text.substr(colon + 1);
    if (rest.empty()) return false;
    out.scheme_text = scheme;
    if (iequals(scheme, "tel")) {
        out.scheme = UriScheme::tel;
        size_t semi = rest.find(';');
        out.user = rest.substr(0, semi);
        if (semi != std::string_view::npos) out.params = rest.substr(semi + 1);
        return !out.user.empty();
    }
    if (iequals(scheme, "sip")) {
        out.scheme = UriScheme::sip;
    } else if (iequals(scheme, "sips")) {
        out.scheme = UriScheme::sips;
    } else {
        return true;  // another scheme: only text and scheme are meaningful
    }
    // '@' is never unescaped in host, params or (valid) headers, but the user part may hold
    // ';' and '?' (user-unreserved), so the userinfo ends at the first '@'.
    size_t at = rest.find('@');
    if (at != std::string_view::npos) {
        std::string_view userinfo = rest.substr(0, at);
        size_t pw = userinfo.find(':');
        out.user = userinfo.substr(0, pw);
        if (pw != std::string_view::npos) out.password = userinfo.substr(pw + 1);
        rest = rest.substr(at + 1);
    }
    size_t host_end;
    if (!rest.empty() && rest.front() == '[') {
        size_t close = rest.find(']');
        if (close == std::string_view::npos) return false;
        host_end = close + 1;
    } else {
        host_end = rest.find_first_of(":;?");
        if (host_end == std::string_view::npos) host_end = rest.size();
    }
    out.host = rest.substr(0, host_end);
    if (out.host.empty()) return false;
    rest = rest.substr(host_end);
    if (!rest.empty() && rest.front() == ':') {
        size_t end = rest.find_first_of(";?");
        out.port = rest.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    }
    if (!rest.empty() && rest.front() == ';') {
        size_t q = rest.find('?');
        out.params = rest.substr(1, q == std::string_view::npos ? std::string_view::npos : q - 1);
        rest = q == std::string_view::npos ? std::string_view{} : rest.substr(q);
    }
    if (!rest.empty() && rest.front() == '?') out.headers = rest.substr(1);
    return true;
}

bool parse_name_addr(std::string_view value, NameAddr& out) {
    out = NameAddr{};
    value = trim_lws(value);
    if (value.empty()) return false;
    size_t lt = find_unquoted(value, '<');
    std::string_view uri_text;
    std::string_view after;
    if (lt != std::string_view::npos) {
        std::string_view display = trim_lws(value.substr(0, lt));
        if (display.size() >= 2 && display.front() == '"' && display.back() == '"')
            display = display.substr(1, display.size() - 2);
        out.display = display;
        size_t gt = value.find('>', lt + 1);
        if (gt == std::string_view::npos) return false;
        uri_text = value.substr(lt + 1, gt - lt - 1);
        after = value.substr(gt + 1);
    } else {
        // addr-spec form: any ';' parameters belong to the header, not to the URI.
        size_t semi = value.find(';');
        uri_text = value.substr(0, semi);
        after = semi == std::string_view::npos ? std::string_view{} : value.substr(semi);
    }
    if (!parse_uri(uri_text, out.uri)) return false;
    after = trim_lws(after);
    if (!after.empty() && after.front() == ';') {
        out.params = after.substr(1);
        out.tag = find_param(out.params, "tag");
    }
    return true;
}

size_t split_header_list(std::string_view value, std::string_view* out, size_t cap, bool* more) {
    if (more) *more = false;
    size_t n = 0;
    bool quoted = false;
    int angle = 0;
    size_t start = 0;
    for (size_t i = 0; i <= value.size(); ++i) {
        bool end = i == value.size();
        char c = end ? ',' : value[i];
        if (quoted) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                quoted = false;
            }
            if (!end) continue;
        }
        if (c == '"') {
            quoted = true;
        } else if (c == '<') {
            ++angle;
        } else if (c == '>') {
            if (angle > 0) --angle;
        } else if (c == ',' && (angle == 0 || end)) {
            std::string_view item = trim_lws(value.substr(start, i - start));
            start = i + 1;
            if (item.empty()) continue;
            if (n == cap) {
                if (more) *more = true;
                return n;
            }
            out[n++] = item;
        }
    }
    return n;
}

}  // namespace liprobe::sip
