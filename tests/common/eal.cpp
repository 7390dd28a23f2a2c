#include "eal.hpp"

#include <rte_eal.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>

namespace liprobe::test {

bool init_eal(const std::vector<std::string>& extra) {
    static std::once_flag once;
    static bool ok = false;
    std::call_once(once, [&] {
        std::vector<std::string> args = {"liprobe-test", "--no-huge", "--no-pci", "-m", "512",
                                         "--no-shconf", "--log-level=lib.*:error",
                                         "--file-prefix=liprobe-test-" + std::to_string(getpid())};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        ok = rte_eal_init(static_cast<int>(argv.size()), argv.data()) >= 0;
        if (!ok) std::fprintf(stderr, "rte_eal_init failed\n");
    });
    return ok;
}

}  // namespace liprobe::test
