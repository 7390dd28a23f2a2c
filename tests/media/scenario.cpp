#include "scenario.hpp"

#include <algorithm>
#include <stdexcept>

#include "liprobe/crypto/gcm.hpp"
#include "liprobe/crypto/srtp.hpp"
#include "liprobe/keys/key_model.hpp"
#include "liprobe/net/pcap_file.hpp"

namespace liprobe::test {

std::string keys_json() {
    return R"({"keys":[{"type":"srtp","mki":"01020304",)"
           R"("master_key":"000102030405060708090a0b0c0d0e0f",)"
           R"("master_salt":"a0a1a2a3a4a5a6a7a8a9aaab","profile":"aead_aes_128_gcm"}]})";
}

std::vector<uint8_t> make_rtp(uint16_t seq, uint32_t ts, uint32_t ssrc, size_t payload_len,
                              uint8_t fill) {
    std::vector<uint8_t> p(12 + payload_len);
    p[0] = 0x80;
    p[1] = 96;
    p[2] = seq >> 8;
    p[3] = seq & 0xff;
    for (int i = 0; i < 4; ++i) p[4 + i] = (ts >> (24 - 8 * i)) & 0xff;
    for (int i = 0; i < 4; ++i) p[8 + i] = (ssrc >> (24 - 8 * i)) & 0xff;
    for (size_t i = 0; i < payload_len; ++i) p[12 + i] = static_cast<uint8_t>(fill + i);
    return p;
}

std::vector<uint8_t> protect(const std::vector<uint8_t>& rtp) {
    static crypto::GcmEngine gcm;
    static crypto::SrtpSessionKeys keys = [] {
        auto results = keys::derive_keys_text(keys_json());
        if (results.size() != 1 || !results[0].ok || results[0].contexts.empty())
            throw std::runtime_error("test key does not derive");
        const auto& c = results[0].contexts[0];
        crypto::SrtpSessionKeys k;
        gcm.expand_key({c.rtp_key.data(), c.rtp_key.size()}, k.key);
        std::copy(c.rtp_salt.bytes().begin(), c.rtp_salt.bytes().end(), k.salt);
        return k;
    }();
    std::vector<uint8_t> out(rtp.size() + 16 + sizeof kMki);
    const size_t n = crypto::srtp_encrypt(gcm, keys, rtp.data(), rtp.size(), 0, out.data());
    if (n == 0) throw std::runtime_error("srtp_encrypt failed");
    std::copy(kMki, kMki + sizeof kMki, out.begin() + n);
    out.resize(n + sizeof kMki);
    return out;
}

namespace {

net::UdpFrameSpec spec_for(uint8_t src_ip, uint16_t sport, uint8_t dst_ip, uint16_t dport) {
    net::UdpFrameSpec s;
    s.src = net::ipv4_address(192, 0, 2, src_ip);
    s.dst = net::ipv4_address(192, 0, 2, dst_ip);
    s.src_port = sport;
    s.dst_port = dport;
    return s;
}

std::vector<uint8_t> bytes(const std::string& s) {
    return {s.begin(), s.end()};
}

std::string sdp(uint8_t ip, uint16_t port) {
    const std::string addr = "192.0.2." + std::to_string(ip);
    return "v=0\r\no=- 1 1 IN IP4 " + addr + "\r\ns=-\r\nc=IN IP4 " + addr +
           "\r\nt=0 0\r\nm=audio " + std::to_string(port) +
           " RTP/SAVP 96\r\na=rtpmap:96 AMR-WB/16000\r\n";
}

}  // namespace

Call build_call(const CallSpec& c) {
    Call call;
    int64_t t = c.start_us;
    const std::string a_ip = "192.0.2." + std::to_string(c.caller_ip);
    const std::string b_ip = "192.0.2." + std::to_string(c.callee_ip);
    auto headers = [&](const std::string& start, const std::string& from_tag,
                       const std::string& to_tag, int cseq, const std::string& method,
                       const std::string& via_host, const std::string& body) {
        std::string m = start + "\r\nVia: SIP/2.0/UDP " + via_host + ":5060;branch=z9hG4bK" +
                        std::to_string(cseq) + method + "\r\nFrom: <" + c.caller +
                        ">;tag=" + from_tag + "\r\nTo: <" + c.callee + ">" +
                        (to_tag.empty() ? "" : ";tag=" + to_tag) + "\r\nCall-ID: " + c.call_id +
                        "\r\nCSeq: " + std::to_string(cseq) + " " + method +
                        "\r\nMax-Forwards: 70\r\n";
        if (!body.empty()) m += "Content-Type: application/sdp\r\n";
        m += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        return m;
    };
    auto sip = [&](bool from_caller, const std::string& msg) {
        const auto s = from_caller ? spec_for(c.caller_ip, 5060, c.callee_ip, 5060)
                                   : spec_for(c.callee_ip, 5060, c.caller_ip, 5060);
        call.frames.push_back({t, net::build_udp_frame(s, bytes(msg))});
        call.sip.push_back(msg);
        t += 10000;
    };
    // The callee's BYE swaps From and To (it is the callee's request).
    auto bye_from_callee = [&](int cseq) {
        return "BYE " + c.caller + " SIP/2.0\r\nVia: SIP/2.0/UDP " + b_ip +
               ":5060;branch=z9hG4bKbye\r\nFrom: <" + c.callee + ">;tag=t2\r\nTo: <" + c.caller +
               ">;tag=t1\r\nCall-ID: " + c.call_id + "\r\nCSeq: " + std::to_string(cseq) +
               " BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    };
    auto bye_ok = [&](int cseq) {
        return "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP " + b_ip + ":5060;branch=z9hG4bKbye\r\nFrom: <" +
               c.callee + ">;tag=t2\r\nTo: <" + c.caller + ">;tag=t1\r\nCall-ID: " + c.call_id +
               "\r\nCSeq: " + std::to_string(cseq) + " BYE\r\nContent-Length: 0\r\n\r\n";
    };
    sip(true, headers("INVITE " + c.callee + " SIP/2.0", "t1", "", 1, "INVITE", a_ip,
                      sdp(c.caller_ip, c.caller_rtp)));
    sip(false,
        headers("SIP/2.0 200 OK", "t1", "t2", 1, "INVITE", a_ip, sdp(c.callee_ip, c.callee_rtp)));
    sip(true, headers("ACK " + c.callee + " SIP/2.0", "t1", "t2", 1, "ACK", a_ip, ""));
    for (int i = 0; i < c.packets_each_way; ++i) {
        auto a = make_rtp(static_cast<uint16_t>(100 + i), 160 * i, c.ssrc_caller, 40 + i,
                          static_cast<uint8_t>(i));
        auto b = make_rtp(static_cast<uint16_t>(200 + i), 160 * i, c.ssrc_callee, 30 + i,
                          static_cast<uint8_t>(0x80 + i));
        call.frames.push_back(
            {t, net::build_udp_frame(spec_for(c.caller_ip, c.caller_rtp, c.callee_ip, c.callee_rtp),
                                     protect(a))});
        t += 5000;
        call.frames.push_back(
            {t, net::build_udp_frame(spec_for(c.callee_ip, c.callee_rtp, c.caller_ip, c.caller_rtp),
                                     protect(b))});
        t += 15000;
        call.rtp_from_caller.push_back(a);
        call.rtp_from_callee.push_back(b);
    }
    sip(false, bye_from_callee(1));
    sip(true, bye_ok(1));
    return call;
}

void write_pcap(const std::string& path, std::vector<Frame> frames) {
    std::stable_sort(frames.begin(), frames.end(),
                     [](const Frame& a, const Frame& b) { return a.time_us < b.time_us; });
    net::PcapWriter w(path, 1 /* DLT_EN10MB */);
    for (const auto& f : frames)
        w.write(f.time_us / 1000000, static_cast<uint32_t>(f.time_us % 1000000), f.bytes.data(),
                static_cast<uint32_t>(f.bytes.size()));
    w.close();
}

}  // namespace liprobe::test
