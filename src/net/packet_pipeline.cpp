#include "liprobe/net/packet_pipeline.hpp"

#include <stdexcept>

namespace liprobe::net {
namespace {

DropReason drop_of(ParseStatus status) {
    switch (status) {
        case ParseStatus::truncated_l2:
            return DropReason::truncated_l2;
        case ParseStatus::too_many_vlan_tags:
            return DropReason::too_many_vlan_tags;
        case ParseStatus::not_ip:
            return DropReason::not_ip;
        case ParseStatus::bad_ip_version:
            return DropReason::bad_ip_version;
        case ParseStatus::truncated_ipv4:
            return DropReason::truncated_ipv4;
        case ParseStatus::bad_ipv4_header_length:
            return DropReason::bad_ipv4_header_length;
        case ParseStatus::bad_ipv4_total_length:
            return DropReason::bad_ipv4_total_length;
        case ParseStatus::truncated_ipv6:
            return DropReason::truncated_ipv6;
        case ParseStatus::bad_ipv6_payload_length:
            return DropReason::bad_ipv6_payload_length;
        case ParseStatus::bad_ipv6_extension:
            return DropReason::bad_ipv6_extension;
        case ParseStatus::truncated_udp:
            return DropReason::truncated_udp;
        case ParseStatus::bad_udp_length:
            return DropReason::bad_udp_length;
        case ParseStatus::ok:
        case ParseStatus::ipv4_fragment:
        case ParseStatus::ipv6_fragment:
        case ParseStatus::not_udp:
            break;
    }
    return DropReason::not_udp_or_tcp;
}

DropReason drop_of(FragmentResult result) {
    switch (result) {
        case FragmentResult::bad_length:
            return DropReason::fragment_bad_length;
        case FragmentResult::too_large:
            return DropReason::fragment_too_large;
        case FragmentResult::too_many:
            return DropReason::fragment_too_many;
        case FragmentResult::overlap:
            return DropReason::fragment_overlap;
        case FragmentResult::duplicate:
            return DropReason::fragment_duplicate;
        case FragmentResult::inconsistent:
            return DropReason::fragment_inconsistent;
        case FragmentResult::table_full:
        case FragmentResult::held:
        case FragmentResult::complete:
            break;
    }
    return DropReason::fragment_table_full;
}

DropReason drop_of(TcpResult result) {
    switch (result) {
        case TcpResult::no_payload:
            return DropReason::tcp_no_payload;
        case TcpResult::retransmission:
            return DropReason::tcp_retransmission;
        case TcpResult::reset:
            return DropReason::tcp_reset;
        case TcpResult::out_of_window:
            return DropReason::tcp_out_of_window;
        case TcpResult::out_of_order_limit:
            return DropReason::tcp_out_of_order_limit;
        case TcpResult::message_too_large:
            return DropReason::sip_message_too_large;
        case TcpResult::framing_error:
            return DropReason::sip_framing_error;
        case TcpResult::resynchronising:
            return DropReason::tcp_resynchronising;
        case TcpResult::buffer_exhausted:
            return DropReason::tcp_buffer_exhausted;
        case TcpResult::untracked:
        case TcpResult::messages:
        case TcpResult::held:
            break;
    }
    return DropReason::tcp_no_state;
}

DropReason drop_of(GtpuStatus status) {
    switch (status) {
        case GtpuStatus::truncated:
            return DropReason::gtpu_truncated;
        case GtpuStatus::bad_version:
            return DropReason::gtpu_bad_version;
        case GtpuStatus::not_gpdu:
            return DropReason::gtpu_not_gpdu;
        case GtpuStatus::bad_length:
            return DropReason::gtpu_bad_length;
        case GtpuStatus::bad_extension:
        case GtpuStatus::ok:
            break;
    }
    return DropReason::gtpu_bad_extension;
}

// Never used for the per-packet path: a StreamFramer that frames nothing.
StreamFrame frame_nothing(const uint8_t*, size_t, size_t) {
    return StreamFrame{};
}

}  // namespace

const char* packet_outcome_name(PacketOutcome outcome) {
    switch (outcome) {
        case PacketOutcome::udp_datagram:
            return "udp_datagram";
        case PacketOutcome::sip_messages:
            return "sip_messages";
        case PacketOutcome::held:
            return "held";
        case PacketOutcome::dropped:
            return "dropped";
    }
    return "unknown";
}

const char* drop_reason_name(DropReason reason) {
    switch (reason) {
#define LIPROBE_DROP_NAME(name) \
    case DropReason::name:      \
        return #name;
        LIPROBE_DROP_NAME(none)
        LIPROBE_DROP_NAME(truncated_l2)
        LIPROBE_DROP_NAME(too_many_vlan_tags)
        LIPROBE_DROP_NAME(not_ip)
        LIPROBE_DROP_NAME(bad_ip_version)
        LIPROBE_DROP_NAME(truncated_ipv4)
        LIPROBE_DROP_NAME(bad_ipv4_header_length)
        LIPROBE_DROP_NAME(bad_ipv4_total_length)
        LIPROBE_DROP_NAME(truncated_ipv6)
        LIPROBE_DROP_NAME(bad_ipv6_payload_length)
        LIPROBE_DROP_NAME(bad_ipv6_extension)
        LIPROBE_DROP_NAME(truncated_udp)
        LIPROBE_DROP_NAME(bad_udp_length)
        LIPROBE_DROP_NAME(not_udp_or_tcp)
        LIPROBE_DROP_NAME(frame_too_long)
        LIPROBE_DROP_NAME(fragment_bad_length)
        LIPROBE_DROP_NAME(fragment_too_large)
        LIPROBE_DROP_NAME(fragment_too_many)
        LIPROBE_DROP_NAME(fragment_overlap)
        LIPROBE_DROP_NAME(fragment_duplicate)
        LIPROBE_DROP_NAME(fragment_inconsistent)
        LIPROBE_DROP_NAME(fragment_table_full)
        LIPROBE_DROP_NAME(truncated_tcp)
        LIPROBE_DROP_NAME(bad_tcp_data_offset)
        LIPROBE_DROP_NAME(tcp_not_sip)
        LIPROBE_DROP_NAME(tcp_no_state)
        LIPROBE_DROP_NAME(tcp_no_payload)
        LIPROBE_DROP_NAME(tcp_retransmission)
        LIPROBE_DROP_NAME(tcp_reset)
        LIPROBE_DROP_NAME(tcp_out_of_window)
        LIPROBE_DROP_NAME(tcp_out_of_order_limit)
        LIPROBE_DROP_NAME(sip_message_too_large)
        LIPROBE_DROP_NAME(sip_framing_error)
        LIPROBE_DROP_NAME(tcp_resynchronising)
        LIPROBE_DROP_NAME(tcp_buffer_exhausted)
        LIPROBE_DROP_NAME(gtpu_truncated)
        LIPROBE_DROP_NAME(gtpu_bad_version)
        LIPROBE_DROP_NAME(gtpu_not_gpdu)
        LIPROBE_DROP_NAME(gtpu_bad_length)
        LIPROBE_DROP_NAME(gtpu_bad_extension)
#undef LIPROBE_DROP_NAME
    }
    return "unknown";
}

PacketPipeline::PacketPipeline(const PipelineConfig& config)
    : config_(config),
      fragments_(config.fragments),
      tcp_(config.tcp, config.sip_framer != nullptr ? config.sip_framer : frame_nothing) {
    if (config_.sip_tcp_port_count > kMaxSipTcpPorts || config_.max_frame_bytes < 64 ||
        config_.max_frame_bytes > 1024 * 1024) {
        throw std::invalid_argument(
            "packet pipeline: at most 8 SIP TCP ports, max_frame_bytes 64..1048576");
    }
    scratch_ = std::make_unique<uint8_t[]>(config_.max_frame_bytes);
}

PacketPipeline::~PacketPipeline() = default;

const PacketResult& PacketPipeline::finish(PacketOutcome outcome, DropReason drop) {
    result_.outcome = outcome;
    result_.drop = drop;
    ++counters_.outcomes[static_cast<unsigned>(outcome)];
    if (outcome == PacketOutcome::dropped) ++counters_.drops[static_cast<unsigned>(drop)];
    return result_;
}

bool PacketPipeline::is_sip_port(uint16_t port) const {
    for (uint32_t i = 0; i < config_.sip_tcp_port_count; ++i) {
        if (config_.sip_tcp_ports[i] == port) return true;
    }
    return false;
}

const PacketResult& PacketPipeline::drop_frame_too_long() {
    fragments_.release_completed();
    tcp_.release();
    result_ = PacketResult{};
    ++counters_.packets;
    return finish(PacketOutcome::dropped, DropReason::frame_too_long);
}

const PacketResult& PacketPipeline::process(const uint8_t* frame, uint32_t len, LinkType link,
                                            int64_t now_us) {
    ParsedPacket p;
    parse_frame(frame, len, link, p);
    return process(frame, p, now_us);
}

const PacketResult& PacketPipeline::process(const uint8_t* frame, const ParsedPacket& parsed,
                                            int64_t now_us) {
    fragments_.release_completed();
    tcp_.release();
    result_ = PacketResult{};
    ++counters_.packets;
    ParsedPacket p = parsed;
    result_.vlan_count = p.vlan_count;
    result_.vlan_ids[0] = p.vlan_ids[0];
    result_.vlan_ids[1] = p.vlan_ids[1];
    return handle(frame, p, now_us, false);
}

// p was parsed from base (a frame, a GTP-U payload or a reassembled packet).
const PacketResult& PacketPipeline::handle(const uint8_t* base, ParsedPacket& p, int64_t now_us,
                                           bool inner) {
    switch (p.status) {
        case ParseStatus::ok:
            return handle_udp(base, p, now_us, inner);
        case ParseStatus::ipv4_fragment:
        case ParseStatus::ipv6_fragment: {
            result_.tuple = five_tuple_of(p);
            const FragmentResult fr = fragments_.add(base, p, now_us);
            if (fr == FragmentResult::held) return finish(PacketOutcome::held);
            if (fr != FragmentResult::complete) return finish(PacketOutcome::dropped, drop_of(fr));
            result_.reassembled = true;
            ParsedPacket whole;
            parse_ip(fragments_.packet(), fragments_.packet_len(), 0, whole);
            return handle(fragments_.packet(), whole, now_us, inner);
        }
        case ParseStatus::not_udp:
            if (p.protocol == kIpProtoTcp) return handle_tcp(base, p, now_us);
            result_.tuple = five_tuple_of(p);
            return finish(PacketOutcome::dropped, DropReason::not_udp_or_tcp);
        default:
            return finish(PacketOutcome::dropped, drop_of(p.status));
    }
}

const PacketResult& PacketPipeline::handle_udp(const uint8_t* base, ParsedPacket& p, int64_t now_us,
                                               bool inner) {
    result_.tuple = five_tuple_of(p);
    if (config_.gtpu && !inner && p.dst_port == kGtpuPort) {
        GtpuHeader gtp;
        const GtpuStatus status = parse_gtpu(base, p, gtp);
        if (status != GtpuStatus::ok) return finish(PacketOutcome::dropped, drop_of(status));
        ++counters_.gtpu_decapsulated;
        result_.gtpu = true;
        result_.gtpu_teid = gtp.teid;
        result_.reassembled = false;  // describes the inner packet from here on
        ParsedPacket inner_packet;
        parse_ip(base, gtp.inner_end, gtp.inner_offset, inner_packet);
        return handle(base, inner_packet, now_us, true);
    }
    UdpDatagramView& u = result_.udp;
    u.payload = base + p.payload_offset;
    u.payload_len = p.payload_len;
    u.ip_packet = base + p.l3_offset;
    u.ip_packet_len = p.l3_end - p.l3_offset;
    u.base = base;
    u.parsed = p;
    return finish(PacketOutcome::udp_datagram);
}

const PacketResult& PacketPipeline::handle_tcp(const uint8_t* base, ParsedPacket& p,
                                               int64_t now_us) {
    TcpSegment segment;
    const TcpStatus status = parse_tcp(base, p, segment);
    result_.tuple = five_tuple_of(p);
    if (status == TcpStatus::truncated_tcp) {
        return finish(PacketOutcome::dropped, DropReason::truncated_tcp);
    }
    if (status != TcpStatus::ok) {
        return finish(PacketOutcome::dropped, DropReason::bad_tcp_data_offset);
    }
    if (config_.sip_framer == nullptr) {
        return finish(PacketOutcome::dropped, DropReason::tcp_not_sip);
    }
    const uint8_t* payload = base + segment.payload_offset;
    const bool on_port = is_sip_port(segment.src_port) || is_sip_port(segment.dst_port);
    const bool sip_content = config_.sip_tcp_by_content && segment.payload_len != 0 &&
                             find_sip_start_line(payload, segment.payload_len, true) == 0;
    const TcpResult r = tcp_.add(result_.tuple, segment, payload, now_us, on_port || sip_content);
    switch (r) {
        case TcpResult::messages:
            result_.sip_message_count = tcp_.message_count();
            counters_.sip_messages += tcp_.message_count();
            return finish(PacketOutcome::sip_messages);
        case TcpResult::held:
            return finish(PacketOutcome::held);
        case TcpResult::untracked:
            return finish(PacketOutcome::dropped,
                          on_port ? DropReason::tcp_no_state : DropReason::tcp_not_sip);
        default:
            return finish(PacketOutcome::dropped, drop_of(r));
    }
}

void PacketPipeline::expire(int64_t now_us) {
    fragments_.release_completed();
    tcp_.release();
    fragments_.expire(now_us);
    tcp_.expire(now_us);
}

void PacketPipeline::flush() {
    fragments_.release_completed();
    fragments_.flush();
    tcp_.flush();
}

}  // namespace liprobe::net
