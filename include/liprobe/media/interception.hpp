// Interception logic of one worker (design.md 1, 3.4, 3.5), independent of DPDK ports so that it
// can be driven from tests: SIP messages -> dialogs by Call-ID -> warrant matches -> IRI records
// and media flows; UDP packets on intercepted flows -> SRTP decryption in bursts -> CC records;
// packets whose key is unknown wait in a bounded pending queue (on packet time).
//
// Fast path: no allocation, lock, syscall or exception after construction. Dialogs and pending
// slots come from pools sized at construction.
//
// Floods (issue 11): a dialog that never got a final 2xx (unconfirmed) is bounded much more
// tightly than a confirmed one. Unanswered (no response but 100 Trying) it times out after
// unconfirmed_timeout_us since its last message (RFC 3261 Timer B/F: 64*T1 = 32 s); once the
// far end answered provisionally (101..199: ringing, session progress) after
// proceeding_timeout_us (Timer C, more than 3 minutes). When the table is full, a new dialog
// takes the slot of, in this order, the oldest ended dialog still lingering, the oldest
// unanswered, the oldest proceeding one (oldest = least recent message); a confirmed dialog is
// never evicted, and when every slot is confirmed the new dialog is refused. Every timeout,
// eviction and refusal is counted. An evicted or timed-out dialog removes its media flows and
// gets no further IRI: IRI carries the SIP messages seen, and there is no message to carry an
// End (X2 has no IRI type at all), so its CIN simply stops after the last message delivered,
// its sequence numbers complete; a later message of that Call-ID that matches a warrant starts
// a new dialog with a new CIN and an IRI Begin.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "liprobe/export/record.hpp"
#include "liprobe/keys/key_table.hpp"
#include "liprobe/media/flow_table.hpp"
#include "liprobe/net/parse.hpp"
#include "liprobe/sip/dialog_message.hpp"
#include "liprobe/sip/sdes.hpp"
#include "liprobe/srtp/decryptor.hpp"
#include "liprobe/targets/selector_set.hpp"

namespace liprobe::media {

enum class DeliverMode : uint8_t { decrypted = 0, encrypted = 1, both = 2 };

inline constexpr size_t kMaxWarrantDestinations = 8;

// Per global warrant id: where its records go and how.
struct WarrantRoute {
    bool active = false;  // false: removed by a reload; nothing is delivered for it any more
    DeliverMode deliver = DeliverMode::decrypted;
    // X1 deliveryType X3Only / X2Only: no IRI, or no CC, for this warrant.
    bool deliver_iri = true;
    bool deliver_cc = true;
    int64_t not_before_us = 0;  // 0: unbounded
    int64_t not_after_us = 0;
    // SDES: decrypt with the keys of the dialog's own a=crypto lines; false: such media goes out
    // encrypted to this warrant.
    bool sdes = true;
    uint8_t destination_count = 0;
    uint16_t destinations[kMaxWarrantDestinations] = {};  // RecordSink destination indices
};

// The warrant set as the workers see it; immutable once published (the control plane swaps it
// under RCU on SIGHUP).
struct Policy {
    std::unique_ptr<const targets::SelectorSet> selectors;
    std::vector<uint32_t> global_id;   // selector warrant index -> global warrant id
    std::vector<WarrantRoute> routes;  // by global warrant id
};

// Where records go: one exporter per destination index in the product, a capture in tests.
class RecordSink {
  public:
    virtual ~RecordSink() = default;
    virtual exporter::Record* get_record(uint16_t destination, uint32_t bytes) = 0;
    virtual bool submit(uint16_t destination, exporter::Record* record) = 0;  // false: lost
};

// A relaxed counter one thread writes and others read.
struct Counter {
    std::atomic<uint64_t> v{0};
    void add(uint64_t n = 1) {
        v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

struct InterceptorCounters {
    Counter sip_messages, sip_intercepted, sip_retransmissions, sip_sdp_errors;
    Counter dialogs_created, dialogs_ended, dialogs_timed_out, dialogs_refused_full;
    Counter dialogs_unconfirmed_timed_out;  // unanswered or proceeding, past its bound
    Counter dialogs_evicted;                // unconfirmed, its slot taken by a new dialog
    Counter dialogs_linger_evicted;         // ended and lingering, its slot taken
    Counter dialog_warrants_refused;        // more than kMaxDialogWarrants warrants in one dialog
    Counter flows_refused;                  // flow table or pool full
    Counter media_packets;                  // packets on intercepted flows
    Counter plain_rtp;                      // delivered as they are (non-SRTP profile)
    Counter srtp_decrypted, srtp_auth_failed, srtp_unknown_mki, srtp_malformed;
    Counter pending_queued, pending_resolved, pending_expired, pending_flushed, pending_overflow,
        pending_too_large;
    Counter cc_rtp_records, cc_ip_records, iri_records;
    Counter records_lost;  // no record buffer or the destination's ring was full
    // SDES (RFC 4568 a=crypto in the dialog's SDP).
    Counter sdes_lines_installed;                      // lines whose keys now key media
    Counter sdes_lines_refused[sip::kSdesErrorCount];  // by reason (index: sip::SdesError)
    Counter sdes_dialogs_refused;                      // dialogs with a refused line
    Counter sdes_contexts_exhausted;                   // no context left: media stays encrypted
    Counter sdes_decrypted;                            // packets decrypted with SDES keys
};

struct InterceptorConfig {
    unsigned worker = 0;  // selector scratch slot and owner tag
    uint32_t max_dialogs = 4096;
    int64_t dialog_timeout_us = 3600LL * 1000000;
    int64_t linger_us = 32LL * 1000000;  // an ended dialog absorbs late retransmissions/ACKs
    int64_t unconfirmed_timeout_us = 32LL * 1000000;  // no response yet ([sip])
    int64_t proceeding_timeout_us = 180LL * 1000000;  // a 101..199 response, no final 2xx yet
    uint32_t pending_packets = 4096;
    int64_t pending_us = 2000LL * 1000;
    uint32_t pending_slot_bytes = 2048;  // larger IP packets are delivered encrypted at once
    uint32_t sdes_contexts = 1024;       // SDES contexts (one per key per side per media); 0: off
};

// A received UDP packet as the interceptor sees it. frame is writable: SRTP decrypts in place.
struct UdpPacket {
    uint8_t* frame = nullptr;
    uint32_t frame_len = 0;
    const net::ParsedPacket* parsed = nullptr;  // status ok
    int64_t time_us = 0;                        // packet time (Unix microseconds)
};

// A dialog-level event for the operator's log, written by the worker and taken by a control
// thread (Interceptor::take_notes). No identity and no key: the dialog is named by its CIN.
struct DialogNote {
    uint32_t cin = 0;
    uint32_t tag = 0;  // the a=crypto tag, 0 when the line had none readable
    sip::SdesError reason = sip::SdesError::ok;  // why the line was refused
};

class Interceptor {
  public:
    Interceptor(const InterceptorConfig& config, FlowTable& flows, const keys::KeyTable& keys,
                RecordSink& sink, std::atomic<uint32_t>& cin_counter);
    ~Interceptor();
    Interceptor(const Interceptor&) = delete;
    Interceptor& operator=(const Interceptor&) = delete;

    // The policy to use from now on (the caller guarantees it outlives its use: RCU).
    void set_policy(const Policy* policy) { policy_ = policy; }

    // One parsed SIP message carried in pkt. Returns true when it belongs to an intercepted
    // dialog (IRI was produced).
    bool on_sip(const UdpPacket& pkt, const sip::SipMessage& msg, uint8_t ip_protocol = 17);

    // A UDP packet that is not SIP: true when it is on an intercepted flow. Such a packet is
    // staged; the frame must stay valid until flush() (call it before freeing the burst).
    bool on_udp(const UdpPacket& pkt);
    // The same with the packet's two flow lookups already done (FlowTable::lookup_bulk for a
    // burst): found must be what FlowTable::lookup returns for the packet's destination and
    // source endpoints now (no flow installed or removed by this interceptor since).
    bool on_udp(const UdpPacket& pkt, const FlowLookup& found);
    // Decrypts and delivers the staged packets (one SRTP burst).
    void flush();

    // Housekeeping on packet time: dialog timeouts, pending expiry and retries (when the key
    // generation changed), retired flow values.
    void tick(int64_t now_us, uint64_t key_generation);
    // End of input: every pending packet is delivered as encrypted CC.
    void finish();

    // Control thread: copies up to max notes written since the last call (oldest first). Notes
    // that found the ring full were counted in notes_dropped() instead.
    size_t take_notes(DialogNote* out, size_t max);
    uint64_t notes_dropped() const;

    const InterceptorCounters& counters() const { return counters_; }
    const FlowWriter& flow_writer() const;
    const FlowTable& flow_table() const;
    size_t active_dialogs() const;
    size_t pending() const;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
    const Policy* policy_ = nullptr;
    InterceptorCounters counters_;
};

}  // namespace liprobe::media
