#include "noise.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <set>
#include <stdexcept>

#include "common.hpp"
#include "liprobe/net/checksum.hpp"
#include "liprobe/net/pcap_file.hpp"
#include "sip_builder.hpp"

namespace liprobe::gen {

namespace {

// Noise addresses: 100.64.0.0/10 (shared address space) and fd00:5a0c::/32, never used by
// liprobe-gen calls (10.0.0.0/8, 2001:db8::/32); the safety check below does not rely on it.
Host noise_v4(uint8_t c, uint8_t d) {
    return host("100.64." + std::to_string(c) + "." + std::to_string(d), 0xa0);
}
Host noise_dst_v4(uint8_t d) {
    return host("100.65.0." + std::to_string(d), 0xa1);
}
Host noise_v6(const std::string& last) {
    return host("fd00:5a0c::" + last, 0xa2);
}

class Noise {
  public:
    explicit Noise(uint64_t seed, std::vector<Bytes> capture_media)
        : rng_(seed), media_(std::move(capture_media)) {}

    // One template: one frame, or several (fragments of one datagram).
    std::vector<Bytes> next(std::string& kind) {
        const uint64_t pick = below(100);
        if (pick < 14) {
            kind = "sip";
            return {udp(src4(), 5060, dst4(), 5060, text(sip_message()))};
        }
        if (pick < 30) {
            kind = "srtp";
            return {udp(src4(), even_port(), dst4(), even_port(), srtp_packet())};
        }
        if (pick < 38) {
            kind = "srtcp";
            return {udp(src4(), odd_port(), dst4(), odd_port(), srtcp_packet())};
        }
        if (pick < 52 && !media_.empty()) {
            kind = "capture_media";
            return {capture_media()};
        }
        if (pick < 64) {
            kind = "ipv4_fragments";
            return fragments_overlapping(false);
        }
        if (pick < 70) {
            kind = "ipv6_fragments";
            return fragments_overlapping(true);
        }
        if (pick < 76) {
            kind = "ipv6";
            return {udp(noise_v6(std::to_string(10 + below(4))), 5060, noise_v6("20"),
                        below(2) ? 5060 : even_port(),
                        below(2) ? text(sip_message()) : srtp_packet())};
        }
        if (pick < 82) {
            kind = "tcp_sip";
            return {tcp_segment()};
        }
        if (pick < 88) {
            kind = "gtpu";
            return {gtpu()};
        }
        kind = "garbage";
        return {garbage()};
    }

    // Mutates f in place; returns the mutation's name.
    const char* mutate(Bytes& f) {
        const uint64_t pick = below(100);
        if (pick < 35 || f.empty()) return "none";
        if (pick < 60) {
            const uint64_t bits = 1 + below(8);
            for (uint64_t i = 0; i < bits; ++i) f[below(f.size())] ^= uint8_t(1u << below(8));
            return "bit_flips";
        }
        if (pick < 75) {
            f.resize(1 + below(f.size()));
            return "truncation";
        }
        if (pick < 90 && bad_length(f)) return "bad_length";
        const size_t at = below(f.size());
        const size_t n = std::min<size_t>(1 + below(16), f.size() - at);
        for (size_t i = 0; i < n; ++i) f[at + i] = uint8_t(rng_.next());
        return "splat";
    }

  private:
    uint64_t below(uint64_t n) { return n == 0 ? 0 : rng_.next() % n; }
    Host src4() { return noise_v4(1, uint8_t(1 + below(8))); }
    Host dst4() { return noise_dst_v4(uint8_t(1 + below(8))); }
    uint16_t even_port() { return uint16_t(10000 + 2 * below(25000)); }
    uint16_t odd_port() { return uint16_t(even_port() + 1); }
    Bytes random_bytes(size_t n) { return rng_.bytes(n); }

    static Bytes udp(const Host& from, uint16_t sport, const Host& to, uint16_t dport,
                     const Bytes& payload) {
        return net::build_udp_frame(udp_spec(from, sport, to, dport), payload);
    }

    // Letters only: a noise identity never compares as a tel number.
    std::string letters(size_t n) {
        std::string s;
        for (size_t i = 0; i < n; ++i) s += char('a' + below(26));
        return s;
    }
    std::string call_id_letter() {
        const uint64_t id = below(32);
        return std::string(1, char('a' + id % 26)) + std::to_string(id / 26);
    }
    std::string noise_uri() { return "sip:noise" + letters(3) + "@noise.invalid"; }

    std::string absurd_sdp() {
        std::string s = "v=0\r\n";
        switch (below(6)) {
            case 0:
                s += "o=- 18446744073709551616 99999999999999999999 IN IP4 300.1.1.1\r\n";
                break;
            case 1:
                s += "o=\r\n";
                break;
            default:
                s += "o=- 1 1 IN IP4 100.65.0.1\r\n";
        }
        s += "s=-\r\nt=0 0\r\n";
        const char* conns[] = {"c=IN IP4 999.999.999.999/255/99999\r\n",
                               "c=IN IP6 ::::::::\r\n",
                               "c=IN IP4 100.65.0.1\r\n",
                               "c=IN IP6 fd00:5a0c::20\r\n",
                               "c=IN XX\r\n",
                               "c=\r\n"};
        s += conns[below(6)];
        const uint64_t media = below(4) == 0 ? below(400) : below(4);
        for (uint64_t m = 0; m < media; ++m) {
            const char* ports[] = {"99999999", "0", "65535", "-1", "20000/70000", "x"};
            s += std::string("m=audio ") + ports[below(6)] +
                 (below(2) ? " RTP/SAVP 0 8 101\r\n" : " RTP/AVP\r\n");
            if (below(2)) s += conns[below(6)];
            const char* attrs[] = {"a=rtcp:0\r\n",
                                   "a=rtcp:70000 IN IP4 100.65.0.2\r\n",
                                   "a=rtcp-mux\r\n",
                                   "a=sendonly\r\n",
                                   "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:!!!!\r\n",
                                   "a=key-mgmt:mikey\r\n",
                                   "a=key-mgmt:mikey ====\r\n"};
            s += attrs[below(7)];
            if (below(3) == 0) s += "a=key-mgmt:mikey " + base64(random_bytes(below(600))) + "\r\n";
            if (below(4) == 0) {
                MikeyIMessage mk;
                mk.csb_id = uint32_t(rng_.next());
                mk.rand = random_bytes(16);
                mk.initiator = noise_uri();
                mk.responder = noise_uri();
                mk.kms = "kms.noise.invalid";
                Bytes raw = mikey_sakke_i_message(mk, rng_);
                if (below(2) && !raw.empty()) raw.resize(below(raw.size()));
                s += "a=key-mgmt:mikey " + base64(raw) + "\r\n";
            }
        }
        if (below(8) == 0) s += std::string(below(3000), 'a') + "\r\n";
        return s;
    }

    std::string sip_message() {
        SipText m;
        const std::string to = noise_uri(), from = noise_uri();
        const char* starts[] = {"INVITE ",        "BYE ",          "MESSAGE ",
                                "SIP/2.0 200 OK", "SIP/2.0 183 x", "OPTIONS "};
        const uint64_t s = below(6);
        m.start_line = starts[s];
        if (s < 3 || s == 5) m.start_line += to + " SIP/2.0";
        m.headers = {{"Via", "SIP/2.0/UDP 100.64.1.1:5060;branch=z9hG4bK" + letters(8)},
                     {"From", "<" + from + ">;tag=" + letters(6)},
                     {"To", "<" + to + ">"},
                     // 32 Call-IDs: the noise dialogs never fill a table.
                     {"Call-ID", "noise-" + call_id_letter() + "@noise.invalid"},
                     {"CSeq", below(4) ? "1 INVITE" : "99999999999999999999 INVITE"},
                     {"Max-Forwards", "70"}};
        if (below(4) == 0) m.headers.push_back({"P-Asserted-Identity", "<" + noise_uri() + ">"});
        if (below(6) == 0) m.headers.push_back({"Content-Length", "999999999"});
        if (below(6) == 0) m.headers.push_back({"X-Long", std::string(below(4000), 'x')});
        switch (below(4)) {
            case 0:
                break;
            case 1:
                m.parts = {{"application/sdp", absurd_sdp()}};
                break;
            case 2:
                m.parts = {{"application/sdp", absurd_sdp()},
                           {"application/vnd.3gpp.mcptt-info+xml",
                            below(2) ? mcptt_info_xml(noise_uri(), noise_uri(), noise_uri())
                                     : "<mcpttinfo><mcptt-Params><mcptt-request-uri><mcpttURI>" +
                                           std::string(below(200), '<')}};
                if (below(3) == 0) m.boundary = "";
                break;
            default:
                m.parts = {{"application/vnd.3gpp.mcptt-info+xml",
                            mcptt_info_xml(noise_uri(), noise_uri())}};
        }
        // At most a jumbo frame's worth: the absurd ones are cut (their Content-Length then lies).
        std::string text = m.render();
        if (text.size() > 8000) text.resize(8000);
        return text;
    }

    // V=2 with random padding/extension/CSRC count (the CSRC list often shorter than it says),
    // random extension length, payload, 16-octet "tag", a random MKI of 1..16 octets, sometimes
    // an RCC ROC.
    Bytes srtp_packet() {
        const uint8_t cc = uint8_t(below(16));
        Bytes p;
        p.push_back(uint8_t(0x80 | (below(4) == 0 ? 0x20 : 0) | (below(3) == 0 ? 0x10 : 0) | cc));
        p.push_back(uint8_t(below(4) == 0 ? rng_.next() : 0));
        const Bytes rest = random_bytes(10);  // seq, ts, ssrc
        p.insert(p.end(), rest.begin(), rest.end());
        const Bytes csrc = random_bytes(4 * (below(2) ? cc : below(cc + 1)));
        p.insert(p.end(), csrc.begin(), csrc.end());
        if (p[0] & 0x10) {
            const uint16_t words = uint16_t(below(3) ? below(4) : rng_.next());
            p.push_back(0xbe);
            p.push_back(0xde);
            p.push_back(uint8_t(words >> 8));
            p.push_back(uint8_t(words));
            const Bytes ext = random_bytes(4 * std::min<uint64_t>(words, below(5)));
            p.insert(p.end(), ext.begin(), ext.end());
        }
        const Bytes body = random_bytes(below(320) + 16 + 1 + below(16) + 4 * below(2));
        p.insert(p.end(), body.begin(), body.end());
        return p;
    }

    Bytes srtcp_packet() {
        Bytes p;
        p.push_back(uint8_t(0x80 | below(32)));
        p.push_back(uint8_t(200 + below(8)));
        const uint16_t words = uint16_t(below(3) ? below(64) : rng_.next());
        p.push_back(uint8_t(words >> 8));
        p.push_back(uint8_t(words));
        const Bytes rest = random_bytes(4 + below(200) + 16 + 4 + 1 + below(16));
        p.insert(p.end(), rest.begin(), rest.end());
        return p;
    }

    // A media packet of the capture (real SRTP, real MKIs) moved to noise addresses.
    Bytes capture_media() {
        const Bytes& f = media_[below(media_.size())];
        net::ParsedPacket p;
        net::parse_frame(f.data(), uint32_t(f.size()), net::LinkType::ethernet, p);
        const Bytes payload(f.begin() + p.payload_offset,
                            f.begin() + p.payload_offset + p.payload_len);
        return udp(src4(), p.src_port, dst4(), p.dst_port, payload);
    }

    // 2..4 fragments of one UDP datagram (IPv4 or IPv6, noise SIP or random octets) at random,
    // overlapping offsets; the MF flag random on all but the first. One source per IP version:
    // it can hold no more than a quarter of the reassembly table.
    std::vector<Bytes> fragments_overlapping(bool ipv6) {
        net::UdpFrameSpec spec = ipv6 ? udp_spec(noise_v6("1"), 5060, noise_v6("2"), 5060)
                                      : udp_spec(noise_v4(0, 1), 5060, noise_dst_v4(1), 5060);
        const uint32_t id = uint32_t(below(64));
        spec.ip_id = uint16_t(id);
        const Bytes payload = below(2) ? text(sip_message()) : random_bytes(64 + below(1200));
        const Bytes whole = net::build_udp_frame(spec, payload);
        const size_t l3 = 14, header = ipv6 ? 40 : 20;
        const size_t ip_payload = whole.size() - l3 - header;
        std::vector<Bytes> out;
        const uint64_t n = 2 + below(3);
        for (uint64_t k = 0; k < n; ++k) {
            const size_t from = k == 0 ? 0 : size_t(below(ip_payload / 8 + 1)) * 8;
            const size_t len = std::min<size_t>(8 * (1 + below(ip_payload / 8 + 1)),
                                                ip_payload > from ? ip_payload - from : 8);
            const bool more = k == 0 || below(2) == 0;
            Bytes f(whole.begin(), whole.begin() + long(l3 + header));
            uint8_t* ip = f.data() + l3;
            if (ipv6) {
                ip[6] = 44;  // next header: fragment (RFC 8200 4.5)
                put16(ip + 4, uint16_t(8 + len));
                const uint16_t off = uint16_t(((from / 8) << 3) | (more ? 1 : 0));
                Bytes frag = {17, 0, uint8_t(off >> 8), uint8_t(off)};
                const Bytes idb = be32(id);
                frag.insert(frag.end(), idb.begin(), idb.end());
                f.insert(f.end(), frag.begin(), frag.end());
            } else {
                put16(ip + 2, uint16_t(header + len));
                put16(ip + 6, uint16_t((more ? 0x2000 : 0) | ((from / 8) & 0x1fff)));
                put16(ip + 10, 0);
                put16(ip + 10, net::ipv4_header_checksum(ip, header));
            }
            for (size_t i = 0; i < len; ++i)
                f.push_back(from + i < ip_payload ? whole[l3 + header + from + i] : uint8_t(0));
            out.push_back(std::move(f));
        }
        return out;
    }

    // SIP over TCP on four connections: segments at random, overlapping sequence numbers,
    // random flags, slices of noise SIP messages.
    Bytes tcp_segment() {
        const uint64_t conn = below(4);
        const net::UdpFrameSpec spec =
            udp_spec(noise_v4(2, uint8_t(1 + conn)), uint16_t(40000 + conn), noise_dst_v4(9), 5060);
        const std::string msg = sip_message();
        const size_t from = below(msg.size());
        const size_t len = std::min<size_t>(msg.size() - from, 1 + below(1400));
        const Bytes payload(msg.begin() + long(from), msg.begin() + long(from + len));
        const uint8_t flags_choice[] = {
            kTcpAck | kTcpPsh,   kTcpAck | kTcpPsh, kTcpSyn, kTcpFin | kTcpAck, 0x04,
            uint8_t(rng_.next())};
        return tcp_frame(spec, uint32_t(1000 + below(20000)), 1, flags_choice[below(6)], payload);
    }

    // GTP-U G-PDU with random flags and length around an inner noise packet or random octets.
    Bytes gtpu() {
        Bytes inner;
        if (below(2)) {
            const Bytes f = udp(noise_v4(3, 1), 5060, noise_dst_v4(3), 5060, text(sip_message()));
            inner.assign(f.begin() + 14, f.end());
        } else {
            inner = random_bytes(below(300));
        }
        Bytes g = {uint8_t(below(3) ? 0x30 : rng_.next()), uint8_t(below(4) ? 0xff : rng_.next())};
        const uint16_t len = uint16_t(below(3) ? inner.size() : rng_.next());
        g.push_back(uint8_t(len >> 8));
        g.push_back(uint8_t(len));
        const Bytes teid = random_bytes(4);
        g.insert(g.end(), teid.begin(), teid.end());
        if (g[0] & 0x07) {
            const Bytes opt = random_bytes(4);
            g.insert(g.end(), opt.begin(), opt.end());
        }
        g.insert(g.end(), inner.begin(), inner.end());
        return udp(noise_v4(3, 2), 2152, noise_dst_v4(4), 2152, g);
    }

    Bytes garbage() {
        Bytes f = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
        const uint16_t types[] = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, uint16_t(rng_.next())};
        const uint16_t t = types[below(6)];
        f.push_back(uint8_t(t >> 8));
        f.push_back(uint8_t(t));
        const Bytes rest = random_bytes(below(400));
        f.insert(f.end(), rest.begin(), rest.end());
        return f;
    }

    // Sets a length field (IPv4 total length or IHL, IPv6 payload length, UDP length, TCP data
    // offset) to a wrong value; false when the frame does not parse far enough.
    bool bad_length(Bytes& f) {
        net::ParsedPacket p;
        net::parse_frame(f.data(), uint32_t(f.size()), net::LinkType::ethernet, p);
        if (p.ip_version == 0 || p.l3_offset + 40 > f.size()) return false;
        uint8_t* ip = f.data() + p.l3_offset;
        const uint16_t wild = uint16_t(below(2) ? rng_.next() : below(64));
        switch (below(3)) {
            case 0:
                if (p.ip_version == 4) {
                    if (below(4) == 0)
                        ip[0] = uint8_t(0x40 | below(16));
                    else
                        put16(ip + 2, wild);
                } else {
                    put16(ip + 4, wild);
                }
                return true;
            case 1:
                if (p.l4_offset != 0 && p.l4_offset + 8 <= f.size() &&
                    p.protocol == net::kIpProtoUdp) {
                    put16(f.data() + p.l4_offset + 4, wild);
                    return true;
                }
                [[fallthrough]];
            default:
                if (p.l4_offset != 0 && p.l4_offset + 20 <= f.size() &&
                    p.protocol == net::kIpProtoTcp) {
                    f[p.l4_offset + 12] = uint8_t(below(16) << 4);
                    return true;
                }
                put16(ip + (p.ip_version == 4 ? 2 : 4), wild);
                return true;
        }
    }

    Random rng_;
    std::vector<Bytes> media_;
};

// The octets of every IP address the capture uses (outer headers, both directions).
struct AddressSet {
    std::set<std::array<uint8_t, 4>> v4;
    std::vector<std::array<uint8_t, 16>> v6;
    std::set<std::array<uint8_t, 4>> v6_heads;

    // The unspecified address (what a parser leaves in a header cut short) is nobody's.
    void add(const net::IpAddress& a, uint8_t version) {
        const size_t n = version == 4 ? 4 : 16;
        if (std::all_of(a.bytes, a.bytes + n, [](uint8_t b) { return b == 0; })) return;
        if (version == 4) {
            v4.insert({a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]});
        } else if (version == 6) {
            std::array<uint8_t, 16> full{};
            std::memcpy(full.data(), a.bytes, 16);
            if (std::find(v6.begin(), v6.end(), full) == v6.end()) v6.push_back(full);
            v6_heads.insert({a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]});
        }
    }

    // True when f holds any of the addresses at any offset.
    bool found_in(const Bytes& f) const {
        for (size_t i = 0; i + 4 <= f.size(); ++i) {
            const std::array<uint8_t, 4> w = {f[i], f[i + 1], f[i + 2], f[i + 3]};
            if (v4.count(w) != 0) return true;
            if (v6_heads.count(w) != 0 && i + 16 <= f.size()) {
                for (const auto& a : v6)
                    if (std::memcmp(a.data(), f.data() + i, 16) == 0) return true;
            }
        }
        return false;
    }
};

struct Record {
    int64_t sec;
    uint32_t frac;
    Bytes bytes;
};

}  // namespace

NoiseResult add_noise(const NoiseOptions& options) {
    net::PcapReader reader(options.in_path);
    if (reader.link_type() != net::LinkType::ethernet)
        throw std::runtime_error(options.in_path + ": not an Ethernet capture");
    std::vector<Record> capture;
    std::vector<Bytes> media;
    AddressSet addresses;
    net::PcapRecord rec;
    while (reader.next(rec)) {
        capture.push_back({rec.ts_sec, rec.ts_frac, Bytes(rec.data, rec.data + rec.caplen)});
        net::ParsedPacket p;
        const auto status = net::parse_frame(rec.data, rec.caplen, net::LinkType::ethernet, p);
        if (p.ip_version != 0) {
            addresses.add(p.src, p.ip_version);
            addresses.add(p.dst, p.ip_version);
        }
        // Media: whole UDP datagrams that look like RTP/RTCP, off the SIP port.
        if (status == net::ParseStatus::ok && p.protocol == net::kIpProtoUdp && !p.fragment &&
            p.src_port != 5060 && p.dst_port != 5060 && p.payload_len >= 12 &&
            (rec.data[p.payload_offset] & 0xc0) == 0x80)
            media.push_back(capture.back().bytes);
    }
    if (capture.empty()) throw std::runtime_error(options.in_path + ": no frames");

    NoiseResult r;
    r.capture_frames = capture.size();
    Noise noise(options.seed, std::move(media));
    net::PcapWriter out(options.out_path, reader.dlt(), reader.nanosecond(),
                        std::max(reader.snaplen(), 262144));
    std::vector<Bytes> pending;
    std::string kind;
    for (size_t k = 0; k < capture.size(); ++k) {
        const Record& c = capture[k];
        out.write(c.sec, c.frac, c.bytes.data(), uint32_t(c.bytes.size()));
        // Noise after frame k, in its time: spread evenly over the capture.
        const uint64_t until = options.packets * (k + 1) / capture.size();
        while (r.noise_frames < until) {
            if (pending.empty()) {
                pending = noise.next(kind);
                std::reverse(pending.begin(), pending.end());
            }
            Bytes f = std::move(pending.back());
            pending.pop_back();
            const char* mutation = noise.mutate(f);
            if (addresses.found_in(f)) {
                ++r.redrawn;
                continue;
            }
            out.write(c.sec, c.frac, f.data(), uint32_t(f.size()));
            ++r.noise_frames;
            ++r.by_kind[kind];
            ++r.by_mutation[mutation];
        }
    }
    out.close();
    return r;
}

}  // namespace liprobe::gen
