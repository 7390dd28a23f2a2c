#include "liprobe/control/audit.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace liprobe::control {

std::string rfc3339_utc(int64_t unix_us) {
    const std::time_t secs = static_cast<std::time_t>(unix_us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    if (unix_us % 1000000 != 0)
        std::snprintf(buf + n, sizeof buf - n, ".%06lldZ",
                      static_cast<long long>(unix_us % 1000000));
    else
        std::snprintf(buf + n, sizeof buf - n, "Z");
    return buf;
}

AuditLog::AuditLog(const std::string& path, std::string salt)
    : path_(path), salt_(std::move(salt)) {
    if (path_.empty()) return;
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0)
        throw std::runtime_error("audit log " + path_ +
                                 ": cannot open for appending: " + std::strerror(errno));
}

AuditLog::~AuditLog() {
    if (fd_ >= 0) ::close(fd_);
}

std::string AuditLog::hash(std::string_view value) const {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                    EVP_DigestUpdate(ctx, salt_.data(), salt_.size()) == 1 &&
                    EVP_DigestUpdate(ctx, value.data(), value.size()) == 1 &&
                    EVP_DigestFinal_ex(ctx, digest, &len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) throw std::runtime_error("audit log: SHA-256 failed");
    static const char* hex = "0123456789abcdef";
    std::string out(2 * len, '0');
    for (unsigned i = 0; i < len; ++i) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    return out;
}

void append_json_string(std::string& out, std::string_view s) {
    const bool plain = std::all_of(
        s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    if (!plain) {
        out += nlohmann::json(std::string(s))
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return;
    }
    out += '"';
    out += s;
    out += '"';
}

namespace {

std::string now_rfc3339() {
    return rfc3339_utc(std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
}

}  // namespace

void AuditLog::record(std::string_view subject, std::string_view action, std::string_view result,
                      nlohmann::json details) {
    if (fd_ < 0) return;
    nlohmann::json line = nlohmann::json::object();
    line["time"] = now_rfc3339();
    line["subject"] = std::string(subject);
    line["action"] = std::string(action);
    line["result"] = std::string(result);
    if (details.is_object())
        for (auto it = details.begin(); it != details.end(); ++it)
            line[it.key()] = std::move(it.value());
    // Invalid UTF-8 (a subject or path from the network) is replaced, never a throw.
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    write_line(text);
}

void AuditLog::record_members(std::string_view subject, std::string_view action,
                              std::string_view result, std::string_view members) {
    if (fd_ < 0) return;
    std::string text;
    text.reserve(members.size() + subject.size() + 128);
    text += "{\"action\":";
    append_json_string(text, action);
    if (!members.empty()) {
        text += ',';
        text += members;
    }
    text += ",\"result\":";
    append_json_string(text, result);
    text += ",\"subject\":";
    append_json_string(text, subject);
    text += ",\"time\":";
    append_json_string(text, now_rfc3339());
    text += '}';
    write_line(text);
}

void AuditLog::write_line(std::string& text) {
    text.push_back('\n');
    std::lock_guard<std::mutex> lock(mutex_);
    // One write() per line on an O_APPEND descriptor: lines from concurrent writers never mix.
    size_t off = 0;
    while (off < text.size()) {
        const ssize_t n = ::write(fd_, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ++write_failures_;
            return;
        }
        off += static_cast<size_t>(n);
    }
}

}  // namespace liprobe::control
