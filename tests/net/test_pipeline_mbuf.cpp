// process_mbuf(): a single-segment mbuf is read in place, a chained one is linearised into the
// pipeline's scratch buffer, and one longer than max_frame_bytes is a counted drop.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstring>
#include <string>
#include <vector>

#include "eal.hpp"
#include "liprobe/net/frame_builder.hpp"
#include "liprobe/net/packet_pipeline_mbuf.hpp"

using namespace liprobe::net;

namespace {

rte_mbuf* chain(rte_mempool* pool, const std::vector<uint8_t>& frame, size_t first_len) {
    rte_mbuf* head = rte_pktmbuf_alloc(pool);
    rte_mbuf* tail = rte_pktmbuf_alloc(pool);
    if (head == nullptr || tail == nullptr) return nullptr;
    std::memcpy(rte_pktmbuf_append(head, static_cast<uint16_t>(first_len)), frame.data(),
                first_len);
    const size_t rest = frame.size() - first_len;
    std::memcpy(rte_pktmbuf_append(tail, static_cast<uint16_t>(rest)), frame.data() + first_len,
                rest);
    if (rte_pktmbuf_chain(head, tail) != 0) return nullptr;
    return head;
}

TEST(PipelineMbuf, SingleAndChainedSegments) {
    ASSERT_TRUE(liprobe::test::init_eal());
    rte_mempool* pool = rte_pktmbuf_pool_create("h10_pipe_pool", 64, 0, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool, nullptr);
    UdpFrameSpec spec;
    spec.src = ipv4_address(10, 0, 0, 1);
    spec.dst = ipv4_address(10, 0, 0, 2);
    spec.src_port = 5060;
    spec.dst_port = 5060;
    const std::string payload(700, 's');
    const auto frame = build_udp_frame(
        spec, std::span(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()));

    PipelineConfig config;
    config.max_frame_bytes = 1024;
    PacketPipeline pipe(config);

    rte_mbuf* single = chain(pool, frame, frame.size() - 1);
    rte_mbuf* one = rte_pktmbuf_alloc(pool);
    ASSERT_NE(one, nullptr);
    std::memcpy(rte_pktmbuf_append(one, static_cast<uint16_t>(frame.size())), frame.data(),
                frame.size());
    const PacketResult& r1 = process_mbuf(pipe, one, LinkType::ethernet, 1);
    ASSERT_EQ(r1.outcome, PacketOutcome::udp_datagram);
    EXPECT_EQ(r1.udp.payload, rte_pktmbuf_mtod(one, const uint8_t*) + 42);  // in place
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(r1.udp.payload), r1.udp.payload_len),
              payload);

    ASSERT_NE(single, nullptr);
    const PacketResult& r2 = process_mbuf(pipe, single, LinkType::ethernet, 2);
    ASSERT_EQ(r2.outcome, PacketOutcome::udp_datagram);
    EXPECT_EQ(r2.udp.base, pipe.scratch());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(r2.udp.payload), r2.udp.payload_len),
              payload);

    const std::string big_payload(1200, 'b');
    const auto big = build_udp_frame(
        spec, std::span(reinterpret_cast<const uint8_t*>(big_payload.data()), big_payload.size()));
    rte_mbuf* too_long = chain(pool, big, 600);
    ASSERT_NE(too_long, nullptr);
    EXPECT_EQ(process_mbuf(pipe, too_long, LinkType::ethernet, 3).drop, DropReason::frame_too_long);
    EXPECT_EQ(pipe.counters().packets, 3u);
    rte_pktmbuf_free(one);
    rte_pktmbuf_free(single);
    rte_pktmbuf_free(too_long);
    rte_mempool_free(pool);
}

}  // namespace
