// The configuration model of design.md 3.2: every key with its default, every key parsed, and
// the helpers (RFC 3339, target syntax, XID). Error messages are tested through the binary in
// test_cli.cpp.
#include <gtest/gtest.h>

#include <string>

#include "liprobe/control/config.hpp"

namespace liprobe::control {
namespace {

constexpr const char* kMinimal = R"(
[probe]
network_element_id = "probe-1"
operator_id = "operator-1"
country_code = "de"
)";

std::string errors_of(const LoadResult& r) {
    std::string out;
    for (const auto& e : r.errors) out += e.text() + "\n";
    return out;
}

TEST(ConfigDefaults, EveryKeyHasItsDocumentedDefault) {
    const LoadResult r = parse_config(kMinimal, "min.toml", "/etc/liprobe");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    EXPECT_TRUE(r.warnings.empty());
    const Config& c = r.config;
    EXPECT_EQ(c.file, "min.toml");
    EXPECT_EQ(c.probe.network_element_id, "probe-1");
    EXPECT_EQ(c.probe.operator_id, "operator-1");
    EXPECT_EQ(c.probe.country_code, "DE");  // stored upper case

    EXPECT_TRUE(c.dpdk.eal_args.empty());
    EXPECT_EQ(c.dpdk.workers, 1u);
    EXPECT_TRUE(c.dpdk.ports.empty());
    EXPECT_EQ(c.dpdk.rx_queues, 1u);
    EXPECT_EQ(c.dpdk.rx_descriptors, 1024u);
    EXPECT_EQ(c.dpdk.mbufs, 8191u);
    EXPECT_EQ(c.dpdk.burst, 32u);
    EXPECT_EQ(c.dpdk.max_media_flows, 65536u);
    EXPECT_EQ(c.dpdk.max_fragments, 4096u);
    EXPECT_EQ(c.dpdk.holdback_ms, 20u);
    EXPECT_EQ(c.dpdk.holdback_packets, 512u);
    EXPECT_TRUE(c.dpdk.offline_capture_order);

    EXPECT_EQ(c.sip.ports, std::vector<uint16_t>{5060});
    EXPECT_EQ(c.sip.dialog_timeout_s, 3600u);
    EXPECT_EQ(c.sip.unconfirmed_timeout_s, 32u);
    EXPECT_EQ(c.sip.max_dialogs, 65536u);
    EXPECT_EQ(c.sip.max_tcp_streams, 4096u);

    EXPECT_EQ(c.keys.pending_ms, 2000u);
    EXPECT_EQ(c.keys.pending_packets, 4096u);
    EXPECT_EQ(c.keys.preload, "");
    EXPECT_EQ(c.keys.max_mkis, 1048576u);
    EXPECT_EQ(c.keys.sdes_contexts, 8192u);

    EXPECT_TRUE(c.control.listen.empty());
    EXPECT_EQ(c.control.cert, "");
    EXPECT_EQ(c.control.key, "");
    EXPECT_EQ(c.control.client_ca, "");
    EXPECT_TRUE(c.control.clients.empty());

    EXPECT_EQ(c.metrics.listen.text(), "127.0.0.1:9580");
    EXPECT_EQ(c.metrics.status_interval_s, 10u);

    EXPECT_EQ(c.exporter.drain_timeout_s, 10u);
    EXPECT_EQ(c.exporter.spool_dir, "/var/spool/liprobe");
    EXPECT_EQ(c.exporter.buffer_mb, 64u);
    EXPECT_EQ(c.exporter.spool_mb, 1024u);
    EXPECT_EQ(c.exporter.keepalive_s, 30u);

    EXPECT_TRUE(c.destinations.empty());
    EXPECT_TRUE(c.warrants.empty());
}

TEST(ConfigDefaults, DestinationAndWarrantDefaults) {
    const std::string text = std::string(kMinimal) + R"(
[export]
buffer_mb = 16
spool_mb = 100
keepalive_s = 5
[[destination]]
id = "lemf1"
address = "lemf.example.net:4443"
cert = "tls/probe.pem"
key = "tls/probe.key"
ca = "/etc/ssl/lemf-ca.pem"
[[warrant]]
liid = "LIID-1"
targets = ["sip:alice@example.org"]
destinations = ["lemf1"]
)";
    const LoadResult r = parse_config(text, "d.toml", "/etc/liprobe");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    ASSERT_EQ(r.config.destinations.size(), 1u);
    const Destination& d = r.config.destinations[0];
    EXPECT_EQ(d.id, "lemf1");
    EXPECT_EQ(d.address.host, "lemf.example.net");
    EXPECT_EQ(d.address.port, 4443);
    EXPECT_EQ(d.format, ExportFormat::etsi102232);
    EXPECT_TRUE(d.tls);
    EXPECT_EQ(d.cert, "/etc/liprobe/tls/probe.pem");  // relative to the config's directory
    EXPECT_EQ(d.key, "/etc/liprobe/tls/probe.key");
    EXPECT_EQ(d.ca, "/etc/ssl/lemf-ca.pem");
    EXPECT_EQ(d.server_name, "lemf.example.net");  // from the address
    EXPECT_EQ(d.buffer_mb, 16u);                   // from [export]
    EXPECT_EQ(d.spool_mb, 100u);
    EXPECT_EQ(d.keepalive_s, 5u);

    ASSERT_EQ(r.config.warrants.size(), 1u);
    const Warrant& w = r.config.warrants[0];
    EXPECT_EQ(w.deliver, DeliverMode::decrypted);
    EXPECT_TRUE(w.sdes);
    EXPECT_FALSE(w.not_before_us.has_value());
    EXPECT_FALSE(w.not_after_us.has_value());
    EXPECT_EQ(w.xid, derive_xid("LIID-1"));
    EXPECT_EQ(r.config.find_destination("lemf1"), &d);
    EXPECT_EQ(r.config.find_destination("lemf2"), nullptr);
}

TEST(ConfigParse, EveryKeyIsRead) {
    const std::string text = R"(
[probe]
network_element_id = "ne-0123456789abc"
operator_id = "OP"
country_code = "FR"
[dpdk]
eal_args = ["-l", "0-4", "--huge-dir=/mnt/huge"]
workers = 4
ports = ["0000:3b:00.0", "3b:00.1,rxq_cqe_comp_en=1", "net_pcap0,rx_pcap=in.pcap"]
rx_queues = 2
rx_descriptors = 2048
mbufs = 65535
burst = 64
max_media_flows = 131072
max_fragments = 8192
[sip]
ports = [5060, 5070]
dialog_timeout = 600
max_dialogs = 1000
max_tcp_streams = 0
[keys]
pending_ms = 500
pending_packets = 100
preload = "keys.json"
max_mkis = 4096
[control]
listen = "[::1]:8443"
cert = "api.pem"
key = "api.key"
client_ca = "clients.pem"
audit_log = "audit.jsonl"
audit_salt = "0123456789abcdef0123"
[[control.client]]
subject = "CN=mf1,O=Operator"
roles = ["keys", "read"]
[[control.client]]
subject = "CN=admf"
roles = ["x1"]
[metrics]
listen = ""
status_interval_s = 0
[export]
drain_timeout = 30
spool_dir = "spool"
buffer_mb = 8
spool_mb = 0
keepalive_s = 60
[[destination]]
id = "lemf-a"
address = "192.0.2.10:6000"
format = "x3"
tls = true
cert = "a.pem"
key = "a.key"
ca = "ca.pem"
server_name = "lemf-a.example"
buffer_mb = 2
spool_mb = 5
keepalive_s = 7
[[destination]]
id = "lab"
address = "[::1]:7000"
tls = false
[[warrant]]
liid = "1234567890123456789012345"
targets = ["sips:Bob@Example.COM;transport=tls", "tel:+1-202-555-0100", "sip:[2001:db8::1]"]
destinations = ["lemf-a", "lab"]
deliver = "both"
not_before = 2025-01-31T06:00:00Z
not_after = "2025-01-31T08:00:00.25+01:00"
xid = "01234567-89AB-cdef-0123-456789abcdef"
[[warrant]]
liid = "L2"
targets = ["sip:grp@mcptt.example.org"]
destinations = ["lab"]
deliver = "encrypted"
sdes = false
)";
    const LoadResult r = parse_config(text, "full.toml", "/opt/lp");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    const Config& c = r.config;
    EXPECT_EQ(c.probe.network_element_id, "ne-0123456789abc");
    EXPECT_EQ(c.probe.operator_id, "OP");
    EXPECT_EQ(c.probe.country_code, "FR");
    EXPECT_EQ(c.dpdk.eal_args, (std::vector<std::string>{"-l", "0-4", "--huge-dir=/mnt/huge"}));
    EXPECT_EQ(c.dpdk.workers, 4u);
    EXPECT_EQ(c.dpdk.ports, (std::vector<std::string>{"0000:3b:00.0", "3b:00.1,rxq_cqe_comp_en=1",
                                                      "net_pcap0,rx_pcap=in.pcap"}));
    EXPECT_EQ(c.dpdk.rx_queues, 2u);
    EXPECT_EQ(c.dpdk.rx_descriptors, 2048u);
    EXPECT_EQ(c.dpdk.mbufs, 65535u);
    EXPECT_EQ(c.dpdk.burst, 64u);
    EXPECT_EQ(c.dpdk.max_media_flows, 131072u);
    EXPECT_EQ(c.dpdk.max_fragments, 8192u);
    EXPECT_EQ(c.sip.ports, (std::vector<uint16_t>{5060, 5070}));
    EXPECT_EQ(c.sip.dialog_timeout_s, 600u);
    EXPECT_EQ(c.sip.max_dialogs, 1000u);
    EXPECT_EQ(c.sip.max_tcp_streams, 0u);
    EXPECT_EQ(c.keys.pending_ms, 500u);
    EXPECT_EQ(c.keys.pending_packets, 100u);
    EXPECT_EQ(c.keys.preload, "/opt/lp/keys.json");
    EXPECT_EQ(c.keys.max_mkis, 4096u);
    EXPECT_EQ(c.control.listen.host, "::1");
    EXPECT_EQ(c.control.listen.port, 8443);
    EXPECT_EQ(c.control.listen.text(), "[::1]:8443");
    EXPECT_EQ(c.control.cert, "/opt/lp/api.pem");
    EXPECT_EQ(c.control.key, "/opt/lp/api.key");
    EXPECT_EQ(c.control.client_ca, "/opt/lp/clients.pem");
    EXPECT_EQ(c.control.audit_log, "/opt/lp/audit.jsonl");
    EXPECT_EQ(c.control.audit_salt, "0123456789abcdef0123");
    ASSERT_EQ(c.control.clients.size(), 2u);
    EXPECT_EQ(c.control.clients[0].subject, "CN=mf1,O=Operator");
    EXPECT_EQ(c.control.clients[0].roles, kRoleKeys | kRoleRead);
    EXPECT_EQ(c.control.clients[1].subject, "CN=admf");
    EXPECT_EQ(c.control.clients[1].roles, kRoleX1);
    EXPECT_TRUE(c.metrics.listen.empty());
    EXPECT_EQ(c.metrics.status_interval_s, 0u);
    EXPECT_EQ(c.exporter.drain_timeout_s, 30u);
    EXPECT_EQ(c.exporter.spool_dir, "/opt/lp/spool");
    EXPECT_EQ(c.exporter.buffer_mb, 8u);
    EXPECT_EQ(c.exporter.spool_mb, 0u);
    EXPECT_EQ(c.exporter.keepalive_s, 60u);

    ASSERT_EQ(c.destinations.size(), 2u);
    const Destination& a = c.destinations[0];
    EXPECT_EQ(a.id, "lemf-a");
    EXPECT_EQ(a.address.text(), "192.0.2.10:6000");
    EXPECT_EQ(a.format, ExportFormat::x3);
    EXPECT_TRUE(a.tls);
    EXPECT_EQ(a.cert, "/opt/lp/a.pem");
    EXPECT_EQ(a.key, "/opt/lp/a.key");
    EXPECT_EQ(a.ca, "/opt/lp/ca.pem");
    EXPECT_EQ(a.server_name, "lemf-a.example");
    EXPECT_EQ(a.buffer_mb, 2u);
    EXPECT_EQ(a.spool_mb, 5u);
    EXPECT_EQ(a.keepalive_s, 7u);
    const Destination& lab = c.destinations[1];
    EXPECT_FALSE(lab.tls);
    EXPECT_EQ(lab.address.text(), "[::1]:7000");
    EXPECT_EQ(lab.buffer_mb, 8u);

    ASSERT_EQ(c.warrants.size(), 2u);
    const Warrant& w = c.warrants[0];
    EXPECT_EQ(w.liid, "1234567890123456789012345");
    EXPECT_EQ(w.targets, (std::vector<std::string>{"sips:Bob@Example.COM;transport=tls",
                                                   "tel:+1-202-555-0100", "sip:[2001:db8::1]"}));
    EXPECT_EQ(w.destinations, (std::vector<std::string>{"lemf-a", "lab"}));
    EXPECT_EQ(w.deliver, DeliverMode::both);
    EXPECT_EQ(w.not_before_us, int64_t{1738303200} * 1000000);  // Python datetime.timestamp()
    EXPECT_EQ(w.not_after_us, int64_t{1738306800} * 1000000 + 250000);  // +01:00 offset
    EXPECT_EQ(xid_text(w.xid), "01234567-89ab-cdef-0123-456789abcdef");
    EXPECT_EQ(c.warrants[1].deliver, DeliverMode::encrypted);
    EXPECT_TRUE(w.sdes);
    EXPECT_FALSE(c.warrants[1].sdes);

    // The only warning: the lab destination without TLS.
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0].text(),
              "full.toml:63: destination[1].tls: TLS is off for this destination: lab use on "
              "loopback only");
}

TEST(ConfigParse, SdesContextsAreReadAndBounded) {
    LoadResult r =
        parse_config(std::string(kMinimal) + "[keys]\nsdes_contexts = 0\n", "k.toml", "");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    EXPECT_EQ(r.config.keys.sdes_contexts, 0u);
    r = parse_config(std::string(kMinimal) + "[keys]\nsdes_contexts = 4194305\n", "k.toml", "");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(errors_of(r).find("keys.sdes_contexts"), std::string::npos) << errors_of(r);
}

TEST(ConfigParse, RxQueuesDefaultToWorkers) {
    const LoadResult r =
        parse_config(std::string(kMinimal) + "[dpdk]\nworkers = 3\n", "q.toml", "");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    EXPECT_EQ(r.config.dpdk.rx_queues, 3u);
}

TEST(ConfigParse, EmptySipPortListMeansContentDetectionOnly) {
    const LoadResult r = parse_config(std::string(kMinimal) + "[sip]\nports = []\n", "s.toml", "");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    EXPECT_TRUE(r.config.sip.ports.empty());
}

TEST(ConfigParse, UnconfirmedTimeoutIsReadAndBounded) {
    LoadResult r =
        parse_config(std::string(kMinimal) + "[sip]\nunconfirmed_timeout = 16\n", "u.toml", "");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    EXPECT_EQ(r.config.sip.unconfirmed_timeout_s, 16u);
    r = parse_config(std::string(kMinimal) + "[sip]\nunconfirmed_timeout = 0\n", "u.toml", "");
    EXPECT_FALSE(r.ok());
}

TEST(ConfigParse, MbufsThatCannotFillTheRingsGiveAWarning) {
    const LoadResult r = parse_config(std::string(kMinimal) +
                                          "[dpdk]\nworkers = 4\nports = [\"0000:01:00.0\", "
                                          "\"0000:01:00.1\"]\n",
                                      "m.toml", "");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    ASSERT_EQ(r.warnings.size(), 1u);
    // 2 ports x 4 queues x 1024 descriptors + 4 workers x 32 x 2 = 8448 > 8191.
    EXPECT_EQ(r.warnings[0].text(),
              "m.toml:6: dpdk.mbufs: 8191 mbufs cannot fill the RX rings (8448 needed): packets "
              "will be missed");
}

TEST(ConfigParse, AuditSaltMustBeLongAndIsNeverQuoted) {
    const LoadResult r = parse_config(std::string(kMinimal) +
                                          "[control]\nlisten = \"127.0.0.1:8443\"\n"
                                          "cert = \"a.pem\"\nkey = \"a.key\"\n"
                                          "client_ca = \"ca.pem\"\naudit_log = \"audit.jsonl\"\n"
                                          "audit_salt = \"short-salt\"\n",
                                      "s.toml", "/etc/liprobe");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].key, "control.audit_salt");
    EXPECT_EQ(r.errors[0].problem, "too short: use at least 16 random characters");
    EXPECT_EQ(r.errors[0].text().find("short-salt"), std::string::npos);
}

// TOML requires UTF-8; toml11 3.7 read past its buffer on this input (fuzz_config found it, the
// input is kept in tests/fuzz/regressions/config). Invalid text is refused before toml11 sees it.
TEST(ConfigParse, InvalidUtf8IsRefusedWithItsPlace) {
    const std::string crash(
        "'# li\xf0metri'\xdf"
        "F",
        15);
    LoadResult r = parse_config(crash, "u.toml", "");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].text(), "u.toml:1: not valid UTF-8 (TOML requires UTF-8)");
    EXPECT_EQ(r.errors[0].column, 6u);
    // Overlong form, surrogate, truncated sequence, beyond U+10FFFF: each refused on its line.
    for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80"}) {
        r = parse_config(std::string(kMinimal) + "# " + bad + "\n", "u.toml", "");
        ASSERT_EQ(r.errors.size(), 1u) << bad;
        EXPECT_EQ(r.errors[0].problem, "not valid UTF-8 (TOML requires UTF-8)");
        EXPECT_GT(r.errors[0].line, 1u);
    }
    // Valid multi-octet text (a comment and a string) is accepted.
    r = parse_config(std::string(kMinimal) + "# Zürich \xe2\x82\xac \xf0\x9f\x93\x9e\n", "u.toml",
                     "");
    EXPECT_TRUE(r.ok()) << errors_of(r);
}

TEST(ConfigParse, WorkerOrderKeys) {
    const LoadResult r = parse_config(std::string(kMinimal) +
                                          "[dpdk]\nholdback_ms = 0\nholdback_packets = 64\n"
                                          "offline_order = \"arrival\"\n",
                                      "w.toml", "");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    EXPECT_EQ(r.config.dpdk.holdback_ms, 0u);
    EXPECT_EQ(r.config.dpdk.holdback_packets, 64u);
    EXPECT_FALSE(r.config.dpdk.offline_capture_order);
    const LoadResult bad =
        parse_config(std::string(kMinimal) + "[dpdk]\noffline_order = \"fast\"\n", "w.toml", "");
    ASSERT_EQ(bad.errors.size(), 1u);
    EXPECT_EQ(bad.errors[0].text(),
              "w.toml:7: dpdk.offline_order: must be \"capture\" or \"arrival\"");
}

TEST(Rfc3339, ParsesAndRejects) {
    // Expected values from Python's datetime.timestamp().
    EXPECT_EQ(parse_rfc3339("2025-01-31T08:00:00Z"), int64_t{1738310400} * 1000000);
    EXPECT_EQ(parse_rfc3339("2025-01-31t08:00:00z"), int64_t{1738310400} * 1000000);
    EXPECT_EQ(parse_rfc3339("2025-01-31 09:00:00+01:00"), int64_t{1738310400} * 1000000);
    EXPECT_EQ(parse_rfc3339("2024-02-29T23:59:59.000001Z"), int64_t{1709251199} * 1000000 + 1);
    EXPECT_EQ(parse_rfc3339("1969-12-31T23:00:00Z"), int64_t{-3600} * 1000000);
    EXPECT_FALSE(parse_rfc3339("2025-02-29T00:00:00Z"));  // not a leap year
    EXPECT_FALSE(parse_rfc3339("2025-01-31T08:00:00"));   // no offset
    EXPECT_FALSE(parse_rfc3339("2025-01-31T24:00:00Z"));
    EXPECT_FALSE(parse_rfc3339("2025-01-31T08:00:00.Z"));
    EXPECT_FALSE(parse_rfc3339("2025-01-31T08:00:00+0100"));
    EXPECT_FALSE(parse_rfc3339("2025-01-31"));
    EXPECT_FALSE(parse_rfc3339(""));
}

TEST(Targets, SyntaxChecksNeverQuoteTheTarget) {
    for (const char* ok : {"sip:alice@example.org", "SIP:alice@example.org:5061;transport=tcp",
                           "sips:bob@[2001:db8::1]", "sip:example.org", "tel:+4930123456",
                           "tel:+1-(202)-555.0100;phone-context=x",
                           "sip:+4930123456;npdi@ims.example.net;user=phone"})
        EXPECT_EQ(target_problem(ok), std::nullopt) << ok;
    EXPECT_EQ(target_problem("alice@example.org"), "not a SIP or tel URI");
    EXPECT_EQ(target_problem("mailto:alice@example.org"), "not a SIP or tel URI");
    EXPECT_EQ(target_problem("sip:@example.org"), "SIP URI with an empty user part");
    EXPECT_EQ(target_problem("sip:alice@"), "SIP URI without a host");
    EXPECT_EQ(target_problem("sip:alice@exa_mple.org"), "SIP URI with an invalid host");
    EXPECT_EQ(target_problem("sip:alice @example.org"), "contains spaces or control characters");
    EXPECT_EQ(target_problem("tel:030123456"),
              "tel URI is not a global E.164 number (+ and 1 to 15 digits)");
    EXPECT_EQ(target_problem("tel:+1234567890123456"),
              "tel URI is not a global E.164 number (+ and 1 to 15 digits)");
}

TEST(Xid, DerivedFromTheLiidAsAVersion8Uuid) {
    const auto a = derive_xid("LIID-1");
    EXPECT_EQ(a, derive_xid("LIID-1"));
    EXPECT_NE(a, derive_xid("LIID-2"));
    EXPECT_EQ(a[6] >> 4, 8);
    EXPECT_EQ(a[8] >> 6, 2);
    const std::string text = xid_text(a);
    ASSERT_EQ(text.size(), 36u);
    EXPECT_EQ(text[14], '8');
}

TEST(Loopback, Hosts) {
    EXPECT_TRUE(is_loopback_host("127.0.0.1"));
    EXPECT_TRUE(is_loopback_host("127.255.0.9"));
    EXPECT_TRUE(is_loopback_host("::1"));
    EXPECT_TRUE(is_loopback_host("localhost"));
    EXPECT_FALSE(is_loopback_host("128.0.0.1"));
    EXPECT_FALSE(is_loopback_host("::2"));
    EXPECT_FALSE(is_loopback_host("lemf.example"));
}

}  // namespace
}  // namespace liprobe::control
