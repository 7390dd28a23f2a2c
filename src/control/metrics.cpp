#include "liprobe/control/metrics.hpp"

#include <httplib.h>

#include <cmath>
#include <cstdio>

#include "http_listener.hpp"

namespace liprobe::control {

void PromText::family(const std::string& name, const char* type, const std::string& help) {
    out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void PromText::labels(const MetricLabels& l) {
    if (l.empty()) return;
    out_ += '{';
    for (size_t i = 0; i < l.size(); ++i) {
        if (i > 0) out_ += ',';
        out_ += l[i].first + "=\"";
        for (char c : l[i].second) {
            if (c == '\\' || c == '"')
                out_ += {'\\', c};
            else if (c == '\n')
                out_ += "\\n";
            else
                out_ += c;
        }
        out_ += '"';
    }
    out_ += '}';
}

void PromText::sample(const std::string& name, const MetricLabels& l, uint64_t value) {
    out_ += name;
    labels(l);
    out_ += ' ' + std::to_string(value) + '\n';
}

void PromText::sample(const std::string& name, const MetricLabels& l, double value) {
    out_ += name;
    labels(l);
    char buf[64];
    if (std::isinf(value))
        std::snprintf(buf, sizeof buf, value > 0 ? "+Inf" : "-Inf");
    else
        std::snprintf(buf, sizeof buf, "%.9g", value);
    out_ += ' ';
    out_ += buf;
    out_ += '\n';
}

void PromText::histogram(const std::string& name, const std::string& help,
                         const std::vector<double>& bounds_s, const std::vector<uint64_t>& counts,
                         double sum_s) {
    family(name, "histogram", help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_s.size() && i < counts.size(); ++i) {
        cumulative += counts[i];
        char le[32];
        if (i < bounds_s.size())
            std::snprintf(le, sizeof le, "%g", bounds_s[i]);
        else
            std::snprintf(le, sizeof le, "+Inf");
        sample(name + "_bucket", {{"le", le}}, cumulative);
    }
    sample(name + "_sum", {}, sum_s);
    sample(name + "_count", {}, cumulative);
}

struct MetricsServer::Impl {
    HostPort listen;
    std::function<std::string()> render;
    httplib::Server server;
    HttpListener listener;
};

MetricsServer::MetricsServer(const HostPort& listen, std::function<std::string()> render)
    : impl_(std::make_unique<Impl>()) {
    impl_->listen = listen;
    impl_->render = std::move(render);
    Impl* im = impl_.get();
    // Scrapes are rare: two threads are plenty and keep the control plane small.
    impl_->server.new_task_queue = [] { return new httplib::ThreadPool(2); };
    impl_->server.set_read_timeout(5, 0);
    impl_->server.Get("/metrics", [im](const httplib::Request&, httplib::Response& res) {
        res.set_content(im->render(), "text/plain; version=0.0.4; charset=utf-8");
    });
}

MetricsServer::~MetricsServer() {
    stop();
}

bool MetricsServer::start(std::string& error) {
    return impl_->listener.start(impl_->server, impl_->listen, "metrics", error);
}

void MetricsServer::stop() {
    if (impl_) impl_->listener.stop(impl_->server);
}

uint16_t MetricsServer::port() const {
    return static_cast<uint16_t>(impl_->listener.port.load());
}

}  // namespace liprobe::control
