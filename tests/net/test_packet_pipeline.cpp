// PacketPipeline tests on hand-built frames: IPv4/IPv6 fragment reassembly (order, overlap,
// duplicates, timeouts, table full), SIP over TCP stream reassembly (split INVITE, two
// messages per segment, out of order, retransmission, RST, too large), GTP-U decapsulation,
// and every truncation of every frame (exact-size heap copies, so ASan catches over-reads).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "liprobe/net/checksum.hpp"
#include "liprobe/net/gtpu.hpp"
#include "liprobe/net/packet_pipeline.hpp"
#include "liprobe/net/sip_stream_framer.hpp"

using namespace liprobe::net;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}
Bytes be16(uint16_t v) {
    return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}
Bytes be32(uint32_t v) {
    return cat({be16(static_cast<uint16_t>(v >> 16)), be16(static_cast<uint16_t>(v))});
}
Bytes text(const std::string& s) {
    return Bytes(s.begin(), s.end());
}
Bytes slice(const Bytes& b, size_t from, size_t len) {
    return Bytes(b.begin() + from, b.begin() + from + len);
}

const Bytes kEthIpv4 = {0,    0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                        0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0};
const Bytes kEthIpv6 = {0,    0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                        0x77, 0x88, 0x99, 0xaa, 0xbb, 0x86, 0xdd};
const Bytes kV4Src = {10, 1, 2, 3}, kV4Dst = {192, 0, 2, 9};
const Bytes kV6Src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
const Bytes kV6Dst = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};

Bytes udp(const Bytes& payload, uint16_t sport = 5060, uint16_t dport = 5060) {
    return cat({be16(sport), be16(dport), be16(static_cast<uint16_t>(8 + payload.size())), be16(0),
                payload});
}

// IPv4 header (no options) with a valid checksum; flags_offset holds MF and the offset.
Bytes ipv4(const Bytes& l4, uint8_t protocol, uint16_t id = 0x4242, uint16_t flags_offset = 0,
           const Bytes& src = kV4Src, const Bytes& dst = kV4Dst) {
    Bytes h = cat({{0x45, 0},
                   be16(static_cast<uint16_t>(20 + l4.size())),
                   be16(id),
                   be16(flags_offset),
                   {64, protocol, 0, 0},
                   src,
                   dst});
    const uint16_t sum = ipv4_header_checksum(h.data(), h.size());
    h[10] = static_cast<uint8_t>(sum >> 8);
    h[11] = static_cast<uint8_t>(sum);
    return cat({h, l4});
}

Bytes ipv6(const Bytes& rest, uint8_t next_header) {
    return cat({{0x60, 0, 0, 0},
                be16(static_cast<uint16_t>(rest.size())),
                {next_header, 64},
                kV6Src,
                kV6Dst,
                rest});
}

// Fragments of an IPv4 datagram's payload (the UDP datagram) cut at the given octet offsets.
std::vector<Bytes> ipv4_fragments(const Bytes& l4, std::vector<size_t> cuts, uint16_t id,
                                  uint8_t protocol = 17, const Bytes& src = kV4Src) {
    cuts.push_back(l4.size());
    std::vector<Bytes> frames;
    size_t begin = 0;
    for (size_t cut : cuts) {
        const bool more = cut != l4.size();
        const uint16_t flags = static_cast<uint16_t>((more ? 0x2000 : 0) | (begin / 8));
        frames.push_back(
            cat({kEthIpv4, ipv4(slice(l4, begin, cut - begin), protocol, id, flags, src)}));
        begin = cut;
    }
    return frames;
}

Bytes ipv6_fragment(const Bytes& l4, size_t begin, size_t len, bool more, uint32_t id,
                    const Bytes& before = {}) {
    const uint8_t first_next = before.empty() ? 44 : 60;
    Bytes frag = cat({{17, 0}, be16(static_cast<uint16_t>(begin | (more ? 1 : 0))), be32(id)});
    return cat({kEthIpv6, ipv6(cat({before, frag, slice(l4, begin, len)}), first_next)});
}

Bytes tcp(const Bytes& payload, uint32_t seq, uint8_t flags = kTcpAck | kTcpPsh,
          uint16_t sport = 40000, uint16_t dport = 5060) {
    return cat({be16(sport),
                be16(dport),
                be32(seq),
                be32(1),
                {0x50, flags},
                be16(65535),
                be16(0),
                be16(0),
                payload});
}
Bytes tcp_frame(const Bytes& payload, uint32_t seq, uint8_t flags = kTcpAck | kTcpPsh,
                uint16_t sport = 40000, uint16_t dport = 5060) {
    return cat({kEthIpv4, ipv4(tcp(payload, seq, flags, sport, dport), 6)});
}

std::string invite(const std::string& call_id = "a84b4c76e66710") {
    const std::string sdp =
        "v=0\r\no=alice 2890844526 2890844526 IN IP4 10.1.2.3\r\ns=-\r\n"
        "c=IN IP4 10.1.2.3\r\nt=0 0\r\nm=audio 49170 RTP/SAVP 96\r\n"
        "a=rtpmap:96 AMR-WB/16000\r\n";
    return "INVITE sip:bob@example.com SIP/2.0\r\n"
           "Via: SIP/2.0/TCP 10.1.2.3:5060;branch=z9hG4bK776asdhds\r\n"
           "Max-Forwards: 70\r\nTo: <sip:bob@example.com>\r\n"
           "From: <sip:alice@example.com>;tag=1928301774\r\n"
           "Call-ID: " +
           call_id +
           "\r\nCSeq: 314159 INVITE\r\n"
           "Contact: <sip:alice@10.1.2.3>\r\nContent-Type: application/sdp\r\n"
           "Content-Length: " +
           std::to_string(sdp.size()) + "\r\n\r\n" + sdp;
}
const std::string kBye =
    "BYE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.1.2.3:5060;branch=z9hG4bKnashds7\r\n"
    "Call-ID: a84b4c76e66710\r\nCSeq: 314160 BYE\r\nContent-Length: 0\r\n\r\n";

// Exact-size heap copy so that AddressSanitizer sees any read past the end.
struct Feed {
    PacketPipeline& pipe;
    std::unique_ptr<uint8_t[]> copy;
    const PacketResult& operator()(const Bytes& frame, int64_t now_us = 1'000'000) {
        copy = std::make_unique<uint8_t[]>(std::max<size_t>(frame.size(), 1));
        if (!frame.empty()) std::memcpy(copy.get(), frame.data(), frame.size());
        return pipe.process(copy.get(), static_cast<uint32_t>(frame.size()), LinkType::ethernet,
                            now_us);
    }
};

PipelineConfig sip_config() {
    PipelineConfig c;
    c.sip_framer = frame_sip_stream;
    return c;
}

std::string payload_of(const PacketResult& r) {
    return std::string(reinterpret_cast<const char*>(r.udp.payload), r.udp.payload_len);
}

std::vector<std::string> messages_of(PacketPipeline& pipe) {
    std::vector<std::string> out;
    TcpStreamMessage m;
    while (pipe.next_sip_message(m)) out.emplace_back(reinterpret_cast<const char*>(m.data), m.len);
    return out;
}

uint64_t drops(const PacketPipeline& pipe, DropReason r) {
    return pipe.counters().drops[static_cast<unsigned>(r)];
}

// packets == sum of outcomes == udp + sip + held + sum of drops.
void expect_accounting(const PacketPipeline& pipe) {
    const PipelineCounters& c = pipe.counters();
    uint64_t outcomes = 0, dropped = 0;
    for (uint64_t n : c.outcomes) outcomes += n;
    for (uint64_t n : c.drops) dropped += n;
    EXPECT_EQ(c.packets, outcomes);
    EXPECT_EQ(c.outcomes[static_cast<unsigned>(PacketOutcome::dropped)], dropped);
}

// Every held fragment (no TCP in these tests) ends in one named place or is still held.
void expect_fragment_accounting(const PacketPipeline& pipe, uint64_t still_held) {
    const IpReassemblyStats& s = pipe.fragment_stats();
    EXPECT_EQ(pipe.counters().outcomes[static_cast<unsigned>(PacketOutcome::held)],
              s.fragments_completed + s.fragments_timed_out + s.fragments_discarded +
                  s.fragments_flushed + s.fragments_evicted + still_held);
}

// ---------------------------------------------------------------- IPv4 fragments

TEST(Ipv4Fragments, InviteInTwoFragmentsInOrder) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    const Bytes datagram = udp(text(invite()));
    const auto frames = ipv4_fragments(datagram, {304}, 0x1111);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(feed(frames[0]).outcome, PacketOutcome::held);
    EXPECT_EQ(pipe.fragments_in_flight(), 1u);
    const PacketResult& r = feed(frames[1]);
    ASSERT_EQ(r.outcome, PacketOutcome::udp_datagram);
    EXPECT_TRUE(r.reassembled);
    EXPECT_EQ(payload_of(r), invite());
    EXPECT_EQ(r.tuple.src_port, 5060);
    EXPECT_EQ(r.tuple.dst_port, 5060);
    EXPECT_EQ(r.tuple.ip_version, 4);
    EXPECT_EQ(0, std::memcmp(r.tuple.src.bytes, kV4Src.data(), 4));
    // The rebuilt packet is the unfragmented one: same id, flags clear, checksums valid.
    const Bytes whole = ipv4(datagram, 17, 0x1111, 0);
    ASSERT_EQ(r.udp.ip_packet_len, whole.size());
    EXPECT_EQ(Bytes(r.udp.ip_packet, r.udp.ip_packet + r.udp.ip_packet_len), whole);
    EXPECT_TRUE(ipv4_header_checksum_ok(r.udp.base, r.udp.parsed));
    EXPECT_EQ(pipe.fragment_stats().datagrams_completed, 1u);
    feed(frames[0]);  // the next packet releases the buffer
    EXPECT_EQ(pipe.fragments_in_flight(), 1u);
    expect_accounting(pipe);
}

TEST(Ipv4Fragments, InviteInTwoFragmentsReversedAndThree) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    const Bytes datagram = udp(text(invite()));
    auto frames = ipv4_fragments(datagram, {304}, 0x2222);
    EXPECT_EQ(feed(frames[1]).outcome, PacketOutcome::held);
    const PacketResult& r = feed(frames[0]);
    ASSERT_EQ(r.outcome, PacketOutcome::udp_datagram);
    EXPECT_EQ(payload_of(r), invite());

    frames = ipv4_fragments(datagram, {96, 200}, 0x2223);
    EXPECT_EQ(feed(frames[2]).outcome, PacketOutcome::held);
    EXPECT_EQ(feed(frames[0]).outcome, PacketOutcome::held);
    const PacketResult& r3 = feed(frames[1]);
    ASSERT_EQ(r3.outcome, PacketOutcome::udp_datagram);
    EXPECT_EQ(payload_of(r3), invite());
    EXPECT_EQ(pipe.counters().outcomes[static_cast<unsigned>(PacketOutcome::held)], 3u);
    expect_accounting(pipe);
}

TEST(Ipv4Fragments, OverlapDuplicateInconsistent) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    const Bytes datagram = udp(text(invite()));
    // Exact duplicate: dropped alone, the datagram still completes.
    auto frames = ipv4_fragments(datagram, {304}, 0x3333);
    EXPECT_EQ(feed(frames[0]).outcome, PacketOutcome::held);
    const PacketResult& dup = feed(frames[0]);
    EXPECT_EQ(dup.outcome, PacketOutcome::dropped);
    EXPECT_EQ(dup.drop, DropReason::fragment_duplicate);
    EXPECT_EQ(feed(frames[1]).outcome, PacketOutcome::udp_datagram);

    // Partial overlap (0..304 then 296..end): the whole datagram is discarded.
    frames = ipv4_fragments(datagram, {304}, 0x3334);
    const auto other = ipv4_fragments(datagram, {296}, 0x3334);
    EXPECT_EQ(feed(frames[0]).outcome, PacketOutcome::held);
    EXPECT_EQ(feed(other[1]).drop, DropReason::fragment_overlap);
    EXPECT_EQ(pipe.fragments_in_flight(), 0u);
    EXPECT_EQ(feed(frames[1]).outcome, PacketOutcome::held);  // starts a new datagram

    // Same range with other octets: inconsistent, discarded.
    Bytes changed = datagram;
    changed[100] ^= 1;
    const auto bad = ipv4_fragments(changed, {304}, 0x3335);
    frames = ipv4_fragments(datagram, {304}, 0x3335);
    EXPECT_EQ(feed(frames[0]).outcome, PacketOutcome::held);
    EXPECT_EQ(feed(bad[0]).drop, DropReason::fragment_inconsistent);

    // A non-last fragment whose length is not a multiple of 8.
    const auto odd = ipv4_fragments(datagram, {301}, 0x3336);
    EXPECT_EQ(feed(odd[0]).drop, DropReason::fragment_bad_length);

    EXPECT_EQ(drops(pipe, DropReason::fragment_duplicate), 1u);
    EXPECT_EQ(drops(pipe, DropReason::fragment_overlap), 1u);
    EXPECT_EQ(drops(pipe, DropReason::fragment_inconsistent), 1u);
    EXPECT_EQ(drops(pipe, DropReason::fragment_bad_length), 1u);
    EXPECT_EQ(pipe.fragment_stats().datagrams_discarded, 2u);
    EXPECT_EQ(pipe.fragment_stats().fragments_discarded, 2u);
    EXPECT_EQ(pipe.fragment_stats().datagrams_completed, 1u);
    expect_accounting(pipe);
}

TEST(Ipv4Fragments, TimeoutOnPacketTime) {
    PipelineConfig c = sip_config();
    c.fragments.timeout_us = 500'000;
    PacketPipeline pipe(c);
    Feed feed{pipe};
    const Bytes datagram = udp(text(invite()));
    const auto a = ipv4_fragments(datagram, {304}, 1);
    const auto b = ipv4_fragments(datagram, {304}, 2);
    EXPECT_EQ(feed(a[0], 1'000'000).outcome, PacketOutcome::held);
    EXPECT_EQ(feed(b[0], 1'400'000).outcome, PacketOutcome::held);
    pipe.expire(1'500'000);  // exactly the timeout: not yet
    EXPECT_EQ(pipe.fragments_in_flight(), 2u);
    pipe.expire(1'500'001);
    EXPECT_EQ(pipe.fragments_in_flight(), 1u);
    EXPECT_EQ(pipe.fragment_stats().datagrams_timed_out, 1u);
    EXPECT_EQ(pipe.fragment_stats().fragments_timed_out, 1u);
    // The late second half of a cannot complete it; it is held as a new datagram.
    EXPECT_EQ(feed(a[1], 1'600'000).outcome, PacketOutcome::held);
    // b's second half after b timed out (checked on lookup, without expire()).
    EXPECT_EQ(feed(b[1], 2'000'000).outcome, PacketOutcome::held);
    EXPECT_EQ(pipe.fragment_stats().datagrams_timed_out, 2u);
    pipe.flush();
    EXPECT_EQ(pipe.fragment_stats().datagrams_flushed, 2u);
    EXPECT_EQ(pipe.fragments_in_flight(), 0u);
    expect_accounting(pipe);
}

// A full table evicts the oldest incomplete datagram instead of refusing the new one.
TEST(Ipv4Fragments, FullTableEvictsOldestAndTooManyFragments) {
    PipelineConfig c = sip_config();
    c.fragments.max_datagrams = 2;
    c.fragments.max_fragments = 3;
    PacketPipeline pipe(c);
    Feed feed{pipe};
    const Bytes datagram = udp(text(invite()));
    for (uint16_t id = 1; id <= 4; ++id)
        EXPECT_EQ(feed(ipv4_fragments(datagram, {304}, id)[0]).outcome, PacketOutcome::held);
    EXPECT_EQ(drops(pipe, DropReason::fragment_table_full), 0u);
    EXPECT_EQ(pipe.fragment_stats().datagrams_evicted, 2u);  // 1 and 2
    EXPECT_EQ(pipe.fragment_stats().fragments_evicted, 2u);
    EXPECT_EQ(pipe.fragments_in_flight(), 2u);
    // The newest two still complete.
    EXPECT_EQ(feed(ipv4_fragments(datagram, {304}, 4)[1]).outcome, PacketOutcome::udp_datagram);
    EXPECT_EQ(feed(ipv4_fragments(datagram, {304}, 3)[1]).outcome, PacketOutcome::udp_datagram);
    EXPECT_EQ(pipe.fragment_stats().datagrams_completed, 2u);
    EXPECT_EQ(feed(ipv4_fragments(datagram, {304}, 5)[0]).outcome, PacketOutcome::held);
    EXPECT_EQ(feed(ipv4_fragments(datagram, {304}, 6)[0]).outcome, PacketOutcome::held);
    // After the timeout the oldest makes room as timed out, not as evicted.
    EXPECT_EQ(feed(ipv4_fragments(datagram, {304}, 7)[0], 9'000'000).outcome, PacketOutcome::held);
    EXPECT_EQ(pipe.fragment_stats().datagrams_timed_out, 1u);
    // A fourth fragment of one datagram is one too many.
    const auto many = ipv4_fragments(datagram, {8, 16, 24}, 8);
    EXPECT_EQ(feed(many[0], 9'000'000).outcome, PacketOutcome::held);
    EXPECT_EQ(pipe.fragment_stats().datagrams_timed_out, 2u);
    EXPECT_EQ(pipe.fragment_stats().datagrams_evicted, 2u);
    EXPECT_EQ(feed(many[1], 9'000'000).outcome, PacketOutcome::held);
    EXPECT_EQ(feed(many[2], 9'000'000).outcome, PacketOutcome::held);
    EXPECT_EQ(feed(many[3], 9'000'000).drop, DropReason::fragment_too_many);
    EXPECT_EQ(pipe.fragment_stats().fragments_discarded, 3u);
    expect_accounting(pipe);
    expect_fragment_accounting(pipe, 1);  // datagram 7
}

// A flood of first fragments that never complete, from many sources (so the per-source bound
// does not help): a datagram whose two fragments arrive a few packets apart is reassembled,
// and every flood datagram pushed out is an eviction.
TEST(Ipv4Fragments, FloodFromManySourcesDoesNotStarveACloseDatagram) {
    PipelineConfig c = sip_config();
    c.fragments.max_datagrams = 8;
    c.fragments.max_datagrams_per_source = 2;
    PacketPipeline pipe(c);
    Feed feed{pipe};
    const Bytes datagram = udp(text(invite()));
    const auto flood = [&](uint32_t n) {
        const Bytes src = {172, 16, static_cast<uint8_t>(n % 50), 1};
        return ipv4_fragments(datagram, {304}, static_cast<uint16_t>(n), 17, src)[0];
    };
    const auto target = ipv4_fragments(datagram, {304}, 0x7777);
    int64_t now = 1'000'000;
    for (uint32_t n = 0; n < 500; ++n)
        ASSERT_EQ(feed(flood(n), now++).outcome, PacketOutcome::held);
    EXPECT_EQ(feed(target[0], now++).outcome, PacketOutcome::held);
    for (uint32_t n = 500; n < 503; ++n) feed(flood(n), now++);
    const PacketResult& r = feed(target[1], now++);
    ASSERT_EQ(r.outcome, PacketOutcome::udp_datagram);
    EXPECT_EQ(payload_of(r), invite());
    for (uint32_t n = 503; n < 1000; ++n) feed(flood(n), now++);
    // 1001 datagrams started, one completed, eight still held.
    EXPECT_EQ(pipe.fragment_stats().datagrams_evicted, 992u);
    EXPECT_EQ(pipe.fragment_stats().fragments_evicted, 992u);
    EXPECT_EQ(pipe.fragment_stats().datagrams_completed, 1u);
    EXPECT_EQ(pipe.fragment_stats().datagrams_timed_out, 0u);
    EXPECT_EQ(drops(pipe, DropReason::fragment_table_full), 0u);
    EXPECT_EQ(pipe.fragments_in_flight(), 8u);
    expect_fragment_accounting(pipe, 8);
    pipe.flush();
    EXPECT_EQ(pipe.fragment_stats().fragments_flushed, 8u);
    expect_fragment_accounting(pipe, 0);
    expect_accounting(pipe);
}

// One flooding source holds at most its share: another source's datagram completes even with
// the whole flood between its fragments.
TEST(Ipv4Fragments, OneSourceHoldsAtMostItsShare) {
    PipelineConfig c = sip_config();
    c.fragments.max_datagrams = 8;
    c.fragments.max_datagrams_per_source = 2;
    PacketPipeline pipe(c);
    Feed feed{pipe};
    const Bytes datagram = udp(text(invite()));
    const Bytes flooder = {172, 16, 0, 1};
    const auto target = ipv4_fragments(datagram, {304}, 0x7777);
    int64_t now = 1'000'000;
    EXPECT_EQ(feed(target[0], now++).outcome, PacketOutcome::held);
    for (uint16_t n = 0; n < 100; ++n)
        ASSERT_EQ(feed(ipv4_fragments(datagram, {304}, n, 17, flooder)[0], now++).outcome,
                  PacketOutcome::held);
    EXPECT_EQ(pipe.fragments_in_flight(), 3u);  // the target's and the flooder's two
    EXPECT_EQ(feed(target[1], now++).outcome, PacketOutcome::udp_datagram);
    EXPECT_EQ(pipe.fragment_stats().datagrams_evicted, 98u);
    expect_fragment_accounting(pipe, 2);
    expect_accounting(pipe);
}

TEST(Ipv4Fragments, TooLarge) {
    PipelineConfig c = sip_config();
    c.fragments.max_datagram_bytes = 512;
    PacketPipeline pipe(c);
    Feed feed{pipe};
    const Bytes datagram = udp(text(invite() + std::string(600, 'x')));
    const auto frames = ipv4_fragments(datagram, {304}, 9);
    EXPECT_EQ(feed(frames[0]).outcome, PacketOutcome::held);
    EXPECT_EQ(feed(frames[1]).drop, DropReason::fragment_too_large);
    EXPECT_EQ(pipe.fragments_in_flight(), 0u);
}

// ---------------------------------------------------------------- IPv6 fragments

TEST(Ipv6Fragments, InviteInTwoFragmentsBothOrdersAndWithExtension) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    const Bytes datagram = udp(text(invite()));
    const Bytes first = ipv6_fragment(datagram, 0, 256, true, 0xdeadbeef);
    const Bytes second = ipv6_fragment(datagram, 256, datagram.size() - 256, false, 0xdeadbeef);
    EXPECT_EQ(feed(first).outcome, PacketOutcome::held);
    const PacketResult& r = feed(second);
    ASSERT_EQ(r.outcome, PacketOutcome::udp_datagram);
    EXPECT_TRUE(r.reassembled);
    EXPECT_EQ(payload_of(r), invite());
    EXPECT_EQ(r.tuple.ip_version, 6);
    EXPECT_EQ(0, std::memcmp(r.tuple.dst.bytes, kV6Dst.data(), 16));
    const Bytes whole = ipv6(datagram, 17);  // the fragment header is gone
    EXPECT_EQ(Bytes(r.udp.ip_packet, r.udp.ip_packet + r.udp.ip_packet_len), whole);

    EXPECT_EQ(feed(second).outcome, PacketOutcome::held);
    EXPECT_EQ(payload_of(feed(first)), invite());

    // A destination-options header before the fragment header stays, pointing at UDP.
    const Bytes dest_opts = {44, 0, 1, 4, 0, 0, 0, 0};
    const Bytes a = ipv6_fragment(datagram, 0, 256, true, 7, dest_opts);
    const Bytes b = ipv6_fragment(datagram, 256, datagram.size() - 256, false, 7, dest_opts);
    EXPECT_EQ(feed(b).outcome, PacketOutcome::held);
    const PacketResult& r2 = feed(a);
    ASSERT_EQ(r2.outcome, PacketOutcome::udp_datagram);
    EXPECT_EQ(payload_of(r2), invite());
    Bytes opts_udp = dest_opts;
    opts_udp[0] = 17;
    EXPECT_EQ(Bytes(r2.udp.ip_packet, r2.udp.ip_packet + r2.udp.ip_packet_len),
              ipv6(cat({opts_udp, datagram}), 60));
    expect_accounting(pipe);
}

TEST(Ipv6Fragments, OverlapDiscardsDatagram) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    const Bytes datagram = udp(text(invite()));
    EXPECT_EQ(feed(ipv6_fragment(datagram, 0, 256, true, 5)).outcome, PacketOutcome::held);
    EXPECT_EQ(feed(ipv6_fragment(datagram, 248, datagram.size() - 248, false, 5)).drop,
              DropReason::fragment_overlap);
    EXPECT_EQ(pipe.fragments_in_flight(), 0u);
    EXPECT_EQ(feed(ipv6_fragment(datagram, 256, datagram.size() - 256, false, 5)).outcome,
              PacketOutcome::held);
}

// ---------------------------------------------------------------- TCP

struct TcpStream {
    Feed& feed;
    uint32_t next_seq;
    const PacketResult& send(const std::string& data, int64_t now = 1'000'000) {
        const PacketResult& r = feed(tcp_frame(text(data), next_seq), now);
        next_seq += static_cast<uint32_t>(data.size());
        return r;
    }
};

TEST(Tcp, InviteOverTwoSegments) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    EXPECT_EQ(feed(tcp_frame({}, 999, kTcpSyn)).drop, DropReason::tcp_no_payload);
    EXPECT_EQ(pipe.tcp_directions(), 1u);
    TcpStream s{feed, 1000};
    const std::string msg = invite();
    EXPECT_EQ(s.send(msg.substr(0, 200)).outcome, PacketOutcome::held);
    const PacketResult& r = s.send(msg.substr(200));
    ASSERT_EQ(r.outcome, PacketOutcome::sip_messages);
    EXPECT_EQ(r.sip_message_count, 1u);
    EXPECT_EQ(r.tuple.src_port, 40000);
    EXPECT_EQ(r.tuple.dst_port, 5060);
    EXPECT_EQ(r.tuple.protocol, kIpProtoTcp);
    EXPECT_EQ(messages_of(pipe), std::vector<std::string>{msg});
    // FIN frees the direction.
    EXPECT_EQ(feed(tcp_frame({}, s.next_seq, kTcpFin | kTcpAck)).drop, DropReason::tcp_no_payload);
    feed(tcp_frame({}, 1, kTcpAck, 5060, 40000));
    EXPECT_EQ(pipe.tcp_directions(), 0u);
    EXPECT_EQ(pipe.tcp_stats().directions_closed, 1u);
    expect_accounting(pipe);
}

TEST(Tcp, TwoMessagesInOneSegmentAndKeepAlive) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    TcpStream s{feed, 5000};  // no SYN seen: synchronises on the first data
    const PacketResult& r = s.send("\r\n\r\n" + invite() + kBye);
    ASSERT_EQ(r.outcome, PacketOutcome::sip_messages);
    EXPECT_EQ(r.sip_message_count, 2u);
    EXPECT_EQ(messages_of(pipe), (std::vector<std::string>{invite(), kBye}));
    // A message and a half, then the rest.
    const std::string second = invite("second");
    EXPECT_EQ(s.send(kBye + second.substr(0, 10)).sip_message_count, 1u);
    EXPECT_EQ(messages_of(pipe), std::vector<std::string>{kBye});
    ASSERT_EQ(s.send(second.substr(10)).outcome, PacketOutcome::sip_messages);
    EXPECT_EQ(messages_of(pipe), std::vector<std::string>{second});
    EXPECT_EQ(pipe.counters().sip_messages, 4u);
}

TEST(Tcp, OutOfOrderAndRetransmission) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    feed(tcp_frame({}, 99, kTcpSyn));
    const std::string msg = invite() + kBye;
    // Three segments: 0..100, 100..300, 300..end, sent 3, 2, 1.
    EXPECT_EQ(feed(tcp_frame(text(msg.substr(300)), 100 + 300)).outcome, PacketOutcome::held);
    EXPECT_EQ(feed(tcp_frame(text(msg.substr(100, 200)), 100 + 100)).outcome, PacketOutcome::held);
    const PacketResult& r = feed(tcp_frame(text(msg.substr(0, 100)), 100));
    ASSERT_EQ(r.outcome, PacketOutcome::sip_messages);
    EXPECT_EQ(messages_of(pipe), (std::vector<std::string>{invite(), kBye}));
    // Retransmissions of delivered data, and of held data, are dropped as such.
    EXPECT_EQ(feed(tcp_frame(text(msg.substr(100, 200)), 200)).drop,
              DropReason::tcp_retransmission);
    const uint32_t end = 100 + static_cast<uint32_t>(msg.size());
    EXPECT_EQ(feed(tcp_frame(text(kBye.substr(10)), end + 10)).outcome, PacketOutcome::held);
    EXPECT_EQ(feed(tcp_frame(text(kBye.substr(10)), end + 10)).drop,
              DropReason::tcp_retransmission);
    // A segment overlapping held data fills the gap; the message comes out once.
    ASSERT_EQ(feed(tcp_frame(text(kBye.substr(0, 20)), end)).outcome, PacketOutcome::sip_messages);
    EXPECT_EQ(messages_of(pipe), std::vector<std::string>{kBye});
    EXPECT_EQ(drops(pipe, DropReason::tcp_retransmission), 2u);
    expect_accounting(pipe);
}

TEST(Tcp, ResetFreesStateAndOtherPortsAreNotSip) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    TcpStream s{feed, 1};
    EXPECT_EQ(s.send(invite().substr(0, 50)).outcome, PacketOutcome::held);
    EXPECT_EQ(pipe.tcp_directions(), 1u);
    EXPECT_EQ(feed(tcp_frame({}, s.next_seq, kTcpRst)).drop, DropReason::tcp_reset);
    EXPECT_EQ(pipe.tcp_directions(), 0u);
    EXPECT_EQ(feed(tcp_frame({}, s.next_seq, kTcpAck)).drop, DropReason::tcp_no_state);
    // HTTPS-like traffic is not tracked; SIP by content on another port is.
    EXPECT_EQ(feed(tcp_frame(text("\x16\x03\x01 hello"), 1, kTcpAck, 40001, 443)).drop,
              DropReason::tcp_not_sip);
    const PacketResult& r = feed(tcp_frame(text(kBye), 1, kTcpAck, 40002, 5080));
    EXPECT_EQ(r.outcome, PacketOutcome::sip_messages);
    EXPECT_EQ(pipe.tcp_directions(), 1u);
    expect_accounting(pipe);
}

TEST(Tcp, MessageLargerThanBoundIsDroppedAndStreamResynchronises) {
    PipelineConfig c = sip_config();
    c.tcp.max_message_bytes = 1024;
    PacketPipeline pipe(c);
    Feed feed{pipe};
    TcpStream s{feed, 1};
    const std::string big_body(3000, 'x');
    const std::string big =
        "MESSAGE sip:bob@example.com SIP/2.0\r\nCall-ID: big\r\n"
        "Content-Length: " +
        std::to_string(big_body.size()) + "\r\n\r\n" + big_body;
    const PacketResult& r = s.send(big.substr(0, 1000));
    EXPECT_EQ(r.outcome, PacketOutcome::dropped);
    EXPECT_EQ(r.drop, DropReason::sip_message_too_large);
    EXPECT_EQ(s.send(big.substr(1000, 1000)).drop, DropReason::tcp_resynchronising);
    const PacketResult& r2 = s.send(big.substr(2000) + kBye);
    ASSERT_EQ(r2.outcome, PacketOutcome::sip_messages);
    EXPECT_EQ(messages_of(pipe), std::vector<std::string>{kBye});
    EXPECT_EQ(pipe.tcp_stats().messages_too_large, 1u);
    EXPECT_EQ(pipe.tcp_stats().bytes_discarded, big.size());
    expect_accounting(pipe);
}

TEST(Tcp, FramingErrorResynchronisesOnNextStartLine) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    TcpStream s{feed, 1};
    const std::string bad = "INVITE sip:bob@example.com SIP/2.0\r\nContent-Length: abc\r\n\r\n";
    EXPECT_EQ(s.send(bad).drop, DropReason::sip_framing_error);
    ASSERT_EQ(s.send(kBye).outcome, PacketOutcome::sip_messages);
    EXPECT_EQ(messages_of(pipe), std::vector<std::string>{kBye});
    EXPECT_EQ(pipe.tcp_stats().framing_errors, 1u);
    EXPECT_EQ(pipe.tcp_stats().bytes_discarded, bad.size());
}

TEST(Tcp, IdleTimeoutAndEviction) {
    PipelineConfig c = sip_config();
    c.tcp.max_connections = 2;
    c.tcp.idle_timeout_us = 10'000'000;
    PacketPipeline pipe(c);
    Feed feed{pipe};
    for (uint16_t port = 1; port <= 3; ++port) {
        EXPECT_EQ(feed(tcp_frame(text("IN"), 1, kTcpAck, port, 5060), 1'000'000 + port).outcome,
                  PacketOutcome::held);
    }
    EXPECT_EQ(pipe.tcp_directions(), 2u);
    EXPECT_EQ(pipe.tcp_stats().directions_evicted, 1u);
    // Port 1 (least recently seen) was evicted.
    EXPECT_EQ(feed(tcp_frame({}, 3, kTcpAck, 1, 5060), 1'000'010).drop, DropReason::tcp_no_state);
    pipe.expire(11'000'003);
    EXPECT_EQ(pipe.tcp_directions(), 1u);
    pipe.expire(11'000'004);
    EXPECT_EQ(pipe.tcp_directions(), 0u);
    EXPECT_EQ(pipe.tcp_stats().directions_timed_out, 2u);
}

// A half-open SIP flood: SYN-only and one-segment connections to port 5060 from many sources
// (so neither a source bound nor an idle timeout helps). The stream table never holds more than
// max_connections directions, every direction pushed out is a counted eviction (each flood
// connection opens one; none times out or closes), the buffers held stay within the table's
// share of the arena, and a target's INVITE whose two segments arrive a few packets apart in the
// middle of the flood is still reassembled.
TEST(Tcp, HalfOpenFloodFromManySourcesStaysBoundedAndKeepsAnInvite) {
    PipelineConfig c = sip_config();
    c.tcp.max_connections = 16;
    PacketPipeline pipe(c);
    Feed feed{pipe};
    // Even n: a bare SYN; odd n: one segment of an INVITE that never continues.
    const auto flood = [&](uint32_t n) {
        const Bytes src = {172, 16, static_cast<uint8_t>(n % 200), static_cast<uint8_t>(n / 200)};
        const auto sport = static_cast<uint16_t>(1024 + n);
        const Bytes seg =
            n % 2 == 0 ? tcp({}, n, kTcpSyn, sport) : tcp(text("INVITE sip:"), n, kTcpAck, sport);
        return cat({kEthIpv4, ipv4(seg, 6, 0x4242, 0, src)});
    };
    int64_t now = 1'000'000;
    for (uint32_t n = 0; n < 500; ++n) {
        ASSERT_EQ(feed(flood(n), now++).outcome,
                  n % 2 == 0 ? PacketOutcome::dropped : PacketOutcome::held);
        ASSERT_LE(pipe.tcp_directions(), 16u);
    }
    TcpStream s{feed, 1000};
    const std::string msg = invite();
    EXPECT_EQ(s.send(msg.substr(0, 200), now++).outcome, PacketOutcome::held);
    for (uint32_t n = 500; n < 503; ++n) feed(flood(n), now++);
    const PacketResult& r = s.send(msg.substr(200), now++);
    ASSERT_EQ(r.outcome, PacketOutcome::sip_messages);
    EXPECT_EQ(messages_of(pipe), std::vector<std::string>{msg});
    for (uint32_t n = 503; n < 1000; ++n) {
        feed(flood(n), now++);
        ASSERT_LE(pipe.tcp_directions(), 16u);
    }
    // 1001 directions opened (the flood's 1000 and the target's), 16 still held.
    const TcpReassemblyStats& st = pipe.tcp_stats();
    EXPECT_EQ(st.directions_opened, 1001u);
    EXPECT_EQ(pipe.tcp_directions(), 16u);
    EXPECT_EQ(st.directions_evicted, 1001u - 16u);
    EXPECT_EQ(st.directions_timed_out, 0u);
    EXPECT_EQ(st.directions_closed, 0u);
    EXPECT_EQ(st.buffer_exhausted, 0u);
    EXPECT_EQ(drops(pipe, DropReason::tcp_no_payload), 500u);
    EXPECT_EQ(drops(pipe, DropReason::tcp_buffer_exhausted), 0u);
    EXPECT_LE(pipe.tcp_buffer_bytes_carved(), size_t{16} * kTcpBufferBlock);
    expect_accounting(pipe);
}

// Stream buffers grow on demand: a 2 KiB buffer for a small message, a larger one (copied) for a
// message that does not fit, and the buffer goes back once nothing is held, so sequential
// connections reuse it instead of carving more of the arena.
TEST(Tcp, BuffersGrowOnDemandAndAreReused) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    EXPECT_EQ(pipe.tcp_buffer_bytes_carved(), 0u);
    TcpStream s{feed, 1000};
    const std::string small = invite();
    ASSERT_LT(small.size(), size_t{kTcpBufferBlock});
    EXPECT_EQ(s.send(small.substr(0, 100)).outcome, PacketOutcome::held);
    EXPECT_EQ(pipe.tcp_buffer_bytes_carved(), size_t{kTcpBufferBlock});
    ASSERT_EQ(s.send(small.substr(100)).outcome, PacketOutcome::sip_messages);
    EXPECT_EQ(messages_of(pipe), std::vector<std::string>{small});
    // A 5000-octet message in three segments: the free 2 KiB buffer, then 4 KiB, then 8 KiB
    // (each smaller one goes back to its free list).
    const std::string body(5000 - 200, 'x');
    const std::string big =
        "MESSAGE sip:bob@example.org SIP/2.0\r\nCall-ID: big\r\nCSeq: 1 "
        "MESSAGE\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    EXPECT_EQ(s.send(big.substr(0, 1500)).outcome, PacketOutcome::held);
    EXPECT_EQ(s.send(big.substr(1500, 2500)).outcome, PacketOutcome::held);
    ASSERT_EQ(s.send(big.substr(4000)).outcome, PacketOutcome::sip_messages);
    EXPECT_EQ(messages_of(pipe), std::vector<std::string>{big});
    EXPECT_EQ(pipe.tcp_stats().buffer_grows, 2u);
    const size_t carved = pipe.tcp_buffer_bytes_carved();
    EXPECT_EQ(carved, size_t{7} * kTcpBufferBlock);  // 2 + 4 + 8 KiB
    // 100 more connections, one message each: the free buffers serve them all.
    for (uint16_t port = 1; port <= 100; ++port) {
        feed(tcp_frame(text(small.substr(0, 50)), 1, kTcpAck, port, 5060));
        ASSERT_EQ(feed(tcp_frame(text(small.substr(50)), 51, kTcpAck, port, 5060)).outcome,
                  PacketOutcome::sip_messages);
        feed(tcp_frame({}, 1 + static_cast<uint32_t>(small.size()), kTcpFin | kTcpAck, port, 5060));
    }
    EXPECT_EQ(pipe.tcp_buffer_bytes_carved(), carved);
    EXPECT_EQ(pipe.tcp_stats().buffer_exhausted, 0u);
    expect_accounting(pipe);
}

// A used-up arena is a counted drop, and the buffers come back when their streams end.
TEST(Tcp, ExhaustedBufferArenaIsACountedDrop) {
    PipelineConfig c = sip_config();
    c.tcp.buffer_bytes = 2 * kTcpBufferBlock;  // two small buffers in all
    PacketPipeline pipe(c);
    Feed feed{pipe};
    for (uint16_t port = 1; port <= 2; ++port)
        EXPECT_EQ(feed(tcp_frame(text("INVITE"), 1, kTcpAck, port, 5060)).outcome,
                  PacketOutcome::held);
    const PacketResult& r = feed(tcp_frame(text("INVITE"), 1, kTcpAck, 3, 5060));
    EXPECT_EQ(r.outcome, PacketOutcome::dropped);
    EXPECT_EQ(r.drop, DropReason::tcp_buffer_exhausted);
    EXPECT_EQ(pipe.tcp_stats().buffer_exhausted, 1u);
    EXPECT_EQ(pipe.tcp_stats().bytes_discarded, 6u);
    // RST on port 1 returns its buffer: port 3 gets it.
    feed(tcp_frame({}, 7, kTcpRst, 1, 5060));
    EXPECT_EQ(feed(tcp_frame(text("INVITE"), 1, kTcpAck, 3, 5060)).outcome, PacketOutcome::held);
    EXPECT_EQ(pipe.tcp_buffer_bytes_carved(), 2u * kTcpBufferBlock);
    expect_accounting(pipe);
}

TEST(Tcp, InviteInIpv4FragmentsOverTcp) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    const auto frames = ipv4_fragments(tcp(text(invite()), 1), {200}, 77, 6);
    EXPECT_EQ(feed(frames[0]).outcome, PacketOutcome::held);
    ASSERT_EQ(feed(frames[1]).outcome, PacketOutcome::sip_messages);
    EXPECT_EQ(messages_of(pipe), std::vector<std::string>{invite()});
}

// ---------------------------------------------------------------- GTP-U

Bytes gtpu(const Bytes& inner, uint8_t flags = 0x30, const Bytes& optional = {},
           uint8_t type = 255) {
    return cat({{flags, type},
                be16(static_cast<uint16_t>(optional.size() + inner.size())),
                be32(0x01020304),
                optional,
                inner});
}
Bytes gtpu_frame(const Bytes& g) {
    return cat({kEthIpv4, ipv4(udp(g, 2152, 2152), 17, 1, 0, {172, 16, 0, 1}, {172, 16, 0, 2})});
}

TEST(Gtpu, InnerIpv4AndIpv6) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    const Bytes inner4 = ipv4(udp(text(invite())), 17);
    const PacketResult& r = feed(gtpu_frame(gtpu(inner4)));
    ASSERT_EQ(r.outcome, PacketOutcome::udp_datagram);
    EXPECT_TRUE(r.gtpu);
    EXPECT_EQ(r.gtpu_teid, 0x01020304u);
    EXPECT_EQ(payload_of(r), invite());
    EXPECT_EQ(0, std::memcmp(r.tuple.src.bytes, kV4Src.data(), 4));
    EXPECT_EQ(Bytes(r.udp.ip_packet, r.udp.ip_packet + r.udp.ip_packet_len), inner4);

    const Bytes inner6 = ipv6(udp(text("hello"), 4000, 4002), 17);
    const PacketResult& r6 = feed(gtpu_frame(gtpu(inner6)));
    ASSERT_EQ(r6.outcome, PacketOutcome::udp_datagram);
    EXPECT_EQ(r6.tuple.ip_version, 6);
    EXPECT_EQ(r6.tuple.dst_port, 4002);
    EXPECT_EQ(payload_of(r6), "hello");
    EXPECT_EQ(pipe.counters().gtpu_decapsulated, 2u);
}

TEST(Gtpu, SequenceAndExtensionHeaders) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    const Bytes inner = ipv4(udp(text("rtp"), 4000, 4002), 17);
    // S set: sequence 0x1234, N-PDU 0, next extension 0.
    const PacketResult& r = feed(gtpu_frame(gtpu(inner, 0x32, {0x12, 0x34, 0, 0})));
    ASSERT_EQ(r.outcome, PacketOutcome::udp_datagram);
    EXPECT_EQ(payload_of(r), "rtp");
    // E set: PDU session container (0x85, 1 unit) then a UDP port extension (0x40, 1 unit).
    const Bytes chain = {0, 0, 0, 0x85, 1, 0x10, 0x09, 0x40, 1, 0x08, 0x68, 0};
    const Bytes g = gtpu(inner, 0x34, chain);
    GtpuHeader h;
    ParsedPacket p;
    const Bytes frame = gtpu_frame(g);
    ASSERT_EQ(parse_frame(frame.data(), static_cast<uint32_t>(frame.size()), LinkType::ethernet, p),
              ParseStatus::ok);
    ASSERT_EQ(parse_gtpu(frame.data(), p, h), GtpuStatus::ok);
    EXPECT_EQ(h.extension_count, 2u);
    EXPECT_EQ(h.inner_offset, p.payload_offset + 8 + 12);
    const PacketResult& r2 = feed(frame);
    ASSERT_EQ(r2.outcome, PacketOutcome::udp_datagram);
    EXPECT_EQ(payload_of(r2), "rtp");
    // Zero-length extension, signalling message, GTP', and a length past the datagram.
    EXPECT_EQ(feed(gtpu_frame(gtpu(inner, 0x34, {0, 0, 0, 0x85, 0, 0, 0, 0}))).drop,
              DropReason::gtpu_bad_extension);
    EXPECT_EQ(feed(gtpu_frame(gtpu({}, 0x32, {0, 1, 0, 0}, 1))).drop, DropReason::gtpu_not_gpdu);
    EXPECT_EQ(feed(gtpu_frame(gtpu(inner, 0x20))).drop, DropReason::gtpu_bad_version);
    Bytes long_len = gtpu(inner);
    long_len[3] += 1;
    EXPECT_EQ(feed(gtpu_frame(long_len)).drop, DropReason::gtpu_bad_length);
    // The inner packet is parsed like any other: a truncated one is a named drop.
    EXPECT_EQ(feed(gtpu_frame(gtpu(slice(inner, 0, 10)))).drop, DropReason::truncated_ipv4);
    expect_accounting(pipe);
}

TEST(Gtpu, InnerFragmentsInsideOuterFragments) {
    PacketPipeline pipe(sip_config());
    Feed feed{pipe};
    const Bytes datagram = udp(text(invite()));
    const Bytes inner_a = ipv4(slice(datagram, 0, 304), 17, 0x55, 0x2000);
    const Bytes inner_b = ipv4(slice(datagram, 304, datagram.size() - 304), 17, 0x55, 304 / 8);
    EXPECT_EQ(feed(gtpu_frame(gtpu(inner_a))).outcome, PacketOutcome::held);
    // The second inner fragment travels in two outer fragments.
    const Bytes outer_udp = udp(gtpu(inner_b), 2152, 2152);
    const auto outer = ipv4_fragments(outer_udp, {160}, 0x66);
    EXPECT_EQ(feed(outer[0]).outcome, PacketOutcome::held);
    const PacketResult& r = feed(outer[1]);
    ASSERT_EQ(r.outcome, PacketOutcome::udp_datagram);
    EXPECT_TRUE(r.gtpu);
    EXPECT_TRUE(r.reassembled);
    EXPECT_EQ(payload_of(r), invite());
    feed(outer[0]);
    EXPECT_EQ(pipe.fragments_in_flight(), 1u);
}

// ---------------------------------------------------------------- robustness

// Every prefix of every frame: never a crash, always exactly one counted outcome.
TEST(Robustness, EveryTruncation) {
    const Bytes datagram = udp(text(invite()));
    std::vector<Bytes> frames = ipv4_fragments(datagram, {304}, 3);
    frames.push_back(ipv6_fragment(datagram, 0, 256, true, 1, {44, 0, 1, 4, 0, 0, 0, 0}));
    frames.push_back(ipv6_fragment(datagram, 256, datagram.size() - 256, false, 1));
    frames.push_back(tcp_frame(text(invite()), 1));
    frames.push_back(
        gtpu_frame(gtpu(ipv4(tcp(text(kBye), 1), 6), 0x34, {0, 0, 0, 0x85, 1, 0x10, 0x09, 0})));
    const Bytes v6_fragment = ipv6_fragment(datagram, 0, 256, true, 2);
    frames.push_back(gtpu_frame(gtpu(slice(v6_fragment, 14, v6_fragment.size() - 14))));
    PipelineConfig c = sip_config();
    c.fragments.max_datagrams = 4;
    PacketPipeline pipe(c);
    Feed feed{pipe};
    uint64_t n = 0;
    for (const Bytes& f : frames) {
        for (size_t len = 0; len <= f.size(); ++len) {
            feed(slice(f, 0, len), 1'000'000 + static_cast<int64_t>(n));
            ++n;
            // Corrupt one octet too, at a position that moves along the frame.
            if (len > 0) {
                Bytes g = f;
                g[len - 1] ^= 0xA5;
                feed(g, 1'000'000 + static_cast<int64_t>(n));
                ++n;
            }
        }
    }
    EXPECT_EQ(pipe.counters().packets, n);
    expect_accounting(pipe);
    pipe.flush();
    EXPECT_EQ(pipe.fragments_in_flight(), 0u);
    EXPECT_EQ(pipe.tcp_directions(), 0u);
}

TEST(Names, EveryReasonHasAName) {
    for (unsigned i = 0; i < kDropReasonCount; ++i) {
        EXPECT_STRNE(drop_reason_name(static_cast<DropReason>(i)), "unknown") << i;
    }
    EXPECT_STREQ(drop_reason_name(DropReason::fragment_overlap), "fragment_overlap");
    EXPECT_STREQ(packet_outcome_name(PacketOutcome::held), "held");
}

}  // namespace
