// Streaming pcap (and pcapng, read only) files through libpcap: one record in memory at a time,
// so multi-gigabyte captures need bounded memory. Timestamps keep the file's precision
// (microseconds, or nanoseconds for nanosecond pcap and pcapng). Control plane / offline tools.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "liprobe/net/parse.hpp"

struct pcap;
struct pcap_dumper;

namespace liprobe::net {

struct PcapRecord {
    int64_t ts_sec = 0;
    uint32_t ts_frac = 0;           // microseconds or nanoseconds, per the file's precision
    uint32_t caplen = 0;            // octets at data
    uint32_t origlen = 0;           // length on the wire
    const uint8_t* data = nullptr;  // valid until the next PcapReader::next()
};

// Maps a libpcap DLT_ value to the parser's link type; nullopt when unsupported.
std::optional<LinkType> link_type_from_dlt(int dlt);
int dlt_from_link_type(LinkType link);

class PcapReader {
  public:
    // Throws std::runtime_error naming the file and libpcap's reason.
    explicit PcapReader(const std::string& path);
    ~PcapReader();
    PcapReader(const PcapReader&) = delete;
    PcapReader& operator=(const PcapReader&) = delete;

    // false at the end of the file; throws std::runtime_error on a read error.
    bool next(PcapRecord& record);

    int dlt() const { return dlt_; }
    std::optional<LinkType> link_type() const { return link_type_from_dlt(dlt_); }
    bool nanosecond() const { return nanosecond_; }
    int snaplen() const;
    // Packet time in Unix microseconds.
    int64_t time_us(const PcapRecord& r) const {
        return r.ts_sec * 1000000 + (nanosecond_ ? r.ts_frac / 1000 : r.ts_frac);
    }

  private:
    std::string path_;
    pcap* handle_ = nullptr;
    int dlt_ = 0;
    bool nanosecond_ = false;
};

class PcapWriter {
  public:
    // Creates (truncates) path as a classic pcap file. Throws std::runtime_error.
    PcapWriter(const std::string& path, int dlt, bool nanosecond = false, int snaplen = 262144);
    ~PcapWriter();  // closes (errors then are ignored: call close() to see them)
    PcapWriter(const PcapWriter&) = delete;
    PcapWriter& operator=(const PcapWriter&) = delete;

    // Writes one record: record.data[0 .. caplen). origlen < caplen is raised to caplen.
    void write(const PcapRecord& record);
    void write(int64_t ts_sec, uint32_t ts_frac, const uint8_t* data, uint32_t len);
    // Flushes and closes; throws std::runtime_error when the data did not reach the file.
    void close();
    uint64_t records() const { return records_; }

  private:
    std::string path_;
    pcap* dead_ = nullptr;
    pcap_dumper* dumper_ = nullptr;
    uint64_t records_ = 0;
};

}  // namespace liprobe::net
