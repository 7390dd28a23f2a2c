// The state the interception logic keeps per dialog and per waiting packet (interception.cpp):
// fixed-size records, so that dialogs and pending packets come from pools sized at start.
#pragma once

#include <cstdint>
#include <vector>

#include "liprobe/media/interception.hpp"
#include "sdes_keys.hpp"

namespace liprobe::media::detail {

constexpr size_t kMaxCallId = 256;  // longer Call-IDs: prefix + full length + 64-bit hash
constexpr size_t kMaxTag = 64;
constexpr size_t kMaxEndpoints = sip::kMaxMediaStreams * 2;  // RTP + RTCP per m= line
constexpr unsigned kSweepPerTick = 64;

struct Endpoint {
    FlowKey key;
    FlowKind kind = FlowKind::rtp;
    bool secure = false;
    uint8_t media = 0;  // its m= line in the side's SDP (offer and answer align by index)
};

struct DialogWarrant {
    uint32_t warrant = 0;  // global id
    uint32_t cin = 0;
    Side target_side = Side::unknown;
    bool begun = false;
};

enum class DialogState : uint8_t { free = 0, early, confirmed, ended };

// The age queues of the dialogs that may be evicted (least recent message first); confirmed
// dialogs are in none. The order is the eviction preference.
enum AgeQueue : uint8_t { kEndedQueue = 0, kUnansweredQueue, kProceedingQueue, kAgeQueues };
constexpr uint8_t kNoQueue = 0xFF;

struct Dialog {
    uint64_t hash = 0;
    int32_t next = -1;  // bucket chain, or free list
    uint32_t generation = 0;
    DialogState state = DialogState::free;
    uint8_t queue = kNoQueue;
    int32_t older = -1, newer = -1;  // in its age queue
    bool invite_dialog = false;
    bool has_mikey = false;
    uint8_t tag_len = 0;
    uint16_t call_id_len = 0;       // stored prefix
    uint32_t call_id_full_len = 0;  // as received
    char call_id[kMaxCallId] = {};
    char initiator_tag[kMaxTag] = {};
    uint32_t initial_cseq = 0;
    sip::Method initial_method = sip::Method::unknown;
    int64_t last_us = 0, end_us = 0;
    // Retransmission detection: the previous message.
    uint32_t last_cseq = 0;
    uint16_t last_status = 0;
    sip::Method last_method = sip::Method::unknown;
    Side last_sender = Side::unknown;
    uint8_t warrant_count = 0;
    DialogWarrant warrants[kMaxDialogWarrants];
    uint8_t endpoint_count[2] = {};
    Endpoint endpoints[2][kMaxEndpoints];  // the latest SDP of each side
    uint8_t installed_count = 0;
    FlowKey installed[2 * kMaxEndpoints];
    DialogSdes sdes;  // keys of its a=crypto lines and the offer/answer state they follow
    // MIKEY in the SDP, for key correlation (CSB ID, first CS's SPI = MKI).
    uint32_t csb_id = 0;
    uint8_t mki_len = 0;
    uint8_t mki[keys::kMaxMkiLen] = {};
};
static_assert(sizeof(Dialog) <= 4096, "design: at most 4 KiB per dialog");

struct Staged {
    UdpPacket pkt;
    net::ParsedPacket parsed;
    const FlowInfo* info;
    Side sender;
    bool is_rtcp;
};

struct PendingSlot {
    int64_t time_us = 0;
    uint32_t ip_len = 0;
    uint32_t payload_offset = 0;  // in the IP packet copy
    uint32_t payload_len = 0;
    bool is_rtcp = false;
    Side sender = Side::unknown;
    exporter::IpEndpoint src, dst;
    uint8_t warrant_count = 0;
    FlowWarrant warrants[kMaxDialogWarrants];
    uint8_t* bytes = nullptr;
};

// The pending queue's storage: fixed slots (a copy of one IP packet each), a FIFO of the waiting
// ones and a stack of the free ones. Allocated at construction only.
class PendingSlots {
  public:
    PendingSlots(uint32_t count, uint32_t slot_bytes)
        : slots_(count), bytes_(size_t{count} * slot_bytes), ring_(count), free_(count) {
        for (uint32_t i = 0; i < count; ++i) {
            slots_[i].bytes = bytes_.data() + size_t{i} * slot_bytes;
            free_[i] = count - 1 - i;
        }
        free_count_ = count;
    }
    size_t waiting() const { return count_; }
    bool any_free() const { return free_count_ > 0; }
    PendingSlot& at(uint32_t idx) { return slots_[idx]; }
    PendingSlot& oldest() { return slots_[ring_[head_]]; }
    // The oldest waiting slot, out of the FIFO.
    uint32_t pop() {
        const uint32_t idx = ring_[head_];
        head_ = (head_ + 1) % ring_.size();
        --count_;
        return idx;
    }
    // A slot waits again, as the newest.
    void push(uint32_t idx) {
        ring_[(head_ + count_) % ring_.size()] = idx;
        ++count_;
    }
    uint32_t take_free() { return free_[--free_count_]; }  // requires any_free()
    void give_back(uint32_t idx) { free_[free_count_++] = idx; }

  private:
    std::vector<PendingSlot> slots_;
    std::vector<uint8_t> bytes_;
    std::vector<uint32_t> ring_;  // FIFO of slot indices
    std::vector<uint32_t> free_;  // stack
    size_t head_ = 0, count_ = 0, free_count_ = 0;
};

}  // namespace liprobe::media::detail
