#include "liprobe/dataplane/live_policy.hpp"

#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "liprobe/dataplane/control_plane.hpp"

namespace liprobe::dataplane {

namespace {

media::DeliverMode deliver_of(control::DeliverMode m) {
    switch (m) {
        case control::DeliverMode::encrypted:
            return media::DeliverMode::encrypted;
        case control::DeliverMode::both:
            return media::DeliverMode::both;
        default:
            return media::DeliverMode::decrypted;
    }
}

exporter::Format format_of(control::ExportFormat f) {
    return f == control::ExportFormat::x3 ? exporter::Format::x3 : exporter::Format::etsi102232;
}

exporter::DestinationConfig destination_config(const control::Config& cfg,
                                               const control::Destination& d) {
    exporter::DestinationConfig dc;
    dc.id = d.id;
    dc.address = d.address.text();
    dc.format = format_of(d.format);
    dc.cert = d.cert;
    dc.key = d.key;
    dc.ca = d.ca;
    dc.server_name = d.server_name;
    dc.tls = d.tls;
    dc.buffer_mb = d.buffer_mb != 0 ? d.buffer_mb : cfg.exporter.buffer_mb;
    dc.spool_dir = cfg.exporter.spool_dir;
    dc.spool_limit_mb = d.spool_mb != 0 ? d.spool_mb : cfg.exporter.spool_mb;
    dc.keepalive_s = d.keepalive_s != 0 ? d.keepalive_s : cfg.exporter.keepalive_s;
    dc.drain_timeout_s = cfg.exporter.drain_timeout_s;
    return dc;
}

// The settings that make an exporter: equal ones keep the running exporter across a change.
bool same_destination(const exporter::DestinationConfig& a, const exporter::DestinationConfig& b) {
    return a.id == b.id && a.address == b.address && a.format == b.format && a.cert == b.cert &&
           a.key == b.key && a.ca == b.ca && a.server_name == b.server_name && a.tls == b.tls &&
           a.buffer_mb == b.buffer_mb && a.spool_dir == b.spool_dir &&
           a.spool_limit_mb == b.spool_limit_mb && a.keepalive_s == b.keepalive_s &&
           a.drain_timeout_s == b.drain_timeout_s;
}

// An X1 task is a warrant like a configured one; its XID is the one the ADMF gave.
control::Warrant warrant_of(const x1::Task& task) {
    control::Warrant w;
    w.liid = task.liid;
    for (const auto& t : task.targets) w.targets.push_back(t.uri());
    w.destinations = task.dids;
    w.deliver = task.deliver;
    w.xid = x1::uuid_octets(task.xid);
    return w;
}

// One LIID, one warrant: a task may not take a configured warrant's LIID (records and CINs are
// per LIID). The problem, or nullopt.
std::optional<std::string> liid_clash(const control::Config& config, const x1::State& x1) {
    for (size_t i = 0; i < config.warrants.size(); ++i)
        for (const auto& [xid, task] : x1.tasks)
            if (task.liid == config.warrants[i].liid)
                return "warrant[" + std::to_string(i) + "] and X1 task " + xid +
                       " have the same LIID";
    return std::nullopt;
}

}  // namespace

LivePolicy::LivePolicy(const control::Config& config, unsigned workers,
                       exporter::ProbeIdentity probe, rte_rcu_qsbr* rcu)
    : config_(config), workers_(workers), probe_(std::move(probe)), rcu_(rcu) {}

LivePolicy::~LivePolicy() {
    stop();
}

exporter::DestinationConfig LivePolicy::x1_destination(const control::Config& cfg,
                                                       const x1::DestinationInfo& d) const {
    // An X1 destination carries an address only: TLS credentials and buffers are the [export]
    // defaults (README, "X1").
    control::Destination cd;
    cd.id = d.did;
    cd.address = d.address;
    cd.format = d.format;
    cd.tls = cfg.exporter.tls;
    cd.cert = cfg.exporter.cert;
    cd.key = cfg.exporter.key;
    cd.ca = cfg.exporter.ca;
    cd.server_name = d.address.host;
    return destination_config(cfg, cd);
}

bool LivePolicy::init(const x1::State& x1, std::string& error) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto clash = liid_clash(config_, x1)) {
        error = *clash;
        return false;
    }
    x1_ = x1;
    return rebuild(config_, x1, error);
}

void LivePolicy::start() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, r] : running_) r.exporter->start();
    started_ = true;
}

bool LivePolicy::reload(const control::Config& next, std::string& error) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (auto clash = liid_clash(next, x1_)) {
            error = *clash;
            return false;
        }
        if (!rebuild(next, x1_, error)) return false;
        config_ = next;
    }
    drain_replaced();
    return true;
}

std::optional<x1::Error> LivePolicy::apply(const x1::State& next) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (auto clash = liid_clash(config_, next)) return x1::Error{x1::kLiidInUse, *clash};
        for (const auto& [did, dest] : next.destinations)
            if (config_.exporter.tls && config_.exporter.cert.empty())
                return x1::Error{x1::kNotApplied,
                                 "destination " + did +
                                     ": X1 destinations need [export] cert, key and ca (TLS is "
                                     "mandatory)"};
        std::string error;
        if (!rebuild(config_, next, error)) return x1::Error{x1::kNotApplied, error};
        x1_ = next;
    }
    drain_replaced();
    return std::nullopt;
}

void LivePolicy::drain_replaced() {
    std::vector<std::unique_ptr<exporter::Exporter>> batch;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        batch.swap(draining_);
    }
    // Outside the lock: a slow LEMF's drain must not hold up scrapes and status lines.
    for (auto& ex : batch) ex->stop();  // delivers what it holds (bounded by drain_timeout)
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& ex : batch) retired_.push_back(std::move(ex));
}

std::set<LivePolicy::Delivery> LivePolicy::deliveries(const media::Policy* policy) const {
    std::set<Delivery> out;
    if (policy == nullptr) return out;
    std::map<uint16_t, const std::pair<const std::string, Running>*> by_slot;
    for (const auto& entry : running_) by_slot[entry.second.slot] = &entry;
    for (uint32_t gid = 0; gid < policy->routes.size(); ++gid) {
        const media::WarrantRoute& r = policy->routes[gid];
        if (!r.active) continue;
        for (uint8_t i = 0; i < r.destination_count; ++i) {
            auto it = by_slot.find(r.destinations[i]);
            if (it != by_slot.end())
                out.insert({gid, it->second->first, it->second->second.exporter.get()});
        }
    }
    return out;
}

bool LivePolicy::rebuild(const control::Config& cfg, const x1::State& x1, std::string& error) {
    // ---- the next destinations: keep equal ones, create the others (not started yet) ----
    std::vector<exporter::DestinationConfig> wanted;
    for (const auto& d : cfg.destinations) wanted.push_back(destination_config(cfg, d));
    for (const auto& [did, d] : x1.destinations) wanted.push_back(x1_destination(cfg, d));
    std::set<uint16_t> used_slots;
    for (const auto& [id, r] : running_) used_slots.insert(r.slot);
    std::map<std::string, Running> created;
    std::map<std::string, uint16_t> slot_of;
    uint16_t next_free = 0;
    for (const auto& dc : wanted) {
        auto it = running_.find(dc.id);
        if (it != running_.end() && same_destination(it->second.config, dc)) {
            slot_of[dc.id] = it->second.slot;
            continue;
        }
        while (next_free < DestinationSlots::kMaxSlots && used_slots.count(next_free) != 0)
            ++next_free;
        if (next_free >= DestinationSlots::kMaxSlots) {
            error = "more than " + std::to_string(DestinationSlots::kMaxSlots) +
                    " destinations (running and being replaced)";
            return false;
        }
        // A replacement runs while the exporter it replaces drains: it spools apart from it
        // (README, Known limitations: that spool is not sent after a restart).
        exporter::DestinationConfig actual = dc;
        if (it != running_.end() && !actual.spool_dir.empty())
            actual.spool_dir += "/replaced-" + std::to_string(++replacements_);
        std::string why;
        auto ex = exporter::Exporter::create(actual, probe_, why);
        if (!ex) {
            error = "destination " + dc.id + ": " + why;
            return false;  // the exporters created so far were never started or published
        }
        used_slots.insert(next_free);
        slot_of[dc.id] = next_free;
        created[dc.id] = Running{dc, std::move(ex), next_free};
    }

    // ---- the next warrants: the config's, then the X1 tasks ----
    std::vector<control::Warrant> warrants = cfg.warrants;
    for (const auto& [xid, task] : x1.tasks) warrants.push_back(warrant_of(task));
    auto policy = std::make_unique<media::Policy>();
    std::vector<targets::Warrant> selector_input;
    for (const auto& w : warrants) selector_input.push_back({w.liid, w.targets, w.destinations});
    targets::SelectorSet::Options opt;
    opt.scratch_slots = workers_;
    policy->selectors = targets::SelectorSet::build(selector_input, opt, error);
    if (!policy->selectors) {
        error = "warrants: " + error;
        return false;
    }
    for (const auto& w : warrants) {
        auto [it, fresh] =
            warrant_ids_.emplace(w.liid, static_cast<uint32_t>(warrant_infos_.size()));
        if (fresh) warrant_infos_.emplace_back();
        const uint32_t gid = it->second;
        exporter::WarrantInfo& info = warrant_infos_[gid];
        info.liid = w.liid;
        std::copy(w.xid.begin(), w.xid.end(), info.xid);
        info.matched_target = w.targets.empty() ? "" : w.targets.front();
        policy->global_id.push_back(gid);
        if (policy->routes.size() < warrant_infos_.size())
            policy->routes.resize(warrant_infos_.size());
        media::WarrantRoute& r = policy->routes[gid];
        r.active = true;
        r.deliver = deliver_of(w.deliver);
        r.sdes = w.sdes;
        r.not_before_us = w.not_before_us.value_or(0);
        r.not_after_us = w.not_after_us.value_or(0);
        for (const auto& d : w.destinations) {
            auto s = slot_of.find(d);
            if (s != slot_of.end() && r.destination_count < media::kMaxWarrantDestinations)
                r.destinations[r.destination_count++] = s->second;
        }
    }
    for (const auto& [xid, task] : x1.tasks) {
        media::WarrantRoute& r = policy->routes[warrant_ids_.at(task.liid)];
        r.deliver_iri = task.delivery != x1::DeliveryType::x3_only;
        r.deliver_cc = task.delivery != x1::DeliveryType::x2_only;
    }
    // Warrants no longer present keep their id with an inactive route: the dialogs already
    // intercepted for them deliver nothing more.
    policy->routes.resize(warrant_infos_.size());

    // ---- publish ----
    // What the running policy delivers, before running_ changes: the pairs the next one drops
    // get their liDeactivated notification below.
    const std::set<Delivery> delivering = deliveries(published_.get());
    std::vector<Running> replaced;
    for (auto& [id, r] : created) {
        r.exporter->set_warrants(warrant_infos_);
        if (started_) r.exporter->start();
        slots_.set(r.slot, r.exporter.get());
    }
    for (auto it = running_.begin(); it != running_.end();) {
        if (slot_of.count(it->first) != 0 && created.count(it->first) == 0) {
            it->second.exporter->set_warrants(warrant_infos_);
            ++it;
        } else {
            replaced.push_back(std::move(it->second));
            it = running_.erase(it);
        }
    }
    for (auto& [id, r] : created) running_[id] = std::move(r);
    const std::set<Delivery> next = deliveries(policy.get());
    current_.store(policy.get(), std::memory_order_release);
    // Workers pick the new policy per burst; the old one (and the exporters only it used) goes
    // once every worker has passed a quiescent state.
    if (rcu_ != nullptr && started_) rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
    // Past the grace period no worker submits for a dropped (warrant, destination) any more:
    // every CC and IRI it had is in that exporter's ring, and the notification goes in behind
    // them (README, "What the LEMF sees when a task is deactivated"). A destination removed in
    // the same change still has its exporter here: it drains the notification with the rest.
    const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    for (const Delivery& d : delivering)
        if (next.count(d) == 0) d.exporter->notify_deactivated(d.warrant, now_us);
    published_ = std::move(policy);
    warrant_count_ = warrants.size();
    // No worker can reach these any more: they drain (drain_replaced) and retire.
    for (auto& r : replaced) {
        slots_.set(r.slot, nullptr);
        draining_.push_back(std::move(r.exporter));
    }
    return true;
}

std::vector<DestinationStats> LivePolicy::destination_stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<DestinationStats> out;
    for (const auto& [id, r] : running_)
        out.push_back({id, r.exporter->snapshot(), &r.exporter->counters().latency});
    return out;
}

void LivePolicy::stop() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, r] : running_) r.exporter->stop();
    for (auto& ex : draining_) ex->stop();
    for (auto& ex : draining_) retired_.push_back(std::move(ex));
    draining_.clear();
}

std::vector<const exporter::Exporter*> LivePolicy::exporters() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<const exporter::Exporter*> out;
    for (const auto& [id, r] : running_) out.push_back(r.exporter.get());
    for (const auto& ex : retired_) out.push_back(ex.get());
    return out;
}

size_t LivePolicy::warrant_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return warrant_count_;
}

}  // namespace liprobe::dataplane
