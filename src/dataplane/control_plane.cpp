#include "liprobe/dataplane/control_plane.hpp"

#include <pthread.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_telemetry.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <mutex>
#include <stdexcept>

#include "liprobe/dataplane/worker.hpp"
#include "liprobe/keys/key_table.hpp"

namespace liprobe::dataplane {

namespace {

using IC = media::InterceptorCounters;

// The telemetry callbacks are plain functions: they find the running control plane here.
std::mutex g_telemetry_mutex;
const ControlPlane* g_telemetry_plane = nullptr;

int telemetry_stats(const char*, const char*, rte_tel_data* d) {
    std::lock_guard<std::mutex> lock(g_telemetry_mutex);
    rte_tel_data_start_dict(d);
    if (g_telemetry_plane == nullptr) return 0;
    const ProbeTotals t = g_telemetry_plane->totals();
    const std::pair<const char*, uint64_t> values[] = {
        {"received", t.received},
        {"dropped", t.dropped},
        {"sip_messages", t.sip_messages},
        {"sip_intercepted", t.sip_intercepted},
        {"media_packets", t.media_packets},
        {"srtp_decrypted", t.srtp_decrypted},
        {"srtp_auth_failed", t.srtp_auth_failed},
        {"srtp_unknown_mki", t.srtp_unknown_mki},
        {"pending", t.pending},
        {"cc_decrypted", t.cc_decrypted},
        {"cc_encrypted", t.cc_encrypted},
        {"iri", t.iri},
        {"records_lost", t.records_lost},
    };
    for (const auto& [name, v] : values) rte_tel_data_add_dict_u64(d, name, v);
    return 0;
}

int telemetry_dialogs(const char*, const char*, rte_tel_data* d) {
    std::lock_guard<std::mutex> lock(g_telemetry_mutex);
    rte_tel_data_start_dict(d);
    if (g_telemetry_plane == nullptr) return 0;
    const ProbeTotals t = g_telemetry_plane->totals();
    rte_tel_data_add_dict_u64(d, "active", t.dialogs_active);
    rte_tel_data_add_dict_u64(d, "intercepted", t.dialogs_created);
    rte_tel_data_add_dict_u64(d, "ended", t.dialogs_ended);
    rte_tel_data_add_dict_u64(d, "timed_out", t.dialogs_timed_out);
    return 0;
}

int telemetry_keys(const char*, const char*, rte_tel_data* d) {
    std::lock_guard<std::mutex> lock(g_telemetry_mutex);
    rte_tel_data_start_dict(d);
    if (g_telemetry_plane == nullptr) return 0;
    // Counts only: key ids are secrets of the mediation function's making.
    const control::KeyApiCounters& k =
        const_cast<ControlPlane*>(g_telemetry_plane)->key_service().counters();
    rte_tel_data_add_dict_u64(d, "entries", k.entries.load());
    rte_tel_data_add_dict_u64(d, "contexts", k.contexts.load());
    rte_tel_data_add_dict_u64(d, "installed", k.installed.load());
    rte_tel_data_add_dict_u64(d, "refused", k.refused.load());
    rte_tel_data_add_dict_u64(d, "revoked", k.revoked.load());
    rte_tel_data_add_dict_u64(d, "expired", k.expired.load());
    return 0;
}

void register_telemetry_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        rte_telemetry_register_cmd("/liprobe/stats", telemetry_stats,
                                   "liprobe packet, SIP, SRTP and record counters. No parameters");
        rte_telemetry_register_cmd("/liprobe/dialogs", telemetry_dialogs,
                                   "liprobe intercepted dialogs: active and totals. No parameters");
        rte_telemetry_register_cmd("/liprobe/keys", telemetry_keys,
                                   "liprobe key table counts (never ids or keys). No parameters");
    });
}

// The CPUs of no worker lcore (all of them when every CPU runs a worker, or the lcores float):
// where the HTTPS threads should derive keys. They inherit the affinity of the thread that
// creates them, and EAL pins the main lcore, which would put every control thread on its CPU.
rte_cpuset_t control_cpuset() {
    rte_cpuset_t all, workers, out;
    CPU_ZERO(&all);
    CPU_ZERO(&workers);
    CPU_ZERO(&out);
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    for (long c = 0; c < cpus && c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        const rte_cpuset_t set = rte_lcore_cpuset(lcore);
        CPU_OR(&workers, &workers, &set);
    }
    for (long c = 0; c < cpus && c < CPU_SETSIZE; ++c)
        if (!CPU_ISSET(c, &workers)) CPU_SET(c, &out);
    return CPU_COUNT(&out) > 0 ? out : all;
}

std::string human_bytes(uint64_t b) {
    char buf[32];
    if (b >= (1u << 20))
        std::snprintf(buf, sizeof buf, "%.1f MiB", b / 1048576.0);
    else if (b >= 1024)
        std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
    else
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
    return buf;
}

}  // namespace

ControlPlane::ControlPlane(const control::Config& cfg, bool offline, keys::KeyTable& keys,
                           std::atomic<uint64_t>& key_generation)
    : cfg_(cfg), offline_(offline), keys_(keys) {
    const bool api = !offline && !cfg.control.listen.empty();
    if (api && cfg.control.audit_salt.empty())
        throw std::runtime_error("control.audit_salt: required when control.listen is set");
    audit_ = std::make_unique<control::AuditLog>(api ? cfg.control.audit_log : "",
                                                 cfg.control.audit_salt);
    key_service_ = std::make_unique<control::KeyService>(keys, key_generation, *audit_);
    if (api) {
        server_ = std::make_unique<control::ControlServer>(cfg.control);
        server_->set_audit(audit_.get());
        key_service_->register_routes(*server_);
    }
    if (!offline && !cfg.metrics.listen.empty())
        metrics_ = std::make_unique<control::MetricsServer>(cfg.metrics.listen,
                                                            [this] { return render_metrics(); });
    last_maintain_ = last_status_ = std::chrono::steady_clock::now();
}

ControlPlane::~ControlPlane() {
    stop();
}

bool ControlPlane::start(std::string& error) {
    // The listener threads (and their pools) inherit this thread's affinity while they start.
    cpu_set_t saved;
    const bool have_saved = pthread_getaffinity_np(pthread_self(), sizeof saved, &saved) == 0;
    const rte_cpuset_t control = control_cpuset();
    pthread_setaffinity_np(pthread_self(), sizeof control, &control);
    const bool ok = start_listeners(error);
    if (have_saved) pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
    if (!ok) return false;
    {
        std::lock_guard<std::mutex> lock(g_telemetry_mutex);
        g_telemetry_plane = this;
    }
    register_telemetry_once();
    return true;
}

bool ControlPlane::start_listeners(std::string& error) {
    if (server_) {
        if (!server_->start(error)) return false;
        std::cerr << "liprobe: control API listening on https://" << cfg_.control.listen.host << ":"
                  << server_->port() << "\n";
    }
    if (metrics_) {
        if (!metrics_->start(error)) return false;
        std::cerr << "liprobe: metrics on http://" << cfg_.metrics.listen.host << ":"
                  << metrics_->port() << "/metrics\n";
    }
    return true;
}

void ControlPlane::stop() {
    {
        std::lock_guard<std::mutex> lock(g_telemetry_mutex);
        if (g_telemetry_plane == this) g_telemetry_plane = nullptr;
    }
    if (server_) server_->stop();
    if (metrics_) metrics_->stop();
}

void ControlPlane::tick() {
    const auto now = std::chrono::steady_clock::now();
    // Offline, validity is on packet time (the workers check it); the wall clock must not retire
    // the keys of an old capture.
    if (!offline_ && now - last_maintain_ >= std::chrono::seconds(1)) {
        key_service_->maintain();
        last_maintain_ = now;
    }
    const uint32_t interval = cfg_.metrics.status_interval_s;
    if (interval > 0 && now - last_status_ >= std::chrono::seconds(interval)) {
        const double secs = std::chrono::duration<double>(now - last_status_).count();
        const uint64_t rx_before = last_rx_;
        last_rx_ = totals().received;
        std::fprintf(stderr, "%s\n", status_line(secs, rx_before).c_str());
        last_status_ = now;
    }
}

ProbeTotals ControlPlane::totals() const {
    ProbeTotals t;
    if (run_.workers == nullptr) return t;
    const auto& workers = *run_.workers;
    auto sum = [&](auto get) {
        uint64_t s = 0;
        for (const auto& w : workers) s += get(*w);
        return s;
    };
    auto ic = [&](media::Counter IC::*member) {
        return sum(
            [member](const Worker& w) { return (w.interceptor().counters().*member).get(); });
    };
    t.received = sum([](const Worker& w) { return w.counters().received.get(); });
    for (size_t o = 0; o < kOutcomeCount; ++o)
        t.outcomes.emplace_back(outcome_name(static_cast<Outcome>(o)), sum([o](const Worker& w) {
                                    return w.counters().outcome[o].get();
                                }));
    for (size_t r = 0; r < net::kDropReasonCount; ++r) {
        if (static_cast<net::DropReason>(r) == net::DropReason::none) continue;
        const uint64_t v = sum([r](const Worker& w) { return w.counters().drops[r].get(); });
        t.drops.emplace_back(net::drop_reason_name(static_cast<net::DropReason>(r)), v);
        t.dropped += v;
    }
    t.sip_messages = ic(&IC::sip_messages);
    t.sip_intercepted = ic(&IC::sip_intercepted);
    t.dialogs_created = ic(&IC::dialogs_created);
    t.dialogs_ended = ic(&IC::dialogs_ended);
    t.dialogs_timed_out = ic(&IC::dialogs_timed_out);
    // Sizes the workers own: read without a lock, possibly a moment old (a gauge).
    t.dialogs_active =
        sum([](const Worker& w) { return uint64_t{w.interceptor().active_dialogs()}; });
    t.pending = sum([](const Worker& w) { return uint64_t{w.interceptor().pending()}; });
    t.media_packets = ic(&IC::media_packets);
    t.srtp_decrypted = ic(&IC::srtp_decrypted);
    t.srtp_auth_failed = ic(&IC::srtp_auth_failed);
    t.srtp_unknown_mki = ic(&IC::srtp_unknown_mki);
    t.srtp_malformed = ic(&IC::srtp_malformed);
    t.pending_queued = ic(&IC::pending_queued);
    t.pending_resolved = ic(&IC::pending_resolved);
    t.pending_expired = ic(&IC::pending_expired);
    t.pending_overflow = ic(&IC::pending_overflow);
    t.cc_decrypted = ic(&IC::cc_rtp_records);
    t.cc_encrypted = ic(&IC::cc_ip_records);
    t.iri = ic(&IC::iri_records);
    t.records_lost = ic(&IC::records_lost);
    t.sdes_decrypted = ic(&IC::sdes_decrypted);
    t.sdes_lines_installed = ic(&IC::sdes_lines_installed);
    t.sdes_dialogs_refused = ic(&IC::sdes_dialogs_refused);
    t.sdes_contexts_exhausted = ic(&IC::sdes_contexts_exhausted);
    for (size_t r = 1; r < sip::kSdesErrorCount; ++r) {
        const uint64_t v = sum([r](const Worker& w) {
            return w.interceptor().counters().sdes_lines_refused[r].get();
        });
        if (v > 0) t.sdes_refused.emplace_back(sip::sdes_error_name(sip::SdesError(r)), v);
    }
    return t;
}

std::string ControlPlane::render_metrics() const {
    const ProbeTotals t = totals();
    control::PromText p;
    auto counter = [&](const std::string& name, const std::string& help, uint64_t v) {
        p.family(name, "counter", help);
        p.sample(name, v);
    };
    auto gauge = [&](const std::string& name, const std::string& help, uint64_t v) {
        p.family(name, "gauge", help);
        p.sample(name, v);
    };

    p.family("liprobe_port_rx_packets_total", "counter", "Packets received by the DPDK port.");
    std::vector<rte_eth_stats> stats(run_.ports.size());
    for (size_t i = 0; i < run_.ports.size(); ++i)
        rte_eth_stats_get(run_.ports[i].first, &stats[i]);
    auto port_labels = [&](size_t i) {
        return control::MetricLabels{{"port", std::to_string(run_.ports[i].first)},
                                     {"name", run_.ports[i].second}};
    };
    for (size_t i = 0; i < stats.size(); ++i)
        p.sample("liprobe_port_rx_packets_total", port_labels(i), uint64_t{stats[i].ipackets});
    p.family("liprobe_port_rx_missed_packets_total", "counter",
             "Packets the port dropped because the RX queues were full.");
    for (size_t i = 0; i < stats.size(); ++i)
        p.sample("liprobe_port_rx_missed_packets_total", port_labels(i),
                 uint64_t{stats[i].imissed});
    p.family("liprobe_port_rx_errors_total", "counter", "Erroneous packets received by the port.");
    for (size_t i = 0; i < stats.size(); ++i)
        p.sample("liprobe_port_rx_errors_total", port_labels(i), uint64_t{stats[i].ierrors});
    p.family("liprobe_port_rx_nombuf_total", "counter", "RX mbuf allocation failures.");
    for (size_t i = 0; i < stats.size(); ++i)
        p.sample("liprobe_port_rx_nombuf_total", port_labels(i), uint64_t{stats[i].rx_nombuf});

    counter("liprobe_packets_received_total", "Packets the workers received.", t.received);
    p.family("liprobe_packets_total", "counter",
             "Packets by outcome; the outcomes add up to liprobe_packets_received_total.");
    for (const auto& [name, v] : t.outcomes)
        p.sample("liprobe_packets_total", {{"outcome", name}}, v);
    p.family("liprobe_packets_dropped_total", "counter", "Dropped packets by reason.");
    for (const auto& [name, v] : t.drops)
        p.sample("liprobe_packets_dropped_total", {{"reason", name}}, v);

    counter("liprobe_sip_messages_total", "SIP messages parsed.", t.sip_messages);
    counter("liprobe_sip_intercepted_messages_total", "SIP messages of intercepted dialogs (IRI).",
            t.sip_intercepted);
    counter("liprobe_dialogs_intercepted_total", "Dialogs intercepted for a warrant.",
            t.dialogs_created);
    counter("liprobe_dialogs_ended_total", "Intercepted dialogs ended by SIP.", t.dialogs_ended);
    counter("liprobe_dialogs_timed_out_total", "Intercepted dialogs ended by dialog_timeout.",
            t.dialogs_timed_out);
    gauge("liprobe_dialogs_active", "Intercepted dialogs tracked now.", t.dialogs_active);
    counter("liprobe_media_packets_total", "Packets on intercepted media flows.", t.media_packets);
    counter("liprobe_srtp_decrypted_packets_total", "SRTP/SRTCP packets decrypted.",
            t.srtp_decrypted);
    counter("liprobe_srtp_auth_failures_total",
            "SRTP/SRTCP packets whose authentication tag did not verify (delivered encrypted).",
            t.srtp_auth_failed);
    counter("liprobe_srtp_unknown_mki_total",
            "SRTP/SRTCP packets whose MKI had no key on arrival (queued as pending).",
            t.srtp_unknown_mki);
    counter("liprobe_srtp_malformed_total", "SRTP/SRTCP packets too short or inconsistent.",
            t.srtp_malformed);
    gauge("liprobe_srtp_pending_packets", "Packets waiting for their key now.", t.pending);
    counter("liprobe_sdes_decrypted_packets_total",
            "SRTP/SRTCP packets decrypted with SDES keys from the dialog's own SDP (RFC 4568).",
            t.sdes_decrypted);
    counter("liprobe_sdes_lines_installed_total",
            "a=crypto lines of intercepted SDP whose keys now key their media.",
            t.sdes_lines_installed);
    p.family("liprobe_sdes_lines_refused_total", "counter",
             "a=crypto lines refused, by reason (their media goes out as encrypted CC).");
    for (const auto& [name, v] : t.sdes_refused)
        p.sample("liprobe_sdes_lines_refused_total", {{"reason", name}}, v);
    counter("liprobe_sdes_dialogs_refused_total",
            "Intercepted dialogs with at least one refused a=crypto line.", t.sdes_dialogs_refused);
    counter("liprobe_sdes_contexts_exhausted_total",
            "SDES keys not installed because [keys] sdes_contexts were all in use.",
            t.sdes_contexts_exhausted);
    p.family("liprobe_srtp_pending_total", "counter", "Pending queue events by result.");
    for (const auto& [name, v] :
         std::initializer_list<std::pair<const char*, uint64_t>>{{"queued", t.pending_queued},
                                                                 {"resolved", t.pending_resolved},
                                                                 {"expired", t.pending_expired},
                                                                 {"overflow", t.pending_overflow}})
        p.sample("liprobe_srtp_pending_total", {{"result", name}}, v);
    p.family("liprobe_cc_records_total", "counter", "CC records handed to the exporters.");
    p.sample("liprobe_cc_records_total", {{"kind", "decrypted"}}, t.cc_decrypted);
    p.sample("liprobe_cc_records_total", {{"kind", "encrypted"}}, t.cc_encrypted);
    counter("liprobe_iri_records_total", "IRI records handed to the exporters.", t.iri);
    counter("liprobe_records_lost_total",
            "Records lost before export (no record buffer or the destination ring was full).",
            t.records_lost);

    const control::KeyApiCounters& k = key_service_->counters();
    gauge("liprobe_keys_loaded", "Key entries in the key table.", k.entries.load());
    gauge("liprobe_key_contexts", "SRTP crypto contexts in the key table.", k.contexts.load());
    gauge("liprobe_keys_preloaded", "Key entries loaded from [keys] preload at start.",
          run_.keys_preloaded);
    p.family("liprobe_key_api_entries_total", "counter", "POST /v1/keys entries by result.");
    p.sample("liprobe_key_api_entries_total", {{"result", "installed"}}, k.installed.load());
    p.sample("liprobe_key_api_entries_total", {{"result", "refused"}}, k.refused.load());
    counter("liprobe_keys_revoked_total", "Keys revoked by DELETE /v1/keys.", k.revoked.load());
    counter("liprobe_keys_expired_total", "Keys retired because their not_after passed.",
            k.expired.load());
    counter("liprobe_key_api_bad_requests_total", "Key API requests refused as a whole.",
            k.bad_requests.load());
    counter("liprobe_key_memory_lock_failures_total", "Key memory slabs mlock() refused.",
            keys::key_memory_lock_failures());
    counter("liprobe_audit_write_failures_total", "Audit log lines that could not be written.",
            audit_->write_failures());

    const std::vector<DestinationStats> dests =
        run_.destinations ? run_.destinations() : std::vector<DestinationStats>{};
    using Get = uint64_t (*)(const exporter::ExporterSnapshot&);
    const struct {
        const char* name;
        const char* type;
        const char* help;
        Get get;
    } dest_metrics[] = {
        {"liprobe_destination_queued_records", "gauge", "Records in the destination's ring now.",
         [](const exporter::ExporterSnapshot& s) { return s.queued; }},
        {"liprobe_destination_sent_pdus_total", "counter", "PDUs written to the connection.",
         [](const exporter::ExporterSnapshot& s) { return s.sent_pdus; }},
        {"liprobe_destination_sent_bytes_total", "counter", "Octets written to the connection.",
         [](const exporter::ExporterSnapshot& s) { return s.sent_bytes; }},
        {"liprobe_destination_confirmed_pdus_total", "counter",
         "PDUs proven read by the receiver (keep-alive checkpoints).",
         [](const exporter::ExporterSnapshot& s) { return s.confirmed_pdus; }},
        {"liprobe_destination_buffered_bytes", "gauge",
         "Encoded octets in the memory buffer now (unsent and sent-unconfirmed).",
         [](const exporter::ExporterSnapshot& s) { return s.buffered_bytes; }},
        {"liprobe_destination_spooled_bytes", "gauge", "Octets in the disk spool now.",
         [](const exporter::ExporterSnapshot& s) { return s.spooled_bytes; }},
        {"liprobe_destination_spooled_pdus_total", "counter", "PDUs written to the disk spool.",
         [](const exporter::ExporterSnapshot& s) { return s.spooled_pdus; }},
        {"liprobe_destination_reconnects_total", "counter", "Connections lost or given up.",
         [](const exporter::ExporterSnapshot& s) { return s.reconnects; }},
        {"liprobe_destination_thread_restarts_total", "counter",
         "Exporter loops restarted after an unexpected failure (same ring, buffer and spool).",
         [](const exporter::ExporterSnapshot& s) { return s.thread_restarts; }},
        {"liprobe_destination_connected", "gauge", "1 while the destination is connected.",
         [](const exporter::ExporterSnapshot& s) { return uint64_t{s.connected}; }},
    };
    for (const auto& m : dest_metrics) {
        p.family(m.name, m.type, m.help);
        for (const auto& d : dests) p.sample(m.name, {{"destination", d.id}}, m.get(d.snapshot));
    }
    p.family("liprobe_destination_lost_pdus_total", "counter",
             "Records or PDUs lost, by reason (ring_full, spool_full, encode).");
    for (const auto& d : dests) {
        p.sample("liprobe_destination_lost_pdus_total",
                 {{"destination", d.id}, {"reason", "ring_full"}}, d.snapshot.lost_ring_full);
        p.sample("liprobe_destination_lost_pdus_total",
                 {{"destination", d.id}, {"reason", "spool_full"}}, d.snapshot.lost_spool_full);
        p.sample("liprobe_destination_lost_pdus_total",
                 {{"destination", d.id}, {"reason", "encode"}}, d.snapshot.lost_encode);
    }
    // One histogram over all destinations: packet-to-exporter latency.
    std::vector<double> bounds(std::begin(exporter::kLatencyBucketsS),
                               std::end(exporter::kLatencyBucketsS));
    std::vector<uint64_t> counts(bounds.size() + 1, 0);
    uint64_t sum_us = 0;
    for (const auto& d : dests) {
        if (d.latency == nullptr) continue;
        for (size_t b = 0; b < counts.size(); ++b) counts[b] += d.latency->bucket[b].load();
        sum_us += d.latency->sum_us.load();
    }
    p.histogram("liprobe_export_latency_seconds",
                "Time from capture to the exporter taking the record from its ring.", bounds,
                counts, sum_us / 1e6);
    return p.text();
}

std::string ControlPlane::status_line(double seconds, uint64_t rx_before) const {
    const ProbeTotals t = totals();
    char buf[256];
    const double mpps = seconds > 0 ? (t.received - rx_before) / seconds / 1e6 : 0;
    std::snprintf(buf, sizeof buf,
                  "liprobe: status rx %.3f Mpps (%llu), drops %llu, dialogs %llu, decrypted %llu, "
                  "pending %llu",
                  mpps, static_cast<unsigned long long>(t.received),
                  static_cast<unsigned long long>(t.dropped),
                  static_cast<unsigned long long>(t.dialogs_active),
                  static_cast<unsigned long long>(t.srtp_decrypted),
                  static_cast<unsigned long long>(t.pending));
    std::string line = buf;
    if (run_.destinations)
        for (const auto& d : run_.destinations()) {
            line += ", " + d.id + (d.snapshot.connected ? "" : " (down)") + " backlog " +
                    std::to_string(d.snapshot.queued) + " records/" +
                    human_bytes(d.snapshot.buffered_bytes + d.snapshot.spooled_bytes);
            if (d.snapshot.lost() > 0) line += " lost " + std::to_string(d.snapshot.lost());
        }
    return line;
}

}  // namespace liprobe::dataplane
