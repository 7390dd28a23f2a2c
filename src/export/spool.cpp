// Append-only disk spool of encoded PDUs (see spool.hpp).
#include "liprobe/export/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace liprobe::exporter {

namespace {

constexpr char kMagic[8] = {'L', 'P', 'S', 'P', 'O', 'O', 'L', '1'};
constexpr size_t kHeaderBytes = 16;
constexpr size_t kRecordPrefix = 4;
// Fresh spools start in the middle of the index space so that prepends have room in front.
constexpr uint64_t kFirstIndex = uint64_t{1} << 62;

void make_header(Format format, uint8_t* out) {
    std::memset(out, 0, kHeaderBytes);
    std::memcpy(out, kMagic, sizeof kMagic);
    out[8] = static_cast<uint8_t>(format);
}

bool write_all(int fd, const uint8_t* data, size_t len) {
    while (len > 0) {
        ssize_t n = ::write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += n;
        len -= static_cast<size_t>(n);
    }
    return true;
}

bool parse_index(const char* name, uint64_t& index) {
    size_t len = std::strlen(name);
    if (len != 20 + 6 || std::strcmp(name + 20, ".spool") != 0) return false;
    index = 0;
    for (size_t i = 0; i < 20; ++i) {
        if (name[i] < '0' || name[i] > '9') return false;
        index = index * 10 + static_cast<uint64_t>(name[i] - '0');
    }
    return true;
}

void fsync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

}  // namespace

std::string Spool::path_of(uint64_t index) const {
    char name[32];
    std::snprintf(name, sizeof name, "%020llu.spool", static_cast<unsigned long long>(index));
    return dir_ + "/" + name;
}

bool Spool::scan(const std::string& path, Segment& segment, std::string& error) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        error = "cannot open spool segment " + path + ": " + strerror(errno);
        return false;
    }
    std::vector<uint8_t> data;
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        ::close(fd);
        error = "cannot stat " + path;
        return false;
    }
    data.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < data.size()) {
        ssize_t n = ::pread(fd, data.data() + got, data.size() - got, static_cast<off_t>(got));
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    data.resize(got);
    if (data.size() < kHeaderBytes || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0 ||
        data[8] != static_cast<uint8_t>(format_)) {
        ::close(fd);
        error = "spool segment " + path + " is not a " + format_name(format_) + " spool segment";
        return false;
    }
    size_t off = kHeaderBytes;
    uint64_t pdus = 0;
    while (off + kRecordPrefix <= data.size()) {
        uint32_t len;
        std::memcpy(&len, data.data() + off, 4);
        if (len == 0 || off + kRecordPrefix + len > data.size()) break;
        off += kRecordPrefix + len;
        ++pdus;
    }
    if (off != data.size()) {
        // A torn record from a crash: cut it off, everything before it is intact.
        if (ftruncate(fd, static_cast<off_t>(off)) != 0) {
            ::close(fd);
            error = "cannot truncate torn spool segment " + path;
            return false;
        }
    }
    ::close(fd);
    segment.bytes = off;
    segment.pdus = pdus;
    return true;
}

bool Spool::open(const std::string& dir, Format format, uint64_t limit_bytes,
                 uint64_t segment_bytes, std::string& error) {
    close();
    dir_ = dir;
    format_ = format;
    limit_ = limit_bytes;
    segment_bytes_ = std::max<uint64_t>(segment_bytes, 4096);
    segments_.clear();
    total_bytes_ = 0;
    total_pdus_ = 0;
    // mkdir -p
    for (size_t pos = 1; pos <= dir.size(); ++pos) {
        if (pos == dir.size() || dir[pos] == '/') {
            std::string part = dir.substr(0, pos);
            if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
                error = "cannot create spool directory " + part + ": " + strerror(errno);
                return false;
            }
        }
    }
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        error = "cannot open spool directory " + dir + ": " + strerror(errno);
        return false;
    }
    std::vector<uint64_t> indices;
    while (dirent* entry = ::readdir(d)) {
        uint64_t index;
        if (parse_index(entry->d_name, index)) indices.push_back(index);
    }
    ::closedir(d);
    std::sort(indices.begin(), indices.end());
    for (uint64_t index : indices) {
        Segment segment;
        segment.index = index;
        std::string path = path_of(index);
        std::string why;
        if (!scan(path, segment, why)) {
            std::string stale = path + ".stale";
            ::rename(path.c_str(), stale.c_str());
            error += (error.empty() ? "" : "; ") + why + " (kept as " + stale + ")";
            continue;
        }
        if (segment.pdus == 0) {
            ::unlink(path.c_str());
            continue;
        }
        segments_.push_back(segment);
        total_bytes_ += segment.bytes;
        total_pdus_ += segment.pdus;
    }
    return true;
}

void Spool::close() {
    close_tail();
}

void Spool::close_tail() {
    if (tail_fd_ >= 0) {
        if (dirty_) ::fsync(tail_fd_);
        ::close(tail_fd_);
        tail_fd_ = -1;
        dirty_ = false;
    }
}

void Spool::sync() {
    if (tail_fd_ >= 0 && dirty_) {
        ::fdatasync(tail_fd_);
        dirty_ = false;
    }
}

bool Spool::open_tail(std::string& error) {
    uint64_t index = segments_.empty() ? kFirstIndex : segments_.back().index + 1;
    std::string path = path_of(index);
    tail_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (tail_fd_ < 0) {
        error = "cannot create spool segment " + path + ": " + strerror(errno);
        return false;
    }
    uint8_t header[kHeaderBytes];
    make_header(format_, header);
    if (!write_all(tail_fd_, header, sizeof header)) {
        error = "cannot write spool segment " + path + ": " + strerror(errno);
        ::close(tail_fd_);
        tail_fd_ = -1;
        ::unlink(path.c_str());
        return false;
    }
    Segment segment;
    segment.index = index;
    segment.bytes = kHeaderBytes;
    segments_.push_back(segment);
    total_bytes_ += kHeaderBytes;
    dirty_ = true;
    return true;
}

uint64_t Spool::enforce_limit(uint64_t incoming) {
    uint64_t dropped = 0;
    while (!segments_.empty() && total_bytes_ + incoming > limit_) {
        Segment oldest = segments_.front();
        if (segments_.size() == 1 && tail_fd_ >= 0) close_tail();
        ::unlink(path_of(oldest.index).c_str());
        segments_.pop_front();
        total_bytes_ -= oldest.bytes;
        total_pdus_ -= oldest.pdus;
        dropped += oldest.pdus;
    }
    return dropped;
}

uint64_t Spool::append(const uint8_t* pdu, size_t len, std::string& error) {
    uint64_t need = kRecordPrefix + len;
    bool new_segment = tail_fd_ < 0 || segments_.back().bytes + need > segment_bytes_;
    if (new_segment) need += kHeaderBytes;
    if (need > limit_ || len == 0 || len > UINT32_MAX) {
        error = "PDU of " + std::to_string(len) + " octets does not fit the spool limit";
        return 1;
    }
    uint64_t dropped = enforce_limit(need);
    if (tail_fd_ < 0 || segments_.back().bytes + kRecordPrefix + len > segment_bytes_) {
        close_tail();
        if (!open_tail(error)) return dropped + 1;
        if (total_bytes_ + kRecordPrefix + len > limit_) {
            dropped += enforce_limit(kRecordPrefix + len);  // never drops the fresh tail alone
        }
    }
    uint8_t prefix[4];
    uint32_t len32 = static_cast<uint32_t>(len);
    std::memcpy(prefix, &len32, 4);
    iovec iov[2] = {{prefix, 4}, {const_cast<uint8_t*>(pdu), len}};
    ssize_t want = static_cast<ssize_t>(4 + len);
    ssize_t n = ::writev(tail_fd_, iov, 2);
    if (n >= 0 && n < want) {
        // A short write (the filesystem filling up, a signal): write the rest, which either
        // succeeds or says why (ENOSPC) instead of a bare "short write".
        const auto done = static_cast<size_t>(n);
        bool ok = true;
        if (done < 4) ok = write_all(tail_fd_, prefix + done, 4 - done);
        const size_t pdu_done = done > 4 ? done - 4 : 0;
        ok = ok && write_all(tail_fd_, pdu + pdu_done, len - pdu_done);
        n = ok ? want : -1;
    }
    if (n != want) {
        error = std::string("spool write failed: ") + strerror(errno);
        // Cut a partial record so the segment stays parseable, then start a fresh segment.
        Segment& tail = segments_.back();
        if (ftruncate(tail_fd_, static_cast<off_t>(tail.bytes)) != 0) {
            // The next scan cuts the torn record; nothing more to do here.
        }
        close_tail();
        return dropped + 1;
    }
    Segment& tail = segments_.back();
    tail.bytes += static_cast<uint64_t>(want);
    tail.pdus += 1;
    total_bytes_ += static_cast<uint64_t>(want);
    total_pdus_ += 1;
    dirty_ = true;
    return dropped;
}

uint64_t Spool::prepend(const uint8_t* data, const uint32_t* ends, size_t count,
                        std::string& error) {
    if (count == 0) return 0;
    // Cut the PDUs into segments of about segment_bytes_.
    std::vector<std::pair<size_t, size_t>> pieces;  // [first PDU, last PDU + 1)
    size_t first = 0;
    uint64_t bytes = kHeaderBytes;
    for (size_t i = 0; i < count; ++i) {
        uint32_t begin = i == 0 ? 0 : ends[i - 1];
        uint64_t rec = kRecordPrefix + (ends[i] - begin);
        if (i > first && bytes + rec > segment_bytes_) {
            pieces.emplace_back(first, i);
            first = i;
            bytes = kHeaderBytes;
        }
        bytes += rec;
    }
    pieces.emplace_back(first, count);
    uint64_t base = segments_.empty() ? kFirstIndex : segments_.front().index - pieces.size();
    std::vector<Segment> written;
    uint64_t failed_pdus = 0;
    for (size_t p = 0; p < pieces.size(); ++p) {
        Segment segment;
        segment.index = base + p;
        std::vector<uint8_t> out(kHeaderBytes);
        make_header(format_, out.data());
        for (size_t i = pieces[p].first; i < pieces[p].second; ++i) {
            uint32_t begin = i == 0 ? 0 : ends[i - 1];
            uint32_t len = ends[i] - begin;
            uint8_t prefix[4];
            std::memcpy(prefix, &len, 4);
            out.insert(out.end(), prefix, prefix + 4);
            out.insert(out.end(), data + begin, data + ends[i]);
            ++segment.pdus;
        }
        segment.bytes = out.size();
        std::string path = path_of(segment.index);
        std::string tmp = path + ".tmp";
        int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        bool ok = fd >= 0 && write_all(fd, out.data(), out.size()) && ::fsync(fd) == 0;
        if (fd >= 0) ::close(fd);
        ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0;
        if (!ok) {
            error = "cannot write spool segment " + path + ": " + strerror(errno);
            ::unlink(tmp.c_str());
            failed_pdus += segment.pdus;
            continue;
        }
        written.push_back(segment);
    }
    fsync_dir(dir_);
    for (auto it = written.rbegin(); it != written.rend(); ++it) {
        segments_.push_front(*it);
        total_bytes_ += it->bytes;
        total_pdus_ += it->pdus;
    }
    return failed_pdus + enforce_limit(0);
}

bool Spool::take_oldest(std::vector<uint8_t>& data, std::vector<uint32_t>& ends,
                        std::string& error) {
    data.clear();
    ends.clear();
    if (segments_.empty()) return false;
    if (segments_.size() == 1 && tail_fd_ >= 0) close_tail();
    Segment oldest = segments_.front();
    segments_.pop_front();
    total_bytes_ -= oldest.bytes;
    total_pdus_ -= oldest.pdus;
    std::string path = path_of(oldest.index);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error = "cannot read spool segment " + path + ": " + strerror(errno);
        return false;
    }
    std::vector<uint8_t> raw(oldest.bytes);
    size_t got = 0;
    while (got < raw.size()) {
        ssize_t n = ::pread(fd, raw.data() + got, raw.size() - got, static_cast<off_t>(got));
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    ::close(fd);
    ::unlink(path.c_str());
    raw.resize(got);
    data.reserve(raw.size());
    ends.reserve(oldest.pdus);
    size_t off = kHeaderBytes;
    while (off + kRecordPrefix <= raw.size()) {
        uint32_t len;
        std::memcpy(&len, raw.data() + off, 4);
        if (len == 0 || off + kRecordPrefix + len > raw.size()) break;
        data.insert(data.end(), raw.data() + off + 4, raw.data() + off + 4 + len);
        ends.push_back(static_cast<uint32_t>(data.size()));
        off += kRecordPrefix + len;
    }
    if (ends.size() != oldest.pdus) {
        error = "spool segment " + path + " held " + std::to_string(ends.size()) + " of " +
                std::to_string(oldest.pdus) + " PDUs";
    }
    return true;
}

}  // namespace liprobe::exporter
