// The warrants and destinations the workers use, changed while traffic flows (design.md 3.4):
// the config's [[warrant]]/[[destination]] (reloaded on SIGHUP) merged with the X1 tasks and
// destinations (x1::Service is the caller, through x1::Backend). A change builds the whole next
// set aside (exporters created, selectors compiled); any failure leaves the running set as it
// is. Then it publishes: new exporters start and take a destination slot, the policy pointer is
// swapped and the workers pass an RCU grace period before the old policy is freed; replaced
// exporters are then drained (outside the lock) and retired. Workers only read the policy pointer
// and the slots (atomic loads); every change runs on control threads under one mutex.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "liprobe/control/config.hpp"
#include "liprobe/dataplane/control_plane.hpp"
#include "liprobe/export/exporter.hpp"
#include "liprobe/media/interception.hpp"
#include "liprobe/x1/service.hpp"

struct rte_rcu_qsbr;

namespace liprobe::dataplane {

// Where the workers' records go: one exporter per slot. A slot changes only while no published
// policy refers to it (after an RCU grace period), so a worker between get_record and submit
// always finds the same exporter.
class DestinationSlots : public media::RecordSink {
  public:
    static constexpr size_t kMaxSlots = 256;
    exporter::Record* get_record(uint16_t slot, uint32_t bytes) override {
        exporter::Exporter* ex =
            slot < kMaxSlots ? slots_[slot].load(std::memory_order_acquire) : nullptr;
        return ex != nullptr ? ex->get_record(bytes) : nullptr;
    }
    bool submit(uint16_t slot, exporter::Record* record) override {
        return slots_[slot].load(std::memory_order_acquire)->submit(record);
    }
    void set(uint16_t slot, exporter::Exporter* ex) {
        slots_[slot].store(ex, std::memory_order_release);
    }

  private:
    std::array<std::atomic<exporter::Exporter*>, kMaxSlots> slots_{};
};

class LivePolicy : public x1::Backend {
  public:
    // `rcu`: the workers' QSBR variable (their policy reads are between quiescent reports).
    LivePolicy(const control::Config& config, unsigned workers, exporter::ProbeIdentity probe,
               rte_rcu_qsbr* rcu);
    ~LivePolicy() override;

    // Start-up: the config's destinations and warrants plus the X1 state. Nothing starts yet.
    bool init(const x1::State& x1, std::string& error);
    // Starts the exporters created by init (once the EAL and everything else is up).
    void start();

    // SIGHUP: the next config's warrants and destinations with the current X1 state. False with
    // the reason when it cannot be applied; the running set then stays.
    bool reload(const control::Config& next, std::string& error);
    // X1: the next task/destination state with the current config.
    std::optional<x1::Error> apply(const x1::State& next) override;

    std::atomic<const media::Policy*>& policy() { return current_; }
    DestinationSlots& sink() { return slots_; }

    // Every destination running now (metrics, status line).
    std::vector<DestinationStats> destination_stats() const;
    // Stops (drains) every exporter; then exporters() lists them all, retired ones included,
    // for the summary.
    void stop();
    std::vector<const exporter::Exporter*> exporters() const;

    size_t warrant_count() const;

  private:
    struct Running {
        exporter::DestinationConfig config;  // as wanted (a replacement's spool differs)
        std::unique_ptr<exporter::Exporter> exporter;
        uint16_t slot = 0;
    };
    // One (warrant, destination) pair a policy delivers to, with the exporter of its slot.
    struct Delivery {
        uint32_t warrant = 0;
        std::string destination;
        exporter::Exporter* exporter = nullptr;
        bool operator<(const Delivery& o) const {
            return std::tie(warrant, destination) < std::tie(o.warrant, o.destination);
        }
    };
    // The pairs `policy` delivers to, resolved through running_ as it is now.
    std::set<Delivery> deliveries(const media::Policy* policy) const;
    bool rebuild(const control::Config& config, const x1::State& x1, std::string& error);
    // Stops the exporters the last change replaced, outside the lock.
    void drain_replaced();
    exporter::DestinationConfig x1_destination(const control::Config& config,
                                               const x1::DestinationInfo& d) const;

    mutable std::mutex mutex_;
    control::Config config_;
    x1::State x1_;
    unsigned workers_;
    exporter::ProbeIdentity probe_;
    rte_rcu_qsbr* rcu_;
    bool started_ = false;
    // LIID -> global warrant id, stable for the process lifetime (records carry it).
    std::map<std::string, uint32_t> warrant_ids_;
    std::vector<exporter::WarrantInfo> warrant_infos_;
    std::map<std::string, Running> running_;  // by destination id (config id or X1 DID)
    std::vector<std::unique_ptr<exporter::Exporter>> draining_;  // replaced, not yet stopped
    std::vector<std::unique_ptr<exporter::Exporter>> retired_;   // stopped (for the summary)
    std::unique_ptr<media::Policy> published_;
    std::atomic<const media::Policy*> current_{nullptr};
    DestinationSlots slots_;
    size_t warrant_count_ = 0;
    uint64_t replacements_ = 0;
};

}  // namespace liprobe::dataplane
