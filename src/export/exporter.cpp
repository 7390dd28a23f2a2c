// The per-destination exporter (see exporter.hpp for the delivery and loss rules).
#include "liprobe/export/exporter.hpp"

#include <poll.h>
#include <pthread.h>
#include <rte_errno.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "liprobe/export/spool.hpp"
#include "liprobe/export/tls.hpp"

namespace liprobe::exporter {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kChunkBytes = 256 * 1024;   // one memory-buffer chunk; also the write size
constexpr unsigned kBurst = 256;             // records per ring dequeue
constexpr size_t kBatchBytes = 1024 * 1024;  // encode at most this much before writing
constexpr size_t kMaxCheckpoints = 64;
constexpr size_t kRecordHeader = 128;  // Record struct, rounded to cache lines
static_assert(sizeof(Record) <= kRecordHeader);
constexpr auto kSyncInterval = std::chrono::milliseconds(100);

std::atomic<unsigned> g_name_counter{0};

void log_line(const std::string& id, const std::string& text) {
    std::fprintf(stderr, "liprobe exporter %s: %s\n", id.c_str(), text.c_str());
}

void init_record(rte_mempool*, void* capacity_arg, void* obj, unsigned) {
    auto* record = new (obj) Record();
    record->capacity = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(capacity_arg));
    record->data = static_cast<uint8_t*>(obj) + kRecordHeader;
}

Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

int64_t unix_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A piece of the memory buffer: PDUs back to back plus their end offsets.
struct Chunk {
    std::unique_ptr<uint8_t[]> buf;
    size_t cap = 0;
    size_t used = 0;
    uint64_t base = 0;  // stream position of buf[0]
    std::vector<uint32_t> ends;
    size_t counted = 0;  // PDUs already counted as sent (from the front)

    void reset(uint64_t position) {
        used = 0;
        base = position;
        ends.clear();
        counted = 0;
    }
};

struct SeqKeyHash {
    size_t operator()(uint64_t k) const { return std::hash<uint64_t>()(k * 0x9E3779B97F4A7C15ull); }
};

}  // namespace

struct Exporter::Impl {
    std::unique_ptr<PduEncoder> encoder;
    std::unique_ptr<TlsClientContext> tls;
    std::string host;
    uint16_t port = 0;
    std::string server_name;
    bool spool_enabled = false;
    bool spool_failing = false;  // the last spool write failed (logged once, see spool_result)
    Spool spool;
    uint64_t buffer_cap = 0;

    // Sequence numbers per (warrant, CIN), CC, IRI and HI1 apart.
    std::unordered_map<uint64_t, uint32_t, SeqKeyHash> seq[kSeqStreams];
    uint64_t last_key[kSeqStreams] = {~0ull, ~0ull, ~0ull};
    uint32_t* last_counter[kSeqStreams] = {nullptr, nullptr, nullptr};
    std::shared_ptr<const std::vector<WarrantInfo>> warrants;
    uint64_t warrants_generation = ~0ull;

    // Memory buffer: [front .. confirmed .. send_pos .. end).
    std::deque<std::unique_ptr<Chunk>> queue;
    std::vector<std::unique_ptr<Chunk>> free_chunks;
    uint64_t end_pos = 0;          // stream position after the last buffered octet
    uint64_t send_pos = 0;         // next octet to write
    uint64_t resend_until = 0;     // octets before this were written before a reconnect
    uint64_t buffered = 0;         // octets in queue
    std::vector<uint8_t> scratch;  // encode target when PDUs go to the spool

    // Connection.
    enum class State { idle, connecting, connected } state = State::idle;
    Connection conn;
    Clock::time_point next_attempt{};
    Clock::time_point connect_deadline{};
    Clock::duration backoff{};
    Clock::time_point last_write{};     // last octet written (silence keep-alive)
    Clock::time_point blocked_since{};  // first write attempt without progress
    bool blocked = false;
    size_t blocked_len = 0;
    bool blocked_on_control = false;
    std::vector<uint8_t> control;  // keep-alive being written
    size_t control_off = 0;
    struct Checkpoint {
        uint64_t position;
        Clock::time_point sent;
    };
    std::deque<Checkpoint> checkpoints;
    uint64_t last_checkpoint_pos = 0;
    Clock::time_point last_checkpoint_time{};
    uint32_t keepalive_seq = 0;
    // After a connect no PDU is written until the first keep-alive is answered: in TLS 1.3 a
    // refused client certificate shows only after the handshake, and a receiver that cannot
    // answer would lose whatever we wrote.
    bool awaiting_first_answer = false;
    // A partial write left the stream in the middle of a PDU: no keep-alive may go in between.
    bool mid_pdu = false;
    std::vector<uint8_t> rx;
    size_t rx_used = 0;

    Clock::time_point last_sync{};
    mutable std::mutex error_mutex;
    std::string last_error;
    std::vector<Record*> release_small, release_large;
};

Exporter::Exporter(const DestinationConfig& config) : config_(config), impl_(new Impl) {}

std::unique_ptr<Exporter> Exporter::create(const DestinationConfig& config,
                                           const ProbeIdentity& probe, std::string& error) {
    const std::string where = "destination " + (config.id.empty() ? "?" : config.id) + ": ";
    if (config.id.empty()) {
        error = "destination: id is empty";
        return nullptr;
    }
    std::string host;
    uint16_t port = 0;
    if (!split_host_port(config.address, host, port)) {
        error = where + "address '" + config.address + "' is not host:port";
        return nullptr;
    }
    auto positive = [&](double v, const char* key) {
        if (!(v > 0) || !std::isfinite(v)) {
            error = where + key + " must be > 0";
            return false;
        }
        return true;
    };
    if (!positive(config.buffer_mb, "buffer_mb") || !positive(config.keepalive_s, "keepalive_s") ||
        !positive(config.backoff_min_s, "backoff_min") ||
        !positive(config.backoff_max_s, "backoff_max") ||
        !positive(config.connect_timeout_s, "connect_timeout") ||
        !positive(config.spool_limit_mb, "spool_limit_mb"))
        return nullptr;
    if (config.drain_timeout_s < 0) {
        error = where + "drain_timeout must be >= 0";
        return nullptr;
    }
    if (config.backoff_max_s < config.backoff_min_s) {
        error = where + "backoff_max must be >= backoff_min";
        return nullptr;
    }
    if (config.ring_size < 2 || (config.ring_size & (config.ring_size - 1)) != 0) {
        error = where + "ring_size must be a power of two";
        return nullptr;
    }
    if (config.small_records == 0 || config.small_capacity == 0 ||
        config.small_capacity > kMaxRecordBytes) {
        error = where + "record pool sizes must be > 0 (capacity <= 65535)";
        return nullptr;
    }

    std::unique_ptr<Exporter> exporter(new Exporter(config));
    Impl& impl = *exporter->impl_;
    impl.host = host;
    impl.port = port;
    impl.server_name = config.server_name.empty() ? host : config.server_name;
    impl.buffer_cap = static_cast<uint64_t>(config.buffer_mb * 1024 * 1024);
    impl.encoder = PduEncoder::create(config.format, probe);
    if (!impl.encoder) {
        error = where + "no encoder for format " + format_name(config.format);
        return nullptr;
    }
    if (config.tls) {
        impl.tls = TlsClientContext::create({config.cert, config.key, config.ca}, error);
        if (!impl.tls) {
            error = where + error;
            return nullptr;
        }
    } else {
        if (!is_loopback_host(host)) {
            error = where + "tls = false is only allowed for a loopback address, not " + host;
            return nullptr;
        }
        log_line(config.id, "WARNING: tls = false: delivering over PLAIN TCP to " + config.address +
                                " (loopback lab use only; never in production)");
    }
    if (!config.spool_dir.empty()) {
        uint64_t limit = static_cast<uint64_t>(config.spool_limit_mb * 1024 * 1024);
        uint64_t segment = std::clamp<uint64_t>(limit / 8, 16 * 1024, 4 * 1024 * 1024);
        std::string why;
        if (!impl.spool.open(config.spool_dir + "/" + config.id, config.format, limit, segment,
                             why)) {
            error = where + why;
            return nullptr;
        }
        if (!why.empty()) log_line(config.id, "spool: " + why);
        impl.spool_enabled = true;
        if (!impl.spool.empty()) {
            log_line(config.id, "spool holds " + std::to_string(impl.spool.pdus()) +
                                    " PDUs from an earlier run; they are sent first");
        }
        exporter->counters_.spooled_bytes.store(impl.spool.bytes());
        exporter->counters_.spooled_pdus.store(impl.spool.pdus());
    }

    unsigned n = g_name_counter.fetch_add(1);
    std::string ring_name = "lpx_ring" + std::to_string(n);
    exporter->ring_ =
        rte_ring_create(ring_name.c_str(), config.ring_size, SOCKET_ID_ANY, RING_F_SC_DEQ);
    if (exporter->ring_ == nullptr) {
        error = where + "rte_ring_create(" + std::to_string(config.ring_size) +
                ") failed: " + rte_strerror(rte_errno);
        return nullptr;
    }
    auto make_pool = [&](const char* kind, uint32_t count, uint32_t capacity) -> rte_mempool* {
        std::string name = std::string("lpx_") + kind + std::to_string(n);
        rte_mempool* pool = rte_mempool_create(
            name.c_str(), count, static_cast<unsigned>(kRecordHeader + capacity),
            count >= 1024 ? 256 : 0, 0, nullptr, nullptr, init_record,
            reinterpret_cast<void*>(static_cast<uintptr_t>(capacity)), SOCKET_ID_ANY, 0);
        if (pool == nullptr) {
            error = where + "rte_mempool_create(" + std::to_string(count) + " x " +
                    std::to_string(capacity) + ") failed: " + rte_strerror(rte_errno);
        }
        return pool;
    };
    exporter->small_pool_ = make_pool("s", config.small_records, config.small_capacity);
    if (exporter->small_pool_ == nullptr) return nullptr;
    if (config.large_records > 0) {
        exporter->large_pool_ = make_pool("l", config.large_records, kMaxRecordBytes);
        if (exporter->large_pool_ == nullptr) return nullptr;
    }
    impl.scratch.resize(kMaxRecordBytes + impl.encoder->max_overhead());
    impl.rx.resize(64 * 1024);
    impl.release_small.reserve(kBurst);
    impl.release_large.reserve(kBurst);
    return exporter;
}

Exporter::~Exporter() {
    stop();
    if (ring_ != nullptr) {
        void* obj;
        // Records that raced with stop(): never numbered, counted like a full ring.
        while (rte_ring_sc_dequeue(ring_, &obj) == 0) {
            counters_.lost_ring_full.fetch_add(1, std::memory_order_relaxed);
            put_record(static_cast<Record*>(obj));
        }
        rte_ring_free(ring_);
    }
    rte_mempool_free(small_pool_);
    rte_mempool_free(large_pool_);
}

void Exporter::set_warrants(std::vector<WarrantInfo> warrants) {
    auto table = std::make_shared<const std::vector<WarrantInfo>>(std::move(warrants));
    std::lock_guard<std::mutex> lock(warrants_mutex_);
    warrants_ = std::move(table);
    warrants_generation_.fetch_add(1, std::memory_order_release);
}

Record* Exporter::get_record(uint32_t bytes) {
    Record* record = try_get_record(bytes);
    if (record == nullptr) counters_.lost_no_record.fetch_add(1, std::memory_order_relaxed);
    return record;
}

Record* Exporter::try_get_record(uint32_t bytes) {
    rte_mempool* pool = bytes <= config_.small_capacity ? small_pool_ : large_pool_;
    void* obj = nullptr;
    if (pool == nullptr || bytes > kMaxRecordBytes || rte_mempool_get(pool, &obj) != 0)
        return nullptr;
    auto* record = static_cast<Record*>(obj);
    record->len = 0;
    return record;
}

void Exporter::put_record(Record* record) {
    rte_mempool_put(rte_mempool_from_obj(record), record);
}

bool Exporter::submit(Record* record) {
    if (!stopping_.load(std::memory_order_relaxed) && rte_ring_mp_enqueue(ring_, record) == 0)
        return true;
    counters_.lost_ring_full.fetch_add(1, std::memory_order_relaxed);
    put_record(record);
    return false;
}

bool Exporter::notify_deactivated(uint32_t warrant, int64_t time_us) {
    if (config_.format != Format::etsi102232) return false;
    Record* record = get_record(0);
    if (record == nullptr) return false;
    record->kind = RecordKind::hi1_li_deactivated;
    record->direction = Direction::indeterminate;
    record->warrant = warrant;
    record->cin = 0;  // not a communication: CINs of dialogs start at 1
    record->time_us = time_us;
    record->src = record->dst = IpEndpoint{};
    record->len = 0;
    return submit(record);
}

double Exporter::thread_cpu_seconds() const {
    if (!thread_.joinable()) return 0;
    clockid_t clock;
    // const_cast: native_handle() is not const, it does not modify the thread.
    if (pthread_getcpuclockid(const_cast<std::thread&>(thread_).native_handle(), &clock) != 0)
        return 0;
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string Exporter::last_error() const {
    std::lock_guard<std::mutex> lock(impl_->error_mutex);
    return impl_->last_error;
}

ExporterSnapshot Exporter::snapshot() const {
    ExporterSnapshot s;
    s.queued = ring_ != nullptr ? rte_ring_count(ring_) : 0;
    auto r = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    s.dequeued = r(counters_.dequeued);
    s.encoded_pdus = r(counters_.encoded_pdus);
    s.sent_pdus = r(counters_.sent_pdus);
    s.sent_bytes = r(counters_.sent_bytes);
    s.confirmed_pdus = r(counters_.confirmed_pdus);
    s.resent_pdus = r(counters_.resent_pdus);
    s.buffered_bytes = r(counters_.buffered_bytes);
    s.spooled_bytes = r(counters_.spooled_bytes);
    s.spooled_pdus = r(counters_.spooled_pdus);
    s.lost_ring_full = r(counters_.lost_ring_full);
    s.lost_spool_full = r(counters_.lost_spool_full);
    s.lost_encode = r(counters_.lost_encode);
    s.lost_no_record = r(counters_.lost_no_record);
    s.connects = r(counters_.connects);
    s.reconnects = r(counters_.reconnects);
    s.thread_restarts = r(counters_.thread_restarts);
    s.tls_failures = r(counters_.tls_failures);
    s.keepalives_sent = r(counters_.keepalives_sent);
    s.keepalive_responses = r(counters_.keepalive_responses);
    s.keepalive_timeouts = r(counters_.keepalive_timeouts);
    s.connected = connected_.load(std::memory_order_relaxed);
    return s;
}

void Exporter::start() {
    if (thread_.joinable()) return;
    stopping_.store(false);
    thread_ = std::thread([this] { run(); });
}

void Exporter::stop() {
    if (!thread_.joinable()) return;
    stopping_.store(true);
    thread_.join();
}

// ---------------------------------------------------------------------------------------------
// The exporter thread.

namespace {

// Everything the thread does, over the Impl state, as free-standing steps.
class Worker {
  public:
    Worker(Exporter::Impl& impl, const DestinationConfig& config, ExporterCounters& counters,
           rte_ring* ring, std::atomic<bool>& connected)
        : s_(impl), config_(config), c_(counters), ring_(ring), connected_(connected) {}

    // Dequeues and encodes until the ring is empty or a batch is ready. Returns records taken.
    size_t pump_ring();
    // Writes, reads and checks timers of an established connection. Returns true on progress.
    bool service_connection(Clock::time_point now, bool draining);
    void service_connect(Clock::time_point now);
    bool all_delivered() const {
        return s_.queue.empty() && (!s_.spool_enabled || s_.spool.empty()) &&
               s_.control_off >= s_.control.size();
    }
    void finish_drain();
    // After the loop failed: drops the connection (whatever it was in the middle of), so that
    // sending resumes from the oldest unconfirmed PDU on a new one.
    void reset_after_failure() {
        if (s_.state != Exporter::Impl::State::idle) lose_connection("exporter thread restarted");
    }
    void maybe_sync(Clock::time_point now);
    void publish();
    void refresh_warrants(const std::shared_ptr<const std::vector<WarrantInfo>>& table,
                          uint64_t generation) {
        s_.warrants = table;
        s_.warrants_generation = generation;
    }
    void close_connection(bool graceful);
    int poll_fd(short& events) const;

  private:
    void spool_result(const std::string& error);
    void note(const std::string& text, bool problem = true) {
        log_line(config_.id, text);
        if (problem) {
            std::lock_guard<std::mutex> lock(s_.error_mutex);
            s_.last_error = text;
        }
    }
    void encode(Record* record);
    void release(Record* record);
    void flush_releases();
    Chunk* tail_for(size_t need);
    void lose_connection(const std::string& why);
    bool write_step(Clock::time_point now, bool draining, bool& progressed);
    void count_sent(Chunk& chunk, size_t new_offset);
    void confirm(uint64_t position);
    bool read_step(Clock::time_point now);
    std::string pending_alert(const std::string& write_error);
    bool load_from_spool();
    uint32_t* counter_for(const Record& record);

    Exporter::Impl& s_;
    const DestinationConfig& config_;
    ExporterCounters& c_;
    rte_ring* ring_;
    std::atomic<bool>& connected_;
};

uint32_t* Worker::counter_for(const Record& record) {
    int stream = static_cast<int>(seq_stream_of(record));
    uint64_t key = (static_cast<uint64_t>(record.warrant) << 32) | record.cin;
    if (s_.last_key[stream] == key) return s_.last_counter[stream];
    uint32_t* counter = &s_.seq[stream][key];  // node-based: the address stays valid
    s_.last_key[stream] = key;
    s_.last_counter[stream] = counter;
    return counter;
}

void Worker::release(Record* record) {
    auto& list = record->capacity >= kMaxRecordBytes ? s_.release_large : s_.release_small;
    // Bulk puts need one pool per list; a record of another pool flushes first.
    if (!list.empty() && rte_mempool_from_obj(list.front()) != rte_mempool_from_obj(record))
        flush_releases();
    list.push_back(record);
    if (list.size() == list.capacity()) flush_releases();
}

void Worker::flush_releases() {
    for (auto* list : {&s_.release_small, &s_.release_large}) {
        if (list->empty()) continue;
        rte_mempool_put_bulk(rte_mempool_from_obj(list->front()),
                             reinterpret_cast<void* const*>(list->data()),
                             static_cast<unsigned>(list->size()));
        list->clear();
    }
}

Chunk* Worker::tail_for(size_t need) {
    if (!s_.queue.empty()) {
        Chunk* tail = s_.queue.back().get();
        if (tail->cap - tail->used >= need) return tail;
    }
    std::unique_ptr<Chunk> chunk;
    if (!s_.free_chunks.empty() && s_.free_chunks.back()->cap >= need) {
        chunk = std::move(s_.free_chunks.back());
        s_.free_chunks.pop_back();
    } else {
        chunk = std::make_unique<Chunk>();
        chunk->cap = std::max(kChunkBytes, need);
        chunk->buf.reset(new uint8_t[chunk->cap]);
        chunk->ends.reserve(chunk->cap / 64);
    }
    chunk->reset(s_.end_pos);
    s_.queue.push_back(std::move(chunk));
    return s_.queue.back().get();
}

void Worker::encode(Record* record) {
    const auto* warrants = s_.warrants.get();
    if (warrants == nullptr || record->warrant >= warrants->size() ||
        record->len > record->capacity) {
        c_.lost_encode.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const WarrantInfo& warrant = (*warrants)[record->warrant];
    uint32_t* counter = counter_for(*record);
    size_t need = record->len + s_.encoder->max_overhead();
    bool to_memory = (!s_.spool_enabled || s_.spool.empty()) && s_.buffered + need <= s_.buffer_cap;
    if (to_memory) {
        Chunk* tail = tail_for(need);
        size_t n = s_.encoder->encode(*record, warrant, *counter, tail->buf.get() + tail->used,
                                      tail->cap - tail->used);
        if (n == 0) {
            c_.lost_encode.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        ++*counter;
        tail->used += n;
        tail->ends.push_back(static_cast<uint32_t>(tail->used));
        s_.end_pos += n;
        s_.buffered += n;
        c_.encoded_pdus.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    size_t n = s_.encoder->encode(*record, warrant, *counter, s_.scratch.data(), s_.scratch.size());
    if (n == 0) {
        c_.lost_encode.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    ++*counter;
    c_.encoded_pdus.fetch_add(1, std::memory_order_relaxed);
    if (!s_.spool_enabled) {
        // Memory full and no spool: the newest PDU is dropped, counted.
        c_.lost_spool_full.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    std::string error;
    uint64_t dropped = s_.spool.append(s_.scratch.data(), n, error);
    if (dropped > 0) c_.lost_spool_full.fetch_add(dropped, std::memory_order_relaxed);
    spool_result(error);
}

// A spool that cannot be written (disk full, I/O error) fails on every PDU: the first failure is
// logged, later ones are only counted (the loss lines report them) until a write succeeds.
void Worker::spool_result(const std::string& error) {
    if (error.empty()) {
        if (s_.spool_failing) note("spool: writing again", false);
        s_.spool_failing = false;
        return;
    }
    if (s_.spool_failing) return;
    s_.spool_failing = true;
    note("spool: " + error +
         "; PDUs that cannot be spooled are lost and counted, not logged again until a spool "
         "write succeeds");
}

size_t Worker::pump_ring() {
    size_t total = 0;
    void* objs[kBurst];
    uint64_t unsent_start = s_.end_pos;
    while (true) {
        unsigned n = rte_ring_sc_dequeue_burst(ring_, objs, kBurst, nullptr);
        if (n == 0) break;
        const int64_t now = unix_us();
        for (unsigned i = 0; i < n; ++i) {
            auto* record = static_cast<Record*>(objs[i]);
            observe_latency(c_.latency, now - record->time_us);
            encode(record);
            release(record);
        }
        flush_releases();
        total += n;
        // Write in large batches, but do not starve the connection.
        if (s_.end_pos - unsent_start >= kBatchBytes || total >= 16 * kBurst) break;
    }
    if (total > 0) c_.dequeued.fetch_add(total, std::memory_order_relaxed);
    return total;
}

void Worker::close_connection(bool graceful) {
    if (graceful) {
        s_.conn.close_gracefully();
    } else {
        s_.conn.close();
    }
    s_.state = Exporter::Impl::State::idle;
    connected_.store(false, std::memory_order_relaxed);
}

void Worker::lose_connection(const std::string& why) {
    note("connection to " + config_.address + " lost: " + why +
         "; resending from the oldest unconfirmed PDU");
    if (s_.conn.failed_in_tls()) c_.tls_failures.fetch_add(1, std::memory_order_relaxed);
    close_connection(false);
    c_.reconnects.fetch_add(1, std::memory_order_relaxed);
    // Everything not confirmed goes out again, from the front of the memory buffer.
    s_.resend_until = std::max(s_.resend_until, s_.send_pos);
    s_.send_pos = s_.queue.empty() ? s_.end_pos : s_.queue.front()->base;
    for (auto& chunk : s_.queue) chunk->counted = 0;
    s_.checkpoints.clear();
    s_.last_checkpoint_pos = s_.send_pos;
    s_.control.clear();
    s_.control_off = 0;
    s_.blocked = false;
    s_.blocked_len = 0;
    s_.mid_pdu = false;
    s_.rx_used = 0;
    s_.next_attempt = Clock::now() + s_.backoff;
    s_.backoff = std::min(s_.backoff * 2, seconds(config_.backoff_max_s));
}

void Worker::service_connect(Clock::time_point now) {
    using State = Exporter::Impl::State;
    std::string error;
    if (s_.state == State::idle) {
        if (now < s_.next_attempt) return;
        if (!s_.conn.start(s_.host, s_.port, s_.tls.get(), s_.server_name, error)) {
            note(error);
            c_.reconnects.fetch_add(1, std::memory_order_relaxed);
            s_.next_attempt = now + s_.backoff;
            s_.backoff = std::min(s_.backoff * 2, seconds(config_.backoff_max_s));
            return;
        }
        s_.state = State::connecting;
        s_.connect_deadline = now + seconds(config_.connect_timeout_s);
    }
    bool tls_failure = false;
    auto progress = s_.conn.progress(error, tls_failure);
    if (progress == Connection::Progress::in_progress && now > s_.connect_deadline) {
        progress = Connection::Progress::failed;
        error =
            "connect/handshake timed out after " + std::to_string(config_.connect_timeout_s) + " s";
    }
    if (progress == Connection::Progress::in_progress) return;
    if (progress == Connection::Progress::failed) {
        note("cannot connect to " + config_.address + " (server name " + s_.server_name +
             "): " + error);
        if (tls_failure) c_.tls_failures.fetch_add(1, std::memory_order_relaxed);
        c_.reconnects.fetch_add(1, std::memory_order_relaxed);
        s_.conn.close();
        s_.state = State::idle;
        s_.next_attempt = now + s_.backoff;
        s_.backoff = std::min(s_.backoff * 2, seconds(config_.backoff_max_s));
        return;
    }
    s_.state = State::connected;
    connected_.store(true, std::memory_order_relaxed);
    c_.connects.fetch_add(1, std::memory_order_relaxed);
    note("connected to " + config_.address + " (" + s_.conn.describe() + ")", false);
    s_.last_write = now;
    s_.last_checkpoint_time = now;
    s_.last_checkpoint_pos = s_.send_pos;
    s_.awaiting_first_answer = true;
}

void Worker::count_sent(Chunk& chunk, size_t new_offset) {
    uint64_t sent = 0, resent = 0;
    while (chunk.counted < chunk.ends.size() && chunk.ends[chunk.counted] <= new_offset) {
        if (chunk.base + chunk.ends[chunk.counted] <= s_.resend_until) ++resent;
        ++chunk.counted;
        ++sent;
    }
    if (sent) c_.sent_pdus.fetch_add(sent, std::memory_order_relaxed);
    if (resent) c_.resent_pdus.fetch_add(resent, std::memory_order_relaxed);
}

void Worker::confirm(uint64_t position) {
    uint64_t pdus = 0;
    while (!s_.queue.empty()) {
        Chunk& front = *s_.queue.front();
        if (front.base + front.used > position) break;
        pdus += front.ends.size();
        s_.buffered -= front.used;
        std::unique_ptr<Chunk> done = std::move(s_.queue.front());
        s_.queue.pop_front();
        if (s_.free_chunks.size() < 4 && done->cap == kChunkBytes)
            s_.free_chunks.push_back(std::move(done));
    }
    if (pdus) c_.confirmed_pdus.fetch_add(pdus, std::memory_order_relaxed);
    s_.backoff = seconds(config_.backoff_min_s);  // the receiver works: reset the backoff
}

bool Worker::load_from_spool() {
    if (!s_.spool_enabled || s_.spool.empty()) return false;
    std::vector<uint8_t> data;
    std::vector<uint32_t> ends;
    std::string error;
    uint64_t before = s_.spool.pdus();
    s_.spool.take_oldest(data, ends, error);
    uint64_t missing = before - s_.spool.pdus() - ends.size();
    if (!error.empty()) note("spool: " + error);
    if (missing > 0) c_.lost_spool_full.fetch_add(missing, std::memory_order_relaxed);
    if (ends.empty()) return true;
    auto chunk = std::make_unique<Chunk>();
    chunk->cap = data.size();
    chunk->buf.reset(new uint8_t[chunk->cap]);
    std::memcpy(chunk->buf.get(), data.data(), data.size());
    chunk->reset(s_.end_pos);
    chunk->used = data.size();
    chunk->ends = std::move(ends);
    s_.end_pos += chunk->used;
    s_.buffered += chunk->used;
    s_.queue.push_back(std::move(chunk));
    return true;
}

bool Worker::write_step(Clock::time_point now, bool draining, bool& progressed) {
    std::string error;
    // 1. A keep-alive being written goes first (unless a data write must be retried).
    if (!(s_.blocked && !s_.blocked_on_control) && s_.control_off < s_.control.size()) {
        size_t len = s_.control.size() - s_.control_off;
        long n = s_.conn.write(s_.control.data() + s_.control_off, len, error);
        if (n < 0) {
            lose_connection(pending_alert(error));
            return false;
        }
        if (n == 0) {
            if (!s_.blocked) s_.blocked_since = now;
            s_.blocked = true;
            s_.blocked_on_control = true;
            return false;
        }
        s_.blocked = false;
        s_.control_off += static_cast<size_t>(n);
        c_.sent_bytes.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
        s_.last_write = now;
        progressed = true;
        return true;
    }
    // 2. A checkpoint keep-alive: after checkpoint_bytes, or when the buffer is idle for
    //    checkpoint_ms, under memory pressure or while draining; plus the silence keep-alive.
    if (!s_.blocked && !s_.mid_pdu && s_.checkpoints.size() < kMaxCheckpoints) {
        bool idle = s_.send_pos == s_.end_pos;
        uint64_t unconfirmed = s_.send_pos - s_.last_checkpoint_pos;
        bool pressure = (s_.spool_enabled && !s_.spool.empty()) || s_.buffered * 2 >= s_.buffer_cap;
        bool want =
            (s_.awaiting_first_answer && s_.checkpoints.empty()) ||
            unconfirmed >= config_.checkpoint_bytes ||
            (unconfirmed > 0 && idle &&
             (draining || pressure ||
              now - s_.last_checkpoint_time >= std::chrono::milliseconds(config_.checkpoint_ms))) ||
            (s_.checkpoints.empty() && now - s_.last_write >= seconds(config_.keepalive_s));
        if (want) {
            s_.control.resize(512);
            size_t n = s_.encoder->encode_keepalive(s_.keepalive_seq++, unix_us(),
                                                    s_.control.data(), s_.control.size());
            s_.control.resize(n);
            s_.control_off = 0;
            if (n == 0) {
                note("cannot encode a keep-alive");
                return false;
            }
            s_.checkpoints.push_back({s_.send_pos, now});
            s_.last_checkpoint_pos = s_.send_pos;
            s_.last_checkpoint_time = now;
            c_.keepalives_sent.fetch_add(1, std::memory_order_relaxed);
            return true;
        }
    }
    // 3. Buffered PDUs.
    if (s_.awaiting_first_answer) return false;
    if (s_.send_pos == s_.end_pos) {
        // Pull the next spool segment once memory has room (always when memory is empty).
        if (s_.spool_enabled && !s_.spool.empty() &&
            (s_.queue.empty() || s_.buffered + kChunkBytes <= s_.buffer_cap)) {
            return load_from_spool();
        }
        return false;
    }
    Chunk* chunk = nullptr;
    for (auto& c : s_.queue) {
        if (s_.send_pos < c->base + c->used) {
            chunk = c.get();
            break;
        }
    }
    if (chunk == nullptr) return false;  // cannot happen: send_pos < end_pos
    size_t offset = static_cast<size_t>(s_.send_pos - chunk->base);
    size_t len = chunk->used - offset;
    if (s_.blocked && !s_.blocked_on_control) len = s_.blocked_len;  // same arguments on retry
    long n = s_.conn.write(chunk->buf.get() + offset, len, error);
    if (n < 0) {
        lose_connection(pending_alert(error));
        return false;
    }
    if (n == 0) {
        if (!s_.blocked) s_.blocked_since = now;
        s_.blocked = true;
        s_.blocked_on_control = false;
        s_.blocked_len = len;
        return false;
    }
    s_.blocked = false;
    s_.blocked_len = 0;
    s_.mid_pdu = static_cast<size_t>(n) < len;  // every write ends on a PDU boundary
    s_.send_pos += static_cast<uint64_t>(n);
    count_sent(*chunk, offset + static_cast<size_t>(n));
    c_.sent_bytes.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    s_.last_write = now;
    progressed = true;
    return true;
}

// A write that failed because the peer closed may have an unread TLS alert that says why
// (e.g. "alert unknown ca" in TLS 1.3): prefer it to "Broken pipe".
std::string Worker::pending_alert(const std::string& write_error) {
    uint8_t scratch[4096];
    for (int i = 0; i < 16; ++i) {
        std::string error;
        long n = s_.conn.read(scratch, sizeof scratch, error);
        if (n > 0) continue;
        if (n < 0 && s_.conn.failed_in_tls()) return error;
        break;
    }
    return write_error;
}

bool Worker::read_step(Clock::time_point now) {
    (void)now;
    bool any = false;
    while (true) {
        if (s_.rx_used == s_.rx.size()) {
            lose_connection("receiver sent a PDU larger than " + std::to_string(s_.rx.size()) +
                            " octets");
            return any;
        }
        std::string error;
        long n = s_.conn.read(s_.rx.data() + s_.rx_used, s_.rx.size() - s_.rx_used, error);
        if (n < 0) {
            lose_connection(error);
            return any;
        }
        if (n == 0) return any;
        any = true;
        s_.rx_used += static_cast<size_t>(n);
        size_t off = 0;
        while (off < s_.rx_used) {
            long frame = frame_length(config_.format, s_.rx.data() + off, s_.rx_used - off);
            if (frame < 0) {
                lose_connection("malformed PDU from the receiver");
                return any;
            }
            if (frame == 0) break;
            if (is_keepalive_response(config_.format, s_.rx.data() + off,
                                      static_cast<size_t>(frame))) {
                c_.keepalive_responses.fetch_add(1, std::memory_order_relaxed);
                s_.awaiting_first_answer = false;
                if (!s_.checkpoints.empty()) {
                    uint64_t position = s_.checkpoints.front().position;
                    s_.checkpoints.pop_front();
                    confirm(position);
                }
            }
            off += static_cast<size_t>(frame);
        }
        std::memmove(s_.rx.data(), s_.rx.data() + off, s_.rx_used - off);
        s_.rx_used -= off;
    }
}

bool Worker::service_connection(Clock::time_point now, bool draining) {
    bool progressed = false;
    // Write until the socket is full or nothing is left (bounded so the ring is not starved).
    for (int i = 0; i < 64 && s_.state == Exporter::Impl::State::connected; ++i) {
        if (!write_step(now, draining, progressed)) break;
    }
    if (s_.state != Exporter::Impl::State::connected) return progressed;
    if (read_step(now)) progressed = true;
    if (s_.state != Exporter::Impl::State::connected) return progressed;
    if (!s_.checkpoints.empty() &&
        now - s_.checkpoints.front().sent > seconds(config_.keepalive_s)) {
        c_.keepalive_timeouts.fetch_add(1, std::memory_order_relaxed);
        lose_connection("no keep-alive answer within " + std::to_string(config_.keepalive_s) +
                        " s");
    } else if (s_.blocked && now - s_.blocked_since > seconds(config_.keepalive_s)) {
        lose_connection("no write progress for " + std::to_string(config_.keepalive_s) + " s");
    }
    return progressed;
}

int Worker::poll_fd(short& events) const {
    if (s_.state == Exporter::Impl::State::idle) return -1;
    events = POLLIN;
    if (s_.state == Exporter::Impl::State::connecting) events |= POLLOUT;
    if (s_.blocked && !s_.conn.write_wants_read()) events |= POLLOUT;
    return s_.conn.fd();
}

void Worker::maybe_sync(Clock::time_point now) {
    if (s_.spool_enabled && now - s_.last_sync >= kSyncInterval) {
        s_.spool.sync();
        s_.last_sync = now;
    }
}

void Worker::publish() {
    c_.buffered_bytes.store(s_.buffered, std::memory_order_relaxed);
    if (s_.spool_enabled) {
        c_.spooled_bytes.store(s_.spool.bytes(), std::memory_order_relaxed);
        c_.spooled_pdus.store(s_.spool.pdus(), std::memory_order_relaxed);
    }
}

void Worker::finish_drain() {
    close_connection(true);
    // Everything still in memory (unconfirmed included: the receiver may not have it) is
    // older than the spool's contents: it goes in front of them.
    std::vector<uint8_t> data;
    std::vector<uint32_t> ends;
    for (auto& chunk : s_.queue) {
        size_t base = data.size();
        data.insert(data.end(), chunk->buf.get(), chunk->buf.get() + chunk->used);
        for (uint32_t e : chunk->ends) ends.push_back(static_cast<uint32_t>(base + e));
    }
    if (!ends.empty()) {
        if (s_.spool_enabled) {
            std::string error;
            uint64_t dropped = s_.spool.prepend(data.data(), ends.data(), ends.size(), error);
            spool_result(error);
            if (dropped) c_.lost_spool_full.fetch_add(dropped, std::memory_order_relaxed);
            std::string line = "drain: " + std::to_string(ends.size()) +
                               " PDUs not confirmed in time, kept in the spool";
            if (dropped > 0)
                line += "; " + std::to_string(dropped) +
                        " PDUs lost (spool limit, or the spool could not be written)";
            note(line);
        } else {
            // Without a spool only what was never written counts as lost.
            uint64_t unsent = 0;
            for (auto& chunk : s_.queue) {
                for (uint32_t e : chunk->ends)
                    if (chunk->base + e > s_.send_pos) ++unsent;
            }
            c_.lost_spool_full.fetch_add(unsent, std::memory_order_relaxed);
            note("drain: no spool configured, " + std::to_string(unsent) +
                 " PDUs never sent are lost");
        }
    }
    s_.queue.clear();
    s_.buffered = 0;
    s_.send_pos = s_.end_pos;
    if (s_.spool_enabled) {
        s_.spool.sync();
        s_.spool.close();
    }
    publish();
}

}  // namespace

namespace {

// Makes loss loud from the exporter thread: the workers that lose records (full ring, empty
// pools) may not make syscalls, so they only count; this compares the counters once per loop
// (a few relaxed loads) and logs the first loss at once, then at most once per interval.
class LossWatch {
  public:
    LossWatch(const DestinationConfig& config, const ExporterCounters& counters)
        : id_(config.id), interval_(seconds(config.loss_log_interval_s)), c_(counters) {}

    void poll(Clock::time_point now) {
        const Counts now_counts = read();
        if (now_counts.total() == reported_.total()) return;
        if (logged_ && now - last_log_ < interval_) return;
        log(now_counts, logged_ ? "still losing records" : "losing records");
        logged_ = true;
        last_log_ = now;
    }
    // At stop: what was lost since the last line, and the total.
    void finish() {
        const Counts now_counts = read();
        if (now_counts.total() != reported_.total()) log(now_counts, "at stop");
        if (now_counts.total() != 0)
            log_line(id_, "stopped: " + std::to_string(now_counts.total()) +
                              " records lost in total (" + causes(now_counts) + ")");
    }

  private:
    struct Counts {
        uint64_t ring = 0, no_record = 0, spool = 0, encode = 0;
        uint64_t total() const { return ring + no_record + spool + encode; }
    };
    Counts read() const {
        auto r = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
        return {r(c_.lost_ring_full), r(c_.lost_no_record), r(c_.lost_spool_full),
                r(c_.lost_encode)};
    }
    static std::string causes(const Counts& n) {
        return "ring full " + std::to_string(n.ring) + ", no record buffer " +
               std::to_string(n.no_record) + ", buffer/spool full or never sent " +
               std::to_string(n.spool) + ", encoder refused " + std::to_string(n.encode);
    }
    void log(const Counts& n, const char* what) {
        const Counts d{n.ring - reported_.ring, n.no_record - reported_.no_record,
                       n.spool - reported_.spool, n.encode - reported_.encode};
        log_line(id_, std::string(what) + ": " + std::to_string(d.total()) + " more lost (" +
                          causes(d) + "), " + std::to_string(n.total()) + " in total");
        reported_ = n;
    }

    std::string id_;
    Clock::duration interval_;
    const ExporterCounters& c_;
    Counts reported_;
    bool logged_ = false;
    Clock::time_point last_log_{};
};

}  // namespace

// The exporter thread. Its state (ring, memory buffer, spool, connection, sequence numbers) is
// in impl_, not on this stack, so an exception that escapes the loop (a bug, an allocation
// failure) does not end delivery: the loop is restarted on the same state after the connection
// is dropped, counted in thread_restarts and logged. A PDU being written again is the duplicate
// the contract allows; a record being encoded at that moment may be lost (counted nowhere: the
// log line says so). A crash (signal) still ends the process.
void Exporter::run() {
    // OpenSSL writes with write(2): a peer that went away must give EPIPE, not kill the
    // process. Blocking SIGPIPE in this thread only leaves the process's handling alone.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    Impl& s = *impl_;
    LossWatch loss(config_, counters_);
    s.backoff = seconds(config_.backoff_min_s);
    s.next_attempt = Clock::now();
    bool draining = false;
    Clock::time_point drain_deadline{};
    for (;;) {
        std::string why;
        try {
            serve(&loss, draining, drain_deadline);
            return;
        } catch (const std::exception& e) {
            why = e.what();
        } catch (...) {
            why = "unknown exception";
        }
        counters_.thread_restarts.fetch_add(1, std::memory_order_relaxed);
        log_line(config_.id, "exporter thread failed (" + why +
                                 "); restarting it on the same ring, memory buffer and spool "
                                 "(a record being encoded at that moment may be lost)");
        Worker(s, config_, counters_, ring_, connected_).reset_after_failure();
        // A failure that repeats at once must not spin a core.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

void Exporter::serve(void* loss_watch, bool& draining, Clock::time_point& drain_deadline) {
    Impl& s = *impl_;
    auto& loss = *static_cast<LossWatch*>(loss_watch);
    Worker worker(s, config_, counters_, ring_, connected_);
    while (true) {
        Clock::time_point now = Clock::now();
        if (fail_for_test_.load(std::memory_order_relaxed) && fail_for_test_.exchange(false))
            throw std::runtime_error("failure injected by a test");
        uint64_t generation = warrants_generation_.load(std::memory_order_acquire);
        if (generation != s.warrants_generation) {
            std::lock_guard<std::mutex> lock(warrants_mutex_);
            worker.refresh_warrants(warrants_, generation);
        }
        if (!draining && stopping_.load(std::memory_order_relaxed)) {
            draining = true;
            drain_deadline = now + seconds(config_.drain_timeout_s);
        }
        size_t taken = worker.pump_ring();
        bool progressed = taken > 0;
        if (s.state == Impl::State::connected) {
            progressed |= worker.service_connection(now, draining);
        } else {
            worker.service_connect(now);
        }
        worker.maybe_sync(now);
        worker.publish();
        loss.poll(now);
        if (draining) {
            bool ring_empty = rte_ring_count(ring_) == 0;
            if ((ring_empty && worker.all_delivered()) || now >= drain_deadline) {
                while (worker.pump_ring() > 0) {
                }
                worker.finish_drain();
                loss.finish();
                break;
            }
        }
        if (!progressed && rte_ring_count(ring_) == 0) {
            short events = 0;
            int fd = worker.poll_fd(events);
            if (fd >= 0) {
                pollfd p{fd, events, 0};
                ::poll(&p, 1, 1);
            } else {
                ::poll(nullptr, 0, 1);
            }
        }
    }
}

}  // namespace liprobe::exporter
