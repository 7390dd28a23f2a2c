// RFC 4568 SDES: the value of one SDP "a=crypto:" attribute parsed into a structure (tag,
// crypto-suite, inline key-params with their key||salt, lifetime and MKI, session parameters).
// Parse only: nothing here installs keys. Allocation-free; the decoded keys live inside the
// structure, so a caller wipes it (wipe()) once the keys are installed or refused.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "liprobe/crypto/srtp.hpp"

namespace liprobe::sip {

// Longest key||salt of the suites parsed: AES-256 key (32) + 14-octet salt.
inline constexpr size_t kMaxSdesKeySalt = 46;
// Key-params per line (RFC 4568 allows several, each with an MKI); more are refused.
inline constexpr size_t kMaxSdesKeys = 4;
// The probe's MKI table takes up to 16-octet MKIs (keys::kMaxMkiLen); RFC 4568 allows 128.
inline constexpr size_t kMaxSdesMkiLen = 16;
// RFC 3711 / RFC 4568 6.2: an SRTP master key may protect at most 2^48 packets.
inline constexpr uint64_t kMaxSdesLifetime = uint64_t{1} << 48;

struct SdesKey {
    uint8_t key_salt[kMaxSdesKeySalt] = {};  // master key || master salt
    uint8_t key_salt_len = 0;
    uint64_t lifetime = 0;  // packets; 0 when not given
    uint64_t mki = 0;       // MKI value, sent as mki_len octets big-endian
    uint8_t mki_len = 0;    // 0: no MKI
};

struct SdesCrypto {
    uint32_t tag = 0;
    crypto::SrtpProfile suite = crypto::SrtpProfile::aes_cm_128_hmac_sha1_80;
    std::array<SdesKey, kMaxSdesKeys> keys{};
    size_t key_count = 0;
    // Session parameters (RFC 4568 6.3).
    bool unencrypted_srtp = false;
    bool unencrypted_srtcp = false;
    bool unauthenticated_srtp = false;
    bool kdr_given = false;
    uint8_t kdr = 0;   // key derivation rate 2^kdr (0..24); the probe's KDF does KDR 0 only
    uint32_t wsh = 0;  // replay window size hint; 0 when not given
    bool fec = false;  // FEC_ORDER or FEC_KEY present
};

enum class SdesError : uint8_t {
    ok = 0,
    bad_syntax,             // not "<tag> <suite> <key-params> [<session-params>]"
    bad_tag,                // tag not 1..9 digits
    unknown_suite,          // a crypto-suite this probe does not decrypt
    bad_key_method,         // key-method other than "inline"
    bad_base64,             // key||salt is not base64
    wrong_key_length,       // key||salt length does not fit the suite
    bad_lifetime,           // not a number or 2^n, < 2, or above 2^48
    bad_mki,                // not "<value>:<length>", length 0 or > 128, value wider than length
    mki_too_long,           // MKI longer than kMaxSdesMkiLen octets
    mki_inconsistent,       // several key-params without an MKI each, or of different lengths
    too_many_keys,          // more than kMaxSdesKeys key-params
    bad_session_parameter,  // KDR / WSH / FEC value malformed
    unknown_session_parameter,  // a mandatory parameter this probe does not understand
    // Parsed, but under a session parameter this probe does not decrypt with: UNENCRYPTED_SRTP,
    // UNENCRYPTED_SRTCP, UNAUTHENTICATED_SRTP, a KDR other than 0, FEC (sdes_supported()).
    unsupported_session_parameter,
};
inline constexpr size_t kSdesErrorCount = 15;
const char* sdes_error_name(SdesError e);

// Parses the attribute value after "a=crypto:" (surrounding blanks and a trailing CR are
// ignored). On any error out is wiped (no partial key material stays behind).
SdesError parse_crypto_attribute(std::string_view value, SdesCrypto& out);

// ok when the probe decrypts what c describes, else unsupported_session_parameter.
SdesError sdes_supported(const SdesCrypto& c);

// Zeroises the key material (explicit_bzero: not optimised away).
void wipe(SdesCrypto& c);

}  // namespace liprobe::sip
