// PacketPipeline: the worker-facing entry point of src/net. One per worker lcore, everything
// preallocated at construction; process() allocates nothing, takes no lock, makes no syscall and
// throws nothing.
//
//   PipelineConfig cfg;                       // bounds; defaults are documented below
//   cfg.sip_framer = frame_sip_stream;        // liprobe/net/sip_stream_framer.hpp
//   PacketPipeline pipe(cfg);
//   const PacketResult& r = pipe.process(frame, len, LinkType::ethernet, now_us);
//   // or process_mbuf(pipe, mbuf, link, now_us) from packet_pipeline_mbuf.hpp
//   switch (r.outcome) {
//     case PacketOutcome::udp_datagram:  // r.tuple, r.udp.payload / payload_len,
//       ...                              // r.udp.ip_packet / ip_packet_len (encrypted CC)
//     case PacketOutcome::sip_messages:  // r.tuple; while (pipe.next_sip_message(m)) ...
//     case PacketOutcome::held:          // fragment or TCP bytes stored; nothing to do
//     case PacketOutcome::dropped:       // r.drop names why (already counted)
//   }
//   pipe.expire(now_us);                 // now and then (e.g. per burst): timeouts
//   pipe.flush();                        // end of an offline run
//
// Every view in r (and from next_sip_message) stays valid until the next process(), expire()
// or flush() call: it points into the frame, or into the pipeline's reassembly buffers. Each
// process() call counts the packet exactly once in counters().outcomes, and once per drop in
// counters().drops, so packets == sum of outcomes == udp + sip + held + sum of drops.
//
// What it does: parse_frame() (Ethernet/VLAN/QinQ/cooked/raw, IPv4/IPv6); IPv4 and IPv6
// fragments go to an IpReassembler (a completed datagram comes out of the packet that
// completed it, with reassembled = true); UDP to port 2152 is GTP-U: a G-PDU's inner IPv4/IPv6
// packet is processed like an outer one (fragments included, no GTP-U in GTP-U); TCP on the
// SIP ports (or on any port when the first payload begins with a SIP start line) goes to a
// TcpReassembler that cuts the stream into SIP messages; other TCP and other protocols drop.
#pragma once

#include <cstdint>
#include <memory>

#include "liprobe/net/gtpu.hpp"
#include "liprobe/net/ip_reassembly.hpp"
#include "liprobe/net/parse.hpp"
#include "liprobe/net/tcp_reassembly.hpp"

namespace liprobe::net {

inline constexpr unsigned kMaxSipTcpPorts = 8;

struct PipelineConfig {
    IpReassemblyConfig fragments;  // 64 datagrams, 16 fragments, 65535 octets, 2 s
    TcpReassemblyConfig tcp;       // 256 directions, 16 KiB messages, 8 ranges, 300 s idle
    // Frames SIP over TCP; nullptr drops every TCP segment as tcp_not_sip.
    StreamFramer sip_framer = nullptr;
    uint16_t sip_tcp_ports[kMaxSipTcpPorts] = {5060};
    uint32_t sip_tcp_port_count = 1;
    bool sip_tcp_by_content = true;    // track a direction whose first payload is a SIP start line
    bool gtpu = true;                  // decapsulate UDP to port 2152
    uint32_t max_frame_bytes = 16384;  // linearisation buffer for chained mbufs
};

enum class PacketOutcome : uint8_t { udp_datagram, sip_messages, held, dropped };
inline constexpr unsigned kPacketOutcomeCount = 4;
const char* packet_outcome_name(PacketOutcome outcome);

enum class DropReason : uint8_t {
    none = 0,
    // L2..L4 (an inner GTP-U packet that fails to parse counts under the same names)
    truncated_l2,
    too_many_vlan_tags,
    not_ip,
    bad_ip_version,
    truncated_ipv4,
    bad_ipv4_header_length,
    bad_ipv4_total_length,
    truncated_ipv6,
    bad_ipv6_payload_length,
    bad_ipv6_extension,
    truncated_udp,
    bad_udp_length,
    not_udp_or_tcp,  // ICMP, SCTP, ESP, ...
    frame_too_long,  // chained mbuf longer than max_frame_bytes
    // Fragments (IpReassembler)
    fragment_bad_length,
    fragment_too_large,
    fragment_too_many,
    fragment_overlap,
    fragment_duplicate,
    fragment_inconsistent,
    fragment_table_full,
    // TCP
    truncated_tcp,
    bad_tcp_data_offset,
    tcp_not_sip,     // not a SIP port and not SIP by content (or no framer configured)
    tcp_no_state,    // SIP port, no state and nothing to start one (ACK/FIN/RST mid-stream)
    tcp_no_payload,  // SYN, pure ACK, FIN without new data
    tcp_retransmission,
    tcp_reset,  // RST: state freed
    tcp_out_of_window,
    tcp_out_of_order_limit,
    sip_message_too_large,
    sip_framing_error,
    tcp_resynchronising,
    tcp_buffer_exhausted,  // SIP over TCP: the worker's stream-buffer arena is used up
    // GTP-U
    gtpu_truncated,
    gtpu_bad_version,
    gtpu_not_gpdu,
    gtpu_bad_length,
    gtpu_bad_extension,
};
inline constexpr unsigned kDropReasonCount =
    static_cast<unsigned>(DropReason::gtpu_bad_extension) + 1;
const char* drop_reason_name(DropReason reason);

struct UdpDatagramView {
    const uint8_t* payload = nullptr;
    uint32_t payload_len = 0;
    // The IP packet that carries the datagram (the inner one for GTP-U, the rebuilt one when
    // reassembled): what encrypted CC delivers.
    const uint8_t* ip_packet = nullptr;
    uint32_t ip_packet_len = 0;
    // parsed's offsets are relative to base (the frame, the scratch copy of a chained mbuf, or
    // a reassembly buffer), for the helpers of checksum.hpp.
    const uint8_t* base = nullptr;
    ParsedPacket parsed;
};

struct PacketResult {
    PacketOutcome outcome = PacketOutcome::dropped;
    DropReason drop = DropReason::none;
    FiveTuple tuple;  // udp_datagram, sip_messages (the direction), and when known otherwise
    UdpDatagramView udp;
    uint32_t sip_message_count = 0;
    bool reassembled = false;  // the datagram was rebuilt from fragments
    bool gtpu = false;         // came out of a GTP-U tunnel
    uint32_t gtpu_teid = 0;
    uint8_t vlan_count = 0;     // of the outer frame
    uint16_t vlan_ids[2] = {};  // outer, inner
};

struct PipelineCounters {
    uint64_t packets = 0;
    uint64_t outcomes[kPacketOutcomeCount] = {};
    uint64_t drops[kDropReasonCount] = {};
    uint64_t gtpu_decapsulated = 0;
    uint64_t sip_messages = 0;  // delivered from TCP
};

class PacketPipeline {
  public:
    // Throws std::invalid_argument for an unusable config (control plane).
    explicit PacketPipeline(const PipelineConfig& config);
    ~PacketPipeline();
    PacketPipeline(const PacketPipeline&) = delete;
    PacketPipeline& operator=(const PacketPipeline&) = delete;

    const PacketResult& process(const uint8_t* frame, uint32_t len, LinkType link, int64_t now_us);
    // The same for a frame the caller already parsed: parsed == parse_frame(frame, len, link).
    const PacketResult& process(const uint8_t* frame, const ParsedPacket& parsed, int64_t now_us);
    // After sip_messages: the messages of this packet in stream order (r.tuple's direction).
    bool next_sip_message(TcpStreamMessage& out) { return tcp_.next_message(out); }

    void expire(int64_t now_us);  // fragment and TCP timeouts on packet time
    void flush();                 // end of input: frees held fragments and streams (counted)

    const PipelineCounters& counters() const { return counters_; }
    const IpReassemblyStats& fragment_stats() const { return fragments_.stats(); }
    const TcpReassemblyStats& tcp_stats() const { return tcp_.stats(); }
    uint32_t fragments_in_flight() const { return fragments_.in_flight(); }
    uint32_t tcp_directions() const { return tcp_.directions(); }
    // Stream-buffer arena octets in use as buffers so far (see tcp_reassembly.hpp).
    size_t tcp_buffer_bytes_carved() const { return tcp_.buffer_bytes_carved(); }

    // For process_mbuf(): where a chained mbuf is linearised, and the drop when it is too long.
    uint8_t* scratch() { return scratch_.get(); }
    uint32_t scratch_size() const { return config_.max_frame_bytes; }
    const PacketResult& drop_frame_too_long();

  private:
    const PacketResult& finish(PacketOutcome outcome, DropReason drop = DropReason::none);
    const PacketResult& handle(const uint8_t* base, ParsedPacket& p, int64_t now_us, bool inner);
    const PacketResult& handle_udp(const uint8_t* base, ParsedPacket& p, int64_t now_us,
                                   bool inner);
    const PacketResult& handle_tcp(const uint8_t* base, ParsedPacket& p, int64_t now_us);
    bool is_sip_port(uint16_t port) const;

    PipelineConfig config_;
    IpReassembler fragments_;
    TcpReassembler tcp_;
    std::unique_ptr<uint8_t[]> scratch_;
    PacketResult result_;
    PipelineCounters counters_;
};

}  // namespace liprobe::net
