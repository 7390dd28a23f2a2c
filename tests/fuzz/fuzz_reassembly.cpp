// libFuzzer harness: IPv4/IPv6 fragment reassembly and TCP stream reassembly (SIP framing) over
// a sequence of raw IP packets (packet_sequence.hpp), 1 ms of packet time apart. Small tables so
// that eviction, overlap and out-of-window paths are reached.
#include <cstddef>
#include <cstdint>

#include "liprobe/net/ip_reassembly.hpp"
#include "liprobe/net/parse.hpp"
#include "liprobe/net/sip_stream_framer.hpp"
#include "liprobe/net/tcp_reassembly.hpp"
#include "packet_sequence.hpp"

using namespace liprobe::net;

namespace {

void feed_tcp(TcpReassembler& tcp, const uint8_t* frame, ParsedPacket& p, int64_t now_us) {
    TcpSegment seg;
    if (parse_tcp(frame, p, seg) != TcpStatus::ok) return;
    tcp.add(five_tuple_of(p), seg, frame + seg.payload_offset, now_us);
    TcpStreamMessage message;
    while (tcp.next_message(message)) {
        volatile uint8_t sink = message.len ? message.data[message.len - 1] : 0;
        (void)sink;
    }
    tcp.release();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    IpReassemblyConfig ip_config;
    ip_config.max_datagrams = 4;
    ip_config.max_fragments = 8;
    ip_config.timeout_us = 20'000;
    IpReassembler ip(ip_config);
    TcpReassemblyConfig tcp_config;
    tcp_config.max_connections = 8;
    tcp_config.max_message_bytes = 512;
    tcp_config.max_out_of_order = 4;
    TcpReassembler tcp(tcp_config, frame_sip_stream);
    int64_t now_us = 0;
    liprobe::fuzz::for_each_packet(data, size, [&](const uint8_t* frame, uint32_t len) {
        now_us += 1000;
        ip.release_completed();
        ParsedPacket p;
        ParseStatus status = parse_frame(frame, len, LinkType::raw_ip, p);
        const uint8_t* packet = frame;
        if (status == ParseStatus::ipv4_fragment || status == ParseStatus::ipv6_fragment) {
            if (ip.add(frame, p, now_us) != FragmentResult::complete) return;
            packet = ip.packet();
            status = parse_frame(packet, ip.packet_len(), LinkType::raw_ip, p);
        }
        if (status == ParseStatus::not_udp && p.protocol == kIpProtoTcp)
            feed_tcp(tcp, packet, p, now_us);
        if (now_us % 16000 == 0) {
            ip.expire(now_us);
            tcp.expire(now_us);
        }
    });
    ip.flush();
    tcp.flush();
    return 0;
}
