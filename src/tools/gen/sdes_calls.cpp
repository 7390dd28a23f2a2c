// liprobe-gen calls: IMS calls keyed by RFC 4568 SDES. The keys travel only in the SDP
// (a=crypto lines of the offer and the answer), never in keys.json: a probe that sees the SIP
// must take them from there. Each side's own line keys the media it sends; the answer's tag
// selects the offer's line. Media and SRTCP are protected by libsrtp2.
#include <algorithm>
#include <cctype>
#include <memory>
#include <stdexcept>

#include "calls_generator.hpp"

namespace liprobe::gen {

namespace {

using crypto::SrtpProfile;

// Every suite the probe decrypts, in the order the scenarios walk them.
constexpr SrtpProfile kSdesSuites[] = {
    SrtpProfile::aes_cm_128_hmac_sha1_80, SrtpProfile::aes_cm_128_hmac_sha1_32,
    SrtpProfile::aes_256_cm_hmac_sha1_80, SrtpProfile::aes_256_cm_hmac_sha1_32,
    SrtpProfile::aead_aes_128_gcm,        SrtpProfile::aead_aes_256_gcm};

// RFC 4568 / RFC 6188 / RFC 7714 crypto-suite names as they appear in a=crypto.
std::string sdes_suite_name(SrtpProfile p) {
    std::string name = crypto::profile_info(p).name;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return name;
}

// A suite RFC 4568 defines that the probe does not decrypt (AES in f8 mode).
constexpr const char* kUnknownSuite = "F8_128_HMAC_SHA1_80";

// The ways a bad a=crypto line is broken, by the name of the parser's refusal
// (sip::sdes_error_name), in the order sdes_bad_crypto writes them.
const std::vector<std::string>& bad_crypto_reasons() {
    static const std::vector<std::string> reasons = {"bad_base64", "wrong_key_length",
                                                     "unknown_suite", "bad_lifetime"};
    return reasons;
}

// The RTP packet index at which the re-keyed call's second offer/answer takes effect: its 200 OK
// comes 2 ms before the caller's packet rk, the re-INVITE 30 ms before that, so one packet each
// way crosses the transaction still under the old keys (RFC 4568 7.1.4: new keys once the
// answer is in).
uint32_t rekey_packet(uint32_t n) {
    return n / 2;
}
constexpr uint32_t kRekeyMinPackets = 8;

}  // namespace

// One SDES call: which suite, how the lines look, what the probe must make of it.
struct CallsGenerator::SdesCallPlan {
    std::string scenario;
    SrtpProfile suite = SrtpProfile::aes_cm_128_hmac_sha1_80;
    uint8_t mki_len = 0;  // 0: no MKI; else "|<value>:<mki_len>" on every line
    uint32_t mki_value = 1;
    bool lifetime = false;  // "|2^31" before the MKI
    bool rtcp_mux = false;
    bool ipv6 = false;         // SIP, SDP (c=IN IP6) and media over IPv6
    bool tampered = false;     // one ciphertext bit of some caller RTP packets flipped
    bool decoy_first = false;  // the offer lists another suite first: the answer's tag counts
    bool rekey = false;
    // Re-keyed calls: the caller's first packet after the re-INVITE's 200 OK was sent before
    // the caller had the answer (in flight): still under the old keys.
    bool caller_packet_in_flight = false;
    // Re-keyed calls: the caller's sequence numbers wrap (ROC 0 -> 1) just before the re-key,
    // so the new keys start at ROC 1.
    bool rollover_before_rekey = false;
    std::string bad;  // a bad_crypto_reasons() entry: every line of the call broken that way
    bool warrant_sdes = true;
    std::string target_side = "callee";
};

namespace {

// The key-params of one a=crypto line and the keys libsrtp2 protects with.
struct SdesLine {
    uint32_t tag = 1;
    std::string suite;
    SrtpKeys keys;
    std::string params;  // "inline:...|...": what follows the suite name
    std::string text() const { return std::to_string(tag) + " " + suite + " " + params; }
};

}  // namespace

void CallsGenerator::add_sdes_scenario(const std::string& name) {
    const size_t suites = std::size(kSdesSuites);
    SdesCallPlan plan;
    plan.scenario = name;
    if (name == "sdes") {
        // Every suite without an MKI; SRTCP muxed on every other call; the offer of every other
        // call lists a decoy suite before the one the answer takes; the last call over IPv6;
        // in the AES_CM_128_HMAC_SHA1_32 call (the shortest tag) some packets are tampered.
        for (size_t i = 0; i < suites; ++i) {
            plan.suite = kSdesSuites[i];
            plan.ipv6 = i + 1 == suites;
            plan.tampered = kSdesSuites[i] == SrtpProfile::aes_cm_128_hmac_sha1_32;
            plan.rtcp_mux = i % 2 == 1;
            plan.decoy_first = i % 2 == 0;
            plan.target_side = i % 2 == 0 ? "callee" : "caller";
            add_sdes_call(plan);
        }
    } else if (name == "sdes_mki") {
        // Every suite with an MKI of 1..4 octets (both sides send MKI value i + 1: the MKI
        // alone does not tell the directions apart), with and without a lifetime.
        static constexpr uint8_t kMkiLengths[] = {4, 1, 2, 4, 3, 4};
        for (size_t i = 0; i < suites; ++i) {
            plan.suite = kSdesSuites[i];
            plan.mki_len = kMkiLengths[i];
            plan.mki_value = static_cast<uint32_t>(i + 1);
            plan.lifetime = i % 2 == 0;
            plan.rtcp_mux = i % 2 == 0;
            plan.decoy_first = i % 2 == 1;
            add_sdes_call(plan);
        }
    } else if (name == "sdes_rekey") {
        // A clean switch at the answer, without MKI; then an MKI that changes with the keys
        // (1 -> 2) and one caller packet in flight under the old keys after the answer.
        plan.rekey = true;
        add_sdes_call(plan);
        plan.mki_len = 4;
        plan.caller_packet_in_flight = true;
        plan.rtcp_mux = true;
        add_sdes_call(plan);
        // Then the caller's SEQ wraps two packets before the re-key (AEAD: the ROC enters the
        // IV, a wrong one fails the tag).
        plan.mki_len = 0;
        plan.caller_packet_in_flight = false;
        plan.rtcp_mux = false;
        plan.suite = SrtpProfile::aead_aes_128_gcm;
        plan.rollover_before_rekey = true;
        add_sdes_call(plan);
    } else if (name == "sdes_bad_crypto") {
        for (const std::string& reason : bad_crypto_reasons()) {
            plan.bad = reason;
            add_sdes_call(plan);
        }
    } else if (name == "sdes_disabled") {
        plan.warrant_sdes = false;
        plan.suite = SrtpProfile::aes_cm_128_hmac_sha1_32;
        add_sdes_call(plan);
    } else {
        throw std::runtime_error("not an SDES scenario: " + name);
    }
}

void CallsGenerator::add_sdes_call(const SdesCallPlan& plan) {
    Variation v;
    v.scenario = plan.scenario;
    v.ims_srtp = true;
    v.keys_in_json = false;
    v.target_side = plan.target_side;
    v.warrant_sdes = plan.warrant_sdes;
    v.ipv6 = plan.ipv6;
    const CallSetup c = setup_call(Kind::ims_call, v);
    const uint32_t n =
        plan.rekey ? std::max(o_.packets_per_stream, kRekeyMinPackets) : o_.packets_per_stream;
    CallRecord call;

    // ---- the a=crypto lines ----
    const crypto::SrtpProfileInfo& info = crypto::profile_info(plan.suite);
    auto line = [&](uint32_t tag, SrtpProfile suite, uint32_t mki_value) {
        const crypto::SrtpProfileInfo& i = crypto::profile_info(suite);
        SdesLine l;
        l.tag = tag;
        l.suite = sdes_suite_name(suite);
        l.keys.profile = suite;
        l.keys.master_key = rng_.bytes(i.key_len);
        l.keys.master_salt = rng_.bytes(i.salt_len);
        Bytes key_salt = l.keys.master_key;
        key_salt.insert(key_salt.end(), l.keys.master_salt.begin(), l.keys.master_salt.end());
        std::string b64 = base64(key_salt);
        std::string lifetime = plan.lifetime ? "|2^31" : "";
        if (plan.bad == "bad_base64") {
            b64[5] = '!';  // outside the base64 alphabet
        } else if (plan.bad == "wrong_key_length") {
            key_salt.pop_back();  // one octet short of key || salt
            b64 = base64(key_salt);
        } else if (plan.bad == "unknown_suite") {
            l.suite = kUnknownSuite;
        } else if (plan.bad == "bad_lifetime") {
            lifetime = "|2^0";  // a master key for one packet: refused (lifetime < 2)
        }
        l.params = "inline:" + b64 + lifetime;
        if (plan.mki_len != 0) {
            l.keys.mki.assign(plan.mki_len, 0);
            for (size_t k = 0; k < plan.mki_len && k < 4; ++k)
                l.keys.mki[plan.mki_len - 1 - k] = static_cast<uint8_t>(mki_value >> (8 * k));
            l.params += "|" + std::to_string(mki_value) + ":" + std::to_string(plan.mki_len);
        }
        return l;
    };
    // The decoy: another suite (never the chosen one), with its own key, that nobody uses.
    const SrtpProfile decoy_suite = plan.suite == SrtpProfile::aes_cm_128_hmac_sha1_80
                                        ? SrtpProfile::aes_cm_128_hmac_sha1_32
                                        : SrtpProfile::aes_cm_128_hmac_sha1_80;
    std::vector<SdesLine> offer_lines;
    uint32_t chosen_tag = 1;
    if (plan.decoy_first) {
        offer_lines.push_back(line(1, decoy_suite, plan.mki_value));
        offer_lines.push_back(line(2, plan.suite, plan.mki_value));
        chosen_tag = 2;
    } else {
        offer_lines.push_back(line(1, plan.suite, plan.mki_value));
        if (plan.bad.empty()) offer_lines.push_back(line(2, decoy_suite, plan.mki_value));
    }
    const SdesLine& offer_chosen = offer_lines[chosen_tag - 1];
    const SdesLine answer_line = line(chosen_tag, plan.suite, plan.mki_value);
    // Re-keying: new lines on both sides under the same tag and suite (and the next MKI).
    SdesLine reoffer_line, reanswer_line;
    if (plan.rekey) {
        reoffer_line = line(chosen_tag, plan.suite, plan.mki_value + 1);
        reanswer_line = line(chosen_tag, plan.suite, plan.mki_value + 1);
    }
    auto texts = [](const std::vector<SdesLine>& lines) {
        std::vector<std::string> out;
        for (const SdesLine& l : lines) out.push_back(l.text());
        return out;
    };

    // ---- signalling ----
    const DialogText d = dialog_text(c, v);
    SdpMedia offer{ip_text(c.caller), c.caller.ipv6, c.caller_rtp, true, plan.rtcp_mux, "",
                   texts(offer_lines)};
    SdpMedia answer{ip_text(*c.peer), c.peer->ipv6, c.peer_rtp,          true,
                    plan.rtcp_mux,    "",           texts({answer_line})};
    const uint64_t session = rng_.next32();

    SipText invite;
    invite.start_line = "INVITE " + c.request_uri + " SIP/2.0";
    invite.headers = {{"Via", d.via},
                      {"Max-Forwards", "70"},
                      {"From", d.from},
                      {"To", d.to},
                      {"Call-ID", c.call_id},
                      {"CSeq", "1 INVITE"},
                      {"Contact", d.contact},
                      {"P-Asserted-Identity", "<" + c.pai + ">"},
                      {"User-Agent", "liprobe-gen"}};
    invite.parts.push_back({"application/sdp", sdp(offer, session)});
    const std::string server_contact = "<sip:" + host_port(c.server, 5060) + ">";
    SipText ok = d.response("200 OK", "1 INVITE", true);
    ok.headers.push_back({"Contact", server_contact});
    ok.parts.push_back({"application/sdp", sdp(answer, session + 1)});

    const int64_t media_start = c.t0 + 100000;
    const int64_t t_bye = media_start + int64_t{n} * kPacketIntervalUs + 50000;
    std::vector<SipMessageOut> msgs = {
        {true, invite.render(), c.t0},
        {false, d.response("100 Trying", "1 INVITE", false).render(), c.t0 + 2000},
        {false, d.response("180 Ringing", "1 INVITE", true).render(), c.t0 + 30000},
        {false, ok.render(), c.t0 + 60000},
        {true, d.request("ACK", "1 ACK").render(), c.t0 + 70000}};
    const uint32_t rk = rekey_packet(n);
    // The answer of the re-INVITE lands 2 ms before the caller's packet rk; the ACK after it.
    const int64_t t_reanswer = media_start + int64_t{rk} * kPacketIntervalUs - 2000;
    if (plan.rekey) {
        offer.crypto = texts({reoffer_line});
        answer.crypto = texts({reanswer_line});
        SipText reinvite = d.request("INVITE", "2 INVITE");
        reinvite.headers.push_back({"Contact", d.contact});
        reinvite.headers.push_back({"P-Asserted-Identity", "<" + c.pai + ">"});
        reinvite.parts.push_back({"application/sdp", sdp(offer, session, 2)});
        SipText reok = d.response("200 OK", "2 INVITE", true);
        reok.headers.push_back({"Contact", server_contact});
        reok.parts.push_back({"application/sdp", sdp(answer, session + 1, 2)});
        msgs.push_back({true, reinvite.render(), t_reanswer - 30000});
        msgs.push_back({false, reok.render(), t_reanswer});
        msgs.push_back({true, d.request("ACK", "2 ACK").render(), t_reanswer + 5000});
    }
    msgs.push_back({true, d.request("BYE", "3 BYE").render(), t_bye});
    msgs.push_back({false, d.response("200 OK", "3 BYE", true).render(), t_bye + 5000});
    emit_sip(call, msgs, c.caller, c.server, c.caller_sip_port, v, c.target_side);

    // ---- media: RTP and SRTCP both ways ----
    const bool decrypted = plan.bad.empty() && plan.warrant_sdes;
    const std::string deliver = decrypted ? "decrypted" : "encrypted";
    auto sdes_meta = [&](const SdesLine& l) {
        return json{{"tag", l.tag},
                    {"suite", l.suite},
                    {"mki", l.keys.mki.empty() ? json(nullptr) : json(hex(l.keys.mki))}};
    };
    int number = 0;
    for (const bool from_caller : {true, false}) {
        const SdesLine& own = from_caller ? offer_chosen : answer_line;
        const SdesLine& renewed = from_caller ? reoffer_line : reanswer_line;
        StreamOut rtp = new_stream(c, number++, from_caller,
                                   from_caller ? c.caller_id : c.callee_id, media_start, n);
        rtp.keys = own.keys;  // bad lines: still the keys of the (default) AES-CM suite
        if (plan.rollover_before_rekey && from_caller)
            rtp.shape.start_seq = static_cast<uint16_t>(0x10000 - (rk - 2));
        rtp.extra_meta["sdes"] = sdes_meta(own);
        if (plan.rekey) {
            const uint32_t first_new = rk + (from_caller && plan.caller_packet_in_flight ? 1 : 0);
            rtp.rekeys.push_back({first_new, renewed.keys});
            rtp.extra_meta["sdes_rekeyed"] = sdes_meta(renewed);
            rtp.extra_meta["rekeyed_from_packet"] = first_new;
        }
        rtp.extra_meta["rtcp_mux"] = plan.rtcp_mux;
        // Two SRTCP reports; in the re-keyed call one before the re-INVITE, one after its answer.
        StreamOut rtcp;
        if (plan.rekey) {
            rtcp = rtcp_stream_of(rtp, c.cid + "-s" + std::to_string(number++), plan.rtcp_mux,
                                  rtp.start_us + 7000, 2);
            rtcp.interval_us = int64_t{rk} * kPacketIntervalUs;
            rtcp.rekeys = {{1, renewed.keys}};
            rtcp.extra_meta["rekeyed_from_packet"] = 1;
        } else {
            rtcp = rtcp_stream_of(rtp, c.cid + "-s" + std::to_string(number++), plan.rtcp_mux,
                                  rtp.start_us + int64_t{n} * kPacketIntervalUs / 2 + 7000, 2);
        }
        Variation stream_variation = v;
        stream_variation.tampered = plan.tampered && from_caller;
        emit_stream(call, rtp, stream_variation, c.target_side, deliver);
        emit_stream(call, rtcp, v, c.target_side, deliver);
    }

    call.meta = call_meta(c, Kind::ims_call, v);
    json key = {{"type", "sdes"},
                {"in_keys_json", false},
                {"suite", sdes_suite_name(plan.suite)},
                {"key_len", info.key_len},
                {"offer_tags", json::array()},
                {"answer_tag", chosen_tag},
                {"mki_len", plan.mki_len},
                {"rtcp_mux", plan.rtcp_mux},
                {"rekeyed", plan.rekey},
                {"caller_packet_in_flight", plan.caller_packet_in_flight},
                {"rollover_before_rekey", plan.rollover_before_rekey},
                {"warrant_sdes", plan.warrant_sdes}};
    for (const SdesLine& l : offer_lines) key["offer_tags"].push_back(l.tag);
    // Every a=crypto line of the call's SDP: offer, answer, and the re-INVITE's pair.
    key["lines"] = offer_lines.size() + 1 + (plan.rekey ? 2 : 0);
    if (!plan.bad.empty()) {
        // Both lines of the call (the offer's and the answer's) are broken the same way.
        key["bad_crypto"] = {{"reason", plan.bad}, {"lines", 2}};
    }
    call.meta["key"] = key;
    calls_.push_back(std::move(call));
}

bool is_sdes_scenario(const std::string& name) {
    for (const auto& [scenario, text] : sdes_scenario_texts())
        if (scenario == name) return true;
    return false;
}

const std::vector<std::pair<std::string, std::string>>& sdes_scenario_texts() {
    static const std::vector<std::pair<std::string, std::string>> texts = {
        {"sdes",
         "IMS calls keyed only by RFC 4568 a=crypto lines in the SDP (no keys.json entry), one per "
         "suite (AES_CM_128_HMAC_SHA1_80/32, AES_256_CM_HMAC_SHA1_80/32, AEAD_AES_128_GCM, "
         "AEAD_AES_256_GCM), no MKI; the offer of every other call lists a decoy suite first and "
         "the answer's tag picks the second line; SRTCP both ways, muxed on every other call; the "
         "AEAD_AES_256_GCM call over IPv6: every RTP and SRTCP packet is delivered decrypted, "
         "except the caller's packets listed in \"tampered\" in the AES_CM_128_HMAC_SHA1_32 call "
         "(one ciphertext bit flipped): they fail authentication and are delivered encrypted"},
        {"sdes_mki",
         "the suites of \"sdes\" with an MKI (|<value>:<length>, 1..4 octets, the same value on "
         "both sides) and, on every other call, a lifetime (|2^31): every packet decrypted"},
        {"sdes_rekey",
         "three calls whose re-INVITE mid-call brings new a=crypto lines on both sides (same tag "
         "and suite): packets up to the re-INVITE's 200 OK use the first keys (one each way "
         "crosses the transaction), packets after it the new ones (\"rekeyed_from_packet\"), "
         "SRTCP likewise; in the second call the MKI changes with the keys (1 -> 2) and the "
         "caller's first packet after the 200 OK is still under the old keys (in flight, "
         "\"caller_packet_in_flight\"); in the third (AEAD_AES_128_GCM) the caller's SEQ wraps "
         "two packets before the re-key, so the new keys start at ROC 1 "
         "(\"rollover_before_rekey\"); every packet decrypted"},
        {"sdes_bad_crypto",
         "one call per kind of bad a=crypto line (bad_base64, wrong_key_length, unknown_suite, "
         "bad_lifetime: key \"bad_crypto\"), offer and answer broken the same way: every media "
         "packet is delivered encrypted (the original IP packet), the SIP as IRI"},
        {"sdes_disabled",
         "a valid SDES call whose warrant sets sdes = false: every media packet is delivered "
         "encrypted (the original IP packet)"}};
    return texts;
}

}  // namespace liprobe::gen
