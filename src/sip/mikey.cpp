#include "liprobe/sip/mikey.hpp"

#include <algorithm>
#include <cstring>

namespace liprobe::sip {
namespace {

// A bounds-checked cursor over the message.
struct Cursor {
    std::span<const uint8_t> d;
    size_t off = 0;
    bool has(size_t n) const { return d.size() - off >= n; }
    uint8_t u8() { return d[off++]; }
    uint16_t u16() {
        uint16_t v = static_cast<uint16_t>(d[off] << 8 | d[off + 1]);
        off += 2;
        return v;
    }
    uint32_t u32() {
        uint32_t v = static_cast<uint32_t>(d[off]) << 24 | static_cast<uint32_t>(d[off + 1]) << 16 |
                     static_cast<uint32_t>(d[off + 2]) << 8 | d[off + 3];
        off += 4;
        return v;
    }
    std::span<const uint8_t> take(size_t n) {
        auto s = d.subspan(off, n);
        off += n;
        return s;
    }
};

constexpr int8_t kB64Invalid = -1;
constexpr int8_t kB64Skip = -2;
constexpr std::array<int8_t, 256> make_b64_table() {
    std::array<int8_t, 256> t{};
    for (auto& v : t) v = kB64Invalid;
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
    t[' '] = t['\t'] = t['\r'] = t['\n'] = kB64Skip;
    return t;
}
constexpr auto kB64 = make_b64_table();

// Payloads whose only variable part is a "length" octet.
MikeyError parse_payload(Cursor& c, uint8_t type, uint8_t& next, MikeyMessage& out) {
    auto need = [&](size_t n) { return c.has(n); };
    switch (static_cast<MikeyPayload>(type)) {
        case MikeyPayload::sign: {
            if (!need(2)) return MikeyError::truncated;
            uint8_t b0 = c.u8(), b1 = c.u8();
            out.sign_type = b0 >> 4;
            size_t len = static_cast<size_t>(b0 & 0x0f) << 8 | b1;
            if (!need(len)) return MikeyError::truncated;
            out.signature = c.take(len);
            out.has_sign = true;
            next = 0;  // SIGN is always last and has no next-payload field
            return MikeyError::ok;
        }
        case MikeyPayload::t: {
            if (!need(2)) return MikeyError::truncated;
            next = c.u8();
            out.ts_type = c.u8();
            size_t len = out.ts_type <= 1 ? 8 : out.ts_type == 2 ? 4 : 0;
            if (len == 0) return MikeyError::bad_timestamp_type;
            if (!need(len)) return MikeyError::truncated;
            out.ts_value = c.take(len);
            return MikeyError::ok;
        }
        case MikeyPayload::rand: {
            if (!need(2)) return MikeyError::truncated;
            next = c.u8();
            size_t len = c.u8();
            if (!need(len)) return MikeyError::truncated;
            out.rand = c.take(len);
            return MikeyError::ok;
        }
        case MikeyPayload::idr:
        case MikeyPayload::id: {
            bool idr = type == static_cast<uint8_t>(MikeyPayload::idr);
            if (!need(idr ? 5 : 4)) return MikeyError::truncated;
            next = c.u8();
            MikeyId id;
            id.role = idr ? c.u8() : 0;
            id.type = c.u8();
            size_t len = c.u16();
            if (!need(len)) return MikeyError::truncated;
            id.data = c.take(len);
            if (out.id_count < kMaxMikeyIds) out.ids[out.id_count++] = id;
            return MikeyError::ok;
        }
        case MikeyPayload::cert: {
            if (!need(4)) return MikeyError::truncated;
            next = c.u8();
            c.u8();
            size_t len = c.u16();
            if (!need(len)) return MikeyError::truncated;
            c.take(len);
            return MikeyError::ok;
        }
        case MikeyPayload::sp: {
            if (!need(5)) return MikeyError::truncated;
            next = c.u8();
            uint8_t policy = c.u8(), prot = c.u8();
            size_t len = c.u16();
            if (!need(len)) return MikeyError::truncated;
            auto params = c.take(len);
            if (out.sp_params.empty()) {
                out.sp_policy_no = policy;
                out.sp_prot_type = prot;
                out.sp_params = params;
            }
            return MikeyError::ok;
        }
        case MikeyPayload::sakke: {
            if (!need(5)) return MikeyError::truncated;
            next = c.u8();
            out.sakke_params = c.u8();
            out.sakke_id_scheme = c.u8();
            size_t len = c.u16();
            if (!need(len)) return MikeyError::truncated;
            out.sakke_data = c.take(len);
            return MikeyError::ok;
        }
        case MikeyPayload::general_ext: {
            if (!need(4)) return MikeyError::truncated;
            next = c.u8();
            MikeyExtension ext;
            ext.type = c.u8();
            size_t len = c.u16();
            if (!need(len)) return MikeyError::truncated;
            ext.data = c.take(len);
            if (out.extension_count < kMaxMikeyExtensions)
                out.extensions[out.extension_count++] = ext;
            return MikeyError::ok;
        }
        case MikeyPayload::pke: {  // next | C(2) data len(14) | data
            if (!need(3)) return MikeyError::truncated;
            next = c.u8();
            size_t len = c.u16() & 0x3fff;
            if (!need(len)) return MikeyError::truncated;
            c.take(len);
            return MikeyError::ok;
        }
        case MikeyPayload::err: {  // next | err no | reserved(16)
            if (!need(4)) return MikeyError::truncated;
            next = c.u8();
            c.take(3);
            return MikeyError::ok;
        }
        case MikeyPayload::kemac: {  // next | encr alg | len(16) | data | mac alg | MAC
            if (!need(4)) return MikeyError::truncated;
            next = c.u8();
            c.u8();
            size_t len = c.u16();
            if (!need(len + 1)) return MikeyError::truncated;
            c.take(len);
            uint8_t mac_alg = c.u8();
            size_t mac_len = mac_alg == 0 ? 0 : mac_alg == 1 ? 20 : SIZE_MAX;
            if (mac_len == SIZE_MAX) return MikeyError::unsupported_payload;
            if (!need(mac_len)) return MikeyError::truncated;
            c.take(mac_len);
            return MikeyError::ok;
        }
        case MikeyPayload::v: {  // next | auth alg | MAC
            if (!need(2)) return MikeyError::truncated;
            next = c.u8();
            uint8_t alg = c.u8();
            size_t mac_len = alg == 0 ? 0 : alg == 1 ? 20 : SIZE_MAX;
            if (mac_len == SIZE_MAX) return MikeyError::unsupported_payload;
            if (!need(mac_len)) return MikeyError::truncated;
            c.take(mac_len);
            return MikeyError::ok;
        }
        default:
            return MikeyError::unsupported_payload;
    }
}

}  // namespace

const char* mikey_error_name(MikeyError e) {
    switch (e) {
        case MikeyError::ok:
            return "ok";
        case MikeyError::bad_base64:
            return "bad_base64";
        case MikeyError::too_large:
            return "too_large";
        case MikeyError::truncated:
            return "truncated";
        case MikeyError::bad_version:
            return "bad_version";
        case MikeyError::bad_map_type:
            return "bad_map_type";
        case MikeyError::bad_timestamp_type:
            return "bad_timestamp_type";
        case MikeyError::unsupported_payload:
            return "unsupported_payload";
        case MikeyError::too_many_payloads:
            return "too_many_payloads";
        case MikeyError::trailing_data:
            return "trailing_data";
    }
    return "unknown";
}

const MikeyId* MikeyMessage::find_id(IdRole role) const {
    for (size_t i = 0; i < id_count; ++i)
        if (ids[i].role == static_cast<uint8_t>(role)) return &ids[i];
    return nullptr;
}

bool base64_decode(std::string_view in, std::span<uint8_t> out, size_t& out_len) {
    out_len = 0;
    uint32_t acc = 0;
    int bits = 0;
    size_t symbols = 0, pad = 0;
    for (char ch : in) {
        if (ch == '=') {
            ++pad;
            continue;
        }
        int8_t v = kB64[static_cast<unsigned char>(ch)];
        if (v == kB64Skip) continue;
        if (v == kB64Invalid || pad > 0) return false;  // nothing may follow padding
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        ++symbols;
        if (bits >= 8) {
            bits -= 8;
            if (out_len == out.size()) return false;
            out[out_len++] = static_cast<uint8_t>(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (symbols % 4 == 1 || pad > 2) return false;
    if (pad > 0 && (symbols + pad) % 4 != 0) return false;
    return acc == 0;  // leftover bits must be zero (canonical encoding)
}

MikeyError parse_mikey(std::span<const uint8_t> message, MikeyMessage& out) {
    out = MikeyMessage{};
    if (message.size() > kMaxMikeyMessage) return MikeyError::too_large;
    Cursor c{message};
    if (!c.has(10)) return MikeyError::truncated;
    out.version = c.u8();
    if (out.version != 1) return MikeyError::bad_version;
    out.data_type = c.u8();
    uint8_t next = c.u8();
    uint8_t vprf = c.u8();
    out.v_flag = (vprf & 0x80) != 0;
    out.prf = vprf & 0x7f;
    out.csb_id = c.u32();
    out.cs_count = c.u8();
    out.map_type = c.u8();
    switch (static_cast<CsIdMapType>(out.map_type)) {
        case CsIdMapType::srtp_id:
            for (unsigned i = 0; i < out.cs_count; ++i) {
                if (!c.has(9)) return MikeyError::truncated;
                MikeyCs cs;
                cs.cs_id = static_cast<uint8_t>(i + 1);
                cs.policy_no = c.u8();
                cs.ssrc = c.u32();
                cs.roc = c.u32();
                if (out.cs_entries < kMaxMikeyCs) out.cs[out.cs_entries++] = cs;
            }
            break;
        case CsIdMapType::empty:
            break;
        case CsIdMapType::generic_id:
            for (unsigned i = 0; i < out.cs_count; ++i) {
                if (!c.has(3)) return MikeyError::truncated;
                MikeyCs cs;
                cs.cs_id = c.u8();
                cs.prot_type = c.u8();
                uint8_t sp = c.u8();
                cs.s_flag = (sp & 0x80) != 0;
                size_t np = sp & 0x7f;
                if (!c.has(np + 2)) return MikeyError::truncated;
                cs.policies = c.take(np);
                if (np > 0) cs.policy_no = cs.policies[0];
                size_t sdl = c.u16();
                if (!c.has(sdl + 1)) return MikeyError::truncated;
                cs.session_data = c.take(sdl);
                size_t spil = c.u8();
                if (!c.has(spil)) return MikeyError::truncated;
                cs.spi = c.take(spil);
                if (out.cs_entries < kMaxMikeyCs) out.cs[out.cs_entries++] = cs;
            }
            break;
        default:
            return MikeyError::bad_map_type;
    }
    while (next != static_cast<uint8_t>(MikeyPayload::last)) {
        if (out.payload_count == kMaxMikeyPayloads) return MikeyError::too_many_payloads;
        uint8_t type = next;
        out.payload_types[out.payload_count++] = type;
        if (MikeyError e = parse_payload(c, type, next, out); e != MikeyError::ok) return e;
    }
    out.length = c.off;
    if (c.off != message.size()) return MikeyError::trailing_data;
    return MikeyError::ok;
}

MikeyError decode_mikey_summary(std::string_view base64, MikeySummary& out) {
    out = MikeySummary{};
    uint8_t buf[kMaxMikeyMessage];
    size_t len = 0;
    if (base64.size() > kMaxMikeyMessage * 4 / 3 + 8) return MikeyError::too_large;
    if (!base64_decode(base64, buf, len)) return MikeyError::bad_base64;
    MikeyMessage m;
    if (MikeyError e = parse_mikey({buf, len}, m); e != MikeyError::ok) return e;
    out.data_type = m.data_type;
    out.csb_id = m.csb_id;
    out.map_type = m.map_type;
    for (size_t i = 0; i < m.cs_entries && out.cs_count < out.cs.size(); ++i) {
        MikeySummary::Cs& cs = out.cs[out.cs_count++];
        cs.cs_id = m.cs[i].cs_id;
        cs.prot_type = m.cs[i].prot_type;
        cs.spi_len = static_cast<uint8_t>(std::min(m.cs[i].spi.size(), cs.spi.size()));
        if (cs.spi_len) std::memcpy(cs.spi.data(), m.cs[i].spi.data(), cs.spi_len);
        cs.ssrc = m.cs[i].ssrc;
        cs.roc = m.cs[i].roc;
    }
    out.rand_len = static_cast<uint8_t>(std::min(m.rand.size(), out.rand.size()));
    if (out.rand_len) std::memcpy(out.rand.data(), m.rand.data(), out.rand_len);
    auto copy_id = [](const MikeyId* id, MikeySummary::Id& dst) {
        if (!id) return;
        dst.role = id->role;
        dst.type = id->type;
        dst.len = static_cast<uint8_t>(std::min(id->data.size(), dst.data.size()));
        if (dst.len) std::memcpy(dst.data.data(), id->data.data(), dst.len);
    };
    const MikeyId* ini = m.find_id(IdRole::idri);
    copy_id(ini ? ini : m.find_id(IdRole::uid_initiator), out.initiator);
    const MikeyId* resp = m.find_id(IdRole::idrr);
    copy_id(resp ? resp : m.find_id(IdRole::uid_responder), out.responder);
    return MikeyError::ok;
}

}  // namespace liprobe::sip
