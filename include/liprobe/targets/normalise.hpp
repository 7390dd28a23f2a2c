// Canonical forms of target identities (design.md 3.4), so that equal identities compare equal
// as strings:
//  - SIP/SIPS URI -> "sip:" user "@" host. RFC 3261 19.1.4 comparison: scheme and host are
//    case-insensitive (lowered), the user part is case-sensitive (kept) with escapes of
//    non-reserved characters decoded. URI parameters, headers, the password and the port are
//    ignored (a target is a person, not a transport endpoint), and sips is treated as sip
//    (same identity, secured transport).
//  - tel URI, and a SIP URI with user=phone whose user part is a telephone number -> "tel:"
//    followed by the number's digits: visual separators - . ( ) removed, a leading + kept,
//    parameters (phone-context, ...) ignored.
//  - MCPTT IDs and group IDs are SIP URIs (or tel URIs) and take the forms above.
// Allocation-free variants write into a caller's buffer (fast path); normalise_identity is the
// control-plane convenience.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "liprobe/sip/uri.hpp"

namespace liprobe::targets {

inline constexpr size_t kMaxCanonicalLength = 320;

// Writes the canonical form of uri into buf; returns its length, or 0 when uri is not a
// SIP/SIPS/tel URI with a usable identity (or the result would exceed cap).
size_t normalise_uri(const sip::Uri& uri, char* buf, size_t cap);

// As normalise_uri, from text. With allow_bare, a scheme-less "user@host" is read as a SIP URI
// and a bare "+4930..." number as a tel URI (warrant configuration may omit the scheme).
size_t normalise_text(std::string_view text, char* buf, size_t cap, bool allow_bare = false);

// Control plane: the canonical form of a warrant's target identity, or nullopt if unusable.
std::optional<std::string> normalise_identity(std::string_view text);

}  // namespace liprobe::targets
