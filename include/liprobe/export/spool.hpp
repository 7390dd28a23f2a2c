// The exporter's disk spool: append-only segment files of encoded PDUs, used when the memory
// buffer is full (LEMF outage or back-pressure) and to keep what a graceful drain could not
// deliver for the next start. Control-plane code, used only by the exporter thread.
//
// Layout: DIR/<index:020>.spool, index ordered oldest first. A segment starts with an 16-octet
// header ("LPSPOOL1", format, 7 zero octets) followed by records [u32 little-endian length][PDU].
// Appends are written at once and fsync'ed in batches (sync()); a torn record at the end of a
// segment (crash) is ignored on the next start. Segments can also be written in front of the
// oldest one (prepend), which a drain uses for memory-buffered PDUs that are older than
// everything spooled. Beyond the limit whole oldest segments are deleted, their PDUs counted
// as lost (exactly: the spool knows the PDU count of each segment).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "liprobe/export/encoder.hpp"

namespace liprobe::exporter {

class Spool {
  public:
    struct Segment {
        uint64_t index = 0;
        uint64_t bytes = 0;  // file size, header included
        uint64_t pdus = 0;
    };

    // Opens (creates) dir and scans existing segments; segments of another format are renamed
    // to *.stale and reported in error (still returns true). False when dir is unusable.
    bool open(const std::string& dir, Format format, uint64_t limit_bytes, uint64_t segment_bytes,
              std::string& error);
    void close();

    // Appends one PDU at the tail. Drops the oldest segments first when the limit would be
    // exceeded; returns the number of PDUs so dropped (lost). The PDU itself is dropped (and
    // counted in the result) when it alone exceeds the limit or the write fails.
    uint64_t append(const uint8_t* pdu, size_t len, std::string& error);
    // fsync of the tail segment if anything was appended since the last sync.
    void sync();

    // Writes PDUs (given as a contiguous buffer and their end offsets) as new segments in
    // front of the oldest one, fsync'ed. Returns PDUs dropped by the limit.
    uint64_t prepend(const uint8_t* data, const uint32_t* ends, size_t count, std::string& error);

    bool empty() const { return segments_.empty(); }
    uint64_t bytes() const { return total_bytes_; }
    uint64_t pdus() const { return total_pdus_; }
    size_t segment_count() const { return segments_.size(); }

    // Reads the oldest segment whole, removes it (file deleted) and returns its PDUs as a
    // contiguous buffer plus end offsets. The tail segment being written is closed first.
    bool take_oldest(std::vector<uint8_t>& data, std::vector<uint32_t>& ends, std::string& error);

  private:
    std::string path_of(uint64_t index) const;
    bool open_tail(std::string& error);
    void close_tail();
    uint64_t enforce_limit(uint64_t incoming);
    bool scan(const std::string& path, Segment& segment, std::string& error);

    std::string dir_;
    Format format_ = Format::etsi102232;
    uint64_t limit_ = 0;
    uint64_t segment_bytes_ = 0;
    std::deque<Segment> segments_;
    int tail_fd_ = -1;  // open while the newest segment is being appended to
    bool dirty_ = false;
    uint64_t total_bytes_ = 0;
    uint64_t total_pdus_ = 0;
};

}  // namespace liprobe::exporter
