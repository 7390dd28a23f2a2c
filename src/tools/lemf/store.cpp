// liprobe-lemf output: sequence continuity per (LIID, CIN, CC|IRI), per-(LIID, CIN) pcap and
// JSON-lines files, and the summary.
#include <cctype>
#include <cinttypes>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "lemf.hpp"

namespace liprobe::lemf {
namespace {

using exporter::DecodedPdu;
using exporter::Direction;
using exporter::PduKind;
using nlohmann::json;

// More open (LIID, CIN) outputs than this: close them all (they reopen in append mode).
constexpr size_t kMaxOpenOutputs = 128;
constexpr uint32_t kLinktypeRaw = 101;

std::string safe_name(const std::string& s) {
    std::string out;
    for (unsigned char c : s) out += (std::isalnum(c) || c == '-' || c == '.') ? char(c) : '_';
    if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
    return out;
}

std::string uuid_text(const uint8_t* x) {
    char b[37];
    std::snprintf(b, sizeof b,
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", x[0],
                  x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10], x[11], x[12], x[13],
                  x[14], x[15]);
    return b;
}

// The (LIID, CIN) a PDU belongs to. X2/X3 carry no LIID: the XID stands for it.
std::string liid_of(const DecodedPdu& d) {
    return d.format == exporter::Format::x3 ? uuid_text(d.xid) : d.liid;
}

std::string address_text(const exporter::IpEndpoint& ep) {
    char b[64];
    if (ep.family == 6) {
        std::string s;
        for (int i = 0; i < 16; i += 2) {
            std::snprintf(b, sizeof b, "%s%x", i ? ":" : "", ep.addr[i] << 8 | ep.addr[i + 1]);
            s += b;
        }
        return s;
    }
    std::snprintf(b, sizeof b, "%u.%u.%u.%u", ep.addr[0], ep.addr[1], ep.addr[2], ep.addr[3]);
    return b;
}

std::string iso_time(int64_t sec, uint32_t nsec) {
    const time_t t = static_cast<time_t>(sec);
    struct tm tm_utc;
    gmtime_r(&t, &tm_utc);
    char b[64];
    std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm_utc.tm_year + 1900,
                  tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec,
                  nsec / 1000);
    return b;
}

std::string first_line(const std::vector<uint8_t>& p) {
    size_t n = 0;
    while (n < p.size() && n < 512 && p[n] != '\r' && p[n] != '\n') ++n;
    std::string s(p.begin(), p.begin() + static_cast<long>(n));
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
    return s;
}

void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

uint16_t checksum_fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}
uint32_t checksum_add(uint32_t sum, const uint8_t* p, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
    return sum;
}

}  // namespace

bool is_rtcp(const std::vector<uint8_t>& packet) {
    return packet.size() >= 2 && packet[1] >= 192 && packet[1] <= 223;
}

std::vector<uint8_t> wrap_rtp(const DecodedPdu& d) {
    exporter::IpEndpoint src, dst;
    if (d.has_addresses && d.has_ports) {
        src = d.src;
        dst = d.dst;
    } else {
        auto v4 = [](exporter::IpEndpoint& ep, uint8_t last, uint16_t port) {
            ep = exporter::IpEndpoint{};
            ep.addr[0] = 10;
            ep.addr[3] = last;
            ep.port = port;
        };
        if (d.direction == Direction::from_target) {
            v4(src, 1, kTargetPort);
            v4(dst, 2, kPeerPort);
        } else if (d.direction == Direction::to_target) {
            v4(src, 2, kPeerPort);
            v4(dst, 1, kTargetPort);
        } else {
            v4(src, 3, 50004);
            v4(dst, 4, 50006);
        }
        if (is_rtcp(d.payload)) {
            src.port = static_cast<uint16_t>(src.port + kRtcpPortOffset);
            dst.port = static_cast<uint16_t>(dst.port + kRtcpPortOffset);
        }
    }
    const bool v6 = src.family == 6;
    const size_t ip_len = v6 ? 40 : 20;
    const size_t udp_len = 8 + d.payload.size();
    if (udp_len + (v6 ? 0 : ip_len) > 65535) return {};
    std::vector<uint8_t> pkt(ip_len + udp_len, 0);
    uint8_t* ip = pkt.data();
    uint8_t* udp = ip + ip_len;
    if (v6) {
        ip[0] = 0x60;
        put16(ip + 4, static_cast<uint16_t>(udp_len));
        ip[6] = 17;
        ip[7] = 64;
        std::memcpy(ip + 8, src.addr, 16);
        std::memcpy(ip + 24, dst.addr, 16);
    } else {
        ip[0] = 0x45;
        put16(ip + 2, static_cast<uint16_t>(ip_len + udp_len));
        ip[6] = 0x40;  // DF
        ip[8] = 64;
        ip[9] = 17;
        std::memcpy(ip + 12, src.addr, 4);
        std::memcpy(ip + 16, dst.addr, 4);
        put16(ip + 10, checksum_fold(checksum_add(0, ip, 20)));
    }
    put16(udp, src.port);
    put16(udp + 2, dst.port);
    put16(udp + 4, static_cast<uint16_t>(udp_len));
    if (!d.payload.empty()) std::memcpy(udp + 8, d.payload.data(), d.payload.size());
    // UDP checksum over the pseudo header (mandatory for IPv6; done for IPv4 too).
    uint32_t sum = 0;
    sum = checksum_add(sum, v6 ? ip + 8 : ip + 12, v6 ? 32 : 8);
    sum += 17 + static_cast<uint32_t>(udp_len);
    sum = checksum_add(sum, udp, udp_len);
    uint16_t c = checksum_fold(sum);
    put16(udp + 6, c == 0 ? 0xffff : c);
    return pkt;
}

Store::Store(std::string dir, exporter::Format format) : dir_(std::move(dir)), format_(format) {}

Store::~Store() {
    close_outputs();
}

bool Store::resume(std::string& error) {
    const std::string path = dir_ + "/summary.json";
    std::ifstream in(path);
    if (!in) return true;  // nothing to resume
    json s;
    try {
        in >> s;
        for (const json& st : s.at("streams")) {
            Stream x;
            x.pdus = st.at("pdus").get<uint64_t>();
            x.missing = st.at("missing").get<uint64_t>();
            x.gap_events = st.at("gap_events").get<uint64_t>();
            x.duplicates = st.at("duplicates").get<uint64_t>();
            x.first_seq = st.at("first_seq").get<uint64_t>();
            x.next_seq = st.at("next_seq").get<uint64_t>();
            x.started = true;
            const std::string stream = st.at("stream").get<std::string>();
            const int kind = stream == "iri"   ? kIriStream
                             : stream == "hi1" ? kHi1Stream
                                               : kCcStream;
            streams_[{st.at("liid").get<std::string>(), st.at("cin").get<uint64_t>(), kind}] = x;
        }
        if (s.contains("li_deactivated"))
            for (const auto& [liid, n] : s.at("li_deactivated").items())
                li_deactivated_[liid] = n.get<uint64_t>();
    } catch (const std::exception& e) {
        error = path + ": " + e.what();
        return false;
    }
    return true;
}

Store::Output& Store::output_for(const OutputKey& key) {
    Output& o = outputs_[key];
    if (o.pcap && o.jsonl) return o;
    if (open_outputs_ >= kMaxOpenOutputs) close_outputs();
    const std::string base = dir_ + "/" + safe_name(key.first) + "_" + std::to_string(key.second);
    o.pcap = std::fopen((base + ".pcap").c_str(), "ab");
    o.jsonl = std::fopen((base + ".jsonl").c_str(), "ab");
    if (o.pcap && std::fseek(o.pcap, 0, SEEK_END) == 0 && std::ftell(o.pcap) == 0) {
        struct {
            uint32_t magic, ver, zone, sigfigs, snaplen, linktype;
        } hdr = {0xa1b2c3d4, 0x00040002, 0, 0, 262144, kLinktypeRaw};  // native byte order
        std::fwrite(&hdr, sizeof hdr, 1, o.pcap);
    }
    ++open_outputs_;
    return o;
}

void Store::close_outputs() {
    for (auto& [k, o] : outputs_) {
        if (o.pcap) std::fclose(o.pcap);
        if (o.jsonl) std::fclose(o.jsonl);
        o.pcap = o.jsonl = nullptr;
    }
    open_outputs_ = 0;
}

void Store::write_pcap(Output& out, const DecodedPdu& d) {
    std::vector<uint8_t> pkt;
    const std::vector<uint8_t>* data = &d.payload;
    if (d.kind == PduKind::cc_rtp) {
        pkt = wrap_rtp(d);
        data = &pkt;
    }
    if (data->empty() || !out.pcap) {
        ++pcap_skipped_;
        return;
    }
    const uint32_t rec[4] = {static_cast<uint32_t>(d.time_sec), d.time_nsec / 1000,
                             static_cast<uint32_t>(data->size()),
                             static_cast<uint32_t>(data->size())};
    std::fwrite(rec, sizeof rec, 1, out.pcap);
    std::fwrite(data->data(), 1, data->size(), out.pcap);
    ++out.pcap_packets;
}

void Store::record(const DecodedPdu& d, size_t pdu_bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    ++pdus_;
    const std::string liid = liid_of(d);
    const int kind = stream_of(d.kind);
    Stream& s = streams_[{liid, d.cin, kind}];
    if (d.kind == PduKind::li_deactivated) ++li_deactivated_[liid];
    if (kind != kHi1Stream) ++liid_records_[liid];
    const uint64_t seq = d.sequence;
    if (!s.started) {
        s.started = true;
        s.first_seq = seq;
        if (seq > 0) {  // sequence numbers start at 0 (design.md 3.5)
            s.missing += seq;
            ++s.gap_events;
        }
        s.next_seq = seq + 1;
    } else if (seq == s.next_seq) {
        ++s.next_seq;
    } else if (seq > s.next_seq) {
        s.missing += seq - s.next_seq;
        ++s.gap_events;
        s.next_seq = seq + 1;
    } else {
        ++s.duplicates;
    }
    ++s.pdus;

    Output& out = output_for({liid, d.cin});
    ++out.pdus;
    if (d.kind == PduKind::cc_rtp || d.kind == PduKind::cc_ip) write_pcap(out, d);
    json j;
    j["format"] = exporter::format_name(d.format);
    j["kind"] = exporter::pdu_kind_name(d.kind);
    j["liid"] = liid;
    j["cin"] = d.cin;
    j["seq"] = d.sequence;
    j["time"] = iso_time(d.time_sec, d.time_nsec);
    j["time_us"] = d.time_us();
    if (d.has_direction) j["direction"] = exporter::direction_name(d.direction);
    j["pdu_bytes"] = pdu_bytes;
    j["payload_bytes"] = d.payload.size();
    if (d.has_iri_type) j["iri_type"] = exporter::iri_type_name(d.iri_type);
    if (d.has_addresses) {
        j["src"] = address_text(d.src);
        j["dst"] = address_text(d.dst);
    }
    if (d.has_ports) {
        j["src_port"] = d.src.port;
        j["dst_port"] = d.dst.port;
    }
    if (d.has_ip_protocol) j["ip_protocol"] = d.ip_protocol;
    if (d.kind == PduKind::iri_sip) j["sip"] = first_line(d.payload);
    if (d.format == exporter::Format::etsi102232 &&
        (d.kind == PduKind::cc_rtp || d.kind == PduKind::cc_ip)) {
        // TS 102 232-5 IPMMCC: rtpFrame(2) / ipFrame(0), mMCCprotocol rTP(0) when present.
        j["frame_type"] = d.frame_type;
        if (d.mmcc_protocol >= 0) j["mmcc_protocol"] = d.mmcc_protocol;
    }
    if (d.kind == PduKind::cc_rtp) j["rtcp"] = is_rtcp(d.payload);
    if (kind == kHi1Stream) {  // the Notification's own fields, as sent
        j["notification_liid"] = d.hi1_liid;
        j["notification_operator"] = d.hi1_operator_id;
        j["notification_time"] = d.hi1_time;
        // CC and IRI PDUs of this LIID received before it, over every connection: equal to the
        // LIID's total at the end when nothing of it came after the notification.
        j["liid_records_before"] = liid_records_[liid];
    }
    if (d.format == exporter::Format::x3) {
        j["x_version"] = d.x_version;
        j["payload_format"] = d.x_payload_format;
        if (!d.matched_target.empty())
            j["matched_target"] =
                first_line(std::vector<uint8_t>(d.matched_target.begin(), d.matched_target.end()));
    }
    if (out.jsonl) {
        const std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
        std::fwrite(line.data(), 1, line.size(), out.jsonl);
    }
}

void Store::keepalive_answered() {
    std::lock_guard<std::mutex> lock(mu_);
    ++keepalives_;
}
void Store::keepalive_response_seen() {
    std::lock_guard<std::mutex> lock(mu_);
    ++keepalive_responses_;
}
void Store::connection_opened() {
    std::lock_guard<std::mutex> lock(mu_);
    ++connections_;
    ++active_;
}
void Store::connection_closed() {
    std::lock_guard<std::mutex> lock(mu_);
    --active_;
}
void Store::malformed_connection(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu_);
    ++malformed_;
    if (reasons_.size() < 20) reasons_.push_back(reason);
}
void Store::tls_failure(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu_);
    ++tls_failures_;
    if (reasons_.size() < 20) reasons_.push_back(reason);
}

json Store::summary_locked() const {
    json s;
    s["format"] = exporter::format_name(format_);
    s["connections"] = connections_;
    s["malformed_connections"] = malformed_;
    s["tls_failures"] = tls_failures_;
    s["failure_reasons"] = reasons_;
    s["keepalives_answered"] = keepalives_;
    s["keepalive_responses"] = keepalive_responses_;
    s["pdus"] = pdus_;
    s["pcap_skipped"] = pcap_skipped_;
    uint64_t missing = 0, dups = 0;
    json streams = json::array();
    for (const auto& [k, st] : streams_) {
        missing += st.missing;
        dups += st.duplicates;
        streams.push_back({{"liid", std::get<0>(k)},
                           {"cin", std::get<1>(k)},
                           {"stream", stream_name(std::get<2>(k))},
                           {"pdus", st.pdus},
                           {"first_seq", st.first_seq},
                           {"next_seq", st.next_seq},
                           {"missing", st.missing},
                           {"gap_events", st.gap_events},
                           {"duplicates", st.duplicates}});
    }
    s["missing"] = missing;
    s["duplicates"] = dups;
    s["streams"] = streams;
    // HI1 liDeactivated notifications received, per LIID (README: "what the LEMF sees when a
    // task is deactivated").
    s["li_deactivated"] = json::object();
    for (const auto& [liid, n] : li_deactivated_) s["li_deactivated"][liid] = n;
    return s;
}

json Store::finish() {
    std::lock_guard<std::mutex> lock(mu_);
    close_outputs();
    json s = summary_locked();
    const std::string path = dir_ + "/summary.json";
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp);
        out << s.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    }
    std::filesystem::rename(tmp, path);
    return s;
}

void Store::print_summary(const json& s, FILE* out) {
    std::fprintf(out,
                 "liprobe-lemf summary: %" PRIu64 " PDUs, %" PRIu64 " missing, %" PRIu64
                 " duplicates, %" PRIu64 " connections (%" PRIu64 " malformed, %" PRIu64
                 " TLS failures), %" PRIu64 " keep-alives answered\n",
                 s["pdus"].get<uint64_t>(), s["missing"].get<uint64_t>(),
                 s["duplicates"].get<uint64_t>(), s["connections"].get<uint64_t>(),
                 s["malformed_connections"].get<uint64_t>(), s["tls_failures"].get<uint64_t>(),
                 s["keepalives_answered"].get<uint64_t>());
    for (const json& st : s["streams"]) {
        std::fprintf(out,
                     "  %s CIN %" PRIu64 " %s: %" PRIu64 " PDUs, seq %" PRIu64 "..%" PRIu64
                     ", %" PRIu64 " missing in %" PRIu64 " gaps, %" PRIu64 " duplicates\n",
                     st["liid"].get<std::string>().c_str(), st["cin"].get<uint64_t>(),
                     st["stream"].get<std::string>().c_str(), st["pdus"].get<uint64_t>(),
                     st["first_seq"].get<uint64_t>(), st["next_seq"].get<uint64_t>() - 1,
                     st["missing"].get<uint64_t>(), st["gap_events"].get<uint64_t>(),
                     st["duplicates"].get<uint64_t>());
    }
    if (s.contains("li_deactivated"))
        for (const auto& [liid, n] : s["li_deactivated"].items())
            std::fprintf(out, "  %s: %" PRIu64 " liDeactivated\n", liid.c_str(), n.get<uint64_t>());
    std::fflush(out);
}

}  // namespace liprobe::lemf
