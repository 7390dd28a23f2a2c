// MIKEY (RFC 3830, RFC 6043, RFC 6509) I_MESSAGE parsing for a passive observer: the common
// header with its CS ID map (SRTP-ID, empty, GENERIC-ID whose SPI is the MC MKI) and the payload
// chain (T, RAND, IDR, ID, SP, SAKKE, General Extension, SIGN, and the PSK/PK payloads whose
// length is self-describing). Nothing is decrypted or verified: the probe only correlates
// keys with dialogs. Allocation-free; the views point into the caller's decoded buffer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace liprobe::sip {

enum class MikeyError : uint8_t {
    ok = 0,
    bad_base64,
    too_large,
    truncated,            // a field runs past the end of the message
    bad_version,          // HDR version != 1
    bad_map_type,         // CS ID map type other than 0, 1, 2
    bad_timestamp_type,   // T payload with an unknown TS type (length unknown)
    unsupported_payload,  // a payload whose length cannot be known (e.g. DH, CHASH)
    too_many_payloads,
    trailing_data,  // octets after the last payload
};
const char* mikey_error_name(MikeyError e);

// RFC 3830 6.1 map types.
enum class CsIdMapType : uint8_t { srtp_id = 0, empty = 1, generic_id = 2 };
// RFC 3830 6.x next-payload values (refs/specs.md 6.2).
enum class MikeyPayload : uint8_t {
    last = 0,
    kemac = 1,
    pke = 2,
    dh = 3,
    sign = 4,
    t = 5,
    id = 6,
    cert = 7,
    chash = 8,
    v = 9,
    sp = 10,
    rand = 11,
    err = 12,
    idr = 14,
    key_data = 20,
    general_ext = 21,
    sakke = 26,
};
// IDR roles (RFC 6043 6.6, RFC 6509, TS 33.180 E.7).
enum class IdRole : uint8_t {
    idri = 1,
    idrr = 2,
    idrkms = 3,
    idrpsk = 4,
    idrapp = 5,
    idrkmsi = 6,
    idrkmsr = 7,
    uid_initiator = 8,
    uid_responder = 9,
};

struct MikeyCs {
    uint8_t cs_id = 0;                      // GENERIC-ID: as given; SRTP-ID: the position, 1-based
    uint8_t prot_type = 0;                  // 0 = SRTP
    bool s_flag = false;                    // GENERIC-ID: ROC/SEQ present in session data
    uint8_t policy_no = 0;                  // SRTP-ID policy, or the first GENERIC-ID policy
    std::span<const uint8_t> policies;      // GENERIC-ID #P policy numbers
    std::span<const uint8_t> session_data;  // GENERIC-ID
    std::span<const uint8_t> spi;           // GENERIC-ID SPI: the MKI for MC
    uint32_t ssrc = 0, roc = 0;             // SRTP-ID
};

struct MikeyId {  // IDR (role from the payload) or RFC 3830 ID (role 0)
    uint8_t role = 0;
    uint8_t type = 0;  // 0 NAI, 1 URI, 2 byte string
    std::span<const uint8_t> data;
    std::string_view text() const {
        return {reinterpret_cast<const char*>(data.data()), data.size()};
    }
};

struct MikeyExtension {
    uint8_t type = 0;  // 7 = 3GPP key parameters (TS 33.180 E.6)
    std::span<const uint8_t> data;
};

inline constexpr size_t kMaxMikeyCs = 8;
inline constexpr size_t kMaxMikeyIds = 8;
inline constexpr size_t kMaxMikeyExtensions = 4;
inline constexpr size_t kMaxMikeyPayloads = 32;
inline constexpr size_t kMaxMikeyMessage = 4096;

struct MikeyMessage {
    // HDR.
    uint8_t version = 0;
    uint8_t data_type = 0;  // 26 = SAKKE msg
    bool v_flag = false;
    uint8_t prf = 0;      // 0 MIKEY-1, 1 PRF-HMAC-SHA-256
    uint32_t csb_id = 0;  // GMK: the recipient's GUK-ID; PCK: the PCK-ID
    uint8_t cs_count = 0;
    uint8_t map_type = 0;
    std::array<MikeyCs, kMaxMikeyCs> cs{};
    size_t cs_entries = 0;  // stored (<= kMaxMikeyCs; the rest are skipped)
    // Payloads, in message order.
    std::array<uint8_t, kMaxMikeyPayloads> payload_types{};
    size_t payload_count = 0;
    uint8_t ts_type = 0;
    std::span<const uint8_t> ts_value;  // T
    std::span<const uint8_t> rand;      // RAND
    std::array<MikeyId, kMaxMikeyIds> ids{};
    size_t id_count = 0;
    uint8_t sp_policy_no = 0, sp_prot_type = 0;  // first SP
    std::span<const uint8_t> sp_params;
    uint8_t sakke_params = 0, sakke_id_scheme = 0;
    std::span<const uint8_t> sakke_data;  // SED
    std::array<MikeyExtension, kMaxMikeyExtensions> extensions{};
    size_t extension_count = 0;
    bool has_sign = false;
    uint8_t sign_type = 0;  // 2 = ECCSI
    std::span<const uint8_t> signature;
    size_t length = 0;  // octets consumed (== the message size when ok)

    // First IDR with this role, or nullptr.
    const MikeyId* find_id(IdRole role) const;
};

MikeyError parse_mikey(std::span<const uint8_t> message, MikeyMessage& out);

// RFC 4648 base64 (standard alphabet; padding optional; whitespace skipped). Returns false on
// an invalid character or length, or when out is too small.
bool base64_decode(std::string_view in, std::span<uint8_t> out, size_t& out_len);

// What a dialog keeps of an I_MESSAGE, with its own storage (no views), for key correlation.
struct MikeySummary {
    struct Cs {
        uint8_t cs_id = 0;
        uint8_t prot_type = 0;
        uint8_t spi_len = 0;
        std::array<uint8_t, 16> spi{};  // the MKI (GMK-ID || GUK-ID, or PCK-ID)
        uint32_t ssrc = 0, roc = 0;
    };
    struct Id {
        uint8_t role = 0, type = 0, len = 0;
        std::array<uint8_t, 128> data{};  // truncated to 128 octets
        std::string_view text() const { return {reinterpret_cast<const char*>(data.data()), len}; }
    };
    uint8_t data_type = 0;
    uint32_t csb_id = 0;
    uint8_t map_type = 0;
    std::array<Cs, 4> cs{};
    size_t cs_count = 0;
    uint8_t rand_len = 0;
    std::array<uint8_t, 32> rand{};
    Id initiator;  // IDRi (role 1), else UID initiator (role 8)
    Id responder;  // IDRr (role 2), else UID responder (role 9)
};

// Decodes base64 (the a=key-mgmt:mikey value) and fills summary. Allocation-free (stack buffer).
MikeyError decode_mikey_summary(std::string_view base64, MikeySummary& out);

}  // namespace liprobe::sip
