// SDES (RFC 4568) for the intercepted dialogs of one worker: the a=crypto lines of each dialog's
// SDP offer and answer become SRTP contexts, keyed in the flow table by flow and sending side
// (FlowInfo::sdes), so an SDES call is decrypted from its first packet with no key from the
// mediation function (README "SDES"). Internal to the media component (interception.cpp).
//
// Offer/answer (RFC 3264, RFC 4568 7): every line of an offer keys its sender's media until the
// answer names the tag; a re-key's replaced keys stay one round as "previous". Contexts come
// from a per-worker pool of locked key memory (keys::FlowKeyPool) and are retired under RCU
// once no flow names them. No allocation, lock or syscall after construction.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "liprobe/keys/flow_keys.hpp"
#include "liprobe/media/interception.hpp"
#include "liprobe/sip/dialog_message.hpp"
#include "liprobe/sip/sdes.hpp"

namespace liprobe::media::detail {

inline uint64_t hash_bytes(std::string_view s) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
}

// SDES (RFC 4568): one context made from one key of an a=crypto line of the dialog's SDP.
enum class SdesRole : uint8_t { current = 0, offered, previous, dropped };
struct SdesSlot {
    const keys::SrtpContext* context = nullptr;  // nullptr: free
    uint64_t line_hash = 0;                      // of the a=crypto value: a repeated answer
    uint32_t tag = 0;
    Side sender = Side::unknown;  // the side whose media it keys (the side whose SDP held it)
    uint8_t media = 0;
    SdesRole role = SdesRole::current;
};
constexpr size_t kMaxDialogSdes = 16;

// The SDES state one dialog carries.
struct DialogSdes {
    SdesSlot slots[kMaxDialogSdes];
    Side offer_from = Side::unknown;  // an SDP offer waits for its answer
    bool refused = false;             // some a=crypto line of this dialog was refused
    // The last refused lines (hashes): the same line again (a repeated answer, a re-INVITE that
    // keeps it) is neither counted nor noted twice.
    uint64_t refused_lines[4] = {};
    uint8_t refused_next = 0;
};

class SdesKeys {
  public:
    // capacity contexts (0: SDES off); rcu: the flow table's; counters: the interceptor's.
    SdesKeys(uint32_t capacity, rte_rcu_qsbr* rcu, unsigned worker, const crypto::GcmEngine& engine,
             InterceptorCounters& counters)
        : pool_(capacity, rcu, worker), engine_(engine), counters_(counters) {}

    bool enabled() const { return pool_.capacity() > 0; }
    // The SDP of one (not retransmitted) message of the dialog whose first CIN is cin (for the
    // notes): true when the dialog's keys changed (reinstall its flows, then retire_dropped).
    bool take(DialogSdes& d, uint32_t cin, Side sender, const sip::DialogMessage& m,
              const sip::SdpSession& sdp);
    // A flow's contexts per sending side for its m= line.
    void fill(const DialogSdes& d, uint8_t media, FlowInfo& info) const;
    // Every context of the dialog is dropped (it ends); retire_dropped once its flows are gone.
    static void drop_all(DialogSdes& d) {
        for (SdesSlot& x : d.slots) x.role = SdesRole::dropped;
    }
    void retire_dropped(DialogSdes& d);
    void reclaim() { pool_.reclaim(); }

    // Control thread: the notes (refused lines) written since the last call, oldest first.
    size_t take_notes(DialogNote* out, size_t max);
    uint64_t notes_dropped() const { return notes_dropped_.load(std::memory_order_relaxed); }

  private:
    void refuse(DialogSdes& d, sip::SdesError e, uint32_t tag);
    static bool refused_before(const DialogSdes& d, uint64_t line_hash);
    bool parse(DialogSdes& d, std::string_view line, sip::SdesCrypto& out);
    bool add_line(DialogSdes& d, Side sender, uint8_t media, uint64_t line_hash,
                  const sip::SdesCrypto& c, SdesRole role);
    static void set_role(DialogSdes& d, Side sender, uint8_t media, SdesRole from, SdesRole to);
    void take_offer(DialogSdes& d, Side sender, const sip::SdpSession& sdp);
    void take_answer(DialogSdes& d, Side answerer, const sip::SdpSession& sdp);
    bool repeats_current(const DialogSdes& d, Side sender, const sip::SdpSession& sdp) const;
    void note(const DialogNote& n);

    keys::FlowKeyPool pool_;
    const crypto::GcmEngine& engine_;
    InterceptorCounters& counters_;
    uint32_t cin_ = 0;  // of the dialog being taken, for its notes
    // Notes: a single-producer (this worker), single-consumer (control thread) ring.
    static constexpr uint32_t kNotes = 64;
    DialogNote notes_[kNotes];
    std::atomic<uint32_t> notes_head_{0}, notes_tail_{0};
    std::atomic<uint64_t> notes_dropped_{0};
};

}  // namespace liprobe::media::detail
