// SIP path per core: parse an INVITE (about 900 octets with SDP) and match it against 10,000
// selectors that share one domain (design.md 4: >= 300,000 INVITEs/s per core). Variants: a
// non-target INVITE (the common case), a target INVITE (prefilter hit + exact check), the full
// dialog extraction (SDP + MIKEY summary) on top, and content detection alone.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "liprobe/sip/detector.hpp"
#include "liprobe/sip/dialog_message.hpp"
#include "liprobe/sip/message.hpp"
#include "liprobe/targets/selector_set.hpp"

namespace {

using namespace liprobe;

constexpr int kSelectors = 10000;

// A real MIKEY-SAKKE I_MESSAGE for the SDP: Streamwide/sw_mikey_sakke StreamwideTestVectors.md,
// Test 3 (PCK).
const char* const kPckIMessage =
    "ARoFARJ43KsAAQsA7IZoTwAAAAAOEEK0yhviBB9vGG6I0gPeXH0OCAEAILXEUjCSGdpqPYBWFVSNbBsPTeRaa0j7E9mi"
    "TYV/wD3EDgkBACB4CFHNqRqcM/lBzTooMWl+KJMmR1TjY/igzvgn6yAagQ4GAQAYa21zLm15ZGV2LnN0cmVhbXdpZGUu"
    "Y29tCgcBABhrbXMubXlkZXYuc3RyZWFtd2lkZS5jb20aAAAAGwABBgEBEAIBBAQBDAUBAAYBABIBBBMBABQBEBUBAgER"
    "BDFLUzkJZ3U0JnILRLhUxIjQ9+4MH6pt+0jFQ5mVofUGkrh+I+jchQbElBQfzo3frdDERJPDdu+DvgMr4WPZLaRsQQrr"
    "DQwn3b0OjOH1k1rJoFwzT6cbiSLdAvsS35p+o5j1b2+zRx1qcr0yAv+7r0GWWuc8jCNVFG2ba7crszqWHYpw6bGxsLb9"
    "UAi472VqnaOaaWKqjQVi3d8MJ4O/vwrs1KOR4TlGm4IvE7Hm0Lq/kihn7Z2tecpwH8q2tRKruDTguejWWXxbpzL9sC0G"
    "y//QVWyOubMcm2uIBeeLFMH2teINtXaIRbjA02fUCrsFJOLeF24Cwn8xeVp4Pkx3wtTo1Hagldkij7cKUHSSIjoDBAcA"
    "REMAAAAAAQAAAAAAAWrU4lMsvo95rzkbhSBt0i4SeNyrAAAhDbbGHXzIxoVTMy6APh+1VwiBCUGdgjCuiodUctxha+N9"
    "IIHu/3AmVRF1gajKf5kt5zktSGqG8K79EH9mu5xLYV4YKDTOCKKNkklz01txusQR9emtNyjNLPykeaeKX8WE4mDzBCbN"
    "iwozr5s4HuU+vGhBrtXByY+w0r65x/+Y18eYCNH1ZmWfa3NQFhkt2ZhN9W5U8/lcdqxGOMHz0yKPPHUsjMg=";

const targets::SelectorSet& selector_set() {
    static std::unique_ptr<const targets::SelectorSet> set = [] {
        std::vector<targets::Warrant> w;
        for (int i = 0; i < kSelectors; ++i) {
            char uri[64];
            std::snprintf(uri, sizeof(uri), "sip:user%05d@mcptt.example.org", i);
            w.push_back({"LIID-" + std::to_string(i), {uri}, {"lemf"}});
        }
        std::string error;
        auto s = targets::SelectorSet::build(std::move(w), {1}, error);
        if (!s) std::fprintf(stderr, "build failed: %s\n", error.c_str());
        return s;
    }();
    return *set;
}

std::string make_invite(const std::string& callee, bool with_mikey = false) {
    const std::string sdp =
        std::string(
            "v=0\r\n"
            "o=- 3887421234 3887421234 IN IP4 192.0.2.10\r\n"
            "s=-\r\n"
            "c=IN IP4 192.0.2.10\r\n"
            "t=0 0\r\n"
            "m=audio 49170 RTP/SAVP 96 97\r\n"
            "a=rtpmap:96 AMR-WB/16000\r\n"
            "a=rtpmap:97 telephone-event/16000\r\n"
            "a=fmtp:96 mode-change-capability=2;max-red=0\r\n"
            "a=ptime:20\r\n"
            "a=maxptime:240\r\n"
            "a=sendrecv\r\n") +
        (with_mikey ? "a=key-mgmt:mikey " + std::string(kPckIMessage) + "\r\n" : "");
    std::string m =
        "INVITE sip:" + callee +
        "@mcptt.example.org SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1---b3a5e9c1f8a2;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: "
        "<sip:caller@192.0.2.10:5060;transport=udp>;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service."
        "ims.icsi.mcptt\"\r\n"
        "To: <sip:" +
        callee +
        "@mcptt.example.org>\r\n"
        "From: \"Caller\" <sip:caller77@mcptt.example.org>;tag=9fxced76sl\r\n"
        "Call-ID: 3848276298220188511@192.0.2.10\r\n"
        "CSeq: 1 INVITE\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, UPDATE, PRACK, MESSAGE, REFER, NOTIFY, INFO, OPTIONS\r\n"
        "Supported: 100rel, timer, replaces\r\n"
        "P-Asserted-Identity: <sip:caller77@mcptt.example.org>\r\n"
        "P-Preferred-Service: urn:urn-7:3gpp-service.ims.icsi.mcptt\r\n"
        "User-Agent: liprobe-bench/1.0\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: " +
        std::to_string(sdp.size()) + "\r\n\r\n" + sdp;
    return m;
}

void run_parse_match(benchmark::State& state, const std::string& invite, size_t expected) {
    const auto& set = selector_set();
    sip::McpttInfoParser xml;
    auto msg = std::make_unique<sip::SipMessage>();
    auto result = std::make_unique<targets::MatchResult>();
    size_t matched = 0;
    for (auto _ : state) {
        if (sip::parse_message(invite, *msg) != sip::ParseError::ok) state.SkipWithError("parse");
        matched += set.match(*msg, 0, xml, *result);
        benchmark::DoNotOptimize(result->count);
    }
    if (matched != expected * state.iterations()) state.SkipWithError("unexpected match count");
    state.SetItemsProcessed(state.iterations());
    state.counters["octets"] = static_cast<double>(invite.size());
}

void BM_InviteParseMatch_NonTarget(benchmark::State& state) {
    run_parse_match(state, make_invite("someone"), 0);
}
BENCHMARK(BM_InviteParseMatch_NonTarget);

void BM_InviteParseMatch_Target(benchmark::State& state) {
    run_parse_match(state, make_invite("user04242"), 1);
}
BENCHMARK(BM_InviteParseMatch_Target);

void BM_InviteParseMatchExtract_Target(benchmark::State& state) {
    const auto& set = selector_set();
    const std::string invite = make_invite("user04242", true);
    sip::McpttInfoParser xml;
    auto msg = std::make_unique<sip::SipMessage>();
    auto result = std::make_unique<targets::MatchResult>();
    auto dialog = std::make_unique<sip::DialogMessage>();
    for (auto _ : state) {
        sip::parse_message(invite, *msg);
        if (set.match(*msg, 0, xml, *result) > 0) sip::extract_dialog_message(*msg, xml, *dialog);
        benchmark::DoNotOptimize(dialog->sdp.media_count);
    }
    if (dialog->mikey_error != sip::MikeyError::ok) state.SkipWithError("mikey");
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InviteParseMatchExtract_Target);

void BM_Detect(benchmark::State& state) {
    sip::SipDetector d;
    std::string error;
    if (!d.init(1, error)) state.SkipWithError(error.c_str());
    const std::string invite = make_invite("someone");
    const std::string rtp(172, '\x80');
    const bool sip_payload = state.range(0) != 0;
    const std::string& payload = sip_payload ? invite : rtp;
    for (auto _ : state) benchmark::DoNotOptimize(d.classify(payload, 0));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Detect)->Arg(1)->Arg(0);

}  // namespace

BENCHMARK_MAIN();
