// End to end, offline, on liprobe-gen captures (issue 4 "Tests"): `liprobe-gen calls` writes a
// capture, keys, a config and a manifest of what a LEMF must receive; `liprobe --pcap` delivers
// to liprobe-lemf on loopback; every delivered record is then checked against the manifest
// packet by packet: one (LIID, CIN) output per intercepted call and none for the others, the
// SIP messages as IRI in order (first line, length, time, addresses, Begin/Continue/End), every
// media packet of every stream in order, decrypted payloads equal to the generator's plaintext
// (expected/<stream>.bin), encrypted CC (missing key, failed authentication) equal to the
// captured IP packet; and liprobe's accounting line balanced. Decrypted SRTCP is CC in the RTP
// packet's form (ETSI rtpFrame / rTP, X3 payload format 8), written by liprobe-lemf one
// synthetic port above its RTP (ETSI). SDES calls (issue 10) carry their keys in the SDP only.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "liprobe/net/parse.hpp"
#include "liprobe/net/pcap_file.hpp"
#include "process.hpp"

extern char** environ;

namespace fs = std::filesystem;
using nlohmann::json;
using Bytes = std::vector<uint8_t>;

namespace {

using liprobe::test::read_jsonl;
using liprobe::test::slurp;
using liprobe::test::spawn;
using liprobe::test::wait_exit;
using liprobe::test::wait_exit_within;
using liprobe::test::write_text;

std::vector<Bytes> pcap_records(const std::string& path, std::vector<int64_t>* times = nullptr) {
    std::vector<Bytes> out;
    liprobe::net::PcapReader reader(path);
    liprobe::net::PcapRecord rec;
    while (reader.next(rec)) {
        out.emplace_back(rec.data, rec.data + rec.caplen);
        if (times != nullptr) times->push_back(reader.time_us(rec));
    }
    return out;
}

// A deterministic XID for the i-th warrant of an X3 run, so that outputs map back to LIIDs.
std::string xid_text(size_t i) {
    char b[40];
    std::snprintf(b, sizeof b, "00000000-0000-8000-8000-%012zx", i + 1);
    return b;
}

// expected/<stream>.bin: per packet a 4-octet big-endian length, then the packet.
std::vector<Bytes> read_expected(const std::string& path) {
    const std::string s = slurp(path);
    std::vector<Bytes> out;
    size_t pos = 0;
    while (pos + 4 <= s.size()) {
        const auto* p = reinterpret_cast<const uint8_t*>(s.data() + pos);
        const size_t len = size_t{p[0]} << 24 | size_t{p[1]} << 16 | size_t{p[2]} << 8 | p[3];
        out.emplace_back(p + 4, p + 4 + len);
        pos += 4 + len;
    }
    EXPECT_EQ(pos, s.size()) << path;
    return out;
}

// "10.1.0.1:5060" or "[2001:db8::1]:5060" -> the address text.
std::string host_of(const std::string& host_port) {
    if (!host_port.empty() && host_port[0] == '[')
        return host_port.substr(1, host_port.find(']') - 1);
    return host_port.substr(0, host_port.rfind(':'));
}

// The UDP payload of a raw IP packet (empty when it is not a whole UDP datagram).
Bytes udp_payload(const Bytes& ip) {
    liprobe::net::ParsedPacket p;
    if (liprobe::net::parse_frame(ip.data(), static_cast<uint32_t>(ip.size()),
                                  liprobe::net::LinkType::raw_ip,
                                  p) != liprobe::net::ParseStatus::ok)
        return {};
    return Bytes(ip.begin() + p.payload_offset, ip.begin() + p.payload_offset + p.payload_len);
}

// Identifies a media packet: (SSRC, RTCP?) from its first octets (RTP: SSRC at 8; RTCP: the
// sender's SSRC at 4, packet types 192..223 in the second octet).
std::pair<uint32_t, bool> stream_key(const Bytes& payload) {
    if (payload.size() < 12) return {0, false};
    const bool rtcp = payload[1] >= 192 && payload[1] <= 223;
    const size_t at = rtcp ? 4 : 8;
    const uint32_t ssrc = uint32_t{payload[at]} << 24 | uint32_t{payload[at + 1]} << 16 |
                          uint32_t{payload[at + 2]} << 8 | payload[at + 3];
    return {ssrc, rtcp};
}

struct RunOptions {
    std::vector<std::string> gen_args;
    std::string format = "etsi102232";
    bool tls = false;
};

struct Delivered {
    std::string kind;  // cc_rtp | cc_ip
    std::string direction;
    Bytes bytes;                          // cc_rtp: the RTP packet; cc_ip: the IP packet
    json line;                            // the LEMF's jsonl line
    uint16_t src_port = 0, dst_port = 0;  // of the LEMF's pcap record
};

// The UDP ports of a raw IP packet (0, 0 when it is not a whole UDP datagram).
std::pair<uint16_t, uint16_t> udp_ports(const Bytes& ip) {
    liprobe::net::ParsedPacket p;
    if (liprobe::net::parse_frame(ip.data(), static_cast<uint32_t>(ip.size()),
                                  liprobe::net::LinkType::raw_ip,
                                  p) != liprobe::net::ParseStatus::ok)
        return {0, 0};
    return {p.src_port, p.dst_port};
}

uint16_t port_of(const std::string& host_port) {
    return static_cast<uint16_t>(std::stoi(host_port.substr(host_port.rfind(':') + 1)));
}

class EndToEnd : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/liprobe-e2e-XXXXXX";
        dir_ = mkdtemp(tmpl);
        fs::create_directories(dir_ + "/lemf");
    }
    void TearDown() override {
        if (!::testing::Test::HasFailure()) fs::remove_all(dir_);
    }

    // Throwaway PKI of the demo's shape (make-pki.sh run in a temporary directory).
    void make_pki() {
        fs::create_directories(dir_ + "/pki");
        fs::copy_file(std::string(SOURCE_ROOT) + "/config/demo/make-pki.sh",
                      dir_ + "/pki/make-pki.sh");
        ASSERT_EQ(wait_exit(spawn({"/bin/bash", dir_ + "/pki/make-pki.sh"}, dir_ + "/pki.out",
                                  dir_ + "/pki.err")),
                  0)
            << slurp(dir_ + "/pki.err");
    }

    int start_lemf(const RunOptions& o) {
        std::vector<std::string> extra = {"--plain"};
        if (o.tls) {
            extra.clear();
            for (const char* a : {"--cert", "lemf.pem", "--key", "lemf.key", "--ca", "ca.pem"})
                extra.push_back(a[0] == '-' ? std::string(a) : dir_ + "/pki/" + a);
        }
        return lemf_.start(LEMF_BIN, dir_, dir_ + "/lemf", o.format, extra);
    }

    // Generates, runs liprobe and the LEMF, and reads everything back.
    void run(const RunOptions& o) {
        if (o.tls) {
            make_pki();
            if (HasFatalFailure()) return;
        }
        const int port = start_lemf(o);
        ASSERT_GT(port, 0) << slurp(dir_ + "/lemf.err");
        gen_ = dir_ + "/gen";
        std::vector<std::string> gen = {GEN_BIN, "calls",  "--out",
                                        gen_,    "--lemf", "127.0.0.1:" + std::to_string(port)};
        if (o.tls) {
            gen.push_back("--pki");
            gen.push_back(dir_ + "/pki");
        } else {
            gen.push_back("--plain");
        }
        gen.insert(gen.end(), o.gen_args.begin(), o.gen_args.end());
        ASSERT_EQ(wait_exit(spawn(gen, dir_ + "/gen.out", dir_ + "/gen.err")), 0)
            << slurp(dir_ + "/gen.err");
        if (o.format != "etsi102232") {
            std::string toml = slurp(gen_ + "/liprobe.toml");
            const std::string from = "format = \"etsi102232\"";
            const size_t at = toml.find(from);
            ASSERT_NE(at, std::string::npos);
            toml.replace(at, from.size(), "format = \"" + o.format + "\"");
            // Each warrant gets a known XID (X2/X3 name the warrant by XID, not LIID).
            size_t pos = 0;
            for (size_t i = 0; (pos = toml.find("\nliid = \"", pos)) != std::string::npos; ++i) {
                const size_t eol = toml.find('\n', pos + 1);
                const std::string liid =
                    toml.substr(pos + 9, eol - pos - 10);  // between the quotes
                xid_to_liid_[xid_text(i)] = liid;
                toml.insert(eol, "\nxid = \"" + xid_text(i) + "\"");
                pos = eol;
            }
            std::ofstream(gen_ + "/liprobe.toml") << toml;
        }
        manifest_ = json::parse(slurp(gen_ + "/manifest.json"));
        const pid_t probe = spawn(
            {LIPROBE_BIN, "--config", gen_ + "/liprobe.toml", "--pcap", gen_ + "/capture.pcap"},
            dir_ + "/probe.out", dir_ + "/probe.err");
        ASSERT_EQ(wait_exit(probe), 0) << slurp(dir_ + "/probe.err") << slurp(dir_ + "/probe.out");
        summary_ = slurp(dir_ + "/probe.out");
        probe_log_ = slurp(dir_ + "/probe.err");
        ASSERT_EQ(lemf_.stop(), 0) << slurp(dir_ + "/lemf.err");
        lemf_summary_ = json::parse(slurp(dir_ + "/lemf/summary.json"));
        capture_ = pcap_records(gen_ + "/capture.pcap", &capture_times_);
    }

    // The IP packet of capture frame i (what encrypted CC must carry).
    Bytes ip_packet_of_frame(size_t i) const {
        const Bytes& f = capture_.at(i);
        liprobe::net::ParsedPacket p;
        liprobe::net::parse_frame(f.data(), static_cast<uint32_t>(f.size()),
                                  liprobe::net::LinkType::ethernet, p);
        return Bytes(f.begin() + p.l3_offset, f.begin() + p.l3_end);
    }

    // Everything the manifest promises, and nothing else.
    void check_all() {
        const uint64_t frames = manifest_["frames"].get<uint64_t>();
        ASSERT_EQ(capture_.size(), frames);
        EXPECT_NE(summary_.find("accounting           received " + std::to_string(frames) +
                                ", outcomes " + std::to_string(frames) + ": balanced"),
                  std::string::npos)
            << summary_;
        EXPECT_NE(summary_.find("  lost                 0\n"), std::string::npos) << summary_;
        EXPECT_EQ(lemf_summary_["missing"], 0) << lemf_summary_.dump();
        EXPECT_EQ(lemf_summary_["duplicates"], 0) << lemf_summary_.dump();

        // The outputs by LIID: exactly one (LIID, CIN) per intercepted call.
        std::map<std::string, std::vector<std::string>> outputs;
        for (const auto& e : fs::directory_iterator(dir_ + "/lemf")) {
            if (e.path().extension() != ".jsonl") continue;
            const auto lines = read_jsonl(e.path().string());
            ASSERT_FALSE(lines.empty());
            std::string liid = lines[0]["liid"].get<std::string>();
            if (xid_to_liid_.count(liid) != 0) liid = xid_to_liid_[liid];
            outputs[liid].push_back(e.path().string());
        }
        std::set<std::string> expected_liids;
        uint64_t tampered = 0, pdus = 0;
        for (const auto& call : manifest_["calls"]) {
            if (call["expect"] != "intercepted") continue;
            expected_liids.insert(call["warrant"].get<std::string>());
            pdus += call["sip"].size();
            for (const auto& s : call["streams"]) {
                pdus += s["count"].get<uint64_t>();
                if (s.contains("tampered")) tampered += s["tampered"].size();
            }
        }
        // A flood of INVITEs to a warrant (issue 11): one CIN per INVITE, each one IRI Begin.
        std::map<std::string, json> floods;
        for (const auto& f : manifest_.value("floods", json::array())) {
            if (!f.contains("warrant")) continue;
            floods[f["warrant"].get<std::string>()] = f;
            expected_liids.insert(f["warrant"].get<std::string>());
            pdus += f["count"].get<uint64_t>();
        }
        std::set<std::string> got_liids;
        for (const auto& [liid, files] : outputs) got_liids.insert(liid);
        EXPECT_EQ(got_liids, expected_liids);
        EXPECT_EQ(lemf_summary_["pdus"], pdus) << lemf_summary_.dump();
        EXPECT_EQ(liprobe::test::number_after(summary_, "auth failed "), tampered) << summary_;
        expect_sdes_line();
        expect_no_sdes_key_printed();

        for (const auto& [liid, flood] : floods) {
            SCOPED_TRACE("flood " + liid);
            const auto& files = outputs[liid];
            ASSERT_EQ(files.size(), flood["count"].get<size_t>());
            for (const auto& file : files) {
                const auto lines = read_jsonl(file);
                ASSERT_EQ(lines.size(), 1u) << file;
                EXPECT_EQ(lines[0]["kind"], "iri_sip");
                EXPECT_EQ(lines[0]["seq"], 0);
                EXPECT_EQ(lines[0]["sip"], flood["first_line"]);
                if (format_ == "etsi102232") {
                    EXPECT_EQ(lines[0]["iri_type"], "begin");
                }
            }
        }
        for (const auto& call : manifest_["calls"]) {
            if (call["expect"] != "intercepted") continue;
            SCOPED_TRACE(call["id"].get<std::string>() + " " + call["scenario"].get<std::string>());
            const auto& files = outputs[call["warrant"].get<std::string>()];
            ASSERT_EQ(files.size(), 1u) << "one CIN per (LIID, dialog)";
            check_call(call, files[0]);
        }
    }

    void check_call(const json& call, const std::string& jsonl) {
        const auto lines = read_jsonl(jsonl);
        std::vector<json> iri, cc;
        for (const auto& l : lines) (l["kind"] == "iri_sip" ? iri : cc).push_back(l);
        for (const auto& l : lines) EXPECT_EQ(l["format"], format_);

        // IRI: every SIP message of the call, in order.
        const auto& sip = call["sip"];
        ASSERT_EQ(iri.size(), sip.size());
        for (size_t i = 0; i < iri.size(); ++i) {
            SCOPED_TRACE("IRI " + std::to_string(i));
            EXPECT_EQ(iri[i]["seq"], i);
            EXPECT_EQ(iri[i]["cin"], iri[0]["cin"]);
            EXPECT_EQ(iri[i]["sip"], sip[i]["first_line"]);
            EXPECT_EQ(iri[i]["payload_bytes"], sip[i]["length"]);
            // The HI timestamp is the record time of the frame that completed the message (the
            // last fragment or segment; the manifest's time_us is its first).
            EXPECT_EQ(iri[i]["time_us"], capture_times_.at(sip[i]["frames"].back().get<size_t>()));
            if (format_ == "etsi102232") {  // X2 has no IRI type
                EXPECT_EQ(iri[i]["iri_type"], i == 0                ? "begin"
                                              : i + 1 == iri.size() ? "end"
                                                                    : "continue");
            }
            EXPECT_EQ(iri[i]["src"], host_of(sip[i]["src"].get<std::string>()));
            EXPECT_EQ(iri[i]["dst"], host_of(sip[i]["dst"].get<std::string>()));
            if (iri[i].contains("direction")) {
                EXPECT_EQ(iri[i]["direction"], sip[i]["direction"]);
            }
            if (iri[i].contains("src_port")) {
                EXPECT_EQ(iri[i]["src_port"],
                          std::stoi(sip[i]["src"].get<std::string>().substr(
                              sip[i]["src"].get<std::string>().rfind(':') + 1)));
                EXPECT_EQ(iri[i]["dst_port"],
                          std::stoi(sip[i]["dst"].get<std::string>().substr(
                              sip[i]["dst"].get<std::string>().rfind(':') + 1)));
            }
            if (iri[i].contains("ip_protocol")) {
                EXPECT_EQ(iri[i]["ip_protocol"], sip[i]["transport"] == "tcp" ? 6 : 17);
            }
        }

        // CC: the LEMF's pcap holds one record per CC line, in the same order.
        const std::string pcap = jsonl.substr(0, jsonl.size() - 6) + ".pcap";
        const auto records = cc.empty() ? std::vector<Bytes>{} : pcap_records(pcap);
        ASSERT_EQ(records.size(), cc.size());
        std::map<std::pair<uint32_t, bool>, std::vector<Delivered>> by_stream;
        for (size_t i = 0; i < cc.size(); ++i) {
            EXPECT_EQ(cc[i]["seq"], i);
            EXPECT_EQ(cc[i]["cin"], iri.empty() ? cc[0]["cin"] : iri[0]["cin"]);
            Delivered d;
            d.kind = cc[i]["kind"].get<std::string>();
            d.direction = cc[i].value("direction", "");
            const Bytes payload = udp_payload(records[i]);
            d.bytes = d.kind == "cc_ip" ? records[i] : payload;
            d.line = cc[i];
            std::tie(d.src_port, d.dst_port) = udp_ports(records[i]);
            by_stream[stream_key(payload)].push_back(std::move(d));
        }
        size_t matched = 0;
        for (const auto& s : call["streams"]) {
            const std::string id = s["id"].get<std::string>();
            SCOPED_TRACE(id);
            const bool rtcp = s["kind"] == "rtcp";
            const auto it = by_stream.find({s["ssrc"].get<uint32_t>(), rtcp});
            ASSERT_NE(it, by_stream.end()) << "nothing delivered";
            const auto& got = it->second;
            const auto expected = read_expected(gen_ + "/" + s["expected"].get<std::string>());
            const size_t count = s["count"].get<size_t>();
            ASSERT_EQ(expected.size(), count);
            ASSERT_EQ(got.size(), count);
            std::set<size_t> tampered;
            if (s.contains("tampered"))
                for (const auto& k : s["tampered"]) tampered.insert(k.get<size_t>());
            const bool encrypted = s["deliver"] == "encrypted";
            for (size_t k = 0; k < count; ++k) {
                SCOPED_TRACE("packet " + std::to_string(k));
                EXPECT_EQ(got[k].direction, s["direction"]);
                if (encrypted || tampered.count(k) != 0) {
                    EXPECT_EQ(got[k].kind, "cc_ip");
                    EXPECT_EQ(got[k].bytes, ip_packet_of_frame(s["frames"][k].get<size_t>()));
                    check_cc_form(got[k], s, false);
                } else {
                    EXPECT_EQ(got[k].kind, "cc_rtp");
                    EXPECT_EQ(got[k].bytes, expected[k]);
                    check_cc_form(got[k], s, true);
                }
            }
            matched += count;
        }
        EXPECT_EQ(matched, cc.size()) << "CC of no stream of the call";
    }

    // The CC form of one delivered packet of manifest stream s. Decrypted RTP and RTCP alike:
    // ETSI IPMMCC rtpFrame(2) with mMCCprotocol rTP(0), X3 payload format 8 (RTP packet);
    // encrypted: ipFrame(0), X3 format 5/6 (IPv4/IPv6 packet). Where the LEMF writes decrypted
    // CC, RTCP is one synthetic port above the RTP (ETSI), or on its real ports (X3).
    void check_cc_form(const Delivered& d, const json& s, bool decrypted) const {
        const bool rtcp = s["kind"] == "rtcp";
        if (format_ == "etsi102232") {
            EXPECT_EQ(d.line.value("frame_type", json()), decrypted ? 2 : 0);
            if (decrypted) {
                EXPECT_EQ(d.line.value("mmcc_protocol", json()), 0);
            }
        } else {
            EXPECT_EQ(d.line.value("payload_format", json()), decrypted              ? 8
                                                              : s["ip_version"] == 6 ? 6
                                                                                     : 5);
        }
        if (!decrypted) return;
        EXPECT_EQ(d.line.value("rtcp", json()), rtcp);
        if (format_ == "etsi102232") {
            const bool from_target = s["direction"] == "from_target";
            const uint16_t target = 50000, peer = 50002, up = rtcp ? 1 : 0;
            EXPECT_EQ(d.src_port, (from_target ? target : peer) + up);
            EXPECT_EQ(d.dst_port, (from_target ? peer : target) + up);
        } else {
            EXPECT_EQ(d.src_port, port_of(s["src"].get<std::string>()));
            EXPECT_EQ(d.dst_port, port_of(s["dst"].get<std::string>()));
        }
    }

    // The summary's SDES line from the manifest's SDES calls: packets decrypted with SDP keys,
    // a=crypto lines installed (every valid line of a call whose warrant allows SDES, the
    // offer's unchosen ones included), refused lines and the dialogs they were in.
    void expect_sdes_line() const {
        uint64_t decrypted = 0, installed = 0, refused = 0, dialogs = 0;
        for (const auto& call : manifest_["calls"]) {
            if (call["expect"] != "intercepted" || !call.contains("key")) continue;
            const json& key = call["key"];
            if (key["type"] != "sdes") continue;
            if (key.contains("bad_crypto")) {
                refused += key["bad_crypto"]["lines"].get<uint64_t>();
                ++dialogs;
                continue;
            }
            if (!key["warrant_sdes"].get<bool>()) continue;
            installed += key["lines"].get<uint64_t>();
            for (const auto& s : call["streams"]) {
                decrypted += s["count"].get<uint64_t>();
                if (s.contains("tampered")) decrypted -= s["tampered"].size();
            }
        }
        EXPECT_NE(summary_.find("  SDES                 decrypted " + std::to_string(decrypted) +
                                ", lines installed " + std::to_string(installed) + ", refused " +
                                std::to_string(refused) + " (in " + std::to_string(dialogs) +
                                " dialogs), no context left 0\n"),
                  std::string::npos)
            << summary_;
    }

    // Secrets are never logged: no key||salt of any a=crypto line in the capture (valid or not)
    // appears in what the probe or the LEMF printed.
    void expect_no_sdes_key_printed() const {
        const std::string printed =
            summary_ + probe_log_ + slurp(dir_ + "/lemf.out") + slurp(dir_ + "/lemf.err");
        size_t keys = 0;
        for (const Bytes& frame : capture_) {
            const std::string text(frame.begin(), frame.end());
            for (size_t at = text.find("inline:"); at != std::string::npos;
                 at = text.find("inline:", at + 1)) {
                const size_t from = at + 7;
                const std::string key =
                    text.substr(from, text.find_first_of("|\r\n ", from) - from);
                ASSERT_GE(key.size(), 16u);
                EXPECT_EQ(printed.find(key), std::string::npos) << "a key was printed";
                ++keys;
            }
        }
        if (keys != 0) {
            EXPECT_EQ(printed.find("inline:"), std::string::npos);
        }
    }

    // How tshark (an independent dissector) reads the LEMF's pcap of a call: frames counted by
    // the last protocol it found (rtp, rtcp, ...), with Decode As RTP on the call's RTP port and
    // RTCP one above it (ETSI: the synthetic 50000 / 50001; X3: the real ports, RTCP only when
    // not muxed, Wireshark's RTP dissector hands muxed RTCP over itself). nullopt without tshark.
    std::optional<std::map<std::string, size_t>> tshark_protocols(const json& call) const {
        if (std::system("tshark -v >/dev/null 2>&1") != 0) return std::nullopt;
        const std::string pcap = dir_ + "/lemf/" + output_name(call) + ".pcap";
        const bool x3 = format_ == "x3";
        const int rtp_port = x3 ? port_of(call["streams"][0]["src"].get<std::string>()) : 50000;
        std::string cmd =
            "tshark -r " + pcap + " -d udp.port==" + std::to_string(rtp_port) + ",rtp";
        if (!x3 || !call["key"]["rtcp_mux"].get<bool>())
            cmd += " -d udp.port==" + std::to_string(rtp_port + 1) + ",rtcp";
        cmd += " -T fields -e frame.protocols 2>/dev/null";
        std::map<std::string, size_t> by_last;
        FILE* p = popen(cmd.c_str(), "r");
        if (p == nullptr) return by_last;
        char line[512];
        while (std::fgets(line, sizeof line, p) != nullptr) {
            std::string protocols(line);
            protocols.erase(protocols.find_last_not_of("\r\n") + 1);
            ++by_last[protocols.substr(protocols.rfind(':') + 1)];
        }
        pclose(p);
        return by_last;
    }

    // The LEMF's file name (without extension) of a call's (LIID or XID, CIN).
    std::string output_name(const json& call) const {
        const std::string liid = call["warrant"].get<std::string>();
        std::string name = liid;
        for (const auto& [xid, l] : xid_to_liid_)
            if (l == liid) name = xid;
        return name + "_" + std::to_string(cin_of(liid));
    }

    // Checks that tshark finds every RTP and RTCP packet of an SDES call (none tampered) in the
    // LEMF's pcap.
    void expect_tshark_sees_rtp_and_rtcp(const json& call) const {
        SCOPED_TRACE(call["id"].get<std::string>());
        const auto by_last = tshark_protocols(call);
        if (!by_last) return;  // no tshark here
        size_t rtp = 0, rtcp = 0;
        for (const auto& s : call["streams"]) {
            ASSERT_FALSE(s.contains("tampered"));
            (s["kind"] == "rtcp" ? rtcp : rtp) += s["count"].get<size_t>();
        }
        EXPECT_EQ(*by_last, (std::map<std::string, size_t>{{"rtp", rtp}, {"rtcp", rtcp}}));
    }

    // The CIN the LEMF saw for this LIID's (single) dialog; ~0 when there is none.
    uint64_t cin_of(const std::string& liid) const {
        for (const auto& e : fs::directory_iterator(dir_ + "/lemf")) {
            if (e.path().extension() != ".jsonl") continue;
            const auto lines = read_jsonl(e.path().string());
            if (lines.empty()) continue;
            std::string got = lines[0]["liid"].get<std::string>();
            if (xid_to_liid_.count(got) != 0) got = xid_to_liid_.at(got);
            if (got == liid) return lines[0]["cin"].get<uint64_t>();
        }
        return ~uint64_t{0};
    }

    // The summary's records line: CC decrypted and encrypted, IRI, nothing lost.
    void expect_records(uint64_t decrypted, uint64_t encrypted, uint64_t iri) const {
        EXPECT_NE(summary_.find("  records              CC decrypted " + std::to_string(decrypted) +
                                ", CC encrypted " + std::to_string(encrypted) + ", IRI " +
                                std::to_string(iri) + ", lost before export 0\n"),
                  std::string::npos)
            << summary_;
    }

    // Packets of the manifest's intercepted calls: (decrypted or plain, encrypted, SIP messages).
    std::tuple<uint64_t, uint64_t, uint64_t> manifest_records() const {
        uint64_t decrypted = 0, encrypted = 0, iri = 0;
        for (const auto& call : manifest_["calls"]) {
            if (call["expect"] != "intercepted") continue;
            iri += call["sip"].size();
            for (const auto& s : call["streams"]) {
                const uint64_t n = s["count"].get<uint64_t>();
                const uint64_t bad = s.contains("tampered") ? s["tampered"].size() : 0;
                if (s["deliver"] == "encrypted") {
                    encrypted += n;
                } else {
                    decrypted += n - bad;
                    encrypted += bad;
                }
            }
        }
        return {decrypted, encrypted, iri};
    }

    void run_and_check(const RunOptions& o) {
        format_ = o.format;
        run(o);
        if (HasFatalFailure()) return;
        check_all();
    }

    // The call(s) of one scenario.
    std::vector<json> calls_of(const std::string& scenario) const {
        std::vector<json> out;
        for (const auto& c : manifest_["calls"])
            if (c["scenario"] == scenario) out.push_back(c);
        return out;
    }

    std::string dir_, gen_, summary_, probe_log_, format_;
    liprobe::test::LemfProcess lemf_;
    json manifest_, lemf_summary_;
    std::vector<Bytes> capture_;
    std::vector<int64_t> capture_times_;
    std::map<std::string, std::string> xid_to_liid_;
};

const std::vector<std::string> kNoPlainCalls = {"--private", "0", "--group",      "0",
                                                "--ims",     "0", "--background", "0"};

std::vector<std::string> scenario_args(const std::string& name, const char* packets = "10") {
    std::vector<std::string> a = kNoPlainCalls;
    a.insert(a.end(), {"--packets-per-stream", packets, "--scenario", name});
    return a;
}

// MCPTT private call: MIKEY-SAKKE I_MESSAGE in the SDP offer, PCK, both directions and SRTCP.
TEST_F(EndToEnd, PrivateCall) {
    run_and_check({{"--private", "1", "--group", "0", "--ims", "0", "--background", "0",
                    "--packets-per-stream", "20"}});
    ASSERT_EQ(manifest_["calls"].size(), 1u);
    EXPECT_EQ(manifest_["calls"][0]["kind"], "mcptt_private");
    EXPECT_EQ(manifest_["calls"][0]["key"]["type"], "pck");
}

// MCPTT group call: three members, GMK, MKI = GMK-ID || GUK-ID, ROC in the packets (RCC).
TEST_F(EndToEnd, GroupCallWithThreeMembersAndRcc) {
    run_and_check({{"--private", "0", "--group", "1", "--ims", "0", "--background", "0",
                    "--packets-per-stream", "20"}});
    ASSERT_EQ(manifest_["calls"].size(), 1u);
    const json& call = manifest_["calls"][0];
    EXPECT_EQ(call["kind"], "mcptt_group");
    std::set<std::string> senders;
    bool rcc = false;
    for (const auto& s : call["streams"]) {
        senders.insert(s["sender"].get<std::string>());
        rcc = rcc || s.value("roc_in_packet", false);
    }
    EXPECT_EQ(senders.size(), 3u);
    EXPECT_TRUE(rcc);
}

// Calls of nobody's warrant, with DNS, other UDP and non-SIP TCP around: nothing delivered.
TEST_F(EndToEnd, NonTargetCallsDeliverNothing) {
    run_and_check({{"--private", "0", "--group", "0", "--ims", "0", "--background", "3",
                    "--packets-per-stream", "10"}});
    EXPECT_EQ(lemf_summary_["pdus"], 0);
    EXPECT_NE(summary_.find("dialogs              intercepted 0,"), std::string::npos) << summary_;
}

class Scenario : public EndToEnd, public ::testing::WithParamInterface<const char*> {};

TEST_P(Scenario, DeliveredPacketByPacket) {
    const std::string name = GetParam();
    run_and_check({scenario_args(name)});
    EXPECT_FALSE(calls_of(name).empty());
}

INSTANTIATE_TEST_SUITE_P(Gen, Scenario,
                         ::testing::Values("rollover", "missing_key", "tampered", "ipv6", "vlan",
                                           "fragmented_invite", "tcp_split", "uri_normalisation",
                                           "csrc_ext", "malformed", "sdes", "sdes_mki",
                                           "sdes_rekey", "sdes_bad_crypto", "sdes_disabled"),
                         [](const auto& info) { return std::string(info.param); });

// The SIP of the split-INVITE call came over TCP (ip_protocol 6 where the format carries it)
// and the INVITE really was split over two segments.
TEST_F(EndToEnd, SipOverTcpReassembledAsOneInvite) {
    run_and_check({scenario_args("tcp_split")});
    const auto calls = calls_of("tcp_split");
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0]["sip_transport"], "tcp");
    EXPECT_EQ(calls[0]["sip"][0]["frames"].size(), 2u);
    EXPECT_EQ(liprobe::test::number_after(summary_, "SIP over TCP "), calls[0]["sip"].size())
        << summary_;
}

TEST_F(EndToEnd, FragmentedInviteReassembled) {
    run_and_check({scenario_args("fragmented_invite")});
    const auto calls = calls_of("fragmented_invite");
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0]["sip"][0]["frames"].size(), 2u);
    EXPECT_EQ(liprobe::test::number_after(summary_, "IP datagrams "), 1u) << summary_;
    EXPECT_EQ(liprobe::test::number_after(summary_, "held_for_reassembly "), 1u) << summary_;
}

// The summary line that starts with label (empty when there is none).
std::string summary_line(const std::string& summary, const std::string& label) {
    const size_t at = summary.find(label);
    if (at == std::string::npos) return "";
    return summary.substr(at, summary.find('\n', at) - at);
}

// Issue 11: first fragments that never complete, from 64 sources, keep the reassembly table
// (16 datagrams: max_fragments 256 / 16) full around the call's fragmented INVITE. The oldest
// are evicted, the INVITE (its two fragments 100 us apart, four flood datagrams between) is
// reassembled and the call delivered completely; every flood fragment ends counted.
TEST_F(EndToEnd, FragmentFloodDoesNotStarveAFragmentedInvite) {
    run_and_check({scenario_args("fragment_flood")});
    const auto calls = calls_of("fragment_flood");
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0]["sip"][0]["frames"].size(), 2u);
    ASSERT_EQ(manifest_["floods"].size(), 1u);
    const json& flood = manifest_["floods"][0];
    const uint64_t n = flood["count"].get<uint64_t>();
    const uint64_t table = flood["max_fragments"].get<uint64_t>() / 16;
    ASSERT_EQ(table, 16u);
    // n + 1 datagrams started: the INVITE completed, the table still full at the end.
    EXPECT_EQ(liprobe::test::number_after(summary_, "held_for_reassembly "), n + 1) << summary_;
    EXPECT_EQ(liprobe::test::number_after(summary_, "fragment_completed "), 1u) << summary_;
    EXPECT_EQ(liprobe::test::number_after(summary_, "fragment_evicted "), n - table) << summary_;
    EXPECT_EQ(liprobe::test::number_after(summary_, "fragment_at_end "), table) << summary_;
    EXPECT_EQ(summary_.find("fragment_timed_out"), std::string::npos) << summary_;
    EXPECT_EQ(summary_.find("fragment_table_full"), std::string::npos) << summary_;
    EXPECT_EQ(summary_line(summary_, "  reassembly "),
              "  reassembly           IP datagrams 1 (timed out 0, evicted " +
                  std::to_string(n - table) + ", at end " + std::to_string(table) +
                  "), GTP-U 0, SIP over TCP 0 (connections 0, at end 0)");
}

// Issue 11: unanswered INVITEs to a second warrant, each a new dialog, keep the dialog table
// (max_dialogs 64) full around a target call (30 of them between its INVITE and its 200 OK).
// The oldest unconfirmed dialog is evicted each time, the call is intercepted completely (and,
// once ended, evicted while it lingers), every flood INVITE is one CIN with its IRI Begin.
TEST_F(EndToEnd, InviteFloodDoesNotStarveACall) {
    run_and_check({scenario_args("invite_flood")});
    ASSERT_EQ(calls_of("invite_flood").size(), 1u);
    ASSERT_EQ(manifest_["floods"].size(), 1u);
    const json& flood = manifest_["floods"][0];
    const uint64_t n = flood["count"].get<uint64_t>();
    const uint64_t table = flood["max_dialogs"].get<uint64_t>();
    // n + 1 dialogs: the call ended; n - table unconfirmed floods evicted, table at the end.
    EXPECT_EQ(summary_line(summary_, "  dialogs "),
              "  dialogs              intercepted " + std::to_string(n + 1) +
                  ", ended 1, timed out 0, unconfirmed timed out 0, evicted " +
                  std::to_string(n - table) + " (lingering 1), refused 0");
}

// Malformed frames are counted drops with their names; the call around them is complete.
TEST_F(EndToEnd, MalformedFramesAreNamedDrops) {
    run_and_check({scenario_args("malformed")});
    std::map<std::string, uint64_t> reasons;
    for (const auto& m : manifest_["malformed"]) ++reasons[m["reason"].get<std::string>()];
    ASSERT_FALSE(reasons.empty());
    // The generator's names -> the probe's drop reasons.
    const std::map<std::string, std::string> names = {
        {"truncated_ip", "truncated_ipv4"},
        {"bad_ipv4_total_length", "bad_ipv4_total_length"},
        {"bad_udp_length", "bad_udp_length"}};
    for (const auto& [gen_name, count] : reasons) {
        const auto it = names.find(gen_name);
        if (it == names.end()) continue;  // garbage on the SIP port: not a SIP message
        EXPECT_EQ(liprobe::test::number_after(summary_, "      " + it->second + " "), count)
            << gen_name << "\n"
            << summary_;
    }
}

// ---- SDES (issue 10): keys from the dialog's a=crypto lines, none from keys.json ----

// Every suite (AES_CM_128/256_HMAC_SHA1_80/32, AEAD_AES_128/256_GCM), without and with MKIs,
// decrypted end to end from the capture with no key file: every RTP and SRTCP packet of both
// directions is decrypted CC, the offer's decoy lines notwithstanding.
TEST_F(EndToEnd, SdesEverySuiteDecryptedWithNoKeyFile) {
    run_and_check({scenario_args("sdes,sdes_mki")});
    EXPECT_EQ(json::parse(slurp(gen_ + "/keys.json"))["keys"].size(), 0u);
    EXPECT_NE(summary_.find("  keys                 loaded 0, refused 0\n"), std::string::npos)
        << summary_;
    std::set<std::string> suites;
    size_t with_mki = 0, muxed = 0, ipv6 = 0;
    for (const auto& call : manifest_["calls"]) {
        suites.insert(call["key"]["suite"].get<std::string>());
        with_mki += call["key"]["mki_len"].get<size_t>() != 0 ? 1 : 0;
        muxed += call["key"]["rtcp_mux"].get<bool>() ? 1 : 0;
        ipv6 += call["ip_version"] == 6 ? 1 : 0;
    }
    EXPECT_EQ(suites.size(), 6u);
    EXPECT_EQ(with_mki, 6u);
    EXPECT_EQ(muxed, 6u);
    EXPECT_EQ(ipv6, 1u);
    // 12 calls: 2 RTP of 10, 2 SRTCP of 2; packet 3 of one caller stream tampered: it fails
    // authentication against the flow's SDES keys and goes out encrypted at once.
    const auto [decrypted, encrypted, iri] = manifest_records();
    EXPECT_EQ(decrypted, 12u * (2 * 10 + 2 * 2) - 1);
    EXPECT_EQ(encrypted, 1u);
    expect_records(decrypted, encrypted, iri);
    EXPECT_EQ(liprobe::test::number_after(summary_, "auth failed "), 1u) << summary_;
    EXPECT_EQ(liprobe::test::number_after(summary_, "SRTP                 decrypted "), decrypted)
        << summary_;
    // Wireshark's view of the LEMF's pcaps: RTCP (one synthetic port up) beside the RTP, for a
    // call without rtcp-mux and one with.
    const auto calls = manifest_["calls"];
    ASSERT_EQ(calls.size(), 12u);
    EXPECT_FALSE(calls[0]["key"]["rtcp_mux"].get<bool>());
    EXPECT_TRUE(calls[6]["key"]["rtcp_mux"].get<bool>());
    expect_tshark_sees_rtp_and_rtcp(calls[0]);
    expect_tshark_sees_rtp_and_rtcp(calls[6]);
}

// The same calls delivered as X2/X3: decrypted SRTCP is an RTP-packet X3 PDU (format 8) with
// its real ports (the RTP port itself when muxed).
TEST_F(EndToEnd, SdesOverX3) {
    run_and_check({scenario_args("sdes"), "x3"});
    const auto [decrypted, encrypted, iri] = manifest_records();
    EXPECT_EQ(decrypted, 6u * (2 * 10 + 2 * 2) - 1);  // one tampered packet
    expect_records(decrypted, 1, iri);
    // Wireshark's view: the RTCP on its real port, muxed (call 3) or not (call 0).
    const auto calls = manifest_["calls"];
    ASSERT_EQ(calls.size(), 6u);
    EXPECT_FALSE(calls[0]["key"]["rtcp_mux"].get<bool>());
    EXPECT_TRUE(calls[3]["key"]["rtcp_mux"].get<bool>());
    expect_tshark_sees_rtp_and_rtcp(calls[0]);
    expect_tshark_sees_rtp_and_rtcp(calls[3]);
}

// A re-INVITE re-keys both directions mid-call (RFC 4568 7.1.4): the packet each way that
// crosses the transaction is under the old keys, those after its 200 OK (before the ACK too)
// under the new ones; SRTCP likewise. In the second call the MKI changes with the keys and the
// caller's first packet after the 200 OK still carries the old ones (sent before the answer
// reached the caller); in the third (AEAD) the caller's SEQ wraps two packets before the re-key:
// the new keys go on at ROC 1. Every packet decrypted, none fails authentication.
TEST_F(EndToEnd, SdesRekeyByReInvite) {
    run_and_check({scenario_args("sdes_rekey")});
    const auto calls = calls_of("sdes_rekey");
    ASSERT_EQ(calls.size(), 3u);
    for (const auto& call : calls) {
        SCOPED_TRACE(call["id"].get<std::string>());
        const bool in_flight = call["key"]["caller_packet_in_flight"].get<bool>();
        EXPECT_EQ(in_flight, &call == &calls[1]);
        const bool rollover = call["key"]["rollover_before_rekey"].get<bool>();
        EXPECT_EQ(rollover, &call == &calls[2]);
        if (rollover) {  // SEQ 65533, 65534, 65535, 0, 1 under the first keys, then 2...
            EXPECT_EQ(call["streams"][0]["first_seq"], 65533);
        }
        ASSERT_EQ(call["sip"].size(), 10u);
        EXPECT_EQ(call["sip"][5]["first_line"].get<std::string>().rfind("INVITE ", 0), 0u);
        ASSERT_EQ(call["streams"].size(), 4u);
        for (const auto& s : call["streams"]) {
            const bool late = in_flight && s["kind"] == "rtp" && s["from_caller"].get<bool>();
            EXPECT_EQ(s["rekeyed_from_packet"], s["kind"] == "rtcp" ? 1 : late ? 6 : 5) << s["id"];
            if (in_flight) {
                EXPECT_EQ(s["sdes"]["mki"], "00000001");
                EXPECT_EQ(s["sdes_rekeyed"]["mki"], "00000002");
            }
        }
    }
    const auto [decrypted, encrypted, iri] = manifest_records();
    EXPECT_EQ(decrypted, 3u * (2 * 10 + 2 * 2));
    expect_records(decrypted, 0, iri);
    EXPECT_EQ(liprobe::test::number_after(summary_, "auth failed "), 0u) << summary_;
}

// Bad a=crypto lines (bad base64, wrong key length, unknown suite, lifetime 2^0), one call each:
// never a crash, the SIP is IRI as usual and every media packet goes out as encrypted CC (the
// original IP packet).
TEST_F(EndToEnd, SdesBadCryptoLinesDeliverEncrypted) {
    run_and_check({scenario_args("sdes_bad_crypto")});
    std::set<std::string> reasons;
    for (const auto& call : calls_of("sdes_bad_crypto"))
        reasons.insert(call["key"]["bad_crypto"]["reason"].get<std::string>());
    EXPECT_EQ(reasons, (std::set<std::string>{"bad_base64", "wrong_key_length", "unknown_suite",
                                              "bad_lifetime"}));
    const auto [decrypted, encrypted, iri] = manifest_records();
    EXPECT_EQ(decrypted, 0u);
    EXPECT_EQ(encrypted, 4u * (2 * 10 + 2 * 2));
    expect_records(0, encrypted, iri);
    // Each refused line (the offer's and the answer's, both tag 1) is logged once, naming the
    // dialog by its CIN and the reason; nothing else is logged about a=crypto lines.
    auto count = [&](const std::string& what) {
        size_t n = 0;
        for (size_t at = probe_log_.find(what); at != std::string::npos;
             at = probe_log_.find(what, at + 1))
            ++n;
        return n;
    };
    for (const auto& call : calls_of("sdes_bad_crypto")) {
        const std::string note = "liprobe: dialog CIN " +
                                 std::to_string(cin_of(call["warrant"].get<std::string>())) +
                                 ": a=crypto line (tag 1) refused: " +
                                 call["key"]["bad_crypto"]["reason"].get<std::string>() + " (";
        EXPECT_EQ(count(note), 2u) << note << "\n" << probe_log_;
    }
    EXPECT_EQ(count("a=crypto line"), 4u * 2) << probe_log_;
    EXPECT_EQ(liprobe::test::number_after(summary_, "SRTP                 decrypted "), 0u)
        << summary_;
}

// [[warrant]] sdes = false: the call's valid SDES keys are not used, its media is encrypted CC.
TEST_F(EndToEnd, SdesDisabledByTheWarrant) {
    run_and_check({scenario_args("sdes_disabled")});
    EXPECT_NE(slurp(gen_ + "/liprobe.toml").find("\nsdes = false\n"), std::string::npos);
    const auto [decrypted, encrypted, iri] = manifest_records();
    EXPECT_EQ(decrypted, 0u);
    EXPECT_EQ(encrypted, 2u * 10 + 2 * 2);
    expect_records(0, encrypted, iri);
}

// Everything at once, with plain calls and background around them.
TEST_F(EndToEnd, AllScenariosMixed) {
    run_and_check({{"--private", "2", "--group", "2", "--ims", "4", "--background", "3",
                    "--packets-per-stream", "12", "--scenario", "all"}});
}

// Delivery over mutual TLS with throwaway certificates.
TEST_F(EndToEnd, MutualTls) {
    run_and_check({{"--private", "1", "--group", "1", "--ims", "1", "--background", "1",
                    "--packets-per-stream", "10"},
                   "etsi102232",
                   true});
}

// TS 103 221-2 X2/X3 delivery of the same kinds of calls, SIP over TCP included.
TEST_F(EndToEnd, FormatX3) {
    auto args = std::vector<std::string>{"--private",
                                         "1",
                                         "--group",
                                         "1",
                                         "--ims",
                                         "1",
                                         "--background",
                                         "1",
                                         "--packets-per-stream",
                                         "10",
                                         "--scenario",
                                         "tcp_split",
                                         "--scenario",
                                         "missing_key"};
    run_and_check({args, "x3"});
}

}  // namespace
