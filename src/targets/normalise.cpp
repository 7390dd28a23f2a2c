#include "liprobe/targets/normalise.hpp"

#include <cstring>

namespace liprobe::targets {
namespace {

class Writer {
  public:
    Writer(char* buf, size_t cap) : buf_(buf), cap_(cap) {}
    void put(char c) {
        if (len_ < cap_) {
            buf_[len_] = c;
        } else {
            overflow_ = true;
        }
        ++len_;
    }
    void put(std::string_view s) {
        for (char c : s) put(c);
    }
    size_t result() const { return overflow_ ? 0 : len_; }
    size_t len() const { return len_; }

  private:
    char* buf_;
    size_t cap_;
    size_t len_ = 0;
    bool overflow_ = false;
};

inline char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
inline char upper(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
}
inline int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}
inline bool is_reserved(char c) {  // RFC 3261 25.1 "reserved"
    return std::strchr(";/?:@&=+$,", c) != nullptr && c != '\0';
}

// Writes the telephone number's canonical digits ("tel:" prefix included). Returns false when
// number holds anything but digits, visual separators, * # and hex digits (after a leading +).
bool write_tel(std::string_view number, Writer& w) {
    number = number.substr(0, number.find(';'));  // parameters (phone-context, isub, ...)
    if (number.empty()) return false;
    w.put("tel:");
    size_t i = 0;
    if (number[0] == '+') {
        w.put('+');
        i = 1;
    }
    size_t digits = 0;
    for (; i < number.size(); ++i) {
        char c = number[i];
        if (c == '-' || c == '.' || c == '(' || c == ')') continue;  // RFC 3966 visual separators
        if ((c >= '0' && c <= '9') || c == '*' || c == '#') {
            w.put(c);
        } else if (hex_value(c) >= 10) {
            w.put(upper(c));
        } else {
            return false;
        }
        ++digits;
    }
    return digits > 0;
}

bool looks_like_phone_number(std::string_view user) {
    user = user.substr(0, user.find(';'));
    size_t digits = 0;
    for (size_t i = 0; i < user.size(); ++i) {
        char c = user[i];
        if (c == '+' && i == 0) continue;
        if (c >= '0' && c <= '9') {
            ++digits;
            continue;
        }
        if (c == '-' || c == '.' || c == '(' || c == ')' || c == '*' || c == '#') continue;
        return false;
    }
    return digits > 0;
}

// User part with escapes of unreserved characters decoded and other escapes in upper case.
void write_user(std::string_view user, Writer& w) {
    for (size_t i = 0; i < user.size(); ++i) {
        char c = user[i];
        if (c == '%' && i + 2 < user.size() && hex_value(user[i + 1]) >= 0 &&
            hex_value(user[i + 2]) >= 0) {
            char decoded = static_cast<char>(hex_value(user[i + 1]) * 16 + hex_value(user[i + 2]));
            if (decoded != '\0' && !is_reserved(decoded) && decoded != '%') {
                w.put(decoded);
            } else {
                w.put('%');
                w.put(upper(user[i + 1]));
                w.put(upper(user[i + 2]));
            }
            i += 2;
        } else {
            w.put(c);
        }
    }
}

}  // namespace

size_t normalise_uri(const sip::Uri& uri, char* buf, size_t cap) {
    Writer w(buf, cap);
    switch (uri.scheme) {
        case sip::UriScheme::tel:
            if (!write_tel(uri.user, w)) return 0;
            return w.result();
        case sip::UriScheme::sip:
        case sip::UriScheme::sips:
            if (!uri.user.empty() && uri.has_param("user", "phone") &&
                looks_like_phone_number(uri.user)) {
                if (!write_tel(uri.user, w)) return 0;
                return w.result();
            }
            w.put("sip:");
            if (!uri.user.empty()) {
                write_user(uri.user, w);
                w.put('@');
            }
            for (char c : uri.host) w.put(lower(c));
            return w.result();
        default:
            return 0;
    }
}

size_t normalise_text(std::string_view text, char* buf, size_t cap, bool allow_bare) {
    text = sip::trim_lws(text);
    if (text.size() >= 2 && text.front() == '<' && text.back() == '>')
        text = text.substr(1, text.size() - 2);
    sip::Uri uri;
    if (sip::parse_uri(text, uri) && uri.scheme != sip::UriScheme::other)
        return normalise_uri(uri, buf, cap);
    if (!allow_bare) return 0;
    // "user@host" (no scheme) or "+4930..." (a bare number).
    if (text.find('@') != std::string_view::npos) {
        char tmp[kMaxCanonicalLength + 8];
        if (text.size() + 4 > sizeof(tmp)) return 0;
        std::memcpy(tmp, "sip:", 4);
        std::memcpy(tmp + 4, text.data(), text.size());
        sip::Uri bare;
        if (!sip::parse_uri({tmp, text.size() + 4}, bare)) return 0;
        return normalise_uri(bare, buf, cap);
    }
    if (looks_like_phone_number(text)) {
        Writer w(buf, cap);
        if (!write_tel(text, w)) return 0;
        return w.result();
    }
    return 0;
}

std::optional<std::string> normalise_identity(std::string_view text) {
    char buf[kMaxCanonicalLength];
    size_t n = normalise_text(text, buf, sizeof(buf), true);
    if (n == 0) return std::nullopt;
    return std::string(buf, n);
}

}  // namespace liprobe::targets
