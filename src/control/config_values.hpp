// Value checks and conversions of the configuration that stand apart from the TOML walk
// (config.cpp): character classes, civil time, UTF-8 validity. Internal to src/control.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace liprobe::control::detail {

bool is_hex(char c);
bool is_digit(char c);
// Letters, digits, dots and hyphens, 1..253 octets, not starting with a dot or hyphen.
bool is_dns_name(std::string_view s);
// Microseconds since 1970 of a civil date and time at a UTC offset; nullopt when out of range.
std::optional<int64_t> civil_to_us(int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi,
                                   unsigned s, int64_t frac_us, int offset_minutes);
// 1-based line and column of the first octet that is not valid UTF-8 (RFC 3629), or line 0.
std::pair<uint32_t, uint32_t> first_invalid_utf8(std::string_view text);

}  // namespace liprobe::control::detail
