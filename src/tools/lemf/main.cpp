// liprobe-lemf: reference LEMF receiver for liprobe's HI2/HI3 delivery.
//
//   liprobe-lemf --listen ADDR:PORT --cert C --key K --ca CA [--format etsi102232|x3]
//                --out DIR [--plain] [--resume]
//
// Terminates TLS (1.2 or newer, client certificate required and verified against CA), decodes
// the PDUs, answers keep-alives, checks sequence continuity per (LIID, CIN, CC|IRI) and writes
// DIR/<LIID>_<CIN>.pcap, DIR/<LIID>_<CIN>.jsonl and, on SIGINT/SIGTERM, DIR/summary.json plus
// a printed summary. Port 0 picks a free port; "listening on ADDR:PORT" is printed once ready.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "lemf.hpp"

namespace {

using liprobe::exporter::Format;

std::atomic<bool> g_stop{false};
void on_signal(int) {
    g_stop = true;
}

struct Options {
    std::string host, port, cert, key, ca, out;
    Format format = Format::etsi102232;
    bool plain = false, resume = false, tls11_only = false;
};

void usage() {
    std::fprintf(stderr,
                 "usage: liprobe-lemf --listen ADDR:PORT --cert C --key K --ca CA\n"
                 "                    [--format etsi102232|x3] --out DIR [--plain] [--resume]\n"
                 "  --plain   no TLS (lab use; the listen address must be loopback)\n"
                 "  --resume  continue sequence checks from DIR/summary.json of a previous run\n"
                 "  --test-only-tls11  offer only TLS 1.1 (to test that clients refuse it)\n");
}

bool parse(int argc, char** argv, Options& o, std::string& err) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&](std::string& v) {
            if (i + 1 >= argc) {
                err = a + " needs a value";
                return false;
            }
            v = argv[++i];
            return true;
        };
        std::string v;
        if (a == "--listen") {
            if (!value(v)) return false;
            const size_t colon = v.rfind(':');
            if (colon == std::string::npos || colon + 1 == v.size()) {
                err = "--listen wants ADDR:PORT";
                return false;
            }
            o.host = v.substr(0, colon);
            o.port = v.substr(colon + 1);
            if (o.host.size() >= 2 && o.host.front() == '[' && o.host.back() == ']')
                o.host = o.host.substr(1, o.host.size() - 2);
        } else if (a == "--cert") {
            if (!value(o.cert)) return false;
        } else if (a == "--key") {
            if (!value(o.key)) return false;
        } else if (a == "--ca") {
            if (!value(o.ca)) return false;
        } else if (a == "--out") {
            if (!value(o.out)) return false;
        } else if (a == "--format") {
            if (!value(v)) return false;
            if (!liprobe::exporter::parse_format(v, o.format)) {
                err = "unknown --format " + v + " (etsi102232 or x3)";
                return false;
            }
        } else if (a == "--plain") {
            o.plain = true;
        } else if (a == "--resume") {
            o.resume = true;
        } else if (a == "--test-only-tls11") {
            o.tls11_only = true;
        } else if (a == "--help" || a == "-h") {
            usage();
            std::exit(0);
        } else {
            err = "unknown argument " + a;
            return false;
        }
    }
    if (o.host.empty())
        err = "--listen is required";
    else if (o.out.empty())
        err = "--out is required";
    else if (!o.plain && (o.cert.empty() || o.key.empty() || o.ca.empty()))
        err = "--cert, --key and --ca are required (or --plain for lab use on loopback)";
    return err.empty();
}

bool is_loopback(const sockaddr* sa) {
    if (sa->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

std::string endpoint_text(const sockaddr_storage& ss) {
    char host[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (ss.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        return std::string(host) + ":" + std::to_string(port);
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
}

SSL_CTX* make_tls(const Options& o, std::string& err) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        err = "SSL_CTX_new failed";
        return nullptr;
    }
    if (o.tls11_only) {
        SSL_CTX_set_min_proto_version(ctx, TLS1_1_VERSION);
        SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
        SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    } else {
        // TLS 1.2 minimum; for 1.2 only ECDHE with AEAD ciphers (RFC 9325).
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
    }
    auto fail = [&](const std::string& what) {
        char b[256];
        ERR_error_string_n(ERR_get_error(), b, sizeof b);
        err = what + ": " + b;
        SSL_CTX_free(ctx);
        return nullptr;
    };
    if (SSL_CTX_use_certificate_chain_file(ctx, o.cert.c_str()) != 1)
        return fail("cannot load certificate " + o.cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, o.key.c_str(), SSL_FILETYPE_PEM) != 1)
        return fail("cannot load key " + o.key);
    if (SSL_CTX_check_private_key(ctx) != 1) return fail("key does not match certificate");
    if (SSL_CTX_load_verify_locations(ctx, o.ca.c_str(), nullptr) != 1)
        return fail("cannot load CA " + o.ca);
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.ca.c_str()))
        SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return ctx;
}

int listen_on(const Options& o, std::string& err, std::string& bound) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(o.host.c_str(), o.port.c_str(), &hints, &res);
    if (rc != 0) {
        err = "cannot resolve " + o.host + ":" + o.port + ": " + gai_strerror(rc);
        return -1;
    }
    int fd = -1;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
        if (o.plain && !is_loopback(ai->ai_addr)) {
            err = "--plain only listens on loopback addresses";
            continue;
        }
        fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 64) == 0) break;
        err = std::string("cannot listen: ") + std::strerror(errno);
        ::close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
        bound = endpoint_text(ss);
    }
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    std::string err;
    if (!parse(argc, argv, opt, err)) {
        std::fprintf(stderr, "liprobe-lemf: %s\n", err.c_str());
        usage();
        return 2;
    }
    std::error_code ec;
    std::filesystem::create_directories(opt.out, ec);
    if (ec) {
        std::fprintf(stderr, "liprobe-lemf: cannot create %s: %s\n", opt.out.c_str(),
                     ec.message().c_str());
        return 1;
    }
    liprobe::lemf::Store store(opt.out, opt.format);
    if (opt.resume && !store.resume(err)) {
        std::fprintf(stderr, "liprobe-lemf: cannot resume: %s\n", err.c_str());
        return 1;
    }
    SSL_CTX* ctx = nullptr;
    if (!opt.plain) {
        ctx = make_tls(opt, err);
        if (!ctx) {
            std::fprintf(stderr, "liprobe-lemf: %s\n", err.c_str());
            return 1;
        }
    } else {
        std::fprintf(stderr, "liprobe-lemf: WARNING: --plain: no TLS, lab use only\n");
    }

    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    std::string bound;
    const int lfd = listen_on(opt, err, bound);
    if (lfd < 0) {
        std::fprintf(stderr, "liprobe-lemf: %s\n", err.c_str());
        return 1;
    }
    std::printf("listening on %s\n", bound.c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "liprobe-lemf: format %s, output in %s%s\n",
                 liprobe::exporter::format_name(opt.format), opt.out.c_str(),
                 opt.plain ? ", plain TCP" : ", TLS with client certificates");

    // One thread per connection; finished ones are joined as we go so reconnecting clients
    // do not pile up threads.
    struct Worker {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::list<Worker> workers;
    uint64_t next_id = 1;
    while (!g_stop) {
        for (auto it = workers.begin(); it != workers.end();) {
            if (*it->done) {
                it->thread.join();
                it = workers.erase(it);
            } else {
                ++it;
            }
        }
        pollfd p{lfd, POLLIN, 0};
        const int r = ::poll(&p, 1, 200);
        if (r <= 0) continue;
        sockaddr_storage peer{};
        socklen_t plen = sizeof peer;
        const int cfd = ::accept4(lfd, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_CLOEXEC);
        if (cfd < 0) continue;
        liprobe::lemf::Connection c{cfd, next_id++, endpoint_text(peer)};
        auto done = std::make_shared<std::atomic<bool>>(false);
        workers.push_back({std::thread([c, ctx, &opt, &store, done] {
                               liprobe::lemf::serve_connection(c, ctx, opt.format, store, g_stop);
                               *done = true;
                           }),
                           done});
    }
    ::close(lfd);
    for (Worker& w : workers) w.thread.join();
    const nlohmann::json summary = store.finish();
    liprobe::lemf::Store::print_summary(summary, stdout);
    if (ctx) SSL_CTX_free(ctx);
    return 0;
}
