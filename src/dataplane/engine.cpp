#include "liprobe/dataplane/engine.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string_view>
#include <thread>

#include "liprobe/dataplane/control_plane.hpp"
#include "liprobe/dataplane/live_policy.hpp"
#include "liprobe/dataplane/load_gen.hpp"
#include "liprobe/dataplane/offline_feed.hpp"
#include "liprobe/dataplane/worker.hpp"
#include "liprobe/export/exporter.hpp"
#include "liprobe/keys/key_model.hpp"
#include "liprobe/net/pcap_file.hpp"
#include "liprobe/x1/routes.hpp"
#include "liprobe/x1/service.hpp"

namespace liprobe::dataplane {

namespace {

std::atomic<int> g_signal_stop{0};
std::atomic<int> g_signal_hup{0};

void on_signal(int sig) {
    if (sig == SIGHUP)
        g_signal_hup.store(1);
    else
        g_signal_stop.store(sig);
}

bool has_arg(const std::vector<std::string>& args, std::initializer_list<const char*> names) {
    for (const auto& a : args)
        for (const char* n : names) {
            const std::string name(n);
            if (a == name || a.rfind(name + "=", 0) == 0 ||
                (name.size() == 2 && a.rfind(name, 0) == 0))
                return true;
        }
    return false;
}

struct PortSetup {
    uint16_t port = 0;
    uint16_t queues = 1;
    bool rss = false;
    bool kernel_fanout = false;  // net_af_packet: the kernel spreads flows over the queues
    bool software = false;       // the offline feeder's net_ring queues (offline_feed.hpp)
};

// The symmetric Toeplitz key: 0x6d5a repeated makes hash(a->b) == hash(b->a), so both directions
// of a flow (and of a SIP dialog's 5-tuple) reach the same worker.
uint8_t g_rss_key[40];

bool setup_port(uint16_t port, unsigned workers, const control::DpdkSection& dp, rte_mempool* pool,
                bool software_rss, PortSetup& out, std::string& error) {
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(port, &info) != 0) {
        error = "cannot read device info";
        return false;
    }
    const uint32_t wanted_queues = dp.rx_queues != 0 ? dp.rx_queues : workers;
    uint16_t queues = static_cast<uint16_t>(std::min<uint32_t>(wanted_queues, info.max_rx_queues));
    if (queues == 0) queues = 1;
    rte_eth_conf conf{};
    const uint64_t want = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP;
    // net_af_packet opens one AF_PACKET socket per queue pair (devarg qpairs) at probe time, all in
    // one PACKET_FANOUT_HASH group: the kernel already spreads flows over them by its flow hash,
    // which is symmetric (both directions of a flow reach the same socket). Every socket receives,
    // so every queue must be set up and read, whatever rx_queues says, or flows would be lost.
    out.kernel_fanout = std::string_view(info.driver_name) == "net_af_packet";
    if (out.kernel_fanout) queues = std::max<uint16_t>(1, info.max_rx_queues);
    out.rss = !out.kernel_fanout && queues > 1 && (info.flow_type_rss_offloads & want) != 0;
    out.software = software_rss;
    if (software_rss) {
        out.rss = false;
        queues = std::max<uint16_t>(1, info.max_rx_queues);  // the feeder spreads the flows
    } else if (!out.rss && !out.kernel_fanout) {
        queues = 1;  // a device without RSS cannot spread flows symmetrically
    }
    if (out.rss) {
        for (size_t i = 0; i < sizeof g_rss_key; i += 2) {
            g_rss_key[i] = 0x6d;
            g_rss_key[i + 1] = 0x5a;
        }
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_key = g_rss_key;
        conf.rx_adv_conf.rss_conf.rss_key_len = sizeof g_rss_key;
        conf.rx_adv_conf.rss_conf.rss_hf = want & info.flow_type_rss_offloads;
    }
    int rc = rte_eth_dev_configure(port, queues, 1, &conf);
    if (rc != 0) {
        error = std::string("rte_eth_dev_configure: ") + rte_strerror(-rc);
        return false;
    }
    uint16_t rxd = static_cast<uint16_t>(dp.rx_descriptors), txd = 512;
    rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
    const int socket = rte_eth_dev_socket_id(port);
    for (uint16_t q = 0; q < queues; ++q) {
        rc = rte_eth_rx_queue_setup(port, q, rxd, socket < 0 ? SOCKET_ID_ANY : socket, nullptr,
                                    pool);
        if (rc != 0) {
            error = std::string("rte_eth_rx_queue_setup: ") + rte_strerror(-rc);
            return false;
        }
    }
    rc = rte_eth_tx_queue_setup(port, 0, txd, socket < 0 ? SOCKET_ID_ANY : socket, nullptr);
    if (rc != 0) {
        error = std::string("rte_eth_tx_queue_setup: ") + rte_strerror(-rc);
        return false;
    }
    rc = rte_eth_dev_start(port);
    if (rc != 0) {
        error = std::string("rte_eth_dev_start: ") + rte_strerror(-rc);
        return false;
    }
    rte_eth_promiscuous_enable(port);  // a probe sees everything on its tap; vdevs may refuse
    out.port = port;
    out.queues = queues;
    return true;
}

int lcore_main(void* arg) {
    return static_cast<Worker*>(arg)->run();
}

// The preload file holds key material: read with read(2) straight into one string sized once
// (no stdio or stream buffer, no reallocation leaves a copy behind), which the caller wipes.
// A regular file only.
std::string read_file(const std::string& path) {
    std::string out;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    struct stat st {};
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        out.resize(static_cast<size_t>(st.st_size));
        size_t got = 0;
        while (got < out.size()) {
            const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
            if (n <= 0) break;
            got += static_cast<size_t>(n);
        }
        out.resize(got);  // shrinking keeps the buffer
    }
    ::close(fd);
    return out;
}

// What the control plane observes of this run (its listeners start here, with the workers).
bool start_control_plane(ControlPlane& plane, const std::vector<std::unique_ptr<Worker>>& workers,
                         const std::vector<PortSetup>& ports, const LivePolicy& live,
                         size_t keys_preloaded) {
    ObservedRun run;
    run.workers = &workers;
    for (const auto& ps : ports) {
        char name[RTE_ETH_NAME_MAX_LEN] = {};
        rte_eth_dev_get_name_by_port(ps.port, name);
        run.ports.emplace_back(ps.port, name);
    }
    run.destinations = [&live] { return live.destination_stats(); };
    run.keys_preloaded = keys_preloaded;
    plane.observe(std::move(run));
    std::string error;
    if (plane.start(error)) return true;
    std::cerr << "liprobe: " << error << "\n";
    return false;
}

// The workers' dialog notes (refused a=crypto lines), one log line each: what an operator needs
// to find the call (its CIN) and the reason, never the line itself (it holds a key).
void log_dialog_notes(std::vector<std::unique_ptr<Worker>>& workers) {
    media::DialogNote notes[16];
    for (auto& w : workers) {
        size_t n;
        while ((n = w->interceptor().take_notes(notes, std::size(notes))) > 0)
            for (size_t i = 0; i < n; ++i)
                std::cerr << "liprobe: dialog CIN " << notes[i].cin << ": a=crypto line (tag "
                          << notes[i].tag << ") refused: " << sip::sdes_error_name(notes[i].reason)
                          << " (media no other line keys goes out as encrypted CC)\n";
    }
}

}  // namespace

int run(const control::Config& cfg, const RunOptions& options) {
    const bool offline = !options.pcap.empty();
    const unsigned workers = cfg.dpdk.workers == 0 ? 1 : cfg.dpdk.workers;
    // Offline with several workers: a feeder thread spreads the capture over net_ring queues.
    const bool feed = offline && workers > 1;
    // The load test: live (wall-clock packet time, hold-back), its ports are the generator's rings.
    const bool load = !offline && !options.load.pcap.empty();

    // Offline: count the records (end-of-input detection) and learn the link type.
    uint64_t expected = 0;
    net::LinkType link = net::LinkType::ethernet;
    if (offline || load) {
        try {
            net::PcapReader reader(offline ? options.pcap : options.load.pcap);
            if (!reader.link_type()) {
                std::cerr << "liprobe: " << (offline ? options.pcap : options.load.pcap)
                          << ": unsupported link type " << reader.dlt() << "\n";
                return 1;
            }
            link = *reader.link_type();
            net::PcapRecord rec;
            while (offline && reader.next(rec)) ++expected;
        } catch (const std::exception& e) {
            std::cerr << "liprobe: " << e.what() << "\n";
            return 1;
        }
    }

    // ---- EAL ----
    std::vector<std::string> args{"liprobe"};
    for (const auto& a : cfg.dpdk.eal_args) args.push_back(a);
    const std::vector<std::string> user = cfg.dpdk.eal_args;
    if (!has_arg(user, {"-l", "--lcores", "-c"})) {
        const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
        // Control lcore + workers, floating over the machine's CPUs unless the config pins them.
        args.push_back("--lcores=(0-" + std::to_string(workers) + ")@(0-" +
                       std::to_string(cpus - 1) + ")");
    }
    if (!has_arg(user, {"--log-level"})) args.push_back("--log-level=warning");
    if (offline || load) {
        if (!has_arg(user, {"--huge-dir", "--socket-mem", "--no-huge"}))
            args.push_back("--no-huge");
        if (!has_arg(user, {"-a", "--allow", "-b", "--block", "--no-pci"}))
            args.push_back("--no-pci");
        if (!has_arg(user, {"-m", "--socket-mem"})) {
            args.push_back("-m");
            args.push_back("1024");
        }
        // No shared runtime files (several offline runs may share a machine); --in-memory does
        // not combine with --no-huge's legacy memory mode.
        if (!has_arg(user, {"--file-prefix", "--in-memory", "--no-shconf"})) {
            args.push_back("--no-shconf");
            args.push_back("--file-prefix=liprobe-" + std::to_string(getpid()));
        }
        if (offline && !feed) args.push_back("--vdev=net_pcap0,rx_pcap=" + options.pcap);
    } else {
        for (const auto& p : cfg.dpdk.ports) {
            if (p.rfind("net_", 0) == 0)
                args.push_back("--vdev=" + p);
            else
                args.push_back("-a" + p);
        }
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
        std::cerr << "liprobe: EAL initialisation failed: " << rte_strerror(rte_errno) << "\n";
        return 1;
    }
    int exit_code = 0;
    {
        // ---- ports ----
        std::vector<std::string> port_names;
        if (feed || load) {
            // created below from the feeder's or the load generator's rings
        } else if (offline) {
            port_names.push_back("net_pcap0");
        } else {
            for (const auto& p : cfg.dpdk.ports) port_names.push_back(p.substr(0, p.find(',')));
        }
        rte_mempool* pool = rte_pktmbuf_pool_create("liprobe_mbufs", cfg.dpdk.mbufs, 256, 0,
                                                    RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
        if (pool == nullptr) {
            std::cerr << "liprobe: cannot create the mbuf pool (" << cfg.dpdk.mbufs
                      << " mbufs): " << rte_strerror(rte_errno) << "\n";
            rte_eal_cleanup();
            return 1;
        }
        std::vector<PortSetup> ports;
        for (const auto& name : port_names) {
            uint16_t pid = 0;
            std::string error;
            PortSetup ps;
            if (rte_eth_dev_get_port_by_name(name.c_str(), &pid) != 0 ||
                !setup_port(pid, workers, cfg.dpdk, pool, false, ps, error)) {
                std::cerr << "liprobe: port " << name << ": "
                          << (error.empty() ? "not found" : error) << "\n";
                rte_eal_cleanup();
                return 1;
            }
            ports.push_back(ps);
        }
        std::vector<rte_ring*> feed_rings;
        if (feed || load) {
            // One ring per worker in one net_ring port whose mbufs carry their packet time.
            unsigned ring_size = 1024;
            unsigned flags = RING_F_SP_ENQ | RING_F_SC_DEQ;
            if (load) {
                // As deep as a NIC's RX ring.
                ring_size = std::max(64u, cfg.dpdk.rx_descriptors);
                flags |= RING_F_EXACT_SZ;
            } else {
                // Deep enough to keep a worker busy while the others are; the pool must still
                // hold every ring's mbufs, the workers' bursts and their caches.
                const uint64_t reserved =
                    uint64_t{workers} *
                    (cfg.dpdk.burst + 512 +
                     (cfg.dpdk.offline_capture_order ? 0 : cfg.dpdk.holdback_packets));
                const uint64_t spare = cfg.dpdk.mbufs > reserved ? cfg.dpdk.mbufs - reserved : 0;
                while (ring_size > 64 && uint64_t{ring_size} * workers > spare) ring_size /= 2;
            }
            const std::string what = load ? "load test" : "offline feeder";
            const std::string prefix = load ? "liprobe_load" : "liprobe_feed";
            for (unsigned i = 0; i < workers; ++i) {
                const std::string name = prefix + std::to_string(i);
                rte_ring* r = rte_ring_create(name.c_str(), ring_size, SOCKET_ID_ANY, flags);
                if (r == nullptr) {
                    std::cerr << "liprobe: cannot create the " << what << " ring " << i << ": "
                              << rte_strerror(rte_errno) << "\n";
                    rte_eal_cleanup();
                    return 1;
                }
                feed_rings.push_back(r);
            }
            const int pid = rte_eth_from_rings(load ? "net_load0" : "net_feed0", feed_rings.data(),
                                               workers, feed_rings.data(), 1, SOCKET_ID_ANY);
            std::string error;
            PortSetup ps;
            if (pid < 0 ||
                !setup_port(static_cast<uint16_t>(pid), workers, cfg.dpdk, pool, true, ps, error)) {
                std::cerr << "liprobe: " << what
                          << " port: " << (error.empty() ? rte_strerror(rte_errno) : error) << "\n";
                rte_eal_cleanup();
                return 1;
            }
            ports.push_back(ps);
            // The feeder stamps each mbuf with its record time, as net_pcap does; the load
            // generator with the wall-clock time it offered the frame.
            int offset = -1;
            uint64_t flag = 0;
            if (rte_mbuf_dyn_rx_timestamp_register(&offset, &flag) != 0) {
                std::cerr << "liprobe: cannot register the mbuf timestamp: "
                          << rte_strerror(rte_errno) << "\n";
                rte_eal_cleanup();
                return 1;
            }
        }
        int ts_offset = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr);
        const int ts_bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, nullptr);
        // The mbuf timestamp is the pcap record time (net_pcap) only offline. Live runs stamp
        // packets with the time of capture (the worker's clock at rx): a net_pcap port in a live
        // config would otherwise mix old record times with live timeouts, and NIC timestamps are
        // in device clock units, not Unix time.
        // The load generator stamps the wall-clock time it offered a frame (microseconds).
        if (ts_bit < 0 || (!offline && !load)) ts_offset = -1;

        // ---- keys ----
        keys::KeyTableConfig kc;
        kc.capacity = cfg.keys.max_mkis;
        kc.max_readers = workers + 1;
        std::unique_ptr<keys::KeyTable> key_table;
        try {
            key_table = std::make_unique<keys::KeyTable>(kc);
        } catch (const std::exception& e) {
            std::cerr << "liprobe: " << e.what() << "\n";
            rte_eal_cleanup();
            return 1;
        }
        std::atomic<uint64_t> key_generation{0};
        size_t keys_loaded = 0, keys_refused = 0;
        if (!cfg.keys.preload.empty()) {
            std::string text = read_file(cfg.keys.preload);
            const auto entries = keys::derive_keys_text(text);
            if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
            for (const auto& entry : entries) {
                std::string reason = entry.ok ? key_table->install(entry) : entry.reason;
                if (reason.empty()) {
                    ++keys_loaded;
                } else {
                    ++keys_refused;
                    std::cerr << "liprobe: warning: " << cfg.keys.preload << ": keys["
                              << entry.index << "]: " << reason << "\n";
                }
            }
            key_generation.fetch_add(1);
        }

        // ---- control plane: audit log, key API, metrics (listeners start with the workers) ----
        std::unique_ptr<ControlPlane> control_plane;
        try {
            control_plane =
                std::make_unique<ControlPlane>(cfg, offline, *key_table, key_generation);
        } catch (const std::exception& e) {
            std::cerr << "liprobe: " << e.what() << "\n";
            rte_eal_cleanup();
            return 1;
        }

        // ---- destinations and warrants: the config's and X1's (state file) ----
        const size_t rcu_bytes = rte_rcu_qsbr_get_memsize(workers + 1);
        auto* flow_rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc("liprobe_flow_rcu", rcu_bytes, 64));
        rte_rcu_qsbr_init(flow_rcu, workers + 1);
        exporter::ProbeIdentity probe{cfg.probe.operator_id, cfg.probe.network_element_id,
                                      cfg.probe.country_code};
        // X1 runs with the control API: a live run only.
        const bool x1_on = control_plane->server() != nullptr;
        x1::State x1_state;
        if (x1_on && !cfg.control.x1_state.empty()) {
            std::string why;
            auto loaded = x1::load_state(cfg.control.x1_state, why);
            if (!loaded) {
                std::cerr << "liprobe: control.x1_state: " << why << "\n";
                rte_free(flow_rcu);
                rte_eal_cleanup();
                return 1;
            }
            x1_state = std::move(*loaded);
        }
        auto live = std::make_unique<LivePolicy>(cfg, workers, probe, flow_rcu);
        std::string error;
        if (!live->init(x1_state, error)) {
            std::cerr << "liprobe: " << error << "\n";
            live.reset();
            rte_free(flow_rcu);
            rte_eal_cleanup();
            return 1;
        }
        std::unique_ptr<x1::Service> x1_service;
        if (x1_on) {
            x1::ServiceOptions xo;
            xo.ne_identifier = cfg.probe.network_element_id;
            xo.state_path = cfg.control.x1_state;
            x1_service = std::make_unique<x1::Service>(std::move(x1_state), xo, live.get(),
                                                       &control_plane->audit());
            x1::register_routes(*x1_service, *control_plane->server());
        }

        // ---- shared tables, workers ----
        media::FlowTableConfig fc;
        fc.capacity = cfg.dpdk.max_media_flows;
        fc.rcu = flow_rcu;
        auto flows = std::make_unique<media::FlowTable>(fc);
        sip::SipDetector detector;
        if (!detector.init(workers, error)) {
            std::cerr << "liprobe: SIP detector: " << error << "\n";
            rte_eal_cleanup();
            return 1;
        }
        std::bitset<65536> sip_ports;
        for (uint16_t p : cfg.sip.ports) sip_ports.set(p);
        std::atomic<bool> stop{false};
        std::atomic<uint32_t> cin_counter{1};

        WorkerShared shared;
        shared.sip_ports = &sip_ports;
        shared.detector = &detector;
        shared.policy = &live->policy();
        shared.key_generation = &key_generation;
        shared.stop = &stop;
        shared.flow_rcu = flow_rcu;
        shared.keys = key_table.get();
        shared.link = link;
        shared.offline = offline;
        shared.offline_expected = expected;
        shared.timestamp_offset = ts_offset;
        shared.timestamp_flag = ts_bit >= 0 ? (1ULL << ts_bit) : 0;
        shared.burst = static_cast<uint16_t>(cfg.dpdk.burst);
        // One worker, or an offline feed in capture order, keeps the order between flows: only
        // otherwise can media overtake the SIP that installs its flow.
        const bool holdback = workers > 1 && !(feed && cfg.dpdk.offline_capture_order);
        shared.holdback_us = holdback ? int64_t{cfg.dpdk.holdback_ms} * 1000 : 0;
        shared.holdback_packets = cfg.dpdk.holdback_packets;
        shared.flows = flows.get();
        {
            PipelineBounds bounds;
            bounds.max_fragments = cfg.dpdk.max_fragments;
            bounds.max_tcp_streams = cfg.sip.max_tcp_streams;
            bounds.workers = workers;
            bounds.sip_ports = cfg.sip.ports.data();
            bounds.sip_port_count = cfg.sip.ports.size();
            shared.pipeline = pipeline_config(bounds);
        }
        std::atomic<bool> feed_done{false};
        if (feed) shared.feed_done = &feed_done;
        std::vector<std::unique_ptr<Worker>> pool_workers;
        for (unsigned i = 0; i < workers; ++i) {
            media::InterceptorConfig ic;
            ic.worker = i;
            ic.max_dialogs = std::max(16u, cfg.sip.max_dialogs / workers);
            ic.dialog_timeout_us = int64_t{cfg.sip.dialog_timeout_s} * 1000000;
            ic.unconfirmed_timeout_us = int64_t{cfg.sip.unconfirmed_timeout_s} * 1000000;
            ic.pending_packets = cfg.keys.pending_packets;
            ic.pending_us = int64_t{cfg.keys.pending_ms} * 1000;
            ic.sdes_contexts = cfg.keys.sdes_contexts / workers;
            auto icpt = std::make_unique<media::Interceptor>(ic, *flows, *key_table, live->sink(),
                                                             cin_counter);
            pool_workers.push_back(std::make_unique<Worker>(i, shared, std::move(icpt)));
        }
        auto ring_feed_target = [&](std::atomic<bool>* done) {
            RingFeedTarget t;
            t.link = link;
            t.rings = feed_rings;
            t.pool = pool;
            t.timestamp_offset = ts_offset;
            t.timestamp_flag = ts_bit >= 0 ? (1ULL << ts_bit) : 0;
            t.sip_ports = &sip_ports;
            t.stop = &stop;
            t.done = done;
            return t;
        };
        std::unique_ptr<OfflineFeed> feeder;
        if (feed) {
            OfflineFeedConfig fcfg{ring_feed_target(&feed_done)};
            fcfg.pcap = options.pcap;
            fcfg.capture_order = cfg.dpdk.offline_capture_order;
            fcfg.flows = flows.get();
            fcfg.flow_rcu = flow_rcu;
            fcfg.rcu_thread = workers;  // flow_rcu has workers + 1 reader slots
            for (auto& w : pool_workers) fcfg.consumed.push_back(&w->counters().consumed);
            feeder = std::make_unique<OfflineFeed>(std::move(fcfg));
        }
        std::atomic<bool> load_done{false};
        std::unique_ptr<LoadGenerator> generator;
        if (load) {
            LoadGenConfig lc{ring_feed_target(&load_done)};
            lc.options = options.load;
            generator = std::make_unique<LoadGenerator>(std::move(lc));
            std::string lerr;
            if (!generator->load(lerr)) {
                std::cerr << "liprobe: load test: " << lerr << "\n";
                generator.reset();
                stop.store(true);
                exit_code = 1;
            }
        }
        // Queue q of every port goes to worker q (RSS spreads flows over the queues).
        for (const auto& ps : ports)
            for (uint16_t q = 0; q < ps.queues; ++q)
                pool_workers[q % workers]->add_queue({ps.port, q});

        // Handlers first: once /metrics or the API answer, a client may signal (a SIGHUP
        // before this point would end the process).
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        std::signal(SIGHUP, on_signal);
        live->start();
        if (!start_control_plane(*control_plane, pool_workers, ports, *live, keys_loaded)) {
            stop.store(true);
            exit_code = 1;
        }

        unsigned wi = 0;
        unsigned lcore;
        RTE_LCORE_FOREACH_WORKER(lcore) {
            if (wi >= workers) break;
            rte_eal_remote_launch(lcore_main, pool_workers[wi].get(), lcore);
            ++wi;
        }
        if (wi < workers) {
            std::cerr << "liprobe: only " << wi << " worker lcores available for " << workers
                      << " workers\n";
            stop.store(true);
        }
        std::thread feeder_thread;
        if (feeder) feeder_thread = std::thread([&feeder] { feeder->run(); });
        if (generator) feeder_thread = std::thread([&generator] { generator->run(); });

        auto totals = [&](auto field) {
            uint64_t s = 0;
            for (auto& w : pool_workers) s += field(*w);
            return s;
        };
        // ---- control loop (main lcore) ----
        for (;;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            bool all_done = true;
            for (unsigned i = 0; i < wi; ++i)
                all_done = all_done && pool_workers[i]->counters().done.load();
            if (all_done) break;
            if (g_signal_stop.load() != 0) stop.store(true);
            if (load_done.load(std::memory_order_acquire)) stop.store(true);
            if (g_signal_hup.exchange(0) != 0) {
                // Warrants and destinations; a broken file changes nothing.
                control::LoadResult reloaded = control::load_config(options.config_path);
                if (reloaded.ok()) control::check_files(reloaded);
                std::string rerr;
                if (!reloaded.ok()) {
                    for (const auto& e : reloaded.errors)
                        std::cerr << "liprobe: reload refused: " << e.text() << "\n";
                    control_plane->audit().record("SIGHUP", "config.reload", "refused",
                                                  {{"errors", reloaded.errors.size()}});
                } else if (!live->reload(reloaded.config, rerr)) {
                    std::cerr << "liprobe: reload refused: " << rerr << "\n";
                    control_plane->audit().record("SIGHUP", "config.reload", "refused", {});
                } else {
                    std::cerr << "liprobe: reloaded " << reloaded.config.warrants.size()
                              << " warrants and " << reloaded.config.destinations.size()
                              << " destinations\n";
                    control_plane->audit().record(
                        "SIGHUP", "config.reload", "ok",
                        {{"warrants", reloaded.config.warrants.size()},
                         {"destinations", reloaded.config.destinations.size()}});
                }
            }
            control_plane->tick();
            log_dialog_notes(pool_workers);
        }
        control_plane->stop();
        rte_eal_mp_wait_lcore();
        log_dialog_notes(pool_workers);
        if (feeder_thread.joinable()) feeder_thread.join();
        live->stop();  // drains every destination, bounded by drain_timeout

        // ---- summary ----
        const uint64_t received = totals([](Worker& w) { return w.counters().received.get(); });
        const uint64_t outcome_sum = totals([](Worker& w) { return w.outcome_sum(); });
        auto ic = [&](auto member) {
            return totals([&](Worker& w) { return (w.interceptor().counters().*member).get(); });
        };
        using IC = media::InterceptorCounters;
        // Every lost record is counted once, by its destination's exporter (the workers'
        // "lost before export" is the part of it that never reached an exporter ring).
        uint64_t lost_total = 0;
        const std::vector<const exporter::Exporter*> exporters = live->exporters();
        for (const auto* ex : exporters) lost_total += ex->snapshot().lost();
        std::FILE* out = stdout;
        std::fprintf(out, "liprobe %s summary\n", offline ? "offline" : "run");
        // Loss first, where nobody can miss it; it also decides the exit status.
        if (lost_total != 0) {
            exit_code = kExitRecordsLost;
            std::fprintf(out, "  lost                 %llu (RECORDS LOST: exit status %d)\n",
                         (unsigned long long)lost_total, kExitRecordsLost);
        } else {
            std::fprintf(out, "  lost                 0\n");
        }
        if (offline)
            std::fprintf(out, "  capture              %s (%llu records)\n", options.pcap.c_str(),
                         (unsigned long long)expected);
        for (const auto& ps : ports) {
            rte_eth_stats st{};
            rte_eth_stats_get(ps.port, &st);
            std::fprintf(out,
                         "  port %u               rx %llu, missed %llu, errors %llu, no mbuf %llu, "
                         "queues %u%s\n",
                         ps.port, (unsigned long long)st.ipackets, (unsigned long long)st.imissed,
                         (unsigned long long)st.ierrors, (unsigned long long)st.rx_nombuf,
                         ps.queues,
                         ps.rss             ? ", RSS"
                         : ps.kernel_fanout ? ", kernel flow hash"
                         : ps.software      ? ", symmetric Toeplitz hash in software"
                                            : "");
        }
        if (feeder)
            std::fprintf(out,
                         "  offline feed         %llu frames to %u workers, %s order (barriers "
                         "%llu, steered to their dialog's worker %llu)\n",
                         (unsigned long long)feeder->frames_sent(), workers,
                         cfg.dpdk.offline_capture_order ? "capture" : "arrival",
                         (unsigned long long)feeder->barriers(),
                         (unsigned long long)feeder->steered());
        if (generator) {
            const LoadGenStats& ls = generator->stats();
            std::fprintf(
                out,
                "  load test            offered %.0f pps (set %.0f) for %.2f s: sent %llu, "
                "missed %llu (rx ring full), no mbuf %llu, generator lag %llu; set-up "
                "%llu frames (%llu skipped), loop of %llu frames\n",
                ls.offered_pps(), options.load.rate_pps, ls.elapsed_s, (unsigned long long)ls.sent,
                (unsigned long long)ls.missed, (unsigned long long)ls.no_mbuf,
                (unsigned long long)ls.lagged, (unsigned long long)ls.setup_frames,
                (unsigned long long)ls.skipped_setup, (unsigned long long)ls.loop_frames);
        }
        std::fprintf(out, "  packets received     %llu\n", (unsigned long long)received);
        for (size_t o = 0; o < kOutcomeCount; ++o) {
            const uint64_t v = totals([&](Worker& w) { return w.counters().outcome[o].get(); });
            std::fprintf(out, "    %-22s %llu\n", outcome_name(static_cast<Outcome>(o)),
                         (unsigned long long)v);
            if (static_cast<Outcome>(o) == Outcome::held) {
                // Where the held IP fragments ended (the rest of held is SIP-over-TCP bytes).
                using FS = net::IpReassemblyStats;
                const std::pair<const char*, uint64_t FS::*> ends[] = {
                    {"fragment_completed", &FS::fragments_completed},
                    {"fragment_timed_out", &FS::fragments_timed_out},
                    {"fragment_evicted", &FS::fragments_evicted},
                    {"fragment_discarded", &FS::fragments_discarded},
                    {"fragment_at_end", &FS::fragments_flushed}};
                for (const auto& [name, member] : ends) {
                    const auto field = member;  // clang 14 cannot capture a structured binding
                    const uint64_t fv =
                        totals([field](Worker& w) { return w.pipeline().fragment_stats().*field; });
                    if (fv != 0)
                        std::fprintf(out, "      %-20s %llu\n", name, (unsigned long long)fv);
                }
            }
            if (static_cast<Outcome>(o) == Outcome::dropped)
                for (size_t r = 0; r < net::kDropReasonCount; ++r) {
                    const uint64_t dv =
                        totals([&](Worker& w) { return w.counters().drops[r].get(); });
                    if (dv != 0)
                        std::fprintf(out, "      %-20s %llu\n",
                                     net::drop_reason_name(static_cast<net::DropReason>(r)),
                                     (unsigned long long)dv);
                }
        }
        std::fprintf(out, "  accounting           received %llu, outcomes %llu: %s\n",
                     (unsigned long long)received, (unsigned long long)outcome_sum,
                     received == outcome_sum ? "balanced" : "MISMATCH");
        {
            auto pl = [&](auto field) {
                return totals([&](Worker& w) { return uint64_t{field(w.pipeline())}; });
            };
            using PP = const net::PacketPipeline&;
            std::fprintf(
                out,
                "  reassembly           IP datagrams %llu (timed out %llu, evicted %llu, at end "
                "%llu), "
                "GTP-U %llu, SIP over TCP %llu (connections %llu, at end %llu)\n",
                (unsigned long long)pl([](PP p) { return p.fragment_stats().datagrams_completed; }),
                (unsigned long long)pl([](PP p) { return p.fragment_stats().datagrams_timed_out; }),
                (unsigned long long)pl([](PP p) { return p.fragment_stats().datagrams_evicted; }),
                (unsigned long long)pl([](PP p) { return p.fragment_stats().datagrams_flushed; }),
                (unsigned long long)pl([](PP p) { return p.counters().gtpu_decapsulated; }),
                (unsigned long long)pl([](PP p) { return p.counters().sip_messages; }),
                (unsigned long long)pl([](PP p) { return p.tcp_stats().directions_opened; }),
                (unsigned long long)pl([](PP p) { return p.tcp_stats().directions_flushed; }));
        }
        std::fprintf(out, "  SIP messages         %llu (intercepted %llu, retransmissions %llu)\n",
                     (unsigned long long)ic(&IC::sip_messages),
                     (unsigned long long)ic(&IC::sip_intercepted),
                     (unsigned long long)ic(&IC::sip_retransmissions));
        std::fprintf(
            out,
            "  dialogs              intercepted %llu, ended %llu, timed out %llu, unconfirmed "
            "timed out %llu, evicted %llu (lingering %llu), refused %llu\n",
            (unsigned long long)ic(&IC::dialogs_created),
            (unsigned long long)ic(&IC::dialogs_ended),
            (unsigned long long)ic(&IC::dialogs_timed_out),
            (unsigned long long)ic(&IC::dialogs_unconfirmed_timed_out),
            (unsigned long long)ic(&IC::dialogs_evicted),
            (unsigned long long)ic(&IC::dialogs_linger_evicted),
            (unsigned long long)ic(&IC::dialogs_refused_full));
        if (shared.holdback_us > 0) {
            auto hb = [&](auto member) {
                return totals([&](Worker& w) { return (w.counters().*member).get(); });
            };
            using WC = WorkerCounters;
            std::fprintf(out,
                         "  hold-back            %u ms: held %llu, then intercepted %llu, window "
                         "ended %llu, queue full %llu\n",
                         cfg.dpdk.holdback_ms, (unsigned long long)hb(&WC::holdback_held),
                         (unsigned long long)hb(&WC::holdback_intercepted),
                         (unsigned long long)hb(&WC::holdback_expired),
                         (unsigned long long)hb(&WC::holdback_overflow));
        }
        std::fprintf(out, "  media packets        %llu (plain RTP %llu)\n",
                     (unsigned long long)ic(&IC::media_packets),
                     (unsigned long long)ic(&IC::plain_rtp));
        std::fprintf(out,
                     "  SRTP                 decrypted %llu, auth failed %llu, unknown MKI %llu, "
                     "malformed %llu\n",
                     (unsigned long long)ic(&IC::srtp_decrypted),
                     (unsigned long long)ic(&IC::srtp_auth_failed),
                     (unsigned long long)ic(&IC::srtp_unknown_mki),
                     (unsigned long long)ic(&IC::srtp_malformed));
        uint64_t sdes_refused = 0;
        for (size_t r = 1; r < sip::kSdesErrorCount; ++r)
            sdes_refused += totals(
                [r](Worker& w) { return w.interceptor().counters().sdes_lines_refused[r].get(); });
        std::fprintf(out,
                     "  SDES                 decrypted %llu, lines installed %llu, refused %llu "
                     "(in %llu dialogs), no context left %llu\n",
                     (unsigned long long)ic(&IC::sdes_decrypted),
                     (unsigned long long)ic(&IC::sdes_lines_installed),
                     (unsigned long long)sdes_refused,
                     (unsigned long long)ic(&IC::sdes_dialogs_refused),
                     (unsigned long long)ic(&IC::sdes_contexts_exhausted));
        std::fprintf(out,
                     "  pending              queued %llu, resolved %llu, expired %llu, at end "
                     "%llu, overflow %llu\n",
                     (unsigned long long)ic(&IC::pending_queued),
                     (unsigned long long)ic(&IC::pending_resolved),
                     (unsigned long long)ic(&IC::pending_expired),
                     (unsigned long long)ic(&IC::pending_flushed),
                     (unsigned long long)ic(&IC::pending_overflow));
        std::fprintf(out, "  keys                 loaded %zu, refused %zu\n", keys_loaded,
                     keys_refused);
        std::fprintf(
            out,
            "  records              CC decrypted %llu, CC encrypted %llu, IRI %llu, lost before "
            "export %llu\n",
            (unsigned long long)ic(&IC::cc_rtp_records), (unsigned long long)ic(&IC::cc_ip_records),
            (unsigned long long)ic(&IC::iri_records), (unsigned long long)ic(&IC::records_lost));
        for (const auto* ex : exporters) {
            const auto s = ex->snapshot();
            std::fprintf(out,
                         "  destination %-8s encoded %llu, sent %llu, confirmed %llu, spooled "
                         "%llu, lost %llu\n",
                         ex->config().id.c_str(), (unsigned long long)s.encoded_pdus,
                         (unsigned long long)s.sent_pdus, (unsigned long long)s.confirmed_pdus,
                         (unsigned long long)s.spooled_pdus, (unsigned long long)s.lost());
            if (s.lost() != 0)
                std::fprintf(
                    out,
                    "    lost: ring full %llu, no record buffer %llu, buffer/spool full "
                    "or never sent %llu, encoder refused %llu\n",
                    (unsigned long long)s.lost_ring_full, (unsigned long long)s.lost_no_record,
                    (unsigned long long)s.lost_spool_full, (unsigned long long)s.lost_encode);
        }
        {
            std::vector<const exporter::LatencyHistogram*> hs;
            for (const auto* ex : exporters) hs.push_back(&ex->counters().latency);
            uint64_t n = 0;
            for (const auto* h : hs) n += h->count.load();
            if (n > 0)
                std::fprintf(
                    out,
                    "  export latency       packet to exporter ring: p50 %llu us, p99 %llu "
                    "us, p99.9 %llu us (%llu records)\n",
                    (unsigned long long)exporter::latency_quantile_us(hs, 0.5),
                    (unsigned long long)exporter::latency_quantile_us(hs, 0.99),
                    (unsigned long long)exporter::latency_quantile_us(hs, 0.999),
                    (unsigned long long)n);
        }
        std::fflush(out);
        if (lost_total != 0)
            std::fprintf(stderr, "liprobe: %llu records lost (see the summary)\n",
                         (unsigned long long)lost_total);

        pool_workers.clear();  // interceptors take their flows out of the table
        flows.reset();
        x1_service.reset();
        live.reset();
        rte_free(flow_rcu);
        for (const auto& ps : ports) {
            rte_eth_dev_stop(ps.port);
            rte_eth_dev_close(ps.port);
        }
        control_plane.reset();
        key_table.reset();
        for (rte_ring* r : feed_rings) rte_ring_free(r);
        rte_mempool_free(pool);
    }
    rte_eal_cleanup();
    return exit_code;
}

}  // namespace liprobe::dataplane
