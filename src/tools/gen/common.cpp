#include "common.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "libsrtp_policy.hpp"
#include "liprobe/crypto/kdf.hpp"
#include "liprobe/net/checksum.hpp"
#include "liprobe/net/pcap_file.hpp"

namespace liprobe::gen {

void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}
Bytes be32(uint32_t v) {
    Bytes b(4);
    put32(b.data(), v);
    return b;
}
std::string hex(const Bytes& b) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    s.reserve(b.size() * 2);
    for (uint8_t x : b) {
        s += digits[x >> 4];
        s += digits[x & 15];
    }
    return s;
}
Bytes text(const std::string& s) {
    return Bytes(s.begin(), s.end());
}
std::string base64(const Bytes& b) {
    static const char* alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 3 <= b.size(); i += 3) {
        const uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8) | b[i + 2];
        for (int k = 18; k >= 0; k -= 6) out += alphabet[(v >> k) & 63];
    }
    if (i + 1 == b.size()) {
        const uint32_t v = uint32_t{b[i]} << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == b.size()) {
        const uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

Bytes Random::bytes(size_t n) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(engine_() >> 56);
    return b;
}

namespace {

void check(srtp_err_status_t status, const char* what) {
    if (status != srtp_err_status_ok) {
        throw std::runtime_error(std::string("libsrtp2 ") + what + " failed: status " +
                                 std::to_string(static_cast<int>(status)));
    }
}

// G.711 mu-law of one 16-bit sample.
uint8_t mulaw(int16_t sample) {
    constexpr int kBias = 0x84, kClip = 32635;
    int pcm = sample;
    const int sign = pcm < 0 ? 0x80 : 0;
    if (pcm < 0) pcm = -pcm;
    pcm = std::min(pcm, kClip) + kBias;
    int exponent = 7;
    for (int mask = 0x4000; (pcm & mask) == 0 && exponent > 0; mask >>= 1) --exponent;
    const int mantissa = (pcm >> (exponent + 3)) & 0x0F;
    return static_cast<uint8_t>(~(sign | (exponent << 4) | mantissa));
}

}  // namespace

void srtp_library_init() {
    static std::once_flag once;
    std::call_once(once, [] { check(srtp_init(), "srtp_init"); });
}

SrtpSender::SrtpSender(uint32_t ssrc, const SrtpKeys& keys)
    : key_and_salt_(keys.master_key), mki_(keys.mki), ssrc_(ssrc), use_mki_(!keys.mki.empty()) {
    srtp_library_init();
    const crypto::SrtpProfileInfo& info = crypto::profile_info(keys.profile);
    if (keys.master_key.size() != info.key_len || keys.master_salt.size() != info.salt_len) {
        throw std::runtime_error(std::string("SrtpSender: key or salt length does not fit ") +
                                 info.name);
    }
    key_and_salt_.insert(key_and_salt_.end(), keys.master_salt.begin(), keys.master_salt.end());
    session_ = libsrtp_session(keys.profile, srtp_ssrc_t{ssrc_specific, ssrc}, key_and_salt_.data(),
                               mki_.data(), mki_.size());
}

SrtpSender::~SrtpSender() {
    srtp_dealloc(session_);
}

Bytes SrtpSender::protect_rtp(const Bytes& plain, uint32_t* roc) {
    Bytes buf(plain.size() + SRTP_MAX_TRAILER_LEN + 4);
    std::copy(plain.begin(), plain.end(), buf.begin());
    int len = static_cast<int>(plain.size());
    check(srtp_protect_mki(session_, buf.data(), &len, use_mki_ ? 1 : 0, 0), "srtp_protect_mki");
    check(srtp_get_stream_roc(session_, ssrc_, roc), "srtp_get_stream_roc");
    buf.resize(static_cast<size_t>(len));
    return buf;
}

void SrtpSender::set_roc(uint32_t roc) {
    check(srtp_set_stream_roc(session_, ssrc_, roc), "srtp_set_stream_roc");
}

Bytes SrtpSender::protect_rtcp(const Bytes& plain) {
    Bytes buf(plain.size() + SRTP_MAX_TRAILER_LEN + 4);
    std::copy(plain.begin(), plain.end(), buf.begin());
    int len = static_cast<int>(plain.size());
    check(srtp_protect_rtcp_mki(session_, buf.data(), &len, use_mki_ ? 1 : 0, 0),
          "srtp_protect_rtcp_mki");
    buf.resize(static_cast<size_t>(len));
    return buf;
}

SrtpKeys pck_keys(const Bytes& pck, uint32_t pck_id, const Bytes& rand, uint8_t cs_id) {
    SrtpKeys k;
    k.master_key = crypto::mikey_derive(pck, crypto::kMikeyTekConstant, cs_id, pck_id, rand, 16);
    k.master_salt = crypto::mikey_derive(pck, crypto::kMikeySaltConstant, cs_id, pck_id, rand, 12);
    k.mki = be32(pck_id);
    return k;
}

SrtpKeys gmk_keys(const Bytes& gmk, uint32_t gmk_id, const Bytes& rand, const std::string& member,
                  uint8_t cs_id) {
    const uint32_t guk = crypto::guk_id(gmk_id, gmk, member);
    SrtpKeys k;
    k.master_key = crypto::mikey_derive(gmk, crypto::kMikeyTekConstant, cs_id, guk, rand, 16);
    k.master_salt = crypto::mikey_derive(gmk, crypto::kMikeySaltConstant, cs_id, guk, rand, 12);
    k.mki = be32(gmk_id);
    const Bytes g = be32(guk);
    k.mki.insert(k.mki.end(), g.begin(), g.end());
    return k;
}

Bytes rtp_packet(const RtpShape& s, uint32_t i) {
    const size_t cc = std::min<size_t>(s.csrcs.size(), 15);
    Bytes p(12 + 4 * cc);
    p[0] = static_cast<uint8_t>(0x80 | (s.header_extension ? 0x10 : 0) | cc);
    p[1] = static_cast<uint8_t>((i == 0 ? 0x80 : 0) | 0);  // marker on the first packet; PT 0
    put16(&p[2], static_cast<uint16_t>(s.start_seq + i));
    put32(&p[4], s.start_ts + i * kSamplesPerPacket);
    put32(&p[8], s.ssrc);
    for (size_t k = 0; k < cc; ++k) put32(&p[12 + 4 * k], s.csrcs[k]);
    if (s.header_extension) {
        // 0xBEDE, length 1 word: element ID 1 (ssrc-audio-level), 1 octet, then padding.
        const uint8_t ext[8] = {0xbe, 0xde, 0x00, 0x01, 0x10, static_cast<uint8_t>(0x80 | 30),
                                0,    0};
        p.insert(p.end(), ext, ext + 8);
    }
    for (size_t n = 0; n < kSamplesPerPacket; ++n) {
        const double t = static_cast<double>(i * kSamplesPerPacket + n) / 8000.0;
        const double v = 8000.0 * std::sin(2.0 * M_PI * s.tone_hz * t);
        p.push_back(mulaw(static_cast<int16_t>(std::lround(v))));
    }
    return p;
}

Bytes rtcp_report(const RtpShape& s, uint32_t packets_sent, int64_t time_us) {
    Bytes p(28);
    p[0] = 0x80;
    p[1] = 200;
    put16(&p[2], 6);
    put32(&p[4], s.ssrc);
    const uint64_t ntp_sec = static_cast<uint64_t>(time_us / 1000000) + 2208988800ULL;
    const uint64_t ntp_frac = (static_cast<uint64_t>(time_us % 1000000) << 32) / 1000000;
    put32(&p[8], static_cast<uint32_t>(ntp_sec));
    put32(&p[12], static_cast<uint32_t>(ntp_frac));
    put32(&p[16], s.start_ts + packets_sent * kSamplesPerPacket);
    put32(&p[20], packets_sent);
    put32(&p[24], packets_sent * kSamplesPerPacket);
    Bytes sdes(8);
    sdes[0] = 0x81;
    sdes[1] = 202;
    put32(&sdes[4], s.ssrc);
    sdes.push_back(1);  // CNAME
    sdes.push_back(static_cast<uint8_t>(s.cname.size()));
    sdes.insert(sdes.end(), s.cname.begin(), s.cname.end());
    sdes.push_back(0);  // END
    while (sdes.size() % 4 != 0) sdes.push_back(0);
    put16(&sdes[2], static_cast<uint16_t>(sdes.size() / 4 - 1));
    p.insert(p.end(), sdes.begin(), sdes.end());
    return p;
}

Host host(const std::string& address, uint8_t mac_last) {
    Host h{};
    const auto ip = net::parse_ip_address(address, &h.ipv6);
    if (!ip) throw std::runtime_error("bad address " + address);
    h.ip = *ip;
    const uint8_t mac[6] = {0x02, 0x4c, 0x49, 0x00, 0x00, mac_last};
    std::copy(mac, mac + 6, h.mac);
    return h;
}

std::string ip_text(const Host& h) {
    char buf[64];
    const uint8_t* b = h.ip.bytes;
    if (!h.ipv6) {
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
        return buf;
    }
    // RFC 5952 would compress zero runs; the full form is unambiguous and parses everywhere.
    std::string s;
    for (int i = 0; i < 16; i += 2) {
        std::snprintf(buf, sizeof buf, "%x", (b[i] << 8) | b[i + 1]);
        if (i != 0) s += ':';
        s += buf;
    }
    return s;
}

net::UdpFrameSpec udp_spec(const Host& from, uint16_t sport, const Host& to, uint16_t dport) {
    net::UdpFrameSpec s;
    std::copy(from.mac, from.mac + 6, s.src_mac);
    std::copy(to.mac, to.mac + 6, s.dst_mac);
    s.ipv6 = from.ipv6;
    s.src = from.ip;
    s.dst = to.ip;
    s.src_port = sport;
    s.dst_port = dport;
    return s;
}

Bytes tcp_frame(const net::UdpFrameSpec& spec, uint32_t seq, uint32_t ack, uint8_t flags,
                const Bytes& payload) {
    // Built as UDP with room for the TCP header, then turned into TCP.
    Bytes room(12 + payload.size(), 0);
    std::copy(payload.begin(), payload.end(), room.begin() + 12);
    Bytes f = net::build_udp_frame(spec, room);
    net::ParsedPacket p;
    if (net::parse_frame(f.data(), static_cast<uint32_t>(f.size()), spec.link, p) !=
        net::ParseStatus::ok) {
        throw std::runtime_error("tcp_frame: cannot parse the frame just built");
    }
    uint8_t* ip = f.data() + p.l3_offset;
    uint8_t* tcp = f.data() + p.l4_offset;
    const auto tcp_len = static_cast<uint32_t>(20 + payload.size());
    uint32_t sum = 0;
    if (p.ip_version == 4) {
        ip[9] = net::kIpProtoTcp;
        put16(ip + 10, 0);
        put16(ip + 10, net::ipv4_header_checksum(ip, 20));
        sum = net::checksum_add(0, ip + 12, 8);
    } else {
        ip[6] = net::kIpProtoTcp;
        sum = net::checksum_add(0, ip + 8, 32);
    }
    sum += net::kIpProtoTcp + (tcp_len >> 16) + (tcp_len & 0xFFFF);
    std::fill(tcp, tcp + 20, 0);
    put16(tcp, spec.src_port);
    put16(tcp + 2, spec.dst_port);
    put32(tcp + 4, seq);
    put32(tcp + 8, (flags & kTcpAck) != 0 ? ack : 0);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 64240);
    sum = net::checksum_add(sum, tcp, tcp_len);
    put16(tcp + 16, net::checksum_fold(sum));
    return f;
}

Bytes arp_request(const Host& from, const Host& to) {
    // Written into a frame of its final size: growing a vector by inserts here trips a GCC 12
    // -O3 -Warray-bounds false positive.
    Bytes f(60, 0);  // minimum Ethernet frame without FCS
    uint8_t* p = f.data();
    std::fill(p, p + 6, 0xff);
    std::copy(from.mac, from.mac + 6, p + 6);
    const uint8_t arp[] = {0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
    std::copy(std::begin(arp), std::end(arp), p + 12);
    std::copy(from.mac, from.mac + 6, p + 22);
    std::copy(from.ip.bytes, from.ip.bytes + 4, p + 28);
    // target MAC (6 octets at 32) stays zero
    std::copy(to.ip.bytes, to.ip.bytes + 4, p + 38);
    return f;
}

std::vector<Bytes> ipv4_fragments(const net::UdpFrameSpec& spec, const Bytes& payload,
                                  size_t split_at) {
    if (spec.ipv6) throw std::runtime_error("ipv4_fragments: IPv6 spec");
    const Bytes whole = net::build_udp_frame(spec, payload);
    net::ParsedPacket p;
    net::parse_frame(whole.data(), static_cast<uint32_t>(whole.size()), spec.link, p);
    const size_t ihl = size_t{whole[p.l3_offset] & 0x0Fu} * 4;
    const size_t ip_payload = p.l3_end - p.l3_offset - ihl;
    const size_t first = (split_at + 7) / 8 * 8;
    if (first == 0 || first >= ip_payload) throw std::runtime_error("ipv4_fragments: bad split");
    std::vector<Bytes> out;
    for (int part = 0; part < 2; ++part) {
        const size_t from = part == 0 ? 0 : first;
        const size_t len = part == 0 ? first : ip_payload - first;
        Bytes f(whole.begin(), whole.begin() + p.l3_offset + ihl);
        const uint8_t* data = whole.data() + p.l3_offset + ihl + from;
        f.insert(f.end(), data, data + len);
        uint8_t* ip = f.data() + p.l3_offset;
        put16(ip + 2, static_cast<uint16_t>(ihl + len));
        put16(ip + 6, static_cast<uint16_t>((part == 0 ? 0x2000 : 0) | (from / 8)));  // MF, offset
        put16(ip + 10, 0);
        put16(ip + 10, net::ipv4_header_checksum(ip, ihl));
        out.push_back(std::move(f));
    }
    return out;
}

uint64_t Capture::add(int64_t time_us, Bytes captured, Bytes expected) {
    records_.push_back({time_us, order_, std::move(captured), std::move(expected)});
    return order_++;
}

void Capture::write(const std::string& capture_path, const std::string& expected_path) {
    std::stable_sort(records_.begin(), records_.end(),
                     [](const Record& a, const Record& b) { return a.time_us < b.time_us; });
    position_.assign(records_.size(), 0);
    for (size_t i = 0; i < records_.size(); ++i) position_[records_[i].order] = i;
    net::PcapWriter capture(capture_path, net::dlt_from_link_type(net::LinkType::ethernet));
    std::unique_ptr<net::PcapWriter> expected;
    if (!expected_path.empty()) {
        expected = std::make_unique<net::PcapWriter>(
            expected_path, net::dlt_from_link_type(net::LinkType::ethernet));
    }
    for (const Record& r : records_) {
        const int64_t sec = r.time_us / 1000000;
        const auto usec = static_cast<uint32_t>(r.time_us % 1000000);
        capture.write(sec, usec, r.captured.data(), static_cast<uint32_t>(r.captured.size()));
        if (expected) {
            expected->write(sec, usec, r.expected.data(), static_cast<uint32_t>(r.expected.size()));
        }
    }
    capture.close();
    if (expected) expected->close();
}

}  // namespace liprobe::gen
