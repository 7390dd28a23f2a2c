// PacketPipeline::process for an rte_mbuf (header-only, so liprobe_net needs no DPDK). A
// single-segment mbuf is read in place; a chain is copied into the pipeline's scratch buffer
// (counted drop frame_too_long beyond max_frame_bytes). The caller keeps ownership of m and
// may free it after the results were used.
#pragma once

#include <rte_mbuf.h>

#include "liprobe/net/packet_pipeline.hpp"

namespace liprobe::net {

inline const PacketResult& process_mbuf(PacketPipeline& pipeline, const rte_mbuf* m, LinkType link,
                                        int64_t now_us) {
    if (m->nb_segs == 1) {
        return pipeline.process(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), link,
                                now_us);
    }
    const uint32_t len = rte_pktmbuf_pkt_len(m);
    if (len > pipeline.scratch_size()) return pipeline.drop_frame_too_long();
    const void* data = rte_pktmbuf_read(m, 0, len, pipeline.scratch());
    if (data == nullptr) return pipeline.drop_frame_too_long();
    return pipeline.process(static_cast<const uint8_t*>(data), len, link, now_us);
}

}  // namespace liprobe::net
