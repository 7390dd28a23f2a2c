#include "liprobe/net/tcp_reassembly.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace liprobe::net {

struct TcpReassembler::Direction {
    bool used = false;
    bool synced = false;      // base_seq is known (SYN seen, or first data segment)
    bool desync = false;      // a message was discarded: looking for the next start line
    bool line_start = false;  // desync: buffer[consumed] follows a LF
    FiveTuple tuple{};
    uint64_t hash = 0;
    int64_t last_seen_us = 0;
    uint32_t base_seq = 0;      // sequence number of buffer[0]
    uint32_t filled = 0;        // in-order octets at the buffer start
    uint32_t consumed = 0;      // delivered or discarded octets at the front (compacted on release)
    uint64_t skip = 0;          // octets of a too-large message still to discard
    uint8_t* buffer = nullptr;  // from the arena, nullptr while nothing is held
    uint32_t capacity = 0;      // its size (kTcpBufferBlock << size_class)
    uint8_t size_class = 0;
    uint32_t range_count = 0;
    Range ranges[kMaxTcpOutOfOrder] = {};  // held out-of-order data, sorted, beyond filled
};

namespace {

uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h * 0xFF51AFD7ED558CCDull;
}

uint64_t hash_tuple(const FiveTuple& t) {
    uint64_t words[4];
    std::memcpy(words, t.src.bytes, 16);
    std::memcpy(words + 2, t.dst.bytes, 16);
    uint64_t h = mix(0, (uint64_t{t.src_port} << 24) | (uint64_t{t.dst_port} << 8) | t.ip_version);
    for (uint64_t w : words) h = mix(h, w);
    return h ^ (h >> 29);
}

bool line_is_start_line(const uint8_t* line, size_t len) {
    static constexpr char kVersion[] = "SIP/2.0";
    constexpr size_t kVersionLen = sizeof(kVersion) - 1;
    if (len > 0 && line[len - 1] == '\r') --len;
    if (len > kVersionLen && std::memcmp(line, kVersion, kVersionLen) == 0 &&
        line[kVersionLen] == ' ') {
        return true;
    }
    return len > kVersionLen + 2 && line[len - kVersionLen - 1] == ' ' &&
           std::memcmp(line + len - kVersionLen, kVersion, kVersionLen) == 0 && line[0] != ' ';
}

}  // namespace

size_t find_sip_start_line(const uint8_t* data, size_t len, bool at_line_start) {
    size_t begin = 0;
    if (!at_line_start) {
        const void* lf = std::memchr(data, '\n', len);
        if (lf == nullptr) return len;
        begin = static_cast<size_t>(static_cast<const uint8_t*>(lf) - data) + 1;
    }
    while (begin < len) {
        const void* lf = std::memchr(data + begin, '\n', len - begin);
        if (lf == nullptr) return len;  // the line is not complete yet
        const size_t end = static_cast<size_t>(static_cast<const uint8_t*>(lf) - data);
        if (line_is_start_line(data + begin, end - begin)) return begin;
        begin = end + 1;
    }
    return len;
}

const char* tcp_result_name(TcpResult result) {
    switch (result) {
        case TcpResult::messages:
            return "messages";
        case TcpResult::held:
            return "held";
        case TcpResult::no_payload:
            return "no_payload";
        case TcpResult::retransmission:
            return "retransmission";
        case TcpResult::reset:
            return "reset";
        case TcpResult::out_of_window:
            return "out_of_window";
        case TcpResult::out_of_order_limit:
            return "out_of_order_limit";
        case TcpResult::message_too_large:
            return "message_too_large";
        case TcpResult::framing_error:
            return "framing_error";
        case TcpResult::resynchronising:
            return "resynchronising";
        case TcpResult::buffer_exhausted:
            return "buffer_exhausted";
        case TcpResult::untracked:
            return "untracked";
    }
    return "unknown";
}

TcpReassembler::TcpReassembler(const TcpReassemblyConfig& config, StreamFramer framer)
    : config_(config), framer_(framer) {
    if (framer_ == nullptr || config_.max_connections == 0 || config_.max_message_bytes == 0 ||
        config_.max_message_bytes > 1024 * 1024 || config_.max_out_of_order > kMaxTcpOutOfOrder ||
        config_.idle_timeout_us <= 0) {
        throw std::invalid_argument(
            "tcp reassembly: needs a framer, max_connections > 0, max_message_bytes "
            "1..1048576, max_out_of_order <= 16 and a positive idle timeout");
    }
    ways_ = std::min<uint32_t>(8, config_.max_connections);
    buckets_ = (config_.max_connections + ways_ - 1) / ways_;
    window_ = 2 * config_.max_message_bytes;
    const size_t slots = size_t{buckets_} * ways_;
    directions_ = std::make_unique<Direction[]>(slots);
    classes_ = 1;
    while ((size_t{kTcpBufferBlock} << (classes_ - 1)) < window_) ++classes_;
    const size_t largest = size_t{kTcpBufferBlock} << (classes_ - 1);
    arena_size_ = config_.buffer_bytes != 0 ? config_.buffer_bytes
                                            : std::min(slots * largest, slots * 4096 + 4 * largest);
    // new[] without () leaves the octets uninitialised: the pages stay untouched until a
    // buffer is carved and written, so an idle default costs no resident memory.
    arena_.reset(new uint8_t[arena_size_]);
}

TcpReassembler::~TcpReassembler() = default;

uint8_t* TcpReassembler::buffer_of(const Direction& d) const {
    return d.buffer;
}

uint8_t* TcpReassembler::take_buffer(uint32_t size_class) {
    if (uint8_t* b = free_[size_class]) {
        std::memcpy(&free_[size_class], b, sizeof(uint8_t*));
        return b;
    }
    const size_t size = size_t{kTcpBufferBlock} << size_class;
    if (arena_size_ - arena_used_ < size) return nullptr;
    uint8_t* b = arena_.get() + arena_used_;
    arena_used_ += size;
    return b;
}

void TcpReassembler::give_back(Direction& d) {
    if (d.buffer == nullptr) return;
    std::memcpy(d.buffer, &free_[d.size_class], sizeof(uint8_t*));
    free_[d.size_class] = d.buffer;
    d.buffer = nullptr;
    d.capacity = 0;
}

// Makes d's buffer hold at least end octets (end <= window_), keeping what it holds.
bool TcpReassembler::reserve(Direction& d, uint32_t end) {
    if (end <= d.capacity) return true;
    uint32_t c = 0;
    while ((kTcpBufferBlock << c) < end) ++c;
    uint8_t* b = take_buffer(c);
    if (b == nullptr) return false;
    if (d.buffer != nullptr) {
        const uint32_t held = d.range_count != 0 ? d.ranges[d.range_count - 1].end : d.filled;
        std::memcpy(b, d.buffer, std::max(held, d.filled));
        give_back(d);
        ++stats_.buffer_grows;
    }
    d.buffer = b;
    d.capacity = kTcpBufferBlock << c;
    d.size_class = static_cast<uint8_t>(c);
    return true;
}

void TcpReassembler::free_direction(Direction& d) {
    give_back(d);
    d.used = false;
    --in_use_;
}

TcpReassembler::Direction* TcpReassembler::lookup(const FiveTuple& tuple, uint64_t hash,
                                                  int64_t now_us, bool create) {
    Direction* bucket = directions_.get() + (hash % buckets_) * ways_;
    Direction* free_way = nullptr;
    for (uint32_t i = 0; i < ways_; ++i) {
        Direction& d = bucket[i];
        if (d.used && now_us - d.last_seen_us > config_.idle_timeout_us) {
            ++stats_.directions_timed_out;
            free_direction(d);
        }
        if (!d.used) {
            if (free_way == nullptr) free_way = &d;
            continue;
        }
        if (d.hash == hash && d.tuple == tuple) return &d;
    }
    if (!create) return nullptr;
    if (free_way == nullptr) {
        free_way = bucket;
        for (uint32_t i = 1; i < ways_; ++i) {
            if (bucket[i].last_seen_us < free_way->last_seen_us) free_way = &bucket[i];
        }
        ++stats_.directions_evicted;
        free_direction(*free_way);
    }
    *free_way = Direction{};
    free_way->used = true;
    free_way->tuple = tuple;
    free_way->hash = hash;
    ++in_use_;
    ++stats_.directions_opened;
    return free_way;
}

void TcpReassembler::release() {
    if (current_ != nullptr) {
        Direction& d = *current_;
        if (close_current_) {
            ++stats_.directions_closed;
            free_direction(d);
        } else if (d.consumed != 0) {
            uint8_t* buf = buffer_of(d);
            std::memmove(buf, buf + d.consumed, d.filled - d.consumed);
            for (uint32_t i = 0; i < d.range_count; ++i) {
                d.ranges[i].begin -= d.consumed;
                d.ranges[i].end -= d.consumed;
            }
            d.base_seq += d.consumed;
            d.filled -= d.consumed;
            d.consumed = 0;
        }
        // Nothing left to hold: the buffer serves other directions meanwhile.
        if (!close_current_ && d.filled == 0 && d.range_count == 0) give_back(d);
    }
    current_ = nullptr;
    close_current_ = false;
    message_count_ = next_message_ = 0;
}

bool TcpReassembler::next_message(TcpStreamMessage& out) {
    if (next_message_ == message_count_) return false;
    const MessageRef& m = messages_[next_message_++];
    out.data = buffer_of(*current_) + m.offset;
    out.len = m.len;
    return true;
}

TcpResult TcpReassembler::store(Direction& d, const TcpSegment& segment, const uint8_t* payload) {
    uint32_t seq = segment.seq;
    if (segment.flags & kTcpSyn) ++seq;  // the SYN occupies one sequence number
    if (!d.synced) {
        d.synced = true;
        d.base_seq = seq;
    }
    // Positions relative to the buffer start; a segment before it is a retransmission.
    int64_t begin = static_cast<int32_t>(seq - d.base_seq);
    int64_t end = begin + segment.payload_len;
    if (end <= d.filled) return TcpResult::retransmission;
    for (uint32_t i = 0; i < d.range_count; ++i) {
        if (begin >= d.ranges[i].begin && end <= d.ranges[i].end) return TcpResult::retransmission;
    }
    if (begin < d.filled) {
        payload += d.filled - begin;
        begin = d.filled;
    }
    if (begin >= window_) return TcpResult::out_of_window;
    if (end > window_) {
        stats_.bytes_discarded += static_cast<uint64_t>(end - window_);
        end = window_;
    }
    const uint32_t b = static_cast<uint32_t>(begin), e = static_cast<uint32_t>(end);
    if (!reserve(d, e)) {
        ++stats_.buffer_exhausted;
        stats_.bytes_discarded += e - b;
        return TcpResult::buffer_exhausted;
    }
    uint8_t* buf = buffer_of(d);
    if (b == d.filled) {
        std::memcpy(buf + b, payload, e - b);
        d.filled = e;
    } else {
        // Merge [b, e) into the sorted, disjoint held ranges.
        Range merged{b, e};
        Range kept[kMaxTcpOutOfOrder];
        uint32_t kept_count = 0;
        uint32_t insert_at = 0;
        for (uint32_t i = 0; i < d.range_count; ++i) {
            const Range& r = d.ranges[i];
            if (r.end < merged.begin) {
                kept[kept_count++] = r;
                insert_at = kept_count;
            } else if (r.begin > merged.end) {
                kept[kept_count++] = r;
            } else {
                merged.begin = std::min(merged.begin, r.begin);
                merged.end = std::max(merged.end, r.end);
            }
        }
        if (kept_count + 1 > config_.max_out_of_order) return TcpResult::out_of_order_limit;
        std::memcpy(buf + b, payload, e - b);
        d.range_count = 0;
        for (uint32_t i = 0; i <= kept_count; ++i) {
            if (i == insert_at) d.ranges[d.range_count++] = merged;
            if (i < kept_count) d.ranges[d.range_count++] = kept[i];
        }
    }
    // Held ranges that the in-order data now reaches join it.
    uint32_t joined = 0;
    while (joined < d.range_count && d.ranges[joined].begin <= d.filled) {
        d.filled = std::max(d.filled, d.ranges[joined].end);
        ++joined;
    }
    if (joined != 0) {
        std::memmove(d.ranges, d.ranges + joined, (d.range_count - joined) * sizeof(Range));
        d.range_count -= joined;
    }
    return TcpResult::held;
}

void TcpReassembler::discard_front(Direction& d, uint32_t& pos, uint32_t count) {
    stats_.bytes_discarded += count;
    pos += count;
    d.consumed = pos;
}

// Cuts the in-order octets into messages. Returns messages, held, or the named reason why
// octets were discarded without any message.
TcpResult TcpReassembler::frame(Direction& d) {
    const uint8_t* buf = buffer_of(d);
    uint32_t pos = d.consumed;
    TcpResult problem = TcpResult::held;
    while (message_count_ < kMaxMessagesPerSegment && pos < d.filled) {
        if (d.skip != 0) {
            const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(d.skip, d.filled - pos));
            discard_front(d, pos, n);
            d.skip -= n;
            if (problem == TcpResult::held) problem = TcpResult::resynchronising;
            continue;
        }
        if (d.desync) {
            const size_t avail = d.filled - pos;
            const size_t at = find_sip_start_line(buf + pos, avail, d.line_start);
            if (at == avail) {
                // Keep an unfinished last line: it may become a start line.
                uint32_t drop = 0;
                for (size_t i = avail; i > 0; --i) {
                    if (buf[pos + i - 1] == '\n') {
                        drop = static_cast<uint32_t>(i);
                        d.line_start = true;
                        break;
                    }
                }
                // A line longer than a message can never be a start line worth keeping.
                if (avail - drop >= config_.max_message_bytes) {
                    drop = static_cast<uint32_t>(avail);
                    d.line_start = false;
                }
                discard_front(d, pos, drop);
                if (problem == TcpResult::held) problem = TcpResult::resynchronising;
                break;
            }
            discard_front(d, pos, static_cast<uint32_t>(at));
            d.desync = false;
        }
        const StreamFrame f = framer_(buf + pos, d.filled - pos, config_.max_message_bytes);
        if (f.status == StreamFrameStatus::complete) {
            messages_[message_count_++] =
                MessageRef{static_cast<uint32_t>(pos + f.skipped), static_cast<uint32_t>(f.length)};
            ++stats_.messages;
            pos += static_cast<uint32_t>(f.skipped + f.length);
            d.consumed = pos;
            continue;
        }
        const bool full = d.filled - pos >= window_;
        if (f.status == StreamFrameStatus::need_more && !full) break;
        if (f.too_large && f.length != 0) {
            // Skip exactly the too-large message (the loop above discards it as it arrives).
            ++stats_.messages_too_large;
            problem = TcpResult::message_too_large;
            d.skip = f.skipped + f.length;
            continue;
        }
        // Discard the rejected message's first octet and resynchronise on a later start line.
        if (f.too_large || full) {
            ++stats_.messages_too_large;
            problem = TcpResult::message_too_large;
        } else {
            ++stats_.framing_errors;
            problem = TcpResult::framing_error;
        }
        discard_front(d, pos, static_cast<uint32_t>(f.skipped + 1));
        d.desync = true;
        d.line_start = false;
    }
    d.consumed = pos;
    return message_count_ != 0 ? TcpResult::messages : problem;
}

TcpResult TcpReassembler::add(const FiveTuple& tuple, const TcpSegment& segment,
                              const uint8_t* payload, int64_t now_us, bool may_create) {
    release();
    const uint64_t hash = hash_tuple(tuple);
    const bool syn = (segment.flags & kTcpSyn) != 0;
    const bool rst = (segment.flags & kTcpRst) != 0;
    const bool fin = (segment.flags & kTcpFin) != 0;
    Direction* d =
        lookup(tuple, hash, now_us, may_create && !rst && (syn || segment.payload_len != 0));
    if (d == nullptr) return TcpResult::untracked;
    if (rst) {
        ++stats_.directions_closed;
        free_direction(*d);
        return TcpResult::reset;
    }
    d->last_seen_us = now_us;
    current_ = d;
    if (syn && d->synced && segment.seq + 1 != d->base_seq) {
        // A new connection on the same tuple: start over.
        give_back(*d);
        *d = Direction{.used = true, .tuple = tuple, .hash = hash, .last_seen_us = now_us};
    }
    TcpResult stored = TcpResult::no_payload;
    if (segment.payload_len != 0) {
        stored = store(*d, segment, payload);
    } else if (!d->synced) {
        d->synced = syn;
        d->base_seq = segment.seq + 1;
    }
    close_current_ = fin;
    const TcpResult framed = frame(*d);
    if (framed == TcpResult::messages) return framed;
    if (stored != TcpResult::held) return stored;
    return framed;
}

void TcpReassembler::expire(int64_t now_us) {
    const size_t slots = size_t{buckets_} * ways_;
    for (size_t i = 0; i < slots; ++i) {
        Direction& d = directions_[i];
        if (d.used && &d != current_ && now_us - d.last_seen_us > config_.idle_timeout_us) {
            ++stats_.directions_timed_out;
            free_direction(d);
        }
    }
}

void TcpReassembler::flush() {
    release();
    const size_t slots = size_t{buckets_} * ways_;
    for (size_t i = 0; i < slots; ++i) {
        if (directions_[i].used) {
            ++stats_.directions_flushed;
            free_direction(directions_[i]);
        }
    }
}

}  // namespace liprobe::net
