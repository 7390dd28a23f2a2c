// Prometheus text exposition (format 0.0.4) and the plain-HTTP endpoint that serves it at
// /metrics on `[metrics] listen` (loopback by default: no TLS, no authentication). Control
// plane only: the render callback reads the workers' relaxed per-lcore counters, never a lock
// the workers take.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "liprobe/control/config.hpp"

namespace liprobe::control {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Builds one exposition. Each family is announced once (HELP, TYPE) before its samples.
class PromText {
  public:
    // type: "counter", "gauge" or "histogram". Counter names end in _total.
    void family(const std::string& name, const char* type, const std::string& help);
    void sample(const std::string& name, const MetricLabels& labels, double value);
    void sample(const std::string& name, const MetricLabels& labels, uint64_t value);
    void sample(const std::string& name, uint64_t value) { sample(name, {}, value); }
    // A whole histogram family: cumulative buckets (upper bounds in seconds, then +Inf),
    // _sum (seconds) and _count. counts has bounds.size() + 1 entries (not cumulative).
    void histogram(const std::string& name, const std::string& help,
                   const std::vector<double>& bounds_s, const std::vector<uint64_t>& counts,
                   double sum_s);
    const std::string& text() const { return out_; }

  private:
    void labels(const MetricLabels& l);
    std::string out_;
};

class MetricsServer {
  public:
    MetricsServer(const HostPort& listen, std::function<std::string()> render);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;
    bool start(std::string& error);
    void stop();
    uint16_t port() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace liprobe::control
