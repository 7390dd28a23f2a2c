// TOML -> Config with precise diagnostics (design.md 3.2). See config.hpp for the rules.
#include "liprobe/control/config.hpp"

#include <arpa/inet.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <toml.hpp>

#include "config_values.hpp"

namespace liprobe::control {
namespace {

using detail::civil_to_us;
using detail::first_invalid_utf8;
using detail::is_digit;
using detail::is_dns_name;
using detail::is_hex;

using Value = toml::basic_value<toml::discard_comments, std::map, std::vector>;
using Table = Value::table_type;
using Array = Value::array_type;

const Table kEmptyTable;

// Limits that have no meaning beyond them; documented in config/liprobe.toml.
constexpr uint64_t kMaxWorkers = 128;

std::string type_name(const Value& v) {
    switch (v.type()) {
        case toml::value_t::boolean:
            return "a boolean";
        case toml::value_t::integer:
            return "an integer";
        case toml::value_t::floating:
            return "a float";
        case toml::value_t::string:
            return "a string";
        case toml::value_t::offset_datetime:
        case toml::value_t::local_datetime:
        case toml::value_t::local_date:
        case toml::value_t::local_time:
            return "a date-time";
        case toml::value_t::array:
            return "an array";
        case toml::value_t::table:
            return "a table";
        default:
            return "nothing";
    }
}

uint32_t line_of(const Value& v) {
    return static_cast<uint32_t>(v.location().line());
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1 : 0)});
            diag = up;
        }
    }
    return row[b.size()];
}

bool is_printable_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

// 0000:01:00.0 or 01:00.0, optionally followed by ",devargs".
bool is_pci_address(std::string_view s) {
    s = s.substr(0, s.find(','));
    auto hex_run = [&](size_t pos, size_t n) {
        if (pos + n > s.size()) return false;
        for (size_t i = 0; i < n; ++i)
            if (!is_hex(s[pos + i])) return false;
        return true;
    };
    size_t p = 0;
    if (s.size() == 12) {
        if (!hex_run(0, 4) || s[4] != ':') return false;
        p = 5;
    } else if (s.size() != 7) {
        return false;
    }
    return hex_run(p, 2) && s[p + 2] == ':' && hex_run(p + 3, 2) && s[p + 5] == '.' &&
           s[p + 6] >= '0' && s[p + 6] <= '7';
}

// net_<driver><instance>, optionally followed by ",devargs".
bool is_vdev(std::string_view s) {
    const std::string_view name = s.substr(0, s.find(','));
    if (name.size() <= 4 || name.substr(0, 4) != "net_") return false;
    return std::all_of(name.begin() + 4, name.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || is_digit(c) || c == '_'; });
}

std::optional<std::string> parse_host_port(const std::string& text, HostPort& out) {
    std::string host, port;
    if (!text.empty() && text.front() == '[') {
        const size_t close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return "expected host:port (an IPv6 address in brackets: [::1]:port)";
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        in6_addr a6;
        if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) return "not a valid IPv6 address";
    } else {
        const size_t colon = text.find(':');
        if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos)
            return "expected host:port (an IPv6 address in brackets: [::1]:port)";
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (!is_dns_name(host)) return "not a valid host name or IPv4 address";
    }
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit))
        return "port must be a number from 1 to 65535";
    const unsigned long n = std::stoul(port);
    if (n < 1 || n > 65535) return "port must be a number from 1 to 65535";
    out.host = host;
    out.port = static_cast<uint16_t>(n);
    return std::nullopt;
}

class Parser {
  public:
    Parser(LoadResult& result, std::string base_dir)
        : result_(result), base_dir_(std::move(base_dir)) {}

    void run(const Value& root);

  private:
    struct Section {
        const Table* table = &kEmptyTable;
        std::string path;  // "" for the root, "dpdk", "warrant[1]"
        uint32_t line = 0;
    };

    void error(uint32_t line, const std::string& key, std::string problem) {
        result_.errors.push_back({result_.config.file, line, 0, key, std::move(problem)});
    }
    void warn(uint32_t line, const std::string& key, std::string problem) {
        result_.warnings.push_back({result_.config.file, line, 0, key, std::move(problem)});
    }

    static std::string join(const Section& s, std::string_view key) {
        return s.path.empty() ? std::string(key) : s.path + "." + std::string(key);
    }
    static const Value* find(const Section& s, const std::string& key) {
        const auto it = s.table->find(key);
        return it == s.table->end() ? nullptr : &it->second;
    }

    std::string resolve(const std::string& p) const {
        if (p.empty()) return p;
        const std::filesystem::path path(p);
        if (path.is_absolute() || base_dir_.empty()) return path.lexically_normal().string();
        return (std::filesystem::path(base_dir_) / path).lexically_normal().string();
    }

    void check_keys(const Section& s, std::initializer_list<std::string_view> allowed);
    Section table(const Section& parent, const std::string& key);
    std::vector<Section> table_array(const Section& parent, const std::string& key,
                                     const std::string& path_name);
    const Value* typed(const Section& s, const std::string& key, toml::value_t type,
                       const char* expected, bool required);

    bool read_string(const Section& s, const std::string& key, std::string& out,
                     bool required = false);
    bool read_uint(const Section& s, const std::string& key, uint32_t& out, uint64_t min,
                   uint64_t max);
    bool read_bool(const Section& s, const std::string& key, bool& out);
    // The elements of a list of strings; nullptr entries are reported and left out.
    bool read_string_list(const Section& s, const std::string& key, std::vector<std::string>& out,
                          std::vector<uint32_t>* lines = nullptr);
    void read_path(const Section& s, const std::string& key, std::string& out) {
        if (read_string(s, key, out)) out = resolve(out);
    }
    void read_identity(const Section& s, const std::string& key, std::string& out, size_t max);
    bool read_host_port(const Section& s, const std::string& key, HostPort& out);
    void read_time(const Section& s, const std::string& key, std::optional<int64_t>& out);

    void parse_probe(const Section& root);
    void parse_dpdk(const Section& root);
    void parse_sip(const Section& root);
    void parse_keys(const Section& root);
    void parse_control(const Section& root);
    void parse_metrics(const Section& root);
    void parse_export(const Section& root);
    void parse_destinations(const Section& root);
    void parse_warrants(const Section& root);

    LoadResult& result_;
    Config& cfg_ = result_.config;
    std::string base_dir_;
    std::vector<uint32_t> destination_lines_;
};

void Parser::check_keys(const Section& s, std::initializer_list<std::string_view> allowed) {
    for (const auto& [key, value] : *s.table) {
        if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
        std::string problem = "unknown key";
        for (std::string_view candidate : allowed) {
            if (edit_distance(key, candidate) <= 2) {
                problem += " (did you mean '" + std::string(candidate) + "'?)";
                break;
            }
        }
        error(line_of(value), join(s, key), std::move(problem));
    }
}

Parser::Section Parser::table(const Section& parent, const std::string& key) {
    Section out;
    out.path = join(parent, key);
    out.line = parent.line;
    const Value* v = find(parent, key);
    if (v == nullptr) return out;
    if (!v->is_table()) {
        error(line_of(*v), out.path, "expected a table, found " + type_name(*v));
        return out;
    }
    out.table = &v->as_table();
    out.line = line_of(*v);
    return out;
}

std::vector<Parser::Section> Parser::table_array(const Section& parent, const std::string& key,
                                                 const std::string& path_name) {
    std::vector<Section> out;
    const Value* v = find(parent, key);
    if (v == nullptr) return out;
    if (!v->is_array()) {
        error(line_of(*v), path_name,
              "expected an array of tables (write [[" + path_name + "]]), found " + type_name(*v));
        return out;
    }
    const Array& items = v->as_array();
    for (size_t i = 0; i < items.size(); ++i) {
        const std::string path = path_name + "[" + std::to_string(i) + "]";
        if (!items[i].is_table()) {
            error(line_of(items[i]), path, "expected a table, found " + type_name(items[i]));
            continue;
        }
        out.push_back({&items[i].as_table(), path, line_of(items[i])});
    }
    return out;
}

const Value* Parser::typed(const Section& s, const std::string& key, toml::value_t type,
                           const char* expected, bool required) {
    const Value* v = find(s, key);
    if (v == nullptr) {
        if (required) error(s.line, join(s, key), "required key is missing");
        return nullptr;
    }
    if (v->type() != type) {
        error(line_of(*v), join(s, key),
              std::string("expected ") + expected + ", found " + type_name(*v));
        return nullptr;
    }
    return v;
}

bool Parser::read_string(const Section& s, const std::string& key, std::string& out,
                         bool required) {
    const Value* v = typed(s, key, toml::value_t::string, "a string", required);
    if (v == nullptr) return false;
    out = v->as_string().str;
    return true;
}

bool Parser::read_uint(const Section& s, const std::string& key, uint32_t& out, uint64_t min,
                       uint64_t max) {
    const Value* v = typed(s, key, toml::value_t::integer, "an integer", false);
    if (v == nullptr) return false;
    const int64_t n = v->as_integer();
    if (n < 0 || static_cast<uint64_t>(n) < min || static_cast<uint64_t>(n) > max) {
        error(line_of(*v), join(s, key),
              "must be from " + std::to_string(min) + " to " + std::to_string(max) + " (found " +
                  std::to_string(n) + ")");
        return false;
    }
    out = static_cast<uint32_t>(n);
    return true;
}

bool Parser::read_bool(const Section& s, const std::string& key, bool& out) {
    const Value* v = typed(s, key, toml::value_t::boolean, "a boolean", false);
    if (v == nullptr) return false;
    out = v->as_boolean();
    return true;
}

bool Parser::read_string_list(const Section& s, const std::string& key,
                              std::vector<std::string>& out, std::vector<uint32_t>* lines) {
    const Value* v = typed(s, key, toml::value_t::array, "a list of strings", false);
    if (v == nullptr) return false;
    out.clear();
    const Array& items = v->as_array();
    bool all_ok = true;
    for (size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_string()) {
            error(line_of(items[i]), join(s, key) + "[" + std::to_string(i) + "]",
                  "expected a string, found " + type_name(items[i]));
            all_ok = false;
            continue;
        }
        out.push_back(items[i].as_string().str);
        if (lines != nullptr) lines->push_back(line_of(items[i]));
    }
    return all_ok;
}

void Parser::read_identity(const Section& s, const std::string& key, std::string& out, size_t max) {
    std::string value;
    if (!read_string(s, key, value, true)) return;
    const uint32_t line = line_of(*find(s, key));
    if (value.empty() || value.size() > max) {
        error(line, join(s, key),
              "must be 1 to " + std::to_string(max) + " octets (found " +
                  std::to_string(value.size()) + ")");
    } else if (!is_printable_ascii(value)) {
        error(line, join(s, key), "must be printable ASCII");
    } else {
        out = value;
    }
}

bool Parser::read_host_port(const Section& s, const std::string& key, HostPort& out) {
    std::string text;
    if (!read_string(s, key, text)) return false;
    if (text.empty()) {
        out = {};
        return true;
    }
    if (auto problem = parse_host_port(text, out)) {
        error(line_of(*find(s, key)), join(s, key), *problem);
        return false;
    }
    return true;
}

void Parser::read_time(const Section& s, const std::string& key, std::optional<int64_t>& out) {
    const Value* v = find(s, key);
    if (v == nullptr) return;
    const std::string path = join(s, key);
    switch (v->type()) {
        case toml::value_t::offset_datetime: {
            const toml::offset_datetime& t = v->as_offset_datetime();
            const int64_t frac = int64_t{t.time.millisecond} * 1000 + t.time.microsecond;
            out =
                civil_to_us(t.date.year, t.date.month + 1u, t.date.day, t.time.hour, t.time.minute,
                            t.time.second, frac, t.offset.hour * 60 + t.offset.minute);
            if (!out) error(line_of(*v), path, "not a valid date-time");
            return;
        }
        case toml::value_t::local_datetime:
        case toml::value_t::local_date:
        case toml::value_t::local_time:
            error(line_of(*v), path,
                  "needs a date, a time and a time zone offset (RFC 3339, e.g. "
                  "2025-01-31T08:00:00Z)");
            return;
        case toml::value_t::string:
            out = parse_rfc3339(v->as_string().str);
            if (!out)
                error(line_of(*v), path,
                      "not an RFC 3339 date-time with time zone offset (e.g. "
                      "2025-01-31T08:00:00Z)");
            return;
        default:
            error(line_of(*v), path, "expected an RFC 3339 date-time, found " + type_name(*v));
    }
}

void Parser::run(const Value& root_value) {
    const Section root{&root_value.as_table(), "", 0};
    check_keys(root, {"probe", "dpdk", "sip", "keys", "control", "metrics", "export", "destination",
                      "warrant"});
    parse_probe(root);
    parse_dpdk(root);
    parse_sip(root);
    parse_keys(root);
    parse_control(root);
    parse_metrics(root);
    parse_export(root);
    parse_destinations(root);
    parse_warrants(root);
}

void Parser::parse_probe(const Section& root) {
    const Section s = table(root, "probe");
    check_keys(s, {"network_element_id", "operator_id", "country_code"});
    read_identity(s, "network_element_id", cfg_.probe.network_element_id, 16);
    read_identity(s, "operator_id", cfg_.probe.operator_id, 16);
    std::string cc;
    if (read_string(s, "country_code", cc, true)) {
        if (cc.size() != 2 || !std::isalpha(static_cast<unsigned char>(cc[0])) ||
            !std::isalpha(static_cast<unsigned char>(cc[1]))) {
            error(line_of(*find(s, "country_code")), join(s, "country_code"),
                  "must be two letters (ISO 3166-1 alpha-2)");
        } else {
            for (char& c : cc) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            cfg_.probe.country_code = cc;
        }
    }
}

void Parser::parse_dpdk(const Section& root) {
    const Section s = table(root, "dpdk");
    DpdkSection& d = cfg_.dpdk;
    check_keys(s, {"eal_args", "workers", "ports", "rx_queues", "rx_descriptors", "mbufs", "burst",
                   "max_media_flows", "max_fragments", "offline_order", "holdback_ms",
                   "holdback_packets"});
    read_string_list(s, "eal_args", d.eal_args);
    read_uint(s, "workers", d.workers, 1, kMaxWorkers);
    std::vector<uint32_t> lines;
    if (read_string_list(s, "ports", d.ports, &lines)) {
        std::set<std::string> seen;
        for (size_t i = 0; i < d.ports.size(); ++i) {
            const std::string key = "dpdk.ports[" + std::to_string(i) + "]";
            if (!is_pci_address(d.ports[i]) && !is_vdev(d.ports[i]))
                error(lines[i], key,
                      "not a PCI address (0000:01:00.0) or a vdev string (net_pcap0,...)");
            else if (!seen.insert(d.ports[i]).second)
                error(lines[i], key, "the same port is listed twice");
        }
    }
    d.rx_queues = d.workers;
    read_uint(s, "rx_queues", d.rx_queues, 1, 1024);
    if (read_uint(s, "rx_descriptors", d.rx_descriptors, 64, 32768) &&
        (d.rx_descriptors & (d.rx_descriptors - 1)) != 0)
        error(line_of(*find(s, "rx_descriptors")), "dpdk.rx_descriptors", "must be a power of two");
    read_uint(s, "mbufs", d.mbufs, 1023, 1u << 26);
    read_uint(s, "burst", d.burst, 1, 512);
    read_uint(s, "max_media_flows", d.max_media_flows, 1024, 1u << 26);
    read_uint(s, "max_fragments", d.max_fragments, 16, 1u << 20);
    read_uint(s, "holdback_ms", d.holdback_ms, 0, 1000);
    read_uint(s, "holdback_packets", d.holdback_packets, 16, 1u << 20);
    std::string order;
    if (read_string(s, "offline_order", order)) {
        if (order == "capture" || order == "arrival")
            d.offline_capture_order = order == "capture";
        else
            error(line_of(*find(s, "offline_order")), "dpdk.offline_order",
                  "must be \"capture\" or \"arrival\"");
    }

    // The pool must fill every RX ring and still leave bursts for the workers.
    const uint64_t ports = std::max<size_t>(d.ports.size(), 1);
    const uint64_t needed =
        ports * d.rx_queues * d.rx_descriptors + uint64_t{d.workers} * d.burst * 2;
    if (d.mbufs < needed)
        warn(find(s, "mbufs") ? line_of(*find(s, "mbufs")) : s.line, "dpdk.mbufs",
             std::to_string(d.mbufs) + " mbufs cannot fill the RX rings (" +
                 std::to_string(needed) + " needed): packets will be missed");
}

void Parser::parse_sip(const Section& root) {
    const Section s = table(root, "sip");
    check_keys(
        s, {"ports", "dialog_timeout", "unconfirmed_timeout", "max_dialogs", "max_tcp_streams"});
    if (const Value* v = typed(s, "ports", toml::value_t::array, "a list of port numbers", false)) {
        cfg_.sip.ports.clear();
        const Array& items = v->as_array();
        for (size_t i = 0; i < items.size(); ++i) {
            const std::string key = "sip.ports[" + std::to_string(i) + "]";
            if (!items[i].is_integer() || items[i].as_integer() < 1 ||
                items[i].as_integer() > 65535) {
                error(line_of(items[i]), key, "must be a port number from 1 to 65535");
                continue;
            }
            const auto port = static_cast<uint16_t>(items[i].as_integer());
            if (std::find(cfg_.sip.ports.begin(), cfg_.sip.ports.end(), port) !=
                cfg_.sip.ports.end()) {
                error(line_of(items[i]), key, "the same port is listed twice");
                continue;
            }
            cfg_.sip.ports.push_back(port);
        }
    }
    read_uint(s, "dialog_timeout", cfg_.sip.dialog_timeout_s, 1, 7 * 86400);
    read_uint(s, "unconfirmed_timeout", cfg_.sip.unconfirmed_timeout_s, 1, 3600);
    read_uint(s, "max_dialogs", cfg_.sip.max_dialogs, 16, 1u << 24);
    read_uint(s, "max_tcp_streams", cfg_.sip.max_tcp_streams, 0, 1u << 20);
}

void Parser::parse_keys(const Section& root) {
    const Section s = table(root, "keys");
    check_keys(s, {"pending_ms", "pending_packets", "preload", "max_mkis", "sdes_contexts"});
    read_uint(s, "pending_ms", cfg_.keys.pending_ms, 0, 60000);
    read_uint(s, "pending_packets", cfg_.keys.pending_packets, 0, 1u << 20);
    read_path(s, "preload", cfg_.keys.preload);
    read_uint(s, "max_mkis", cfg_.keys.max_mkis, 1024, 1u << 24);
    read_uint(s, "sdes_contexts", cfg_.keys.sdes_contexts, 0, 1u << 22);
}

void Parser::parse_control(const Section& root) {
    const Section s = table(root, "control");
    ControlSection& c = cfg_.control;
    check_keys(s, {"listen", "cert", "key", "client_ca", "client", "audit_log", "audit_salt",
                   "allow_insecure_key_files", "x1_state"});
    read_host_port(s, "listen", c.listen);
    read_bool(s, "allow_insecure_key_files", c.allow_insecure_key_files);
    read_path(s, "cert", c.cert);
    read_path(s, "key", c.key);
    read_path(s, "client_ca", c.client_ca);
    read_path(s, "audit_log", c.audit_log);
    read_string(s, "audit_salt", c.audit_salt, false);
    read_path(s, "x1_state", c.x1_state);
    if (!c.listen.empty()) {
        for (const auto& [key, value] :
             {std::pair<const char*, const std::string*>{"cert", &c.cert},
              {"key", &c.key},
              {"client_ca", &c.client_ca},
              {"audit_log", &c.audit_log},
              {"audit_salt", &c.audit_salt}}) {
            if (value->empty())
                error(find(s, key) ? line_of(*find(s, key)) : s.line, join(s, key),
                      "required when control.listen is set");
        }
    }
    // The salt is what keeps hashed identities in the audit log from being reversed by trying
    // candidate URIs: it must not be guessable (its value is never quoted).
    if (!c.audit_salt.empty() && c.audit_salt.size() < 16)
        error(line_of(*find(s, "audit_salt")), join(s, "audit_salt"),
              "too short: use at least 16 random characters");
    std::set<std::string> subjects;
    for (const Section& client : table_array(s, "client", "control.client")) {
        check_keys(client, {"subject", "roles"});
        ControlClient entry;
        if (read_string(client, "subject", entry.subject, true)) {
            const uint32_t line = line_of(*find(client, "subject"));
            if (entry.subject.empty())
                error(line, join(client, "subject"), "must not be empty");
            else if (!subjects.insert(entry.subject).second)
                error(line, join(client, "subject"), "the same subject is listed twice");
        }
        std::vector<std::string> roles;
        std::vector<uint32_t> lines;
        if (find(client, "roles") == nullptr) {
            error(client.line, join(client, "roles"), "required key is missing");
        } else if (read_string_list(client, "roles", roles, &lines)) {
            if (roles.empty())
                error(line_of(*find(client, "roles")), join(client, "roles"),
                      "must name at least one role (keys, x1, read)");
            for (size_t i = 0; i < roles.size(); ++i) {
                const std::string key = join(client, "roles") + "[" + std::to_string(i) + "]";
                uint8_t bit = 0;
                if (roles[i] == "keys") bit = kRoleKeys;
                if (roles[i] == "x1") bit = kRoleX1;
                if (roles[i] == "read") bit = kRoleRead;
                if (bit == 0)
                    error(lines[i], key, "unknown role '" + roles[i] + "' (keys, x1 or read)");
                else if ((entry.roles & bit) != 0)
                    error(lines[i], key, "the same role is listed twice");
                entry.roles |= bit;
            }
        }
        c.clients.push_back(std::move(entry));
    }
    if (!c.listen.empty() && c.clients.empty())
        warn(s.line, "control.client",
             "no clients are configured: every API request will be refused");
}

void Parser::parse_metrics(const Section& root) {
    const Section s = table(root, "metrics");
    check_keys(s, {"listen", "status_interval_s"});
    if (read_host_port(s, "listen", cfg_.metrics.listen) && !cfg_.metrics.listen.empty() &&
        !is_loopback_host(cfg_.metrics.listen.host))
        warn(line_of(*find(s, "listen")), "metrics.listen",
             "not a loopback address: /metrics is served without TLS or authentication");
    read_uint(s, "status_interval_s", cfg_.metrics.status_interval_s, 0, 86400);
}

void Parser::parse_export(const Section& root) {
    const Section s = table(root, "export");
    ExportSection& e = cfg_.exporter;
    check_keys(s, {"drain_timeout", "spool_dir", "buffer_mb", "spool_mb", "keepalive_s", "tls",
                   "cert", "key", "ca"});
    read_bool(s, "tls", e.tls);
    read_path(s, "cert", e.cert);
    read_path(s, "key", e.key);
    read_path(s, "ca", e.ca);
    if (e.tls && (!e.cert.empty() || !e.key.empty() || !e.ca.empty()))
        for (const auto& [key, value] :
             {std::pair<const char*, const std::string*>{"cert", &e.cert},
              {"key", &e.key},
              {"ca", &e.ca}})
            if (value->empty())
                error(find(s, key) ? line_of(*find(s, key)) : s.line, join(s, key),
                      "required with the other TLS settings of [export] (X1 destinations)");
    read_uint(s, "drain_timeout", e.drain_timeout_s, 0, 3600);
    read_path(s, "spool_dir", e.spool_dir);
    read_uint(s, "buffer_mb", e.buffer_mb, 1, 65536);
    read_uint(s, "spool_mb", e.spool_mb, 0, 1u << 24);
    read_uint(s, "keepalive_s", e.keepalive_s, 1, 3600);
}

void Parser::parse_destinations(const Section& root) {
    std::set<std::string> ids;
    for (const Section& s : table_array(root, "destination", "destination")) {
        check_keys(s, {"id", "address", "format", "tls", "cert", "key", "ca", "server_name",
                       "buffer_mb", "spool_mb", "keepalive_s"});
        Destination d;
        d.buffer_mb = cfg_.exporter.buffer_mb;
        d.spool_mb = cfg_.exporter.spool_mb;
        d.keepalive_s = cfg_.exporter.keepalive_s;
        if (read_string(s, "id", d.id, true)) {
            const uint32_t line = line_of(*find(s, "id"));
            const bool valid_chars = std::all_of(d.id.begin(), d.id.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                       c == '-';
            });
            if (d.id.empty() || d.id.size() > 64 || !valid_chars)
                error(line, join(s, "id"), "must be 1 to 64 letters, digits, '.', '_' or '-'");
            else if (!ids.insert(d.id).second)
                error(line, join(s, "id"), "another destination has the id '" + d.id + "'");
        }
        if (find(s, "address") == nullptr)
            error(s.line, join(s, "address"), "required key is missing");
        else if (read_host_port(s, "address", d.address) && d.address.empty())
            error(line_of(*find(s, "address")), join(s, "address"), "must not be empty");
        std::string format;
        if (read_string(s, "format", format)) {
            if (format == "etsi102232")
                d.format = ExportFormat::etsi102232;
            else if (format == "x3")
                d.format = ExportFormat::x3;
            else
                error(line_of(*find(s, "format")), join(s, "format"),
                      "must be \"etsi102232\" or \"x3\"");
        }
        read_bool(s, "tls", d.tls);
        read_path(s, "cert", d.cert);
        read_path(s, "key", d.key);
        read_path(s, "ca", d.ca);
        d.server_name = d.address.host;
        read_string(s, "server_name", d.server_name);
        read_uint(s, "buffer_mb", d.buffer_mb, 1, 65536);
        read_uint(s, "spool_mb", d.spool_mb, 0, 1u << 24);
        read_uint(s, "keepalive_s", d.keepalive_s, 1, 3600);
        if (d.tls) {
            for (const auto& [key, value] :
                 {std::pair<const char*, const std::string*>{"cert", &d.cert},
                  {"key", &d.key},
                  {"ca", &d.ca}}) {
                if (value->empty())
                    error(find(s, key) ? line_of(*find(s, key)) : s.line, join(s, key),
                          "required (TLS with mutual authentication is mandatory)");
            }
        } else if (!d.address.empty()) {
            const uint32_t line = line_of(*find(s, "tls"));
            if (is_loopback_host(d.address.host))
                warn(line, join(s, "tls"),
                     "TLS is off for this destination: lab use on loopback only");
            else
                error(line, join(s, "tls"), "false is allowed only for a loopback address");
        }
        destination_lines_.push_back(s.line);
        cfg_.destinations.push_back(std::move(d));
    }
}

void Parser::parse_warrants(const Section& root) {
    std::set<std::string> liids;
    std::set<std::array<uint8_t, 16>> xids;
    std::set<std::string> used_destinations;
    for (const Section& s : table_array(root, "warrant", "warrant")) {
        check_keys(s, {"liid", "targets", "destinations", "deliver", "sdes", "not_before",
                       "not_after", "xid"});
        Warrant w;
        read_identity(s, "liid", w.liid, 25);
        if (!w.liid.empty() && !liids.insert(w.liid).second)
            error(line_of(*find(s, "liid")), join(s, "liid"), "another warrant has the same LIID");

        std::vector<uint32_t> lines;
        if (find(s, "targets") == nullptr) {
            error(s.line, join(s, "targets"), "required key is missing");
        } else if (read_string_list(s, "targets", w.targets, &lines)) {
            if (w.targets.empty())
                error(line_of(*find(s, "targets")), join(s, "targets"),
                      "must name at least one target");
            for (size_t i = 0; i < w.targets.size(); ++i) {
                const std::string key = join(s, "targets") + "[" + std::to_string(i) + "]";
                if (auto problem = target_problem(w.targets[i])) {
                    error(lines[i], key, *problem);
                    continue;
                }
                for (size_t j = 0; j < i; ++j) {
                    if (w.targets[j] == w.targets[i]) {
                        error(lines[i], key,
                              "the same target as targets[" + std::to_string(j) + "]");
                        break;
                    }
                }
            }
        }

        lines.clear();
        if (find(s, "destinations") == nullptr) {
            error(s.line, join(s, "destinations"), "required key is missing");
        } else if (read_string_list(s, "destinations", w.destinations, &lines)) {
            if (w.destinations.empty())
                error(line_of(*find(s, "destinations")), join(s, "destinations"),
                      "must name at least one destination");
            for (size_t i = 0; i < w.destinations.size(); ++i) {
                const std::string& id = w.destinations[i];
                const std::string key = join(s, "destinations") + "[" + std::to_string(i) + "]";
                if (cfg_.find_destination(id) == nullptr)
                    error(lines[i], key, "no [[destination]] has the id '" + id + "'");
                else if (std::find(w.destinations.begin(), w.destinations.begin() + i, id) !=
                         w.destinations.begin() + i)
                    error(lines[i], key, "the same destination is listed twice");
                used_destinations.insert(id);
            }
        }

        std::string deliver;
        if (read_string(s, "deliver", deliver)) {
            if (deliver == "decrypted")
                w.deliver = DeliverMode::decrypted;
            else if (deliver == "encrypted")
                w.deliver = DeliverMode::encrypted;
            else if (deliver == "both")
                w.deliver = DeliverMode::both;
            else
                error(line_of(*find(s, "deliver")), join(s, "deliver"),
                      "must be \"decrypted\", \"encrypted\" or \"both\"");
        }
        read_bool(s, "sdes", w.sdes);
        read_time(s, "not_before", w.not_before_us);
        read_time(s, "not_after", w.not_after_us);
        if (w.not_before_us && w.not_after_us && *w.not_after_us <= *w.not_before_us)
            error(line_of(*find(s, "not_after")), join(s, "not_after"),
                  "must be later than not_before");

        std::string xid;
        if (read_string(s, "xid", xid)) {
            bool valid = xid.size() == 36;
            std::array<uint8_t, 16> bytes{};
            for (size_t i = 0, b = 0; valid && i < xid.size(); ++i) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                    valid = xid[i] == '-';
                    continue;
                }
                if (!is_hex(xid[i]) || !is_hex(xid[i + 1])) {
                    valid = false;
                    break;
                }
                bytes[b++] = static_cast<uint8_t>(std::stoi(xid.substr(i, 2), nullptr, 16));
                ++i;
            }
            if (valid)
                w.xid = bytes;
            else
                error(line_of(*find(s, "xid")), join(s, "xid"),
                      "not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
        } else {
            w.xid = derive_xid(w.liid);
        }
        // A derived XID repeats only with its LIID, which is reported above.
        if (!xids.insert(w.xid).second && find(s, "xid") != nullptr)
            error(line_of(*find(s, "xid")), join(s, "xid"), "another warrant has the same XID");
        cfg_.warrants.push_back(std::move(w));
    }
    for (size_t i = 0; i < cfg_.destinations.size(); ++i) {
        const std::string& id = cfg_.destinations[i].id;
        if (!id.empty() && used_destinations.count(id) == 0)
            warn(destination_lines_[i], "destination[" + std::to_string(i) + "]",
                 "'" + id + "' is not used by any warrant");
    }
}

// The first line of a toml11 message without its "[error] toml::function: " prefix. toml11's
// first lines name keys and types, never values; the excerpt lines that follow quote the file
// and are dropped because they may hold targets or key paths.
std::string syntax_problem(const std::string& what) {
    std::string line = what.substr(0, what.find('\n'));
    if (line.rfind("[error] ", 0) == 0) line = line.substr(8);
    const size_t colon = line.find(": ");
    if (colon != std::string::npos &&
        std::all_of(line.begin(), line.begin() + static_cast<long>(colon), [](char c) {
            return std::islower(static_cast<unsigned char>(c)) || c == '_' || c == ':';
        }))
        line = line.substr(colon + 2);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return "TOML syntax error: " + line;
}

}  // namespace

std::string Diagnostic::text() const {
    std::string out = file;
    if (line != 0) out += ":" + std::to_string(line);
    out += ": ";
    if (!key.empty()) out += key + ": ";
    return out + problem;
}

std::string HostPort::text() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

const Destination* Config::find_destination(const std::string& id) const {
    for (const Destination& d : destinations)
        if (d.id == id) return &d;
    return nullptr;
}

LoadResult parse_config(const std::string& text, const std::string& file,
                        const std::string& base_dir) {
    LoadResult result;
    result.config.file = file;
    Value root;
    if (const auto [line, column] = first_invalid_utf8(text); line != 0) {
        result.errors.push_back({file, line, column, "", "not valid UTF-8 (TOML requires UTF-8)"});
        return result;
    }
    try {
        std::istringstream in(text);
        root = toml::parse<toml::discard_comments, std::map, std::vector>(in, file);
    } catch (const toml::exception& e) {
        result.errors.push_back(
            {file, static_cast<uint32_t>(e.location().line()), 0, "", syntax_problem(e.what())});
        return result;
    } catch (const std::exception& e) {
        result.errors.push_back({file, 0, 0, "", syntax_problem(e.what())});
        return result;
    }
    Parser(result, base_dir).run(root);
    auto by_line = [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; };
    std::stable_sort(result.errors.begin(), result.errors.end(), by_line);
    std::stable_sort(result.warnings.begin(), result.warnings.end(), by_line);
    return result;
}

LoadResult load_config(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    std::string text;
    int read_errno = 0;
    if (f == nullptr) {
        read_errno = errno;
    } else {
        char buf[65536];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
        if (std::ferror(f)) read_errno = errno != 0 ? errno : EIO;
        std::fclose(f);
    }
    if (read_errno != 0) {
        LoadResult result;
        result.config.file = path;
        result.errors.push_back(
            {path, 0, 0, "", std::string("cannot read the file: ") + std::strerror(read_errno)});
        return result;
    }
    return parse_config(text, path, std::filesystem::path(path).parent_path().string());
}

}  // namespace liprobe::control
