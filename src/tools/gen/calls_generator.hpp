// liprobe-gen calls, inside: the generator that calls.cpp (MCPTT and IMS calls, floods, the
// output files) and sdes_calls.cpp (RFC 4568 SDES calls) both add calls to. Not a public
// interface: only the generator's own files include it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "calls.hpp"
#include "common.hpp"
#include "sip_builder.hpp"

namespace liprobe::gen {

using json = nlohmann::ordered_json;

inline constexpr const char* kMcpttDomain = "mcptt.example.org";
inline constexpr const char* kImsDomain = "ims.example.net";
inline constexpr const char* kPsi = "sip:mcptt-orig-part@mcptt.example.org";  // MCPTT server PSI
inline constexpr const char* kKms = "sip:kms@mcptt.example.org";
inline constexpr int64_t kCallSpacingUs = 7919;  // call k starts k * spacing after the first
inline constexpr uint16_t kRolloverStartSeq = 65500;
inline constexpr uint32_t kRolloverMinPackets = 80;  // enough to cross SEQ 0 from 65500
inline constexpr uint32_t kGroupMembers = 3;
// Floods (issue 11): sized against the bounds the config of a flood scenario sets, so that the
// tables are full long before the target call and stay full after it.
inline constexpr uint32_t kFloodCount = 1000;
inline constexpr uint32_t kFloodSources = 64;
inline constexpr int64_t kFragmentFloodSpacingUs = 25;  // 4 flood datagrams between fragments
inline constexpr int64_t kInviteFloodSpacingUs = 2000;  // 30 INVITEs between INVITE and 200 OK
inline constexpr uint32_t kFloodMaxFragments = 256;     // [dpdk] max_fragments: 16 datagrams
inline constexpr uint32_t kFloodMaxDialogs = 64;        // [sip] max_dialogs
inline constexpr const char* kFloodLiid = "GEN-FLOOD";
inline constexpr const char* kFloodTarget = "sip:flooded@mcptt.example.org";

enum class Kind { private_call, group_call, ims_call };
const char* kind_name(Kind k);

// What a scenario changes in one call.
struct Variation {
    std::string scenario;  // empty: a plain call
    bool target = true;
    bool ipv6 = false;
    std::vector<net::VlanTag> vlans;
    bool keys_in_json = true;
    bool rollover = false;
    bool tampered = false;
    bool fragment_invite = false;
    bool tcp = false;
    bool csrc_ext = false;
    bool ims_srtp = false;
    std::string target_side = "caller";  // private/IMS: which side the warrant names
    // IMS identities overriding the defaults (uri_normalisation).
    std::string ims_request_uri, ims_to, warrant_identity;
    bool expect_match = true;
    bool warrant_sdes = true;  // false: the warrant sets sdes = false (SDES keys not used)
};

struct SipMessageOut {
    bool from_caller = true;
    std::string text;
    int64_t time_us = 0;
};

struct StreamOut {
    std::string id;
    bool rtcp = false;
    bool from_caller = true;
    const Host* src = nullptr;
    const Host* dst = nullptr;
    uint16_t sport = 0, dport = 0;
    RtpShape shape;
    bool srtp = true;
    SrtpKeys keys;
    // Re-keying: from packet first_packet on, a new libsrtp2 session with these keys (the
    // SSRC, the sequence numbers and the ROC go on; the SRTCP index starts again in the new
    // context).
    std::vector<std::pair<uint32_t, SrtpKeys>> rekeys;
    int cs_id = -1;
    bool rcc = false;
    std::string sender;
    int64_t start_us = 0;
    int64_t interval_us = kPacketIntervalUs;
    uint32_t count = 0;
    json extra_meta = json::object();  // merged into the stream's manifest entry
};

std::string pad(uint64_t v, int width);
std::string host_port(const Host& h, uint16_t port);
uint64_t ntp_of(int64_t time_us);

// Manifest entries keep record ids; frame indices are known only once the capture is sorted.
struct FramedEntry {
    json meta;
    std::vector<uint64_t> ids;
};
struct CallRecord {
    json meta;
    std::vector<FramedEntry> sip, streams;
};

// The addresses, identities and warrant of one call, fixed before its keys and signalling.
struct CallSetup {
    uint32_t k = 0;   // call index
    std::string cid;  // "c00007": prefix of the call's stream ids
    Host caller{}, callee{}, server{}, group_media{};
    const Host* peer = nullptr;  // the media end the 200 OK names (group: the group server)
    uint16_t caller_rtp = 0, peer_rtp = 0, caller_sip_port = 5060;
    int64_t t0 = 0;  // the INVITE
    std::string call_id, tag_a, tag_b;
    std::string caller_id, callee_id, group_id, from_uri, to_uri, request_uri, pai;
    std::vector<std::string> members;
    std::string target_identity, target_side, liid;
};

// The dialog's headers; requests and responses of the dialog built from them.
struct DialogText {
    std::string via, from, to, to_tagged, call_id, request_uri, contact;
    SipText response(const std::string& status, const std::string& cseq, bool tagged) const;
    // An in-dialog request from the caller (To with the callee's tag).
    SipText request(const std::string& method, const std::string& cseq) const;
};

class CallsGenerator {
  public:
    explicit CallsGenerator(const CallsOptions& o) : o_(o), rng_(o.seed) {}
    CallsResult run();

  private:
    void add_call(Kind kind, const Variation& v);
    CallSetup setup_call(Kind kind, const Variation& v);
    DialogText dialog_text(const CallSetup& c, const Variation& v);
    // A stream of the call's first n packets from media_start (the callee's 5 ms later).
    StreamOut new_stream(const CallSetup& c, int number, bool from_caller,
                         const std::string& sender, int64_t media_start, uint32_t n);
    // The RTCP stream of rtp's sender: on rtp's ports + 1 unless muxed.
    static StreamOut rtcp_stream_of(const StreamOut& rtp, const std::string& id, bool muxed,
                                    int64_t start_us, uint32_t count);
    json call_meta(const CallSetup& c, Kind kind, const Variation& v) const;
    void emit_sip(CallRecord& call, const std::vector<SipMessageOut>& msgs, const Host& caller,
                  const Host& server, uint16_t caller_sip_port, const Variation& v,
                  const std::string& target_side);
    void emit_stream(CallRecord& call, const StreamOut& s, const Variation& v,
                     const std::string& target_side, const std::string& deliver);
    void add_background(uint32_t index);
    void add_malformed(int64_t t0, const Host& a, const Host& b, uint16_t media_port);
    void add_fragment_flood(int64_t middle_us);
    void add_invite_flood(int64_t middle_us);
    // sdes_calls.cpp: the calls of one SDES scenario (is_sdes_scenario(name)).
    void add_sdes_scenario(const std::string& name);
    struct SdesCallPlan;
    void add_sdes_call(const SdesCallPlan& plan);
    void write_config(const std::filesystem::path& path) const;
    net::UdpFrameSpec spec(const Host& from, uint16_t sport, const Host& to, uint16_t dport,
                           const Variation& v) {
        net::UdpFrameSpec s = udp_spec(from, sport, to, dport);
        s.vlans = v.vlans;
        s.ip_id = static_cast<uint16_t>(rng_.next32());
        return s;
    }
    static std::string direction(bool from_caller, const std::string& target_side) {
        if (target_side.empty()) return "";
        return (from_caller == (target_side == "caller")) ? "from_target" : "to_target";
    }
    void add_warrant(const std::string& liid, const std::string& identity, bool sdes = true) {
        json w = {{"liid", liid}, {"targets", {identity}}};
        if (!sdes) w["sdes"] = false;
        warrants_.push_back(std::move(w));
    }

    const CallsOptions& o_;
    Random rng_;
    Capture capture_;
    json keys_ = json::array();
    json warrants_ = json::array();
    std::vector<CallRecord> calls_;
    std::vector<FramedEntry> malformed_, background_;
    json floods_ = json::array();
    bool fragment_flood_ = false, invite_flood_ = false;
    std::vector<std::pair<std::string, std::vector<Bytes>>> expected_files_;
    uint32_t call_index_ = 0;
};

// The SDES scenarios (sdes_calls.cpp) and the manifest's sentence for each.
bool is_sdes_scenario(const std::string& name);
const std::vector<std::pair<std::string, std::string>>& sdes_scenario_texts();

}  // namespace liprobe::gen
