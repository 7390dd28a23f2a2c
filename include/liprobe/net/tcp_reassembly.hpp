// Bounded TCP stream reassembly for SIP over TCP, one per worker (not thread-safe).
//
// Each direction of a connection (its directed 5-tuple) is one entry with its own buffer:
// payload bytes are delivered in sequence order; segments ahead of a gap are held (up to
// max_out_of_order ranges inside the buffer window); the in-order bytes are cut into messages
// by a StreamFramer (for SIP: sip_stream_framer.hpp, Content-Length framing of RFC 3261 18.3).
// A message longer than max_message_bytes is skipped (its octets are discarded as they arrive,
// by its Content-Length); one the framer rejects is discarded and the stream resynchronises at
// the next SIP start line. An entry is freed on FIN or RST, after
// idle_timeout_us of packet time without a segment, or evicted (least recently seen of its
// hash bucket) when its bucket is full; all of these are counted.
// Buffers grow on demand: a direction holds no buffer until it has octets to keep, then one of
// 2 KiB, doubled (copied) as its data needs up to the window; it goes back when the direction
// has nothing left to hold. Buffers are carved from one arena of buffer_bytes reserved at
// construction and only touched (made resident) when first used; when it is exhausted a segment
// is a counted drop (buffer_exhausted). No allocation after construction; message views stay
// valid until release().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "liprobe/net/parse.hpp"

namespace liprobe::net {

// What a framer says about the octets at the start of a stream.
enum class StreamFrameStatus : uint8_t { complete, need_more, error };
struct StreamFrame {
    StreamFrameStatus status = StreamFrameStatus::need_more;
    size_t skipped = 0;      // octets before the message (keep-alive CRLFs)
    size_t length = 0;       // message length after skipped, when complete; when too_large, the
                             // whole length if known (the stream skips it), else 0
    bool too_large = false;  // error: the message is longer than max_message
};
// Frames the message at the start of data[0, len); a message longer than max_message is an
// error. Must not allocate (it runs per packet).
using StreamFramer = StreamFrame (*)(const uint8_t* data, size_t len, size_t max_message);

// Offset of the first line in data[0, len) that looks like a SIP start line (request line
// ending " SIP/2.0" or status line starting "SIP/2.0 "), counting only complete lines that
// begin after a LF (or at data when at_line_start); len when none. Used to resynchronise after a
// discarded message.
size_t find_sip_start_line(const uint8_t* data, size_t len, bool at_line_start);

struct TcpReassemblyConfig {
    uint32_t max_connections = 256;      // directions; rounded up to a multiple of 8
    uint32_t max_message_bytes = 16384;  // largest message; the buffer window is twice this
    uint32_t max_out_of_order = 8;       // ranges held ahead of a gap (<= kMaxTcpOutOfOrder)
    int64_t idle_timeout_us = 300'000'000;
    // Arena for the stream buffers; 0: 4 KiB per direction plus 4 windows (at most one full
    // window per direction). Reserved, not resident until used.
    size_t buffer_bytes = 0;
};
inline constexpr uint32_t kTcpBufferBlock = 2048;  // the smallest stream buffer
inline constexpr uint32_t kMaxTcpOutOfOrder = 16;
// Messages framed per segment; more stay buffered and come out with the next segment.
inline constexpr uint32_t kMaxMessagesPerSegment = 32;

enum class TcpResult : uint8_t {
    messages,            // one or more complete messages: next_message()
    held,                // bytes stored, no complete message yet
    no_payload,          // SYN, pure ACK or FIN without new data
    retransmission,      // every octet was received before
    reset,               // RST: the direction's state is freed
    out_of_window,       // data starts beyond the buffer window (stream state kept)
    out_of_order_limit,  // would need more than max_out_of_order held ranges
    message_too_large,   // a message longer than max_message_bytes was discarded
    framing_error,       // the framer rejected the stream (e.g. bad Content-Length)
    resynchronising,     // bytes discarded while looking for the next SIP start line
    buffer_exhausted,    // no stream buffer left in the arena: the segment's octets are lost
    untracked,           // no state for this direction and may_create was false (or RST)
};
const char* tcp_result_name(TcpResult result);

struct TcpReassemblyStats {
    uint64_t directions_opened = 0;
    uint64_t directions_closed = 0;  // FIN or RST
    uint64_t directions_timed_out = 0;
    uint64_t directions_evicted = 0;  // bucket full: the least recently seen one made room
    uint64_t directions_flushed = 0;
    uint64_t messages = 0;
    uint64_t messages_too_large = 0;
    uint64_t framing_errors = 0;
    uint64_t bytes_discarded = 0;   // too-large messages, framing errors, resynchronisation,
                                    // data beyond the window, no buffer
    uint64_t buffer_exhausted = 0;  // segments refused for want of a buffer
    uint64_t buffer_grows = 0;      // a direction's buffer replaced by one twice as large
};

struct TcpStreamMessage {
    const uint8_t* data = nullptr;
    uint32_t len = 0;
};

class TcpReassembler {
  public:
    TcpReassembler(const TcpReassemblyConfig& config, StreamFramer framer);
    ~TcpReassembler();
    TcpReassembler(const TcpReassembler&) = delete;
    TcpReassembler& operator=(const TcpReassembler&) = delete;

    // One segment of the direction tuple; payload = frame + segment.payload_offset. Starts
    // with release(). A direction without state gets one on SYN or data when may_create (else
    // the result is untracked).
    TcpResult add(const FiveTuple& tuple, const TcpSegment& segment, const uint8_t* payload,
                  int64_t now_us, bool may_create = true);
    // The messages framed by the last add(), in stream order; false when none is left.
    bool next_message(TcpStreamMessage& out);
    uint32_t message_count() const { return message_count_; }
    // Ends the validity of the message views: compacts the buffer, frees a closed direction.
    void release();

    void expire(int64_t now_us);  // frees idle directions (counted); O(max_connections)
    void flush();                 // frees everything (end of input)

    uint32_t directions() const { return in_use_; }
    // Arena octets carved into buffers so far (what the traffic has made resident, at most).
    size_t buffer_bytes_carved() const { return arena_used_; }
    size_t buffer_bytes_reserved() const { return arena_size_; }
    const TcpReassemblyStats& stats() const { return stats_; }
    const TcpReassemblyConfig& config() const { return config_; }

  private:
    struct Range {
        uint32_t begin, end;  // relative to the buffer start
    };
    struct Direction;
    struct MessageRef {
        uint32_t offset, len;
    };

    Direction* lookup(const FiveTuple& tuple, uint64_t hash, int64_t now_us, bool create);
    void free_direction(Direction& d);
    uint8_t* buffer_of(const Direction& d) const;
    uint8_t* take_buffer(uint32_t size_class);
    void give_back(Direction& d);
    bool reserve(Direction& d, uint32_t end);
    TcpResult store(Direction& d, const TcpSegment& segment, const uint8_t* payload);
    TcpResult frame(Direction& d);
    void discard_front(Direction& d, uint32_t& pos, uint32_t count);

    TcpReassemblyConfig config_;
    StreamFramer framer_;
    uint32_t ways_ = 0, buckets_ = 0, window_ = 0;
    std::unique_ptr<Direction[]> directions_;
    static constexpr uint32_t kMaxClasses = 16;
    uint32_t classes_ = 0;              // buffer sizes kTcpBufferBlock << c, c < classes_
    std::unique_ptr<uint8_t[]> arena_;  // default-initialised: untouched until carved
    size_t arena_size_ = 0, arena_used_ = 0;
    uint8_t* free_[kMaxClasses] = {};  // per size class, linked through the buffers
    uint32_t in_use_ = 0;
    Direction* current_ = nullptr;  // the direction the message views point into
    bool close_current_ = false;
    MessageRef messages_[kMaxMessagesPerSegment] = {};
    uint32_t message_count_ = 0, next_message_ = 0;
    TcpReassemblyStats stats_;
};

}  // namespace liprobe::net
