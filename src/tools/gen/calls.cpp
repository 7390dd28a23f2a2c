#include "calls.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "calls_generator.hpp"

namespace liprobe::gen {

namespace fs = std::filesystem;

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::private_call:
            return "mcptt_private";
        case Kind::group_call:
            return "mcptt_group";
        case Kind::ims_call:
            return "ims";
    }
    return "?";
}

std::string pad(uint64_t v, int width) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llu", width, static_cast<unsigned long long>(v));
    return buf;
}

std::string host_port(const Host& h, uint16_t port) {
    return h.ipv6 ? "[" + ip_text(h) + "]:" + std::to_string(port)
                  : ip_text(h) + ":" + std::to_string(port);
}

uint64_t ntp_of(int64_t time_us) {
    const uint64_t sec = static_cast<uint64_t>(time_us / 1000000) + 2208988800ULL;
    const uint64_t frac = (static_cast<uint64_t>(time_us % 1000000) << 32) / 1000000;
    return (sec << 32) | frac;
}

void CallsGenerator::emit_sip(CallRecord& call, const std::vector<SipMessageOut>& msgs,
                              const Host& caller, const Host& server, uint16_t caller_sip_port,
                              const Variation& v, const std::string& target_side) {
    // TCP: one connection from the caller's ephemeral port, with handshake and teardown.
    uint32_t seq[2] = {rng_.next32(), rng_.next32()};  // caller, server
    auto segment = [&](bool from_caller, uint8_t flags, const Bytes& data, int64_t t) {
        const net::UdpFrameSpec s = from_caller ? spec(caller, caller_sip_port, server, 5060, v)
                                                : spec(server, 5060, caller, caller_sip_port, v);
        const int me = from_caller ? 0 : 1;
        const uint64_t id = capture_.add(t, tcp_frame(s, seq[me], seq[1 - me], flags, data));
        seq[me] += static_cast<uint32_t>(data.size()) + ((flags & (kTcpSyn | kTcpFin)) ? 1 : 0);
        return id;
    };
    if (v.tcp) {
        const int64_t t = msgs.front().time_us;
        segment(true, kTcpSyn, {}, t - 3000);
        segment(false, kTcpSyn | kTcpAck, {}, t - 2000);
        segment(true, kTcpAck, {}, t - 1000);
    }
    for (size_t i = 0; i < msgs.size(); ++i) {
        const SipMessageOut& m = msgs[i];
        const Host& src = m.from_caller ? caller : server;
        const Host& dst = m.from_caller ? server : caller;
        const uint16_t sport = m.from_caller ? caller_sip_port : 5060;
        const uint16_t dport = m.from_caller ? 5060 : caller_sip_port;
        FramedEntry e;
        e.meta = {{"first_line", m.text.substr(0, m.text.find("\r\n"))},
                  {"src", host_port(src, sport)},
                  {"dst", host_port(dst, dport)},
                  {"transport", v.tcp ? "tcp" : "udp"},
                  {"direction", direction(m.from_caller, target_side)},
                  {"time_us", m.time_us},
                  {"length", m.text.size()}};
        const Bytes payload = text(m.text);
        if (v.tcp) {
            if (i == 0) {  // the INVITE over two segments, split inside the headers
                const size_t cut = std::min<size_t>(payload.size() / 3, 200);
                e.ids.push_back(segment(m.from_caller, kTcpPsh | kTcpAck,
                                        Bytes(payload.begin(), payload.begin() + cut), m.time_us));
                e.ids.push_back(segment(m.from_caller, kTcpPsh | kTcpAck,
                                        Bytes(payload.begin() + cut, payload.end()),
                                        m.time_us + 300));
            } else {
                e.ids.push_back(segment(m.from_caller, kTcpPsh | kTcpAck, payload, m.time_us));
            }
            segment(!m.from_caller, kTcpAck, {}, m.time_us + 500);
        } else if (i == 0 && v.fragment_invite) {
            const auto frags =
                ipv4_fragments(spec(src, sport, dst, dport, v), payload, payload.size() / 2);
            e.ids.push_back(capture_.add(m.time_us, frags[0]));
            e.ids.push_back(capture_.add(m.time_us + 100, frags[1]));
        } else {
            e.ids.push_back(capture_.add(
                m.time_us, net::build_udp_frame(spec(src, sport, dst, dport, v), payload)));
        }
        call.sip.push_back(std::move(e));
    }
    if (v.tcp) {
        const int64_t t = msgs.back().time_us + 10000;
        segment(true, kTcpFin | kTcpAck, {}, t);
        segment(false, kTcpFin | kTcpAck, {}, t + 1000);
        segment(true, kTcpAck, {}, t + 2000);
    }
}

// Packets of one stream; the plaintext of a target's stream goes to expected/<id>.bin.
void CallsGenerator::emit_stream(CallRecord& call, const StreamOut& s, const Variation& v,
                                 const std::string& target_side, const std::string& deliver) {
    FramedEntry e;
    std::unique_ptr<SrtpSender> sender;
    if (s.srtp) sender = std::make_unique<SrtpSender>(s.shape.ssrc, s.keys);
    auto next_rekey = s.rekeys.begin();
    std::vector<Bytes> plain_packets;
    json tampered = json::array();
    const net::UdpFrameSpec base = spec(*s.src, s.sport, *s.dst, s.dport, v);
    const uint32_t header_len =
        static_cast<uint32_t>(12 + 4 * s.shape.csrcs.size() + (s.shape.header_extension ? 8 : 0));
    for (uint32_t i = 0; i < s.count; ++i) {
        const int64_t t = s.start_us + int64_t{i} * s.interval_us;
        Bytes plain = s.rtcp ? rtcp_report(s.shape, (i + 1) * 25, t) : rtp_packet(s.shape, i);
        Bytes wire = plain;
        if (sender && next_rekey != s.rekeys.end() && next_rekey->first == i) {
            // New master key, same stream: the sequence numbers and the ROC go on.
            sender = std::make_unique<SrtpSender>(s.shape.ssrc, next_rekey->second);
            if (!s.rtcp) sender->set_roc((uint32_t{s.shape.start_seq} + i) >> 16);
            ++next_rekey;
        }
        if (sender) {
            if (s.rtcp) {
                wire = sender->protect_rtcp(plain);
            } else {
                uint32_t roc = 0;
                wire = sender->protect_rtp(plain, &roc);
                const uint32_t expected_roc = (uint32_t{s.shape.start_seq} + i) >> 16;
                if (roc != expected_roc) {
                    throw std::runtime_error("libsrtp2 used ROC " + std::to_string(roc) +
                                             " where " + std::to_string(expected_roc) +
                                             " was expected (" + s.id + ")");
                }
                if (s.rcc) {  // RCCm3, R = 1: the ROC after the MKI (refs/specs.md 5)
                    const Bytes r = be32(roc);
                    wire.insert(wire.end(), r.begin(), r.end());
                }
                if (v.tampered && i % 7 == 3) {
                    wire[header_len + 3] ^= 0x01;  // one ciphertext bit
                    tampered.push_back(i);
                }
            }
        }
        net::UdpFrameSpec f = base;
        f.ip_id = static_cast<uint16_t>(base.ip_id + i);
        e.ids.push_back(capture_.add(t, net::build_udp_frame(f, wire)));
        plain_packets.push_back(std::move(plain));
    }
    e.meta = {{"id", s.id},
              {"kind", s.rtcp ? "rtcp" : "rtp"},
              {"src", host_port(*s.src, s.sport)},
              {"dst", host_port(*s.dst, s.dport)},
              {"transport", "udp"},
              {"ip_version", s.src->ipv6 ? 6 : 4},
              {"ssrc", s.shape.ssrc},
              {"srtp", s.srtp},
              {"sender", s.sender},
              {"from_caller", s.from_caller},
              {"direction", direction(s.from_caller, target_side)},
              {"count", s.count},
              {"first_seq", s.rtcp ? json(nullptr) : json(s.shape.start_seq)},
              {"deliver", deliver}};
    if (s.srtp) {
        e.meta["mki"] = hex(s.keys.mki);
        e.meta["cs_id"] = s.cs_id < 0 ? json(nullptr) : json(s.cs_id);
        e.meta["roc_in_packet"] = s.rcc;
    }
    for (const auto& [name, value] : s.extra_meta.items()) e.meta[name] = value;
    if (!s.shape.csrcs.empty()) e.meta["csrcs"] = s.shape.csrcs;
    if (s.shape.header_extension) e.meta["header_extension"] = true;
    if (!tampered.empty()) e.meta["tampered"] = tampered;
    if (deliver != "none") {
        const std::string file = "expected/" + s.id + ".bin";
        e.meta["expected"] = file;
        expected_files_.push_back({file, std::move(plain_packets)});
    } else {
        e.meta["expected"] = nullptr;
    }
    call.streams.push_back(std::move(e));
}

CallSetup CallsGenerator::setup_call(Kind kind, const Variation& v) {
    CallSetup c;
    c.k = call_index_++;
    const uint32_t k = c.k;
    c.cid = "c" + pad(k, 5);
    const uint32_t hi = ((k + 1) >> 8) & 0xFF, lo = (k + 1) & 0xFF;
    auto make = [&](int net_no, uint8_t mac) {
        char buf[64];
        if (v.ipv6) {
            std::snprintf(buf, sizeof buf, "2001:db8:%d::%x", net_no, k + 1);
        } else {
            std::snprintf(buf, sizeof buf, "10.%d.%u.%u", net_no, hi, lo);
        }
        return host(buf, mac);
    };
    c.caller = make(1, 0x11);
    c.callee = make(2, 0x22);
    c.server = host(v.ipv6 ? "2001:db8::5060" : "10.0.0.1", 0x01);
    c.group_media = host(v.ipv6 ? "2001:db8::4000" : "10.0.0.2", 0x02);
    const bool group = kind == Kind::group_call;
    c.peer = group ? &c.group_media : &c.callee;
    c.caller_rtp = static_cast<uint16_t>(20000 + 2 * (k % 10000));
    c.peer_rtp = static_cast<uint16_t>(40000 + 2 * (k % 10000));
    c.caller_sip_port = v.tcp ? static_cast<uint16_t>(50000 + k % 10000) : 5060;
    c.t0 = kCaptureStartUs + 10000 + int64_t{k} * kCallSpacingUs;
    c.call_id = c.cid + "-" + hex(rng_.bytes(6)) + "@" + ip_text(c.caller);
    c.tag_a = hex(rng_.bytes(4));
    c.tag_b = hex(rng_.bytes(4));

    const std::string prefix = v.target ? "" : "bg-";
    const std::string num = pad(k, 5);
    switch (kind) {
        case Kind::private_call:
            c.caller_id = "sip:" + prefix + "alice-" + num + "@" + kMcpttDomain;
            c.callee_id = "sip:" + prefix + "bob-" + num + "@" + kMcpttDomain;
            c.request_uri = c.to_uri = kPsi;
            c.from_uri = "sip:+4917" + std::string(v.target ? "1" : "9") + num + "@" + kImsDomain;
            c.pai = c.from_uri;
            break;
        case Kind::group_call:
            c.group_id = "sip:" + prefix + "group-" + num + "@" + kMcpttDomain;
            for (uint32_t m = 0; m < kGroupMembers; ++m) {
                c.members.push_back("sip:" + prefix + "member-" + num + "-" + std::to_string(m) +
                                    "@" + kMcpttDomain);
            }
            c.caller_id = c.members[0];
            c.request_uri = c.to_uri = kPsi;
            c.from_uri = "sip:+4916" + std::string(v.target ? "1" : "9") + num + "@" + kImsDomain;
            c.pai = c.from_uri;
            break;
        case Kind::ims_call:
            c.caller_id = "tel:+4940" + std::string(v.target ? "666" : "999") + num;
            c.callee_id = "tel:+4930" + std::string(v.target ? "555" : "888") + num;
            c.request_uri = v.ims_request_uri.empty() ? c.callee_id : v.ims_request_uri;
            c.to_uri = v.ims_to.empty() ? c.request_uri : v.ims_to;
            c.from_uri = "sip:" + c.caller_id.substr(4) + "@" + kImsDomain + ";user=phone";
            c.pai = c.caller_id;
            break;
    }
    // The target identity and which side of the dialog it is.
    if (v.target) {
        if (!v.warrant_identity.empty()) {
            c.target_identity = v.warrant_identity;
            c.target_side = v.expect_match ? "callee" : "";
        } else if (group) {
            c.target_identity = c.group_id;
            c.target_side = "callee";  // the group is the called party
        } else {
            c.target_side = v.target_side;
            c.target_identity = c.target_side == "caller" ? c.caller_id : c.callee_id;
        }
        c.liid = "GEN-" + c.cid.substr(1) + (v.scenario.empty() ? "" : "-S");
        add_warrant(c.liid, c.target_identity, v.warrant_sdes);
    }
    return c;
}

DialogText CallsGenerator::dialog_text(const CallSetup& c, const Variation& v) {
    DialogText d;
    const std::string via_proto = v.tcp ? "SIP/2.0/TCP " : "SIP/2.0/UDP ";
    d.via =
        via_proto + host_port(c.caller, c.caller_sip_port) + ";branch=z9hG4bK" + hex(rng_.bytes(5));
    d.from = "<" + c.from_uri + ">;tag=" + c.tag_a;
    d.to = "<" + c.to_uri + ">";
    d.to_tagged = d.to + ";tag=" + c.tag_b;
    d.call_id = c.call_id;
    d.request_uri = c.request_uri;
    d.contact = "<sip:" + host_port(c.caller, c.caller_sip_port) + ">";
    return d;
}

SipText DialogText::response(const std::string& status, const std::string& cseq,
                             bool tagged) const {
    SipText r;
    r.start_line = "SIP/2.0 " + status;
    r.headers = {{"Via", via},
                 {"From", from},
                 {"To", tagged ? to_tagged : to},
                 {"Call-ID", call_id},
                 {"CSeq", cseq}};
    return r;
}

SipText DialogText::request(const std::string& method, const std::string& cseq) const {
    SipText r;
    r.start_line = method + " " + request_uri + " SIP/2.0";
    r.headers = {{"Via", via},      {"Max-Forwards", "70"}, {"From", from},
                 {"To", to_tagged}, {"Call-ID", call_id},   {"CSeq", cseq}};
    return r;
}

StreamOut CallsGenerator::new_stream(const CallSetup& c, int number, bool from_caller,
                                     const std::string& sender, int64_t media_start, uint32_t n) {
    StreamOut s;
    s.id = c.cid + "-s" + std::to_string(number);
    s.from_caller = from_caller;
    s.src = from_caller ? &c.caller : c.peer;
    s.dst = from_caller ? c.peer : &c.caller;
    s.sport = from_caller ? c.caller_rtp : c.peer_rtp;
    s.dport = from_caller ? c.peer_rtp : c.caller_rtp;
    s.shape.ssrc = rng_.next32();
    s.shape.start_seq = static_cast<uint16_t>(rng_.next32() & 0x3FFF);
    s.shape.start_ts = rng_.next32();
    s.shape.tone_hz = 300 + 10 * ((c.k * 7 + static_cast<uint32_t>(number) * 3) % 60);
    s.shape.cname = sender.substr(sender.find(':') + 1);
    s.sender = sender;
    s.start_us = media_start + (from_caller ? 0 : 5000);
    s.count = n;
    return s;
}

StreamOut CallsGenerator::rtcp_stream_of(const StreamOut& rtp, const std::string& id, bool muxed,
                                         int64_t start_us, uint32_t count) {
    StreamOut s = rtp;
    s.id = id;
    s.rtcp = true;
    if (!muxed) {  // without rtcp-mux, RTCP on the next port up (RFC 3550 11)
        s.sport = static_cast<uint16_t>(s.sport + 1);
        s.dport = static_cast<uint16_t>(s.dport + 1);
    }
    s.start_us = start_us;
    s.count = count;
    return s;
}

json CallsGenerator::call_meta(const CallSetup& c, Kind kind, const Variation& v) const {
    json meta = {{"id", c.cid},
                 {"kind", kind_name(kind)},
                 {"scenario", v.scenario},
                 {"call_id", c.call_id},
                 {"target", v.target},
                 {"expect", v.target && v.expect_match ? "intercepted" : "not_intercepted"},
                 {"warrant", c.liid.empty() ? json(nullptr) : json(c.liid)},
                 {"target_identity", c.target_identity},
                 {"target_side", c.target_side},
                 {"caller", c.caller_id},
                 {"callee", kind == Kind::group_call ? c.group_id : c.callee_id},
                 {"request_uri", c.request_uri},
                 {"ip_version", v.ipv6 ? 6 : 4},
                 {"vlans", json::array()},
                 {"sip_transport", v.tcp ? "tcp" : "udp"},
                 {"invite_fragmented", v.fragment_invite}};
    for (const auto& tag : v.vlans) meta["vlans"].push_back(tag.tci & 0x0FFF);
    if (kind == Kind::group_call) meta["members"] = c.members;
    return meta;
}

void CallsGenerator::add_call(Kind kind, const Variation& v) {
    const CallSetup c = setup_call(kind, v);
    const uint32_t n =
        v.rollover ? std::max(o_.packets_per_stream, kRolloverMinPackets) : o_.packets_per_stream;
    const bool group = kind == Kind::group_call;
    CallRecord call;

    // ---- keys ----
    const bool srtp = kind != Kind::ims_call || v.ims_srtp;
    Bytes tgk, rand;
    uint32_t key_id = 0;
    std::vector<SrtpKeys> member_keys;
    SrtpKeys caller_keys, callee_keys;
    json key_entry;
    if (kind == Kind::private_call) {
        tgk = rng_.bytes(16);
        rand = rng_.bytes(16);
        key_id = 0x10000000u | (rng_.next32() & 0x0FFFFFFFu);  // purpose tag 1
        caller_keys = pck_keys(tgk, key_id, rand, 0);
        callee_keys = pck_keys(tgk, key_id, rand, 1);
        key_entry = {{"type", "pck"},           {"key_id", hex(be32(key_id))},
                     {"key", hex(tgk)},         {"rand", hex(rand)},
                     {"cs_ids", {0, 1}},        {"initiator", c.caller_id},
                     {"receiver", c.callee_id}, {"not_before", kNotBefore},
                     {"not_after", kNotAfter}};
    } else if (group) {
        tgk = rng_.bytes(16);
        rand = rng_.bytes(16);
        key_id = rng_.next32() & 0x0FFFFFFFu;  // purpose tag 0
        for (const auto& m : c.members) member_keys.push_back(gmk_keys(tgk, key_id, rand, m));
        key_entry = {
            {"type", "gmk"},          {"key_id", hex(be32(key_id))}, {"key", hex(tgk)},
            {"rand", hex(rand)},      {"members", c.members},        {"cs_ids", {4}},
            {"group_id", c.group_id}, {"not_before", kNotBefore},    {"not_after", kNotAfter}};
    } else if (srtp) {
        for (SrtpKeys* keys : {&caller_keys, &callee_keys}) {
            keys->master_key = rng_.bytes(16);
            keys->master_salt = rng_.bytes(12);
            keys->mki = rng_.bytes(4);
        }
    }
    const bool keys_given = v.target && v.keys_in_json && srtp;
    if (keys_given) {
        if (kind == Kind::ims_call) {
            for (const SrtpKeys* keys : {&caller_keys, &callee_keys}) {
                keys_.push_back({{"type", "srtp"},
                                 {"mki", hex(keys->mki)},
                                 {"master_key", hex(keys->master_key)},
                                 {"master_salt", hex(keys->master_salt)},
                                 {"profile", "aead_aes_128_gcm"}});
            }
        } else {
            keys_.push_back(key_entry);
        }
    }

    // ---- signalling ----
    const DialogText d = dialog_text(c, v);
    SdpMedia offer{ip_text(c.caller), c.caller.ipv6, c.caller_rtp, srtp, group, "", {}};
    if (kind == Kind::private_call) {
        MikeyIMessage m;
        m.csb_id = key_id;
        m.ntp_utc = ntp_of(c.t0);
        m.rand = rand;
        m.initiator = c.caller_id;
        m.responder = c.callee_id;
        m.kms = kKms;
        offer.mikey_b64 = base64(mikey_sakke_i_message(m, rng_));
    }
    const SdpMedia answer{ip_text(*c.peer), c.peer->ipv6, c.peer_rtp, srtp, group, "", {}};
    const uint64_t session = rng_.next32();

    SipText invite;
    invite.start_line = "INVITE " + c.request_uri + " SIP/2.0";
    invite.headers = {{"Via", d.via},         {"Max-Forwards", "70"},
                      {"From", d.from},       {"To", d.to},
                      {"Call-ID", c.call_id}, {"CSeq", "1 INVITE"},
                      {"Contact", d.contact}, {"P-Asserted-Identity", "<" + c.pai + ">"}};
    if (kind != Kind::ims_call) {
        invite.headers.push_back({"P-Preferred-Service", "urn:urn-7:3gpp-service.ims.icsi.mcptt"});
    }
    invite.headers.push_back({"User-Agent", "liprobe-gen"});
    invite.parts.push_back({"application/sdp", sdp(offer, session)});
    if (kind == Kind::private_call) {
        invite.parts.push_back(
            {"application/vnd.3gpp.mcptt-info+xml", mcptt_info_xml(c.callee_id, c.caller_id)});
    } else if (group) {
        invite.parts.push_back(
            {"application/vnd.3gpp.mcptt-info+xml", mcptt_info_xml(c.group_id, c.caller_id)});
    }
    SipText ok = d.response("200 OK", "1 INVITE", true);
    ok.headers.push_back({"Contact", "<sip:" + host_port(c.server, 5060) + ">"});
    ok.parts.push_back({"application/sdp", sdp(answer, session + 1)});

    const int64_t media_start = c.t0 + 100000;
    const uint32_t streams_len = group ? n + 2 * 3 : n;  // members 1, 2 start a bit later
    const int64_t t_bye = media_start + int64_t{streams_len} * kPacketIntervalUs + 50000;
    const int64_t t0 = c.t0;
    std::vector<SipMessageOut> msgs = {
        {true, invite.render(), t0},
        {false, d.response("100 Trying", "1 INVITE", false).render(), t0 + 2000},
        {false, d.response("180 Ringing", "1 INVITE", true).render(), t0 + 30000},
        {false, ok.render(), t0 + 60000},
        {true, d.request("ACK", "1 ACK").render(), t0 + 70000},
        {true, d.request("BYE", "2 BYE").render(), t_bye},
        {false, d.response("200 OK", "2 BYE", true).render(), t_bye + 5000}};
    emit_sip(call, msgs, c.caller, c.server, c.caller_sip_port, v, c.target_side);

    // ---- media ----
    const std::string deliver = !(v.target && v.expect_match) ? "none"
                                : !srtp                       ? "plain"
                                : keys_given                  ? "decrypted"
                                                              : "encrypted";
    auto stream = [&](int number, bool from_caller, const std::string& sender) {
        StreamOut s = new_stream(c, number, from_caller, sender, media_start, n);
        s.srtp = srtp;
        return s;
    };
    // Two SRTCP reports of a stream's sender from the middle of its stream on.
    auto rtcp_of = [&](const StreamOut& rtp, int number) {
        return rtcp_stream_of(rtp, c.cid + "-s" + std::to_string(number), group,
                              rtp.start_us + int64_t{n} * kPacketIntervalUs / 2 + 7000, 2);
    };
    int number = 0;
    if (kind == Kind::private_call || kind == Kind::ims_call) {
        StreamOut a = stream(number++, true, c.caller_id);
        StreamOut b = stream(number++, false, c.callee_id);
        if (srtp) {
            a.keys = caller_keys;
            b.keys = callee_keys;
            if (kind == Kind::private_call) {
                a.cs_id = 0;
                b.cs_id = 1;
            }
        }
        if (v.rollover) a.shape.start_seq = kRolloverStartSeq;
        if (v.csrc_ext) {
            a.shape.csrcs = {rng_.next32(), rng_.next32()};
            a.shape.header_extension = true;
            b.shape.header_extension = true;
        }
        Variation untampered = v;
        untampered.tampered = false;
        emit_stream(call, a, v, c.target_side, deliver);
        emit_stream(call, b, untampered, c.target_side, deliver);
        if (kind == Kind::private_call) {
            emit_stream(call, rtcp_of(a, number++), untampered, c.target_side, deliver);
            emit_stream(call, rtcp_of(b, number++), untampered, c.target_side, deliver);
        }
    } else {
        // Member 0 (the caller) sends to the group server; the server relays members 1 and 2,
        // each encrypting with its own GUK-ID (end to end), on the caller's downlink.
        Variation untampered = v;
        untampered.tampered = false;
        for (uint32_t m = 0; m < kGroupMembers; ++m) {
            StreamOut s = stream(number++, m == 0, c.members[m]);
            s.keys = member_keys[m];
            s.cs_id = 4;
            s.rcc = true;
            s.start_us = media_start + int64_t{m} * 3 * kPacketIntervalUs + m * 1000;
            if (v.rollover && m == 0) s.shape.start_seq = kRolloverStartSeq;
            emit_stream(call, s, m == 0 ? v : untampered, c.target_side, deliver);
            if (m == 0) emit_stream(call, rtcp_of(s, 3), untampered, c.target_side, deliver);
        }
    }
    if (v.scenario == "malformed")
        add_malformed(media_start + 3000, c.caller, c.server, c.peer_rtp);

    call.meta = call_meta(c, kind, v);
    if (srtp) {
        json key = {{"type", kind == Kind::private_call ? "pck"
                             : group                    ? "gmk"
                                                        : "srtp"},
                    {"in_keys_json", keys_given}};
        if (kind != Kind::ims_call) key["key_id"] = hex(be32(key_id));
        call.meta["key"] = key;
    }
    calls_.push_back(std::move(call));
}

// Malformed frames interleaved with a target call: each must be a counted drop.
void CallsGenerator::add_malformed(int64_t t0, const Host& a, const Host& b, uint16_t media_port) {
    const Variation plain;
    auto add = [&](const std::string& reason, int64_t t, Bytes frame) {
        FramedEntry e;
        e.meta = {{"reason", reason}, {"time_us", t}};
        e.ids.push_back(capture_.add(t, std::move(frame)));
        malformed_.push_back(std::move(e));
    };
    const Bytes sip_like = text("INVITE sip:x@" + std::string(kMcpttDomain) + " SIP/2.0\r\n");
    Bytes f = net::build_udp_frame(spec(a, 5060, b, 5060, plain), sip_like);
    f.resize(14 + 12);  // inside the IPv4 header
    add("truncated_ip", t0, f);
    f = net::build_udp_frame(spec(a, 5060, b, 5060, plain), sip_like);
    put16(&f[14 + 2], static_cast<uint16_t>(f.size() - 14 + 100));  // total length past the end
    add("bad_ipv4_total_length", t0 + 20000, f);
    f = net::build_udp_frame(spec(a, 5060, b, 5060, plain), sip_like);
    put16(&f[14 + 20 + 4], static_cast<uint16_t>(8 + sip_like.size() + 50));  // UDP length
    add("bad_udp_length", t0 + 40000, f);
    f = net::build_udp_frame(spec(a, 20000, b, media_port, plain), rng_.bytes(60));
    put16(&f[14 + 20 + 4], 4);  // UDP length below the header size
    add("bad_udp_length", t0 + 60000, f);
    add("garbage_on_sip_port", t0 + 80000,
        net::build_udp_frame(spec(a, 5060, b, 5060, plain), rng_.bytes(120)));
    add("garbage_on_sip_port", t0 + 100000,
        net::build_udp_frame(spec(a, 5060, b, 5060, plain),
                             text("INVITE \r\nthis is not SIP\r\n\r\n")));
}

// kFloodCount first fragments (MF set, offset 0) of UDP datagrams to the SIP port that never
// complete, from kFloodSources addresses in turn, centred on middle_us (the target INVITE's
// first fragment).
void CallsGenerator::add_fragment_flood(int64_t middle_us) {
    const Variation plain;
    const Host server = host("10.0.0.1", 0x01);
    const int64_t first = middle_us - int64_t{kFloodCount / 2} * kFragmentFloodSpacingUs + 7;
    for (uint32_t i = 0; i < kFloodCount; ++i) {
        const Host src = host("10.77.0." + std::to_string(1 + i % kFloodSources), 0x77);
        net::UdpFrameSpec f = spec(src, 5060, server, 5060, plain);
        f.ip_id = static_cast<uint16_t>(i / kFloodSources);
        capture_.add(first + int64_t{i} * kFragmentFloodSpacingUs,
                     ipv4_fragments(f, rng_.bytes(200), 96)[0]);
    }
    floods_.push_back({{"kind", "fragments"},
                       {"count", kFloodCount},
                       {"sources", kFloodSources},
                       {"max_fragments", kFloodMaxFragments},
                       {"first_time_us", first},
                       {"spacing_us", kFragmentFloodSpacingUs}});
}

// kFloodCount INVITEs to kFloodTarget (warrant kFloodLiid), distinct Call-IDs, never answered,
// from kFloodSources addresses in turn, centred on middle_us (the target call's INVITE).
void CallsGenerator::add_invite_flood(int64_t middle_us) {
    const Variation plain;
    const Host server = host("10.0.0.1", 0x01);
    add_warrant(kFloodLiid, kFloodTarget);
    const int64_t first = middle_us - int64_t{kFloodCount / 2} * kInviteFloodSpacingUs + 11;
    for (uint32_t i = 0; i < kFloodCount; ++i) {
        const Host src = host("10.78.0." + std::to_string(1 + i % kFloodSources), 0x78);
        // Appended piece by piece: GCC 12 -O3 warns (-Wrestrict, a false positive) on "<" + s.
        std::string to = "<";
        to.append(kFloodTarget).append(">");
        SipText invite;
        invite.start_line = std::string("INVITE ").append(kFloodTarget).append(" SIP/2.0");
        invite.headers = {
            {"Via", "SIP/2.0/UDP " + host_port(src, 5060) + ";branch=z9hG4bKfl" + pad(i, 5)},
            {"Max-Forwards", "70"},
            {"From", "<sip:spam-" + pad(i, 5) + "@example.net>;tag=" + hex(rng_.bytes(4))},
            {"To", to},
            {"Call-ID", "flood-" + pad(i, 5) + "-" + hex(rng_.bytes(4)) + "@" + ip_text(src)},
            {"CSeq", "1 INVITE"}};
        capture_.add(
            first + int64_t{i} * kInviteFloodSpacingUs,
            net::build_udp_frame(spec(src, 5060, server, 5060, plain), text(invite.render())));
    }
    floods_.push_back({{"kind", "invites"},
                       {"count", kFloodCount},
                       {"sources", kFloodSources},
                       {"warrant", kFloodLiid},
                       {"first_line", "INVITE " + std::string(kFloodTarget) + " SIP/2.0"},
                       {"max_dialogs", kFloodMaxDialogs},
                       {"first_time_us", first},
                       {"spacing_us", kInviteFloodSpacingUs}});
}

void CallsGenerator::add_background(uint32_t index) {
    const int64_t t0 = kCaptureStartUs + 5000 + int64_t{index} * 13001;
    const uint32_t x = index + 1;
    char buf[64];
    std::snprintf(buf, sizeof buf, "10.9.%u.%u", (x >> 8) & 0xFF, x & 0xFF);
    const Host client = host(buf, 0x90);
    const Host dns = host("10.0.0.53", 0x53), web = host("10.0.0.80", 0x80);
    const Variation plain;
    auto add = [&](const std::string& what, int64_t t, Bytes frame) {
        FramedEntry e;
        e.meta = {{"what", what}, {"time_us", t}};
        e.ids.push_back(capture_.add(t, std::move(frame)));
        background_.push_back(std::move(e));
    };
    Bytes query = {
        static_cast<uint8_t>(x >> 8), static_cast<uint8_t>(x), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    for (const std::string label : {"www", "example", "org"}) {
        query.push_back(static_cast<uint8_t>(label.size()));
        query.insert(query.end(), label.begin(), label.end());
    }
    query.insert(query.end(), {0, 0, 1, 0, 1});
    const auto qport = static_cast<uint16_t>(30000 + x % 30000);
    add("dns_query", t0, net::build_udp_frame(spec(client, qport, dns, 53, plain), query));
    Bytes response = query;
    response[2] = 0x81;
    response[3] = 0x80;
    response[7] = 1;
    response.insert(response.end(),
                    {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 80});
    add("dns_response", t0 + 1500,
        net::build_udp_frame(spec(dns, 53, client, qport, plain), response));
    add("syslog_udp", t0 + 3000,
        net::build_udp_frame(
            spec(client, 514, dns, 514, plain),
            text("<14>May  1 10:00:00 host app: background " + std::to_string(x))));
    // A short TCP exchange on 443: handshake, one data segment each way, teardown.
    const net::UdpFrameSpec c2s = spec(client, qport, web, 443, plain);
    const net::UdpFrameSpec s2c = spec(web, 443, client, qport, plain);
    uint32_t cs = rng_.next32(), ss = rng_.next32();
    add("tcp", t0 + 4000, tcp_frame(c2s, cs, 0, kTcpSyn, {}));
    ++cs;
    add("tcp", t0 + 4500, tcp_frame(s2c, ss, cs, kTcpSyn | kTcpAck, {}));
    ++ss;
    add("tcp", t0 + 5000, tcp_frame(c2s, cs, ss, kTcpAck, {}));
    const Bytes hello = rng_.bytes(100), reply = rng_.bytes(300);
    add("tcp", t0 + 5500, tcp_frame(c2s, cs, ss, kTcpPsh | kTcpAck, hello));
    cs += static_cast<uint32_t>(hello.size());
    add("tcp", t0 + 6500, tcp_frame(s2c, ss, cs, kTcpPsh | kTcpAck, reply));
    ss += static_cast<uint32_t>(reply.size());
    add("tcp", t0 + 7000, tcp_frame(c2s, cs, ss, kTcpFin | kTcpAck, {}));
    add("tcp", t0 + 7500, tcp_frame(s2c, ss, cs + 1, kTcpFin | kTcpAck, {}));
    add("tcp", t0 + 8000, tcp_frame(c2s, cs + 1, ss + 1, kTcpAck, {}));
}

namespace {

std::string toml_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace

void CallsGenerator::write_config(const fs::path& path) const {
    std::ofstream out(path);
    out << "# Written by liprobe-gen calls: runs liprobe on this directory's capture.\n"
           "#   liprobe --config "
        << path.string() << " --pcap " << (path.parent_path() / "capture.pcap").string()
        << "\n# Relative paths are taken from this file's directory.\n\n"
           "[probe]\nnetwork_element_id = \"liprobe-gen\"\noperator_id = \"gen-operator\"\n"
           "country_code = \"XX\"\n\n"
           "[dpdk]\nports = []\nworkers = 1\n";
    if (fragment_flood_) out << "max_fragments = " << kFloodMaxFragments << "\n";
    out << "\n[sip]\nports = [5060]\n";
    if (invite_flood_) out << "max_dialogs = " << kFloodMaxDialogs << "\n";
    out << "\n[keys]\npreload = \"keys.json\"\n\n"
           "[metrics]\nlisten = \"\"\nstatus_interval_s = 0\n\n"
           "[export]\ndrain_timeout = 10\nspool_dir = \"\"\n\n"
           "[[destination]]\nid = \"lemf\"\naddress = "
        << toml_string(o_.lemf) << "\nformat = \"etsi102232\"\n";
    if (o_.pki_dir.empty()) {
        out << "tls = false\n";
    } else {
        const fs::path pki = fs::absolute(o_.pki_dir);
        out << "tls = true\ncert = " << toml_string((pki / "probe.pem").string())
            << "\nkey = " << toml_string((pki / "probe.key").string())
            << "\nca = " << toml_string((pki / "ca.pem").string())
            << "\nserver_name = \"localhost\"\n";
    }
    for (const auto& w : warrants_) {
        out << "\n[[warrant]]\nliid = " << toml_string(w["liid"].get<std::string>())
            << "\ntargets = [";
        bool first = true;
        for (const auto& t : w["targets"]) {
            out << (first ? "" : ", ") << toml_string(t.get<std::string>());
            first = false;
        }
        out << "]\ndestinations = [\"lemf\"]\n";
        if (w.contains("sdes"))
            out << "sdes = " << (w["sdes"].get<bool>() ? "true" : "false") << "\n";
    }
    if (!out) throw std::runtime_error(path.string() + ": write failed");
}

CallsResult CallsGenerator::run() {
    std::set<std::string> scenarios(o_.scenarios.begin(), o_.scenarios.end());
    for (const auto& s : scenarios) {
        if (std::find(scenario_names().begin(), scenario_names().end(), s) ==
            scenario_names().end()) {
            throw std::runtime_error("unknown scenario '" + s + "'");
        }
    }
    srtp_library_init();
    CallsResult result;
    // Plain calls: targets alternate between caller and callee (private, IMS); IMS calls
    // alternate between plain RTP and SRTP with "srtp" key entries.
    for (uint32_t i = 0; i < o_.private_calls; ++i) {
        Variation v;
        v.target_side = i % 2 == 0 ? "caller" : "callee";
        add_call(Kind::private_call, v);
    }
    for (uint32_t i = 0; i < o_.group_calls; ++i) add_call(Kind::group_call, Variation{});
    for (uint32_t i = 0; i < o_.ims_calls; ++i) {
        Variation v;
        v.target_side = i % 2 == 0 ? "callee" : "caller";
        v.ims_srtp = (i / 2) % 2 == 1;
        add_call(Kind::ims_call, v);
    }
    for (uint32_t i = 0; i < o_.background; ++i) {
        Variation v;
        v.target = false;
        v.ims_srtp = i % 2 == 0;
        add_call(static_cast<Kind>(i % 3), v);
        add_background(i);
    }
    // Scenario calls, in the fixed order of scenario_names() (determinism).
    for (const std::string& name : scenario_names()) {
        if (scenarios.count(name) == 0) continue;
        Variation v;
        v.scenario = name;
        if (name == "rollover") {
            v.rollover = true;
            add_call(Kind::private_call, v);
            add_call(Kind::group_call, v);
        } else if (name == "missing_key") {
            v.keys_in_json = false;
            add_call(Kind::private_call, v);
        } else if (name == "tampered") {
            v.tampered = true;
            add_call(Kind::private_call, v);
        } else if (name == "ipv6") {
            v.ipv6 = true;
            add_call(Kind::private_call, v);
            add_call(Kind::group_call, v);
        } else if (name == "vlan") {
            v.vlans = {{net::kEtherTypeVlan, 100}};
            add_call(Kind::private_call, v);
            v.vlans = {{net::kEtherTypeQinQ, 200}, {net::kEtherTypeVlan, 300}};
            add_call(Kind::group_call, v);
        } else if (name == "fragmented_invite") {
            v.fragment_invite = true;
            add_call(Kind::private_call, v);
        } else if (name == "tcp_split") {
            v.tcp = true;
            add_call(Kind::private_call, v);
        } else if (name == "uri_normalisation") {
            v.ims_srtp = false;
            // tel target with visual separators; the call uses a SIP URI with user=phone.
            v.warrant_identity = "tel:+49-30-1234-567";
            v.ims_request_uri = "sip:+49301234567@" + std::string(kImsDomain) + ";user=phone";
            add_call(Kind::ims_call, v);
            // SIP user=phone target with separators; the call uses a tel URI.
            v.warrant_identity = "sip:+49-30-1234-568@" + std::string(kImsDomain) + ";user=phone";
            v.ims_request_uri = "tel:+49301234568";
            add_call(Kind::ims_call, v);
            // Host case and URI parameters do not matter...
            v.warrant_identity = "sip:Carol.Case@" + std::string(kImsDomain);
            v.ims_request_uri = "sip:Carol.Case@IMS.Example.NET;transport=udp";
            add_call(Kind::ims_call, v);
            // ...the user part's case does: this call must not be intercepted.
            v.warrant_identity = "sip:Dave.Case@" + std::string(kImsDomain);
            v.ims_request_uri = "sip:dave.case@" + std::string(kImsDomain);
            v.expect_match = false;
            add_call(Kind::ims_call, v);
        } else if (name == "csrc_ext") {
            v.csrc_ext = true;
            add_call(Kind::private_call, v);
        } else if (name == "malformed") {
            add_call(Kind::private_call, v);
        } else if (name == "fragment_flood") {
            v.fragment_invite = true;
            add_call(Kind::private_call, v);
            fragment_flood_ = true;
            add_fragment_flood(calls_.back().sip.front().meta["time_us"].get<int64_t>());
        } else if (name == "invite_flood") {
            add_call(Kind::private_call, v);
            invite_flood_ = true;
            add_invite_flood(calls_.back().sip.front().meta["time_us"].get<int64_t>());
        } else if (is_sdes_scenario(name)) {
            add_sdes_scenario(name);
        }
    }

    const fs::path dir(o_.out_dir);
    fs::create_directories(dir / "expected");
    capture_.write((dir / "capture.pcap").string(), "");
    result.frames = capture_.size();
    result.calls = calls_.size();
    for (const auto& [file, packets] : expected_files_) {
        std::ofstream out(dir / file, std::ios::binary);
        for (const Bytes& p : packets) {
            uint8_t len[4];
            put32(len, static_cast<uint32_t>(p.size()));
            out.write(reinterpret_cast<const char*>(len), 4);
            out.write(reinterpret_cast<const char*>(p.data()),
                      static_cast<std::streamsize>(p.size()));
        }
        if (!out) throw std::runtime_error((dir / file).string() + ": write failed");
    }
    {
        std::ofstream out(dir / "keys.json");
        out << json{{"keys", keys_}}.dump(2) << "\n";
        if (!out) throw std::runtime_error((dir / "keys.json").string() + ": write failed");
    }
    write_config(dir / "liprobe.toml");

    auto framed = [&](const std::vector<FramedEntry>& entries) {
        json list = json::array();
        for (const FramedEntry& e : entries) {
            json m = e.meta;
            json frames = json::array();
            for (uint64_t id : e.ids) frames.push_back(capture_.frame_index(id));
            m["frames"] = std::move(frames);
            list.push_back(std::move(m));
        }
        return list;
    };
    json calls = json::array();
    for (const CallRecord& c : calls_) {
        json m = c.meta;
        m["sip"] = framed(c.sip);
        m["streams"] = framed(c.streams);
        calls.push_back(std::move(m));
    }
    json expectations = json::object();
    const std::map<std::string, std::string> texts = {
        {"rollover",
         "the PCK caller stream (no ROC field) and the GMK member-0 stream (RCC) start at SEQ "
         "65500 and cross SEQ 0: every packet is delivered decrypted"},
        {"missing_key",
         "the call's PCK is not in keys.json: every media packet is delivered encrypted (the "
         "original IP packet), the SIP as IRI"},
        {"tampered",
         "stream packets listed in \"tampered\" have one ciphertext bit flipped: they fail "
         "authentication and are delivered encrypted; all others decrypted"},
        {"ipv6", "a private and a group call over IPv6 (SIP and media)"},
        {"vlan", "a private call on 802.1Q VLAN 100 and a group call on QinQ 200/300"},
        {"fragmented_invite",
         "the INVITE travels in two IPv4 fragments (its \"frames\"); the call is intercepted"},
        {"tcp_split",
         "SIP over TCP after a handshake; the INVITE is split over two segments (its "
         "\"frames\"); the call is intercepted"},
        {"uri_normalisation",
         "tel and SIP user=phone targets match across forms and separators; host case and URI "
         "parameters are ignored; the call with \"expect\": \"not_intercepted\" differs only in "
         "the case of the user part and must produce nothing"},
        {"csrc_ext",
         "RTP with two CSRCs and an RFC 8285 header extension: delivered with header as "
         "received and payload decrypted"},
        {"malformed",
         "frames listed under \"malformed\" are counted drops; the call they interleave with is "
         "intercepted completely"},
        {"fragment_flood",
         "first fragments that never complete, from many sources, fill the reassembly table "
         "(max_fragments in liprobe.toml) before and after the call's fragmented INVITE: the "
         "oldest are evicted (fragment_evicted) and the call is intercepted completely"},
        {"invite_flood",
         "INVITEs to the warrant under \"floods\", each a new dialog never answered, fill the "
         "dialog table (max_dialogs in liprobe.toml) before and after the call: the oldest "
         "unconfirmed dialogs are evicted, each flood INVITE is one CIN with one IRI Begin, and "
         "the call is intercepted completely"}};
    for (const auto& s : scenarios) {
        if (is_sdes_scenario(s)) continue;
        expectations[s] = texts.at(s);
    }
    for (const auto& [name, text] : sdes_scenario_texts())
        if (scenarios.count(name) != 0) expectations[name] = text;
    json manifest = {
        {"generator", "liprobe-gen calls"},
        {"seed", o_.seed},
        {"packets_per_stream", o_.packets_per_stream},
        {"capture", "capture.pcap"},
        {"keys", "keys.json"},
        {"config", "liprobe.toml"},
        {"frames", result.frames},
        {"frame_numbering", "frames are 0-based positions in capture.pcap (tshark numbers from 1)"},
        {"expected_format",
         "expected/<stream>.bin: per packet a 4-octet big-endian length, then the plaintext "
         "RTP/RTCP packet (header as sent, payload decrypted), in sending order"},
        {"direction_note",
         "direction is relative to the target_side of the call (group calls: the group, i.e. "
         "the called side, is the target)"},
        {"scenarios", std::vector<std::string>(scenarios.begin(), scenarios.end())},
        {"expectations", expectations},
        {"warrants", warrants_},
        {"calls", calls},
        {"malformed", framed(malformed_)},
        {"background", framed(background_)},
        {"floods", floods_}};
    {
        std::ofstream out(dir / "manifest.json");
        out << manifest.dump(1) << "\n";
        if (!out) throw std::runtime_error((dir / "manifest.json").string() + ": write failed");
    }

    uint32_t targets = 0;
    for (const CallRecord& c : calls_) targets += c.meta["target"].get<bool>() ? 1 : 0;
    result.summary.push_back("seed " + std::to_string(o_.seed) + ": " +
                             std::to_string(result.calls) + " calls (" + std::to_string(targets) +
                             " of targets), " + std::to_string(warrants_.size()) + " warrants, " +
                             std::to_string(keys_.size()) + " key entries");
    if (!scenarios.empty()) {
        std::string s = "scenarios:";
        for (const auto& name : scenarios) s += " " + name;
        result.summary.push_back(s);
    }
    return result;
}

const std::vector<std::string>& scenario_names() {
    static const std::vector<std::string> names = {
        "rollover",     "missing_key",       "tampered",       "ipv6",
        "vlan",         "fragmented_invite", "tcp_split",      "uri_normalisation",
        "csrc_ext",     "malformed",         "fragment_flood", "invite_flood",
        "sdes",         "sdes_mki",          "sdes_rekey",     "sdes_bad_crypto",
        "sdes_disabled"};
    return names;
}

bool is_flood_scenario(const std::string& name) {
    return name == "fragment_flood" || name == "invite_flood";
}

bool is_in_all(const std::string& name) {
    return !is_flood_scenario(name) && name != "sdes_disabled";
}

CallsResult generate_calls(const CallsOptions& options) {
    if (options.out_dir.empty()) throw std::runtime_error("--out is required");
    if (options.packets_per_stream == 0 || options.packets_per_stream > 100000) {
        throw std::runtime_error("--packets-per-stream must be 1..100000");
    }
    if (uint64_t{options.private_calls} + options.group_calls + options.ims_calls +
            options.background >
        60000) {
        throw std::runtime_error("at most 60000 calls in total");
    }
    CallsGenerator g(options);
    return g.run();
}

}  // namespace liprobe::gen
