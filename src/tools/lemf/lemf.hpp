// liprobe-lemf: reference LEMF receiver. Shared declarations of its three parts: main.cpp
// (options, TLS, listening, signals), receiver.cpp (one thread per connection: framing,
// decoding, keep-alive answers) and store.cpp (sequence checks, pcap / JSON-lines output,
// summary).
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "liprobe/export/decode.hpp"
#include "liprobe/export/encoder.hpp"

namespace liprobe::lemf {

// Synthetic addresses for decrypted RTP whose PDU carries none (ETSI 102 232-5 CC): the
// target side is 10.0.0.1:50000, the other side 10.0.0.2:50002; direction picks which is the
// source. Indeterminate direction: 10.0.0.3:50004 -> 10.0.0.4:50006. Decrypted RTCP (same
// rtpFrame form; RFC 5761 4: second octet 192..223) goes one port up, 50001 / 50003 / 50005 ->
// 50007, as RTCP without rtcp-mux would (RFC 3550 11): ETSI CC does not say whether the call
// muxed, and Decode As RTP on the even port, RTCP on the odd one shows both in Wireshark.
inline constexpr uint16_t kTargetPort = 50000, kPeerPort = 50002;
inline constexpr uint16_t kRtcpPortOffset = 1;

// RFC 5761 4: an RTP/RTCP packet whose second octet is 192..223 is RTCP (RTP payload types
// 64..95 with the marker bit, which RTP avoids for this reason).
bool is_rtcp(const std::vector<uint8_t>& packet);

class Store {
  public:
    Store(std::string dir, exporter::Format format);
    ~Store();
    // Continue the sequence state of a previous run from DIR/summary.json (--resume).
    bool resume(std::string& error);

    void record(const exporter::DecodedPdu& pdu, size_t pdu_bytes);
    void keepalive_answered();
    void keepalive_response_seen();
    void connection_opened();
    void connection_closed();
    void malformed_connection(const std::string& reason);
    void tls_failure(const std::string& reason);

    // Flushes and closes every output file, writes DIR/summary.json, returns the summary.
    nlohmann::json finish();
    static void print_summary(const nlohmann::json& summary, FILE* out);

  private:
    struct Stream {
        uint64_t pdus = 0, missing = 0, gap_events = 0, duplicates = 0;
        uint64_t first_seq = 0, next_seq = 0;
        bool started = false;
    };
    struct Output {
        FILE* pcap = nullptr;
        FILE* jsonl = nullptr;
        uint64_t pdus = 0, pcap_packets = 0;
    };
    // Sequence-number streams per (LIID or XID, CIN): CC, IRI, and HI1 notifications (CIN 0).
    static constexpr int kCcStream = 0, kIriStream = 1, kHi1Stream = 2;
    static int stream_of(exporter::PduKind kind) {
        switch (kind) {
            case exporter::PduKind::iri_sip:
                return kIriStream;
            case exporter::PduKind::li_activated:
            case exporter::PduKind::li_deactivated:
            case exporter::PduKind::li_modified:
                return kHi1Stream;
            default:
                return kCcStream;
        }
    }
    static const char* stream_name(int stream) {
        return stream == kIriStream ? "iri" : stream == kHi1Stream ? "hi1" : "cc";
    }
    using StreamKey = std::tuple<std::string, uint64_t, int>;  // (LIID or XID, CIN, stream)
    using OutputKey = std::pair<std::string, uint64_t>;

    Output& output_for(const OutputKey& key);
    void close_outputs();
    void write_pcap(Output& out, const exporter::DecodedPdu& pdu);
    nlohmann::json summary_locked() const;

    std::mutex mu_;
    std::string dir_;
    exporter::Format format_;
    std::map<StreamKey, Stream> streams_;
    std::map<OutputKey, Output> outputs_;
    std::map<std::string, uint64_t> li_deactivated_;  // by LIID
    std::map<std::string, uint64_t> liid_records_;    // CC and IRI PDUs by LIID
    size_t open_outputs_ = 0;
    uint64_t connections_ = 0, active_ = 0, malformed_ = 0, tls_failures_ = 0;
    uint64_t keepalives_ = 0, keepalive_responses_ = 0, pdus_ = 0, pcap_skipped_ = 0;
    std::vector<std::string> reasons_;  // first malformed / TLS failure reasons
};

struct Connection {
    int fd = -1;
    uint64_t id = 0;
    std::string peer;
};

// Serves one accepted connection until the peer closes, the input is malformed, or stop is
// set. ctx == nullptr: plain TCP.
void serve_connection(Connection conn, SSL_CTX* ctx, exporter::Format format, Store& store,
                      const std::atomic<bool>& stop);

// The pcap record of a decrypted RTP or RTCP packet: IPv4 (or IPv6) + UDP + the packet, with
// the PDU's addresses and ports, else the synthetic ones above. Exposed for tests.
std::vector<uint8_t> wrap_rtp(const exporter::DecodedPdu& pdu);

}  // namespace liprobe::lemf
