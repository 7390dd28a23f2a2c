// The liprobe configuration (design.md 3.2): a TOML file turned into a validated Config. Control
// plane only. Every problem is reported as a Diagnostic naming the file, the line when known, the
// dotted key ("warrant[1].destinations[0]") and what is wrong. Target identities, LIIDs and key
// material are never quoted in diagnostics. Unknown keys are errors so that typos cannot pass.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace liprobe::control {

struct Diagnostic {
    std::string file;   // the config file as named by the caller
    uint32_t line = 0;  // 1-based; 0 when the problem has no single place in the file
    uint32_t column = 0;
    std::string key;      // dotted path, e.g. "warrant[0].targets[2]"; empty for syntax errors
    std::string problem;  // never contains secrets or target identities
    // "FILE:LINE: KEY: PROBLEM" (line and key left out when unknown).
    std::string text() const;
};

struct HostPort {
    std::string host;  // IPv4, IPv6 (without brackets) or DNS name
    uint16_t port = 0;
    bool empty() const { return host.empty(); }
    std::string text() const;  // "host:port", "[v6]:port"
    bool operator==(const HostPort&) const = default;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

enum class ExportFormat : uint8_t { etsi102232, x3 };
enum class DeliverMode : uint8_t { decrypted, encrypted, both };

// [[control.client]] roles, as a bit set.
enum RoleBits : uint8_t { kRoleKeys = 1, kRoleX1 = 2, kRoleRead = 4 };

struct ProbeSection {
    std::string network_element_id;  // 1..16 octets (required)
    std::string operator_id;         // 1..16 octets (required)
    std::string country_code;        // 2 letters, stored upper case (required)
};

struct DpdkSection {
    std::vector<std::string> eal_args;  // extra EAL arguments; empty = liprobe's defaults
    uint32_t workers = 1;               // worker lcores
    std::vector<std::string> ports;     // PCI addresses or vdev strings
    uint32_t rx_queues = 1;             // per port; defaults to `workers`
    uint32_t rx_descriptors = 1024;     // per RX queue
    uint32_t mbufs = 8191;              // mbuf pool size
    uint32_t burst = 32;                // rx_burst size
    uint32_t max_media_flows = 65536;   // shared media flow table entries
    uint32_t max_fragments = 4096;      // per worker IP reassembly entries
    // --pcap with workers > 1: keep the outcome of one worker ("capture") or let the workers run
    // free ("arrival": faster, but media may overtake the SIP that installs its flow).
    bool offline_capture_order = true;
    // With several workers on live ports (or offline_order = "arrival"): RTP-looking packets of a
    // UDP flow first seen less than holdback_ms ago and not (yet) in the media flow table wait
    // that long (packet time) for the SIP on another worker to install their flow. 0: off.
    uint32_t holdback_ms = 20;
    uint32_t holdback_packets = 512;  // per worker; beyond it the oldest is released at once
};

struct SipSection {
    std::vector<uint16_t> ports{5060};
    uint32_t dialog_timeout_s = 3600;
    uint32_t unconfirmed_timeout_s = 32;  // a dialog without a response (RFC 3261 Timer B)
    uint32_t max_dialogs = 65536;
    uint32_t max_tcp_streams = 4096;
};

struct KeysSection {
    uint32_t pending_ms = 2000;
    uint32_t pending_packets = 4096;
    std::string preload;  // resolved path, empty = none
    uint32_t max_mkis = 1u << 20;
    // SDES contexts (keys of a=crypto lines in intercepted SDP: one per key, side and m= line),
    // shared out among the workers; locked key memory, about 2.5 KiB each. 0: SDES off.
    uint32_t sdes_contexts = 8192;
};

struct ControlClient {
    std::string subject;
    uint8_t roles = 0;  // RoleBits
};

struct ControlSection {
    HostPort listen;                   // empty = the HTTPS API is off
    std::string cert, key, client_ca;  // resolved paths
    std::vector<ControlClient> clients;
    std::string audit_log;   // resolved path of the JSON-lines audit log (required with listen)
    std::string audit_salt;  // per-deployment salt of the audit hashes (required with listen)
    // Lab use only: a private key file (control.key, destination keys) readable by group or
    // others is a warning instead of a refusal to start.
    bool allow_insecure_key_files = false;
    // X1 tasks and destinations (x1/task_store.hpp) survive a restart in this file (resolved
    // path; mode 0600, written atomically). Empty: X1 state lives in memory only.
    std::string x1_state;
};

struct MetricsSection {
    HostPort listen{"127.0.0.1", 9580};  // empty = off
    uint32_t status_interval_s = 10;     // 0 = no periodic status line
};

struct ExportSection {
    uint32_t drain_timeout_s = 10;
    std::string spool_dir = "/var/spool/liprobe";  // resolved; empty = no disk spool
    uint32_t buffer_mb = 64;
    uint32_t spool_mb = 1024;
    uint32_t keepalive_s = 30;
    // TLS for destinations created over X1 (which carry only an address): the client
    // certificate, key and CA the probe uses towards them. tls = false: loopback lab use only.
    bool tls = true;
    std::string cert, key, ca;  // resolved paths
};

struct Destination {
    std::string id;
    HostPort address;
    ExportFormat format = ExportFormat::etsi102232;
    bool tls = true;
    std::string cert, key, ca;  // resolved paths (required when tls)
    std::string server_name;    // defaults to the address host
    uint32_t buffer_mb = 0;     // defaults from [export]
    uint32_t spool_mb = 0;
    uint32_t keepalive_s = 0;
};

struct Warrant {
    std::string liid;                       // 1..25 octets
    std::vector<std::string> targets;       // SIP, SIPS or tel URIs, as written
    std::vector<std::string> destinations;  // Destination ids
    DeliverMode deliver = DeliverMode::decrypted;
    std::optional<int64_t> not_before_us;  // Unix microseconds
    std::optional<int64_t> not_after_us;
    bool sdes = true;               // decrypt SDES calls with the keys of their own SDP (RFC 4568)
    std::array<uint8_t, 16> xid{};  // TS 103 221-1 XID: given, or derived from the LIID
};

struct Config {
    std::string file;  // as named by the caller
    ProbeSection probe;
    DpdkSection dpdk;
    SipSection sip;
    KeysSection keys;
    ControlSection control;
    MetricsSection metrics;
    ExportSection exporter;  // [export]
    std::vector<Destination> destinations;
    std::vector<Warrant> warrants;

    const Destination* find_destination(const std::string& id) const;
};

struct LoadResult {
    Config config;  // meaningful only when ok()
    std::vector<Diagnostic> errors;
    std::vector<Diagnostic> warnings;
    bool ok() const { return errors.empty(); }
};

// Reads and validates the file. Relative paths inside it are resolved against its directory.
LoadResult load_config(const std::string& path);
// The same from text: `file` names it in diagnostics, `base_dir` resolves relative paths.
LoadResult parse_config(const std::string& text, const std::string& file,
                        const std::string& base_dir);

// Every file the config names is readable and of the right kind (PEM certificates and keys
// that match, private keys not readable by group or others, preload JSON), and the spool
// directory is usable. Appends to result. Runs before every start.
// FileCheck::full (--check) also derives the preload keys exactly as the run loads them
// (keys::derive_keys, the key table's install checks included) and makes each refused entry
// an error naming keys[index] and the field; a run refuses them itself, with a warning each.
enum class FileCheck { run, full };
void check_files(LoadResult& result, FileCheck mode = FileCheck::run);

// RFC 3339 date-time with offset (e.g. 2025-01-31T08:00:00.5+01:00) to Unix microseconds.
std::optional<int64_t> parse_rfc3339(const std::string& text);
// "SIP URI", "tel URI": nullopt when `target` is a valid identity, else the problem (which never
// quotes the target).
std::optional<std::string> target_problem(const std::string& target);
// XID for a warrant without one: a version 8 UUID from SHA-256("liprobe-xid" 0x00 LIID), stable
// across restarts so that a LEMF sees the same XID for the same warrant.
std::array<uint8_t, 16> derive_xid(const std::string& liid);
std::string xid_text(const std::array<uint8_t, 16>& xid);

}  // namespace liprobe::control
