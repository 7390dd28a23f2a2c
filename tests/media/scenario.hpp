// Builds small captures for the interception tests: a SIP call (INVITE with SDP from the target,
// 200 OK with SDP, ACK, SRTP both ways, BYE, 200) and a non-target call, encrypted with an "srtp"
// key entry (AEAD_AES_128_GCM, MKI) through the foundation's crypto API; the plaintext of every
// RTP packet is kept so that tests compare delivered CC byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "liprobe/net/frame_builder.hpp"

namespace liprobe::test {

struct Frame {
    int64_t time_us = 0;
    std::vector<uint8_t> bytes;
};

struct CallSpec {
    std::string caller = "sip:alice@example.org", callee = "sip:bob@example.org";
    std::string call_id = "call-1@example.org";
    uint8_t caller_ip = 10, callee_ip = 20;  // 192.0.2.x
    uint16_t caller_rtp = 40000, callee_rtp = 50000;
    int packets_each_way = 5;
    uint32_t ssrc_caller = 0x11111111, ssrc_callee = 0x22222222;
    int64_t start_us = 1700000000000000;
};

// The keys JSON body (POST /v1/keys) holding the one "srtp" entry used to encrypt.
std::string keys_json();
inline constexpr uint8_t kMki[4] = {0x01, 0x02, 0x03, 0x04};

struct Call {
    std::vector<Frame> frames;
    std::vector<std::vector<uint8_t>> rtp_from_caller, rtp_from_callee;  // plain RTP packets
    std::vector<std::string> sip;  // the SIP messages in order
};

Call build_call(const CallSpec& spec);

// A plain RTP packet (version 2, PT 96) with a recognisable payload.
std::vector<uint8_t> make_rtp(uint16_t seq, uint32_t ts, uint32_t ssrc, size_t payload_len,
                              uint8_t fill);
// SRTP (AEAD_AES_128_GCM) of rtp with the test key, ROC 0, MKI appended.
std::vector<uint8_t> protect(const std::vector<uint8_t>& rtp);

void write_pcap(const std::string& path, std::vector<Frame> frames);  // sorted by time

}  // namespace liprobe::test
