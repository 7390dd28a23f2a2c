#include "liprobe/net/pcap_file.hpp"

#include <pcap/pcap.h>

#include <cstdio>
#include <stdexcept>

namespace liprobe::net {
namespace {

// The classic pcap magic numbers for nanosecond files, in both byte orders; pcapng
// (section header block 0x0a0d0d0a) may carry nanoseconds as well.
bool file_has_nanoseconds(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return false;  // pcap_open_offline reports the error
    uint8_t magic[4] = {};
    const size_t got = std::fread(magic, 1, sizeof magic, f);
    std::fclose(f);
    if (got != sizeof magic) return false;
    const uint32_t be = (uint32_t{magic[0]} << 24) | (uint32_t{magic[1]} << 16) |
                        (uint32_t{magic[2]} << 8) | magic[3];
    return be == 0xa1b23c4d || be == 0x4d3cb2a1 || be == 0x0a0d0d0a;
}

}  // namespace

std::optional<LinkType> link_type_from_dlt(int dlt) {
    switch (dlt) {
        case DLT_EN10MB:
            return LinkType::ethernet;
        case DLT_LINUX_SLL:
            return LinkType::linux_sll;
        case DLT_LINUX_SLL2:
            return LinkType::linux_sll2;
        case DLT_RAW:
        case DLT_IPV4:
        case DLT_IPV6:
            return LinkType::raw_ip;
        default:
            return std::nullopt;
    }
}

int dlt_from_link_type(LinkType link) {
    switch (link) {
        case LinkType::ethernet:
            return DLT_EN10MB;
        case LinkType::linux_sll:
            return DLT_LINUX_SLL;
        case LinkType::linux_sll2:
            return DLT_LINUX_SLL2;
        case LinkType::raw_ip:
            return DLT_RAW;
    }
    return DLT_EN10MB;
}

PcapReader::PcapReader(const std::string& path) : path_(path) {
    nanosecond_ = file_has_nanoseconds(path);
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    handle_ = pcap_open_offline_with_tstamp_precision(
        path.c_str(), nanosecond_ ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO,
        errbuf);
    if (handle_ == nullptr) throw std::runtime_error(path + ": " + errbuf);
    dlt_ = pcap_datalink(handle_);
}

PcapReader::~PcapReader() {
    if (handle_ != nullptr) pcap_close(handle_);
}

int PcapReader::snaplen() const {
    return pcap_snapshot(handle_);
}

bool PcapReader::next(PcapRecord& record) {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(handle_, &header, &data);
    if (rc == 1) {
        record.ts_sec = header->ts.tv_sec;
        record.ts_frac = static_cast<uint32_t>(header->ts.tv_usec);
        record.caplen = header->caplen;
        record.origlen = header->len;
        record.data = data;
        return true;
    }
    if (rc == PCAP_ERROR_BREAK) return false;  // end of file
    throw std::runtime_error(path_ + ": " + pcap_geterr(handle_));
}

PcapWriter::PcapWriter(const std::string& path, int dlt, bool nanosecond, int snaplen)
    : path_(path) {
    dead_ = pcap_open_dead_with_tstamp_precision(
        dlt, snaplen, nanosecond ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
    if (dead_ == nullptr) throw std::runtime_error(path + ": cannot create a pcap handle");
    dumper_ = pcap_dump_open(dead_, path.c_str());
    if (dumper_ == nullptr) {
        const std::string reason = pcap_geterr(dead_);
        pcap_close(dead_);
        dead_ = nullptr;
        throw std::runtime_error(path + ": " + reason);
    }
}

PcapWriter::~PcapWriter() {
    if (dumper_ != nullptr) pcap_dump_close(dumper_);
    if (dead_ != nullptr) pcap_close(dead_);
}

void PcapWriter::write(const PcapRecord& record) {
    pcap_pkthdr header{};
    header.ts.tv_sec = static_cast<time_t>(record.ts_sec);
    header.ts.tv_usec = static_cast<suseconds_t>(record.ts_frac);
    header.caplen = record.caplen;
    header.len = record.origlen < record.caplen ? record.caplen : record.origlen;
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &header, record.data);
    ++records_;
}

void PcapWriter::write(int64_t ts_sec, uint32_t ts_frac, const uint8_t* data, uint32_t len) {
    write(PcapRecord{ts_sec, ts_frac, len, len, data});
}

void PcapWriter::close() {
    if (dumper_ == nullptr) return;
    const bool flushed = pcap_dump_flush(dumper_) == 0;
    FILE* f = pcap_dump_file(dumper_);
    const bool write_error = std::ferror(f) != 0;
    pcap_dump_close(dumper_);  // fclose
    dumper_ = nullptr;
    pcap_close(dead_);
    dead_ = nullptr;
    if (!flushed || write_error) throw std::runtime_error(path_ + ": write failed");
}

}  // namespace liprobe::net
