// Internal to src/control: binding, serving and stopping a cpp-httplib server on its own thread
// (the HTTPS control API and the plain /metrics endpoint share it).
#pragma once

#include <httplib.h>

#include <atomic>
#include <string>
#include <thread>

#include "liprobe/control/config.hpp"

namespace liprobe::control {

struct HttpListener {
    std::thread thread;
    std::atomic<int> port{0};
    std::atomic<bool> finished{false};  // listen_after_bind returned

    // Binds `listen` (port 0: any free port) and serves on `thread`. False with error set
    // ("<what>: cannot listen on ...") when it cannot bind.
    bool start(httplib::Server& server, const HostPort& listen, const char* what,
               std::string& error);
    // httplib's stop() does nothing until the listen loop runs: waits for it to start (or end).
    void stop(httplib::Server& server);
};

}  // namespace liprobe::control
