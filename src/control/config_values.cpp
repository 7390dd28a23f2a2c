// Value checks and conversions of the configuration: RFC 3339 times, target syntax, XIDs,
// loopback hosts, character classes and UTF-8 validity (see config_values.hpp).
#include "config_values.hpp"

#include <arpa/inet.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "liprobe/control/config.hpp"

namespace liprobe::control {
namespace detail {

bool is_hex(char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_dns_name(std::string_view s) {
    if (s.empty() || s.size() > 253 || s.front() == '.' || s.front() == '-') return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
    });
}

namespace {

// Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned days_in_month(int64_t y, unsigned m) {
    static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

std::optional<int64_t> civil_to_us(int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi,
                                   unsigned s, int64_t frac_us, int offset_minutes) {
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60)
        return std::nullopt;
    if (s == 60) s = 59;  // leap second: the nearest representable instant
    const int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
                         static_cast<int64_t>(offset_minutes) * 60;
    return secs * 1000000 + frac_us;
}

// TOML documents must be valid UTF-8 (TOML 1.0). toml11 3.7 reads past the end of its buffer on
// some invalid sequences inside strings (found by tests/fuzz/fuzz_config), so the text is checked
// here first, strictly (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
// Returns the 1-based line and column of the first bad octet, or line 0 when the text is valid.
std::pair<uint32_t, uint32_t> first_invalid_utf8(std::string_view text) {
    uint32_t line = 1, column = 1;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    for (size_t i = 0; i < n;) {
        const unsigned char lead = p[i];
        size_t len = 1;
        uint32_t min = 0, cp = lead;
        if (lead >= 0x80) {
            if ((lead & 0xE0) == 0xC0) {
                len = 2, min = 0x80, cp = lead & 0x1Fu;
            } else if ((lead & 0xF0) == 0xE0) {
                len = 3, min = 0x800, cp = lead & 0x0Fu;
            } else if ((lead & 0xF8) == 0xF0) {
                len = 4, min = 0x10000, cp = lead & 0x07u;
            } else {
                return {line, column};
            }
            if (len > n - i) return {line, column};
            for (size_t k = 1; k < len; ++k) {
                if ((p[i + k] & 0xC0) != 0x80) return {line, column};
                cp = (cp << 6) | (p[i + k] & 0x3Fu);
            }
            if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {line, column};
        }
        if (lead == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
        i += len;
    }
    return {0, 0};
}

}  // namespace detail

using detail::civil_to_us;
using detail::is_digit;
using detail::is_dns_name;
using detail::is_hex;

bool is_loopback_host(const std::string& host) {
    if (host == "localhost") return true;
    in_addr a4;
    if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    in6_addr a6;
    if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

std::optional<int64_t> parse_rfc3339(const std::string& t) {
    // YYYY-MM-DD(T|t| )HH:MM:SS[.frac](Z|z|+HH:MM|-HH:MM)
    auto num = [&](size_t pos, size_t n) -> std::optional<unsigned> {
        if (pos + n > t.size()) return std::nullopt;
        unsigned v = 0;
        for (size_t i = pos; i < pos + n; ++i) {
            if (!is_digit(t[i])) return std::nullopt;
            v = v * 10 + static_cast<unsigned>(t[i] - '0');
        }
        return v;
    };
    const auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
               s = num(17, 2);
    if (!y || !mo || !d || !h || !mi || !s || t[4] != '-' || t[7] != '-' ||
        (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || t[13] != ':' || t[16] != ':')
        return std::nullopt;
    size_t pos = 19;
    int64_t frac_us = 0;
    if (pos < t.size() && t[pos] == '.') {
        ++pos;
        const size_t start = pos;
        int64_t scale = 100000;
        while (pos < t.size() && is_digit(t[pos])) {
            frac_us += (t[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == start) return std::nullopt;
    }
    int offset = 0;
    if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
        ++pos;
    } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
        const auto oh = num(pos + 1, 2), om = num(pos + 4, 2);
        if (!oh || !om || t[pos + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
        offset = static_cast<int>(*oh * 60 + *om) * (t[pos] == '-' ? -1 : 1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != t.size()) return std::nullopt;
    return civil_to_us(*y, *mo, *d, *h, *mi, *s, frac_us, offset);
}

std::optional<std::string> target_problem(const std::string& target) {
    const size_t colon = target.find(':');
    std::string scheme = colon == std::string::npos ? "" : target.substr(0, colon);
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string rest = colon == std::string::npos ? "" : target.substr(colon + 1);
    if (scheme != "sip" && scheme != "sips" && scheme != "tel") return "not a SIP or tel URI";
    if (!std::all_of(rest.begin(), rest.end(),
                     [](char c) { return static_cast<unsigned char>(c) > 0x20 && c != 0x7f; }))
        return "contains spaces or control characters";
    if (scheme == "tel") {
        const std::string number = rest.substr(0, rest.find(';'));
        size_t digits = 0;
        bool valid = !number.empty() && number[0] == '+';
        for (size_t i = 1; valid && i < number.size(); ++i) {
            if (is_digit(number[i]))
                ++digits;
            else if (std::string_view("-.()").find(number[i]) == std::string_view::npos)
                valid = false;
        }
        if (!valid || digits < 1 || digits > 15)
            return "tel URI is not a global E.164 number (+ and 1 to 15 digits)";
        return std::nullopt;
    }
    const size_t at = rest.find('@');
    if (at == 0) return "SIP URI with an empty user part";
    std::string host = at == std::string::npos ? rest : rest.substr(at + 1);
    host = host.substr(0, host.find_first_of(";?"));
    if (!host.empty() && host.front() == '[') {
        const size_t close = host.find(']');
        in6_addr a6;
        if (close == std::string::npos ||
            inet_pton(AF_INET6, host.substr(1, close - 1).c_str(), &a6) != 1)
            return "SIP URI with an invalid host";
        return std::nullopt;
    }
    host = host.substr(0, host.find(':'));
    if (host.empty()) return "SIP URI without a host";
    if (!is_dns_name(host)) return "SIP URI with an invalid host";
    return std::nullopt;
}

std::array<uint8_t, 16> derive_xid(const std::string& liid) {
    std::string input = "liprobe-xid";
    input.push_back('\0');
    input += liid;
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const uint8_t*>(input.data()), input.size(), digest);
    std::array<uint8_t, 16> xid{};
    std::copy(digest, digest + 16, xid.begin());
    xid[6] = static_cast<uint8_t>((xid[6] & 0x0f) | 0x80);  // version 8 (RFC 9562)
    xid[8] = static_cast<uint8_t>((xid[8] & 0x3f) | 0x80);  // variant 10
    return xid;
}

std::string xid_text(const std::array<uint8_t, 16>& xid) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < xid.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out.push_back(kHex[xid[i] >> 4]);
        out.push_back(kHex[xid[i] & 15]);
    }
    return out;
}

}  // namespace liprobe::control
