// Building blocks shared by liprobe-gen's modes: deterministic randomness, RTP/RTCP packets with a
// G.711 tone, libsrtp2 senders (an implementation independent of ours), Ethernet/IP/UDP/TCP frames
// and a time-ordered capture. Control plane code: allocation and exceptions are fine here.
#pragma once

#include <srtp2/srtp.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "liprobe/crypto/srtp.hpp"
#include "liprobe/net/frame_builder.hpp"

namespace liprobe::gen {

using Bytes = std::vector<uint8_t>;

// 2024-05-01T10:00:00Z: captures start here; keys are valid 09:00..12:00.
inline constexpr int64_t kCaptureStartUs = 1714557600LL * 1000000;
inline constexpr const char* kNotBefore = "2024-05-01T09:00:00Z";
inline constexpr const char* kNotAfter = "2024-05-01T12:00:00Z";
inline constexpr uint32_t kPacketIntervalUs = 20000;  // 20 ms of G.711 per packet
inline constexpr size_t kSamplesPerPacket = 160;

void put16(uint8_t* p, uint16_t v);
void put32(uint8_t* p, uint32_t v);
Bytes be32(uint32_t v);
std::string hex(const Bytes& b);
Bytes text(const std::string& s);
std::string base64(const Bytes& b);

class Random {
  public:
    explicit Random(uint64_t seed) : engine_(seed) {}
    uint64_t next() { return engine_(); }
    uint32_t next32() { return static_cast<uint32_t>(engine_() >> 32); }
    Bytes bytes(size_t n);

  private:
    std::mt19937_64 engine_;  // fully specified by the standard: same output everywhere
};

// libsrtp2 initialisation, once per process.
void srtp_library_init();

// The master key material of one SRTP crypto context, the libsrtp2 profile it is used with and
// the MKI sent in its packets (empty: no MKI field, as most SDES endpoints send).
struct SrtpKeys {
    Bytes master_key, master_salt, mki;
    crypto::SrtpProfile profile = crypto::SrtpProfile::aead_aes_128_gcm;
};

// One libsrtp2 sender session for one SSRC: any profile crypto::SrtpProfile names, one master
// key, with or without an MKI. SRTCP of the _32 suites keeps the 80-bit tag (RFC 4568 6.2.2).
class SrtpSender {
  public:
    SrtpSender(uint32_t ssrc, const SrtpKeys& keys);
    ~SrtpSender();
    SrtpSender(const SrtpSender&) = delete;
    SrtpSender& operator=(const SrtpSender&) = delete;

    // AEAD: RTP header | ciphertext | tag | MKI; AES-CM: header | ciphertext | MKI | tag.
    // *roc receives the ROC libsrtp2 used.
    Bytes protect_rtp(const Bytes& plain, uint32_t* roc);
    // AEAD: RTCP header | ciphertext | tag | E||index | MKI;
    // AES-CM: header | ciphertext | E||index | MKI | tag.
    Bytes protect_rtcp(const Bytes& plain);
    // The ROC of the next packet (a new session after a re-key goes on with the stream's ROC).
    void set_roc(uint32_t roc);

  private:
    Bytes key_and_salt_, mki_;
    uint32_t ssrc_ = 0;
    bool use_mki_ = false;
    srtp_t session_ = nullptr;
};

// The MKI/master key/salt of TS 33.180 7.4 (MIKEY PRF-HMAC-SHA-256), AEAD_AES_128_GCM.
SrtpKeys pck_keys(const Bytes& pck, uint32_t pck_id, const Bytes& rand, uint8_t cs_id);
SrtpKeys gmk_keys(const Bytes& gmk, uint32_t gmk_id, const Bytes& rand, const std::string& member,
                  uint8_t cs_id = 4);

// The shape of one RTP stream's packets.
struct RtpShape {
    uint32_t ssrc = 0;
    uint16_t start_seq = 0;
    uint32_t start_ts = 0;
    double tone_hz = 440;
    bool header_extension = false;  // one RFC 8285 one-byte element (audio level)
    std::vector<uint32_t> csrcs;    // contributing sources (mixer)
    std::string cname;
};
// Packet i: marker on the first, PT 0 (PCMU), 160 mu-law samples of the tone.
Bytes rtp_packet(const RtpShape& s, uint32_t i);
// Sender report + SDES CNAME, as a compound RTCP packet.
Bytes rtcp_report(const RtpShape& s, uint32_t packets_sent, int64_t time_us);

struct Host {
    net::IpAddress ip;
    bool ipv6;
    uint8_t mac[6];
};
Host host(const std::string& address, uint8_t mac_last);
std::string ip_text(const Host& h);
net::UdpFrameSpec udp_spec(const Host& from, uint16_t sport, const Host& to, uint16_t dport);

// TCP segment (IPv4 or IPv6, VLAN tags from spec) with correct lengths and checksums.
inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpPsh = 0x08, kTcpAck = 0x10;
Bytes tcp_frame(const net::UdpFrameSpec& spec, uint32_t seq, uint32_t ack, uint8_t flags,
                const Bytes& payload);
Bytes arp_request(const Host& from, const Host& to);
// An IPv4 UDP frame cut into two IPv4 fragments at the first 8-octet boundary at or after
// split_at octets of the IP payload.
std::vector<Bytes> ipv4_fragments(const net::UdpFrameSpec& spec, const Bytes& payload,
                                  size_t split_at);

// Frames in time order; each record may carry the frame a perfect decryptor would write.
class Capture {
  public:
    // Returns the record's id (insertion order), for frame_index() after write().
    uint64_t add(int64_t time_us, Bytes captured, Bytes expected = {});
    uint64_t add_unchanged(int64_t time_us, const Bytes& frame) {
        return add(time_us, frame, frame);
    }
    // Sorts by time (stable) and writes; expected_path empty: only the capture.
    void write(const std::string& capture_path, const std::string& expected_path);
    size_t size() const { return records_.size(); }
    // 0-based position in the written file of the record with this id (after write()).
    uint64_t frame_index(uint64_t id) const { return position_.at(id); }

  private:
    struct Record {
        int64_t time_us;
        uint64_t order;
        Bytes captured;
        Bytes expected;
    };
    std::vector<Record> records_;
    std::vector<uint64_t> position_;
    uint64_t order_ = 0;
};

}  // namespace liprobe::gen
