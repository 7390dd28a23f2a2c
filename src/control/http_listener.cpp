#include "http_listener.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>

namespace liprobe::control {

bool HttpListener::start(httplib::Server& server, const HostPort& listen, const char* what,
                         std::string& error) {
    if (listen.empty()) {
        error = std::string(what) + ": no listen address";
        return false;
    }
    int bound = listen.port;
    if (bound == 0) {
        bound = server.bind_to_any_port(listen.host);
        if (bound < 0) bound = 0;
    } else if (!server.bind_to_port(listen.host, bound)) {
        bound = 0;
    }
    if (bound == 0) {
        error =
            std::string(what) + ": cannot listen on " + listen.text() + ": " + std::strerror(errno);
        return false;
    }
    port.store(bound);
    thread = std::thread([this, &server] {
        server.listen_after_bind();
        finished.store(true);
    });
    return true;
}

void HttpListener::stop(httplib::Server& server) {
    if (!thread.joinable()) return;
    while (!server.is_running() && !finished.load())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server.stop();
    thread.join();
}

}  // namespace liprobe::control
