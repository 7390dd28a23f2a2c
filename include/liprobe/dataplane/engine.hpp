// The probe process (design.md 1, 3.1): EAL from the config, ports (PCI addresses or vdevs, or one
// net_pcap vdev for --pcap), RSS with a symmetric Toeplitz key, N worker lcores running to
// completion, one exporter thread per destination, and the main lcore for control (status line,
// signals, SIGHUP reload of the warrants and destinations, X1 tasks on the control API: both
// through LivePolicy, swapped under RCU). Offline runs end when the capture is consumed:
// pending packets go out as encrypted CC, destinations are drained, a summary is printed.
#pragma once

#include <string>

#include "liprobe/control/config.hpp"
#include "liprobe/dataplane/load_gen.hpp"

namespace liprobe::dataplane {

struct RunOptions {
    std::string config_path;  // for SIGHUP reloads
    std::string pcap;         // offline run when set
    // The load test (load_gen.hpp) when load.pcap is set: a live run on net_ring ports fed by a
    // generator thread instead of the configured ports; it ends when the generator is done.
    LoadTestOptions load;
};

// Exit status of a run that started but lost records (any destination's lost() > 0): the
// summary's first line says how many, stderr says so too.
inline constexpr int kExitRecordsLost = 3;

// Runs until the input ends (offline) or SIGINT/SIGTERM. Returns the process exit code:
// 0 success, 1 start-up failure (named on stderr), kExitRecordsLost.
int run(const control::Config& config, const RunOptions& options);

}  // namespace liprobe::dataplane
