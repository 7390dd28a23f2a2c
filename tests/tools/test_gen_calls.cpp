// liprobe-gen calls, checked with the project's own parsers and independent tools: every SIP
// message parses (over UDP, IPv4 fragments and split TCP segments), the MIKEY-SAKKE I_MESSAGE
// and mcptt-info name the right key and identities, SDP ports match the media streams,
// liprobe-keytool decrypt turns the libsrtp2-protected streams into exactly the manifest's
// plaintext, the config loads, and tshark recognises the SIP.
#include <gtest/gtest.h>
#include <srtp2/srtp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "libsrtp_policy.hpp"
#include "liprobe/control/config.hpp"
#include "liprobe/net/parse.hpp"
#include "liprobe/net/pcap_file.hpp"
#include "liprobe/sip/dialog_message.hpp"
#include "liprobe/sip/mcptt_info.hpp"
#include "liprobe/sip/message.hpp"
#include "liprobe/sip/mikey.hpp"
#include "liprobe/sip/sdes.hpp"
#include "liprobe/sip/sdp.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Bytes = std::vector<uint8_t>;

namespace {

std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? "" : v;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

int run(const std::string& cmd, std::string* out = nullptr) {
    const fs::path tmp =
        fs::path(::testing::TempDir()) / ("gen_calls_out_" + std::to_string(getpid()) + ".txt");
    const int status = std::system((cmd + " >" + tmp.string() + " 2>&1").c_str());
    if (out != nullptr) *out = read_file(tmp);
    fs::remove(tmp);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<Bytes> read_pcap(const fs::path& p) {
    liprobe::net::PcapReader reader(p.string());
    std::vector<Bytes> frames;
    liprobe::net::PcapRecord rec;
    while (reader.next(rec)) frames.emplace_back(rec.data, rec.data + rec.caplen);
    return frames;
}

liprobe::net::ParsedPacket parse(const Bytes& f) {
    liprobe::net::ParsedPacket p;
    liprobe::net::parse_frame(f.data(), static_cast<uint32_t>(f.size()),
                              liprobe::net::LinkType::ethernet, p);
    return p;
}

Bytes udp_payload(const Bytes& f) {
    const auto p = parse(f);
    EXPECT_EQ(p.status, liprobe::net::ParseStatus::ok);
    if (p.status != liprobe::net::ParseStatus::ok) return {};
    return Bytes(f.begin() + p.payload_offset, f.begin() + p.payload_offset + p.payload_len);
}

// The SIP message carried by these frames: one UDP datagram, IPv4 fragments of one, or TCP
// segments of one connection (concatenated payloads, sequence numbers checked to be contiguous).
std::string sip_text(const std::vector<Bytes>& capture, const json& frames, bool tcp) {
    std::string text;
    if (tcp) {
        uint32_t next_seq = 0;
        for (size_t i = 0; i < frames.size(); ++i) {
            const Bytes& f = capture.at(frames[i].get<size_t>());
            const auto p = parse(f);
            EXPECT_EQ(p.status, liprobe::net::ParseStatus::not_udp);
            EXPECT_EQ(p.protocol, liprobe::net::kIpProtoTcp);
            const uint8_t* tcp_header = f.data() + p.l4_offset;
            const uint32_t seq = (uint32_t{tcp_header[4]} << 24) | (tcp_header[5] << 16) |
                                 (tcp_header[6] << 8) | tcp_header[7];
            if (i > 0) {
                EXPECT_EQ(seq, next_seq) << "TCP segments not contiguous";
            }
            const size_t data = p.l4_offset + (tcp_header[12] >> 4) * 4u;
            text.append(f.begin() + data, f.begin() + p.l3_end);
            next_seq = seq + static_cast<uint32_t>(p.l3_end - data);
        }
        return text;
    }
    if (frames.size() == 1) {
        const Bytes payload = udp_payload(capture.at(frames[0].get<size_t>()));
        return std::string(payload.begin(), payload.end());
    }
    // IPv4 fragments, in order: the first holds the UDP header.
    Bytes datagram;
    for (size_t i = 0; i < frames.size(); ++i) {
        const Bytes& f = capture.at(frames[i].get<size_t>());
        const auto p = parse(f);
        EXPECT_EQ(p.status, liprobe::net::ParseStatus::ipv4_fragment);
        EXPECT_EQ(p.more_fragments, i + 1 < frames.size());
        EXPECT_EQ(p.fragment_offset * 8u, datagram.size());
        const size_t ihl = (f[p.l3_offset] & 0x0F) * 4u;
        datagram.insert(datagram.end(), f.begin() + p.l3_offset + ihl, f.begin() + p.l3_end);
    }
    return datagram.size() < 8 ? "" : std::string(datagram.begin() + 8, datagram.end());
}

// expected/<stream>.bin: 4-octet big-endian length, then the plaintext packet.
std::vector<Bytes> read_expected(const fs::path& p) {
    const std::string s = read_file(p);
    std::vector<Bytes> out;
    size_t at = 0;
    while (at + 4 <= s.size()) {
        const auto* u = reinterpret_cast<const uint8_t*>(s.data() + at);
        const size_t len = (size_t{u[0]} << 24) | (u[1] << 16) | (u[2] << 8) | u[3];
        out.emplace_back(u + 4, u + 4 + len);
        at += 4 + len;
    }
    EXPECT_EQ(at, s.size());
    return out;
}

uint16_t port_of(const std::string& host_port) {
    return static_cast<uint16_t>(std::stoi(host_port.substr(host_port.rfind(':') + 1)));
}

std::string hex_text(const uint8_t* p, size_t n) {
    std::string out;
    char b[3];
    for (size_t i = 0; i < n; ++i) {
        std::snprintf(b, sizeof b, "%02x", p[i]);
        out += b;
    }
    return out;
}

// The values of a SIP message's "a=crypto:" lines, in order.
std::vector<std::string> crypto_lines(const std::string& sip) {
    std::vector<std::string> out;
    for (size_t at = sip.find("\r\na=crypto:"); at != std::string::npos;
         at = sip.find("\r\na=crypto:", at + 1)) {
        const size_t from = at + 11;
        out.push_back(sip.substr(from, sip.find("\r\n", from) - from));
    }
    return out;
}

// A libsrtp2 receiver (not our decryptor) for one stream, keyed by an a=crypto line as our RFC
// 4568 parser reads it: proves the capture's packets were protected with the SDP's keys. The
// MKI is checked and cut here, where RFC 3711 3.1/3.4 and RFC 7714 put it (AES-CM: before the
// tag, which SRTCP keeps at 10 octets in the _32 suites; AEAD: last), and the rest handed to a
// session without MKI: libsrtp2 2.5's receiver looks for an SRTCP MKI at the SRTP tag's
// distance from the end, which is wrong for the _32 suites. The MKI is not authenticated.
class LibsrtpReceiver {
  public:
    LibsrtpReceiver(uint32_t ssrc, const liprobe::sip::SdesCrypto& c) : suite_(c.suite) {
        static const bool initialised = srtp_init() == srtp_err_status_ok;
        EXPECT_TRUE(initialised);
        const liprobe::sip::SdesKey& k = c.keys[0];
        key_salt_.assign(k.key_salt, k.key_salt + k.key_salt_len);
        for (size_t i = 0; i < k.mki_len; ++i)
            mki_.insert(mki_.begin(), static_cast<uint8_t>(i < 8 ? k.mki >> (8 * i) : 0));
        // ssrc_specific: the stream exists at once, so set_roc works before its first packet.
        session_ = liprobe::gen::libsrtp_session(c.suite, srtp_ssrc_t{ssrc_specific, ssrc},
                                                 key_salt_.data(), nullptr, 0);
    }
    ~LibsrtpReceiver() {
        if (session_ != nullptr) srtp_dealloc(session_);
    }
    LibsrtpReceiver(const LibsrtpReceiver&) = delete;
    LibsrtpReceiver& operator=(const LibsrtpReceiver&) = delete;

    // The ROC of the stream's next packet (a new master key goes on with the stream's ROC).
    void set_roc(uint32_t ssrc, uint32_t roc) {
        EXPECT_EQ(srtp_set_stream_roc(session_, ssrc, roc), srtp_err_status_ok);
    }

    // The plain packet; empty when the MKI is not where and what it should be, or libsrtp2
    // refuses the packet.
    Bytes unprotect(Bytes packet, bool rtcp) {
        if (!mki_.empty()) {
            const auto& info = liprobe::crypto::profile_info(
                rtcp ? liprobe::crypto::srtcp_profile(suite_) : suite_);
            const size_t after = info.aead ? 0 : info.tag_len;
            if (packet.size() < mki_.size() + after + 12) return {};
            const auto at = packet.end() - static_cast<long>(after + mki_.size());
            if (!std::equal(mki_.begin(), mki_.end(), at)) return {};
            packet.erase(at, at + static_cast<long>(mki_.size()));
        }
        int len = static_cast<int>(packet.size());
        const srtp_err_status_t status = rtcp ? srtp_unprotect_rtcp(session_, packet.data(), &len)
                                              : srtp_unprotect(session_, packet.data(), &len);
        if (status != srtp_err_status_ok) return {};
        packet.resize(static_cast<size_t>(len));
        return packet;
    }

  private:
    liprobe::crypto::SrtpProfile suite_;
    Bytes key_salt_, mki_;
    srtp_t session_ = nullptr;
};

class GenCalls : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        gen_ = env_or_empty("LIPROBE_GEN");
        keytool_ = env_or_empty("LIPROBE_KEYTOOL");
        dir_ = fs::path(::testing::TempDir()) / ("gen_calls_" + std::to_string(getpid()));
        fs::remove_all(dir_);
        if (gen_.empty()) return;
        status_ = run(gen_ + " calls --out " + (dir_ / "all").string() +
                          " --seed 9 --private 2 --group 2 --ims 4 --background 3"
                          " --packets-per-stream 12 --scenario all",
                      &output_);
        if (status_ == 0) {
            manifest_ = json::parse(read_file(dir_ / "all/manifest.json"));
            capture_ = read_pcap(dir_ / "all/capture.pcap");
        }
    }
    static void TearDownTestSuite() { fs::remove_all(dir_); }
    void SetUp() override {
        ASSERT_FALSE(gen_.empty()) << "LIPROBE_GEN not set (run through meson test)";
        ASSERT_EQ(status_, 0) << output_;
    }

    // Runs liprobe-gen calls for these scenarios alone (no plain calls, 5 packets per stream)
    // into out; the manifest, or null when the generator failed.
    static json generate_scenarios(const fs::path& out, const std::string& scenarios) {
        const int status = run(gen_ + " calls --out " + out.string() +
                               " --private 0 --group 0 --ims 0 --background 0"
                               " --packets-per-stream 5 --scenario " +
                               scenarios);
        EXPECT_EQ(status, 0) << scenarios;
        return status == 0 ? json::parse(read_file(out / "manifest.json")) : json();
    }

    static inline std::string gen_, keytool_, output_;
    static inline fs::path dir_;
    static inline int status_ = -1;
    static inline json manifest_;
    static inline std::vector<Bytes> capture_;
};

}  // namespace

TEST_F(GenCalls, ManifestCoversEveryKindAndScenario) {
    // 2 private + 2 group + 4 IMS + 3 background + scenario calls (rollover 2, missing_key 1,
    // tampered 1, ipv6 2, vlan 2, fragmented_invite 1, tcp_split 1, uri_normalisation 4,
    // csrc_ext 1, malformed 1) + SDES calls (sdes 6, sdes_mki 6, sdes_rekey 3,
    // sdes_bad_crypto 4; sdes_disabled is not in all).
    const json& calls = manifest_["calls"];
    ASSERT_EQ(calls.size(), 2u + 2 + 4 + 3 + 16 + 19);
    std::map<std::string, int> kinds, scenarios, expect;
    for (const json& c : calls) {
        ++kinds[c["kind"].get<std::string>()];
        ++scenarios[c["scenario"].get<std::string>()];
        ++expect[c["expect"].get<std::string>()];
    }
    EXPECT_EQ(kinds["mcptt_private"], 2 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1);
    EXPECT_EQ(kinds["mcptt_group"], 2 + 1 + 1 + 1 + 1);
    EXPECT_EQ(kinds["ims"], 4 + 1 + 4 + 19);
    EXPECT_EQ(scenarios["uri_normalisation"], 4);
    EXPECT_EQ(scenarios["sdes"], 6);
    EXPECT_EQ(scenarios["sdes_mki"], 6);
    EXPECT_EQ(scenarios["sdes_rekey"], 3);
    EXPECT_EQ(scenarios["sdes_bad_crypto"], 4);
    EXPECT_EQ(scenarios.count("sdes_disabled"), 0u);
    EXPECT_EQ(expect["not_intercepted"], 3 + 1);  // background + the case-different user part
    EXPECT_EQ(manifest_["scenarios"].size(), 14u);
    EXPECT_EQ(manifest_["malformed"].size(), 6u);
    EXPECT_EQ(manifest_["frames"].get<size_t>(), capture_.size());
    EXPECT_EQ(manifest_["warrants"].size(), 2u + 2 + 4 + 16 + 19);
}

TEST_F(GenCalls, EverySipMessageParsesAndCarriesTheRightIdsKeysAndPorts) {
    const json keys = json::parse(read_file(dir_ / "all/keys.json"))["keys"];
    std::map<std::string, json> key_by_id;
    for (const json& k : keys) {
        if (k.contains("key_id")) key_by_id[k["key_id"].get<std::string>()] = k;
    }
    liprobe::sip::McpttInfoParser xml;
    size_t messages = 0, mikeys = 0, fragmented = 0, tcp = 0;
    for (const json& call : manifest_["calls"]) {
        SCOPED_TRACE(call["id"].get<std::string>());
        const bool over_tcp = call["sip_transport"] == "tcp";
        // The re-keyed SDES call adds a re-INVITE, its 200 OK and ACK.
        const bool rekeyed = call.contains("key") && call["key"].value("rekeyed", false);
        ASSERT_EQ(call["sip"].size(), rekeyed ? 10u : 7u);
        for (const json& m : call["sip"]) {
            const std::string text = sip_text(capture_, m["frames"], over_tcp);
            ASSERT_EQ(text.size(), m["length"].get<size_t>());
            liprobe::sip::SipMessage msg;
            ASSERT_EQ(liprobe::sip::parse_message(text, msg), liprobe::sip::ParseError::ok) << text;
            ++messages;
            if (m["frames"].size() > 1) ++(over_tcp ? tcp : fragmented);
            EXPECT_EQ(text.substr(0, text.find("\r\n")), m["first_line"].get<std::string>());
            EXPECT_EQ(msg.call_id, call["call_id"].get<std::string>());
            liprobe::sip::DialogMessage dm;
            liprobe::sip::extract_dialog_message(msg, xml, dm);
            if (!dm.has_sdp) continue;
            ASSERT_EQ(dm.sdp_error, liprobe::sip::SdpError::ok);
            ASSERT_EQ(dm.sdp.media_count, 1u);
            // The SDP names the port the other side sends to: for the offer, the destination of
            // the streams towards the caller; for the answer, of the caller's streams.
            const bool offer = dm.is_invite_request();
            const auto& media = dm.sdp.media[0];
            size_t found = 0;
            for (const json& s : call["streams"]) {
                if (s["kind"] != "rtp" || s["from_caller"].get<bool>() == offer) continue;
                EXPECT_EQ(media.rtp_port, port_of(s["dst"]));
                ++found;
            }
            EXPECT_EQ(found, call["kind"] == "mcptt_group" && offer ? 2u : 1u);
            EXPECT_EQ(media.secure, call.contains("key"));
            if (!offer) continue;
            if (call["kind"] == "mcptt_private") {
                ASSERT_TRUE(dm.has_mikey);
                ASSERT_EQ(dm.mikey_error, liprobe::sip::MikeyError::ok);
                ++mikeys;
                EXPECT_EQ(dm.mikey.data_type, 26);
                EXPECT_EQ(dm.mikey.map_type, 1);
                EXPECT_EQ(dm.mikey.cs_count, 0u);
                char id[9];
                std::snprintf(id, sizeof id, "%08x", dm.mikey.csb_id);
                EXPECT_EQ(id, call["key"]["key_id"].get<std::string>());
                EXPECT_EQ(dm.mikey.initiator.text(), call["caller"].get<std::string>());
                EXPECT_EQ(dm.mikey.responder.text(), call["callee"].get<std::string>());
                if (call["key"]["in_keys_json"].get<bool>()) {
                    const json& k = key_by_id.at(id);
                    EXPECT_EQ(k["initiator"], call["caller"]);
                    std::string rand;
                    for (size_t i = 0; i < dm.mikey.rand_len; ++i) {
                        char b[3];
                        std::snprintf(b, sizeof b, "%02x", dm.mikey.rand[i]);
                        rand += b;
                    }
                    EXPECT_EQ(rand, k["rand"].get<std::string>());
                }
                // The whole I_MESSAGE, payload by payload.
                uint8_t raw[liprobe::sip::kMaxMikeyMessage];
                size_t raw_len = 0;
                ASSERT_TRUE(liprobe::sip::base64_decode(media.mikey, raw, raw_len));
                liprobe::sip::MikeyMessage mk;
                ASSERT_EQ(liprobe::sip::parse_mikey({raw, raw_len}, mk),
                          liprobe::sip::MikeyError::ok);
                EXPECT_EQ(mk.length, raw_len);
                EXPECT_EQ(mk.prf, 1);
                EXPECT_EQ(mk.ts_type, 0);
                EXPECT_EQ(mk.rand.size(), 16u);
                EXPECT_EQ(mk.id_count, 4u);
                ASSERT_NE(mk.find_id(liprobe::sip::IdRole::idrkmsi), nullptr);
                ASSERT_NE(mk.find_id(liprobe::sip::IdRole::idrkmsr), nullptr);
                EXPECT_EQ(mk.sakke_params, 1);
                EXPECT_EQ(mk.sakke_data.size(), 273u);
                EXPECT_TRUE(mk.has_sign);
                EXPECT_EQ(mk.sign_type, 2);
                EXPECT_EQ(mk.signature.size(), 129u);
            } else {
                EXPECT_FALSE(dm.has_mikey);
            }
            if (call["kind"] != "ims") {
                ASSERT_TRUE(dm.has_mcptt_info);
                ASSERT_EQ(dm.mcptt_error, liprobe::sip::McpttInfoError::ok);
                EXPECT_EQ(dm.mcptt.request_uri.view(), call["callee"].get<std::string>());
                EXPECT_EQ(dm.mcptt.calling_user_id.view(), call["caller"].get<std::string>());
            } else {
                EXPECT_EQ(msg.request_uri.text, call["request_uri"].get<std::string>());
                EXPECT_EQ(msg.asserted_identity_count, 1u);
            }
        }
    }
    EXPECT_EQ(messages, manifest_["calls"].size() * 7 + 3 * 3);
    EXPECT_EQ(mikeys, 2u + 1 + 9);  // private calls: plain, background, scenarios
    EXPECT_EQ(fragmented, 1u);
    EXPECT_EQ(tcp, 1u);
}

// liprobe-keytool decrypt (our decryptor) against libsrtp2's output (the generator's encryptor):
// every decryptable packet must come out as exactly the manifest's plaintext; packets without a
// key, tampered ones and plain RTP come out unchanged.
TEST_F(GenCalls, KeytoolDecryptsEveryStreamToTheManifestPlaintext) {
    ASSERT_FALSE(keytool_.empty()) << "LIPROBE_KEYTOOL not set";
    std::string out;
    ASSERT_EQ(run(keytool_ + " decrypt --keys " + (dir_ / "all/keys.json").string() + " " +
                      (dir_ / "all/capture.pcap").string() + " " + (dir_ / "out.pcap").string(),
                  &out),
              0)
        << out;
    const std::vector<Bytes> decrypted = read_pcap(dir_ / "out.pcap");
    ASSERT_EQ(decrypted.size(), capture_.size());
    size_t checked = 0, decrypted_count = 0, tampered_count = 0, encrypted_count = 0;
    for (const json& call : manifest_["calls"]) {
        // SDES keys are in the SDP only (SdesKeysAreInTheSdpOnly): nothing keytool could know.
        if (call.contains("key") && call["key"]["type"] == "sdes") continue;
        for (const json& s : call["streams"]) {
            SCOPED_TRACE(s["id"].get<std::string>());
            const json& frames = s["frames"];
            ASSERT_EQ(frames.size(), s["count"].get<size_t>());
            if (s["expected"].is_null()) {
                EXPECT_EQ(s["deliver"], "none");
                continue;
            }
            const std::vector<Bytes> plain = read_expected(dir_ / "all" / s["expected"]);
            ASSERT_EQ(plain.size(), frames.size());
            std::vector<bool> tampered(frames.size(), false);
            if (s.contains("tampered")) {
                for (const json& i : s["tampered"]) tampered.at(i.get<size_t>()) = true;
            }
            for (size_t i = 0; i < frames.size(); ++i) {
                const size_t frame = frames[i].get<size_t>();
                const Bytes got = udp_payload(decrypted.at(frame));
                const Bytes sent = udp_payload(capture_.at(frame));
                ++checked;
                if (s["deliver"] == "plain") {
                    EXPECT_EQ(got, plain[i]);
                    EXPECT_EQ(sent, plain[i]);
                } else if (s["deliver"] == "encrypted" || tampered[i]) {
                    EXPECT_EQ(got, sent);  // unchanged: no key / authentication failed
                    EXPECT_NE(got, plain[i]);
                    ++(tampered[i] ? tampered_count : encrypted_count);
                } else {
                    ASSERT_EQ(s["deliver"], "decrypted");
                    EXPECT_EQ(got, plain[i]) << "packet " << i;
                    EXPECT_NE(sent, plain[i]);
                    ++decrypted_count;
                }
            }
        }
    }
    EXPECT_GT(decrypted_count, 0u);
    EXPECT_EQ(tampered_count, 2u);                // packets 3 and 10 of 12 (i % 7 == 3)
    EXPECT_EQ(encrypted_count, 2u * 12 + 2 * 2);  // the missing-key call: 2 RTP, 2 SRTCP streams
    EXPECT_NE(out.find("auth_failed 2\n"), std::string::npos) << out;
    EXPECT_NE(out.find("decrypted " + std::to_string(decrypted_count) + " "), std::string::npos)
        << out;
    EXPECT_GT(checked, decrypted_count);
}

// SDES calls (issue 10): the keys are in the SDP only, never in keys.json. Every a=crypto line
// parses with our RFC 4568 parser as the manifest describes it (tags, suite, MKI length; the
// bad lines refused for the manifest's reason), the answer's tag picks the offer's line, and
// libsrtp2 keyed from those lines (the offer's for the caller's media, the answer's for the
// callee's, the re-INVITE's after "rekeyed_from_packet") turns every RTP and SRTCP packet into
// exactly the manifest's plaintext.
TEST_F(GenCalls, SdesKeysAreInTheSdpOnly) {
    const std::string keys_json = read_file(dir_ / "all/keys.json");
    size_t calls = 0, lines = 0, refused = 0, packets = 0, tampered_packets = 0;
    std::map<std::string, size_t> suites;
    for (const json& call : manifest_["calls"]) {
        if (!call.contains("key") || call["key"]["type"] != "sdes") continue;
        SCOPED_TRACE(call["id"].get<std::string>() + " " + call["scenario"].get<std::string>());
        ++calls;
        const json& key = call["key"];
        EXPECT_FALSE(key["in_keys_json"].get<bool>());
        // Offers (caller) and answers (callee), in order: offer, answer[, re-offer, re-answer].
        std::vector<std::vector<std::string>> sdp_lines;
        for (const json& m : call["sip"]) {
            const auto found = crypto_lines(sip_text(capture_, m["frames"], false));
            if (!found.empty()) sdp_lines.push_back(found);
        }
        const bool rekeyed = key["rekeyed"].get<bool>();
        ASSERT_EQ(sdp_lines.size(), rekeyed ? 4u : 2u);
        std::vector<std::vector<liprobe::sip::SdesCrypto>> parsed(sdp_lines.size());
        for (size_t i = 0; i < sdp_lines.size(); ++i) {
            for (const std::string& line : sdp_lines[i]) {
                ++lines;
                liprobe::sip::SdesCrypto c;
                const auto error = liprobe::sip::parse_crypto_attribute(line, c);
                if (key.contains("bad_crypto")) {
                    EXPECT_EQ(liprobe::sip::sdes_error_name(error),
                              key["bad_crypto"]["reason"].get<std::string>());
                    ++refused;
                    continue;
                }
                ASSERT_EQ(error, liprobe::sip::SdesError::ok) << line;
                ASSERT_EQ(c.key_count, 1u);
                EXPECT_EQ(c.keys[0].mki_len, key["mki_len"].get<size_t>());
                // The key is not in keys.json in any form.
                EXPECT_EQ(keys_json.find(hex_text(c.keys[0].key_salt, 8)), std::string::npos);
                parsed[i].push_back(c);
            }
        }
        if (key.contains("bad_crypto")) {
            EXPECT_EQ(key["bad_crypto"]["lines"], sdp_lines.size());
            continue;
        }
        std::vector<uint32_t> offer_tags;
        for (const auto& c : parsed[0]) offer_tags.push_back(c.tag);
        EXPECT_EQ(json(offer_tags), key["offer_tags"]);
        // Each answer holds one line; its tag picks the line of the offer before it.
        std::vector<const liprobe::sip::SdesCrypto*> caller_keys, callee_keys;
        for (size_t i = 0; i + 1 < parsed.size(); i += 2) {
            ASSERT_EQ(parsed[i + 1].size(), 1u);
            const auto& answer = parsed[i + 1][0];
            EXPECT_EQ(answer.tag, key["answer_tag"].get<uint32_t>());
            const liprobe::sip::SdesCrypto* chosen = nullptr;
            for (const auto& c : parsed[i])
                if (c.tag == answer.tag) chosen = &c;
            ASSERT_NE(chosen, nullptr);
            EXPECT_EQ(chosen->suite, answer.suite);
            EXPECT_EQ(liprobe::crypto::profile_info(answer.suite).key_len,
                      key["key_len"].get<size_t>());
            caller_keys.push_back(chosen);
            callee_keys.push_back(&answer);
        }
        ++suites[key["suite"].get<std::string>()];
        for (const json& s : call["streams"]) {
            SCOPED_TRACE(s["id"].get<std::string>());
            const bool rtcp = s["kind"] == "rtcp";
            const auto& own = s["from_caller"].get<bool>() ? caller_keys : callee_keys;
            const size_t rekey_at = s.value("rekeyed_from_packet", size_t{~size_t{0}});
            const auto plain = read_expected(dir_ / "all" / s["expected"]);
            ASSERT_EQ(plain.size(), s["frames"].size());
            std::set<size_t> tampered;
            for (const json& k : s.value("tampered", json::array()))
                tampered.insert(k.get<size_t>());
            auto receiver = std::make_unique<LibsrtpReceiver>(s["ssrc"].get<uint32_t>(), *own[0]);
            for (size_t k = 0; k < plain.size(); ++k) {
                if (k == rekey_at) {
                    ASSERT_EQ(own.size(), 2u);
                    receiver =
                        std::make_unique<LibsrtpReceiver>(s["ssrc"].get<uint32_t>(), *own[1]);
                    if (!rtcp) {  // the stream's ROC goes on under the new keys
                        receiver->set_roc(s["ssrc"].get<uint32_t>(),
                                          (s["first_seq"].get<uint32_t>() + k) >> 16);
                    }
                }
                const Bytes sent = udp_payload(capture_.at(s["frames"][k].get<size_t>()));
                const Bytes got = receiver->unprotect(sent, rtcp);
                if (tampered.count(k) != 0) {
                    EXPECT_TRUE(got.empty()) << "tampered packet " << k << " authenticated";
                    ++tampered_packets;
                } else {
                    EXPECT_EQ(got, plain[k]) << "packet " << k;
                    ++packets;
                }
            }
        }
    }
    EXPECT_EQ(calls, 19u);
    EXPECT_EQ(refused, 4u * 2);  // one bad line in each offer and answer of sdes_bad_crypto
    EXPECT_EQ(lines, 15u * 3 + 3 * 2 + 4 * 2);  // decoy + chosen + answer; re-keys: + 2
    EXPECT_EQ(suites.size(), 6u);
    // 15 decryptable calls: 2 RTP streams of 12 packets, 2 SRTCP streams of 2; packets 3 and
    // 10 (i % 7 == 3) of one caller stream tampered.
    EXPECT_EQ(tampered_packets, 2u);
    EXPECT_EQ(packets, 15u * (2 * 12 + 2 * 2) - 2);
}

// sdes_disabled (not in all): the warrant says sdes = false in liprobe.toml; the call's SDP keys
// are valid, the manifest expects its media encrypted.
TEST_F(GenCalls, SdesDisabledWarrant) {
    const fs::path out = dir_ / "sdes_disabled";
    const json m = generate_scenarios(out, "sdes_disabled");
    ASSERT_FALSE(m.is_null());
    ASSERT_EQ(m["calls"].size(), 1u);
    const json& call = m["calls"][0];
    EXPECT_FALSE(call["key"]["warrant_sdes"].get<bool>());
    ASSERT_EQ(m["warrants"].size(), 1u);
    EXPECT_EQ(m["warrants"][0]["sdes"], false);
    const std::string toml = read_file(out / "liprobe.toml");
    EXPECT_NE(toml.find("liid = \"" + call["warrant"].get<std::string>() + "\"\ntargets = [\"" +
                        call["target_identity"].get<std::string>() +
                        "\"]\ndestinations = [\"lemf\"]\nsdes = false\n"),
              std::string::npos)
        << toml;
    ASSERT_EQ(call["streams"].size(), 4u);
    for (const json& s : call["streams"]) EXPECT_EQ(s["deliver"], "encrypted");
    EXPECT_EQ(json::parse(read_file(out / "keys.json"))["keys"].size(), 0u);
}

TEST_F(GenCalls, RolloverStreamsCrossSequenceZero) {
    int found = 0;
    for (const json& call : manifest_["calls"]) {
        if (call["scenario"] != "rollover") continue;
        const json& s = call["streams"][0];
        EXPECT_EQ(s["first_seq"], 65500);
        EXPECT_EQ(s["count"], 80);
        EXPECT_EQ(s["roc_in_packet"], call["kind"] == "mcptt_group");
        const Bytes last = udp_payload(capture_.at(s["frames"].back().get<size_t>()));
        EXPECT_EQ((last[2] << 8) | last[3], (65500 + 79) & 0xFFFF);
        if (call["kind"] == "mcptt_group") {  // ... | MKI (8) | ROC (4) = 1
            ASSERT_GT(last.size(), 4u);
            EXPECT_EQ(Bytes(last.end() - 4, last.end()), (Bytes{0, 0, 0, 1}));
        }
        ++found;
    }
    EXPECT_EQ(found, 2);
}

TEST_F(GenCalls, ConfigLoadsWithOneWarrantPerTarget) {
    const auto loaded = liprobe::control::load_config((dir_ / "all/liprobe.toml").string());
    ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].text());
    const auto& c = loaded.config;
    ASSERT_EQ(c.destinations.size(), 1u);
    EXPECT_FALSE(c.destinations[0].tls);
    EXPECT_EQ(c.destinations[0].address.port, 6543);
    EXPECT_EQ(c.keys.preload, (dir_ / "all/keys.json").string());
    ASSERT_EQ(c.warrants.size(), manifest_["warrants"].size());
    for (size_t i = 0; i < c.warrants.size(); ++i) {
        EXPECT_EQ(c.warrants[i].liid, manifest_["warrants"][i]["liid"].get<std::string>());
        EXPECT_EQ(c.warrants[i].targets,
                  manifest_["warrants"][i]["targets"].get<std::vector<std::string>>());
    }
}

TEST_F(GenCalls, TlsDestinationFromPkiDirectory) {
    ASSERT_EQ(run(gen_ + " calls --out " + (dir_ / "tls").string() +
                  " --private 1 --group 0 --ims 0 --background 0 --packets-per-stream 2"
                  " --lemf 127.0.0.1:7000 --pki /etc/liprobe-pki"),
              0);
    const std::string toml = read_file(dir_ / "tls/liprobe.toml");
    EXPECT_NE(
        toml.find("address = \"127.0.0.1:7000\"\nformat = \"etsi102232\"\ntls = true\n"
                  "cert = \"/etc/liprobe-pki/probe.pem\"\nkey = \"/etc/liprobe-pki/probe.key\"\n"
                  "ca = \"/etc/liprobe-pki/ca.pem\"\n"),
        std::string::npos)
        << toml;
}

TEST_F(GenCalls, DeterministicForASeed) {
    const std::string args =
        " --private 3 --group 1 --ims 2 --background 2"
        " --packets-per-stream 5 --scenario tampered,tcp_split,sdes_mki,sdes_rekey";
    ASSERT_EQ(run(gen_ + " calls --out " + (dir_ / "a").string() + " --seed 42" + args), 0);
    ASSERT_EQ(run(gen_ + " calls --out " + (dir_ / "b").string() + " --seed 42" + args), 0);
    ASSERT_EQ(run(gen_ + " calls --out " + (dir_ / "c").string() + " --seed 43" + args), 0);
    for (const char* f : {"capture.pcap", "keys.json", "manifest.json", "expected/c00000-s0.bin"}) {
        EXPECT_EQ(read_file(dir_ / "a" / f), read_file(dir_ / "b" / f)) << f;
        EXPECT_NE(read_file(dir_ / "a" / f), read_file(dir_ / "c" / f)) << f;
    }
}

// The floods (issue 11) are not part of "all"; each sets its table bound in liprobe.toml and
// adds its frames: 1000 first fragments (MF, offset 0) from 64 sources that never complete, and
// 1000 INVITEs to the flood warrant with distinct Call-IDs, none answered.
TEST_F(GenCalls, FloodScenarios) {
    EXPECT_TRUE(manifest_["floods"].empty());
    const fs::path out = dir_ / "floods";
    const json m = generate_scenarios(out, "fragment_flood,invite_flood");
    ASSERT_FALSE(m.is_null());
    const std::string toml = read_file(out / "liprobe.toml");
    EXPECT_NE(toml.find("\nmax_fragments = 256\n"), std::string::npos) << toml;
    EXPECT_NE(toml.find("\nmax_dialogs = 64\n"), std::string::npos) << toml;
    ASSERT_EQ(m["floods"].size(), 2u);
    EXPECT_EQ(m["floods"][0]["kind"], "fragments");
    EXPECT_EQ(m["floods"][1]["kind"], "invites");
    EXPECT_EQ(m["floods"][1]["warrant"], "GEN-FLOOD");
    const auto capture = read_pcap(out / "capture.pcap");
    size_t first_fragments = 0;
    std::set<std::string> flood_call_ids;
    std::set<std::string> sources;
    for (const Bytes& f : capture) {
        const auto p = parse(f);
        if (p.status == liprobe::net::ParseStatus::ipv4_fragment && p.more_fragments &&
            p.fragment_offset == 0 && p.src.bytes[1] == 77) {
            ++first_fragments;
            sources.insert(std::to_string(p.src.bytes[3]));
        }
        if (p.status != liprobe::net::ParseStatus::ok) continue;
        const Bytes payload = udp_payload(f);
        const std::string text(payload.begin(), payload.end());
        if (text.rfind("INVITE sip:flooded@", 0) != 0) continue;
        const size_t at = text.find("\r\nCall-ID: ") + 11;
        flood_call_ids.insert(text.substr(at, text.find("\r\n", at) - at));
    }
    EXPECT_EQ(first_fragments, 1000u);
    EXPECT_EQ(sources.size(), 64u);
    EXPECT_EQ(flood_call_ids.size(), 1000u);
    EXPECT_EQ(m["frames"], capture.size());
}

TEST_F(GenCalls, BadArgumentsExitTwo) {
    EXPECT_EQ(run(gen_ + " calls"), 2);
    EXPECT_EQ(run(gen_ + " calls --out " + dir_.string() + "/x --scenario nonsense"), 2);
    EXPECT_EQ(run(gen_ + " calls --out " + dir_.string() + "/x --packets-per-stream 0"), 2);
    EXPECT_EQ(run(gen_ + " calls --out " + dir_.string() + "/x --private -1"), 2);
}

// tshark (an independent dissector) must see every call's SIP methods; skipped without it.
TEST_F(GenCalls, TsharkRecognisesTheSip) {
    if (run("command -v tshark") != 0) GTEST_SKIP() << "tshark not installed";
    std::string out;
    ASSERT_EQ(run("tshark -r " + (dir_ / "all/capture.pcap").string() +
                      " -Y sip -T fields -e sip.Method 2>/dev/null",
                  &out),
              0);
    std::map<std::string, size_t> methods;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) ++methods[line];
    const size_t calls = manifest_["calls"].size();
    // Two of the malformed frames begin with a well-formed INVITE request line on port 5060;
    // each of the three re-keyed SDES calls has a re-INVITE, its 200 OK and its ACK.
    EXPECT_EQ(methods["INVITE"], calls + 2 + 3);
    EXPECT_EQ(methods["ACK"], calls + 3);
    EXPECT_EQ(methods["BYE"], calls);
    EXPECT_EQ(methods[""], calls * 4 + 3);  // the responses
}
