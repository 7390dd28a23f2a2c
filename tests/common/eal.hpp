// Initialises DPDK's EAL once per test program, the way every test here must run it:
// no hugepages, no PCI, 512 MB, in memory, a file prefix unique to this process.
#pragma once

#include <string>
#include <vector>

namespace liprobe::test {

// Safe to call many times; returns false (and the test should fail) when EAL could not start.
// extra: more EAL arguments (vdevs), only honoured on the first call.
bool init_eal(const std::vector<std::string>& extra = {});

}  // namespace liprobe::test
