#include "liprobe/sip/detector.hpp"

#include <hs/hs.h>

#include <array>

namespace liprobe::sip {
namespace {

constexpr std::array<bool, 256> make_first_octets() {
    std::array<bool, 256> t{};
    // First letters of INVITE ACK BYE CANCEL REGISTER OPTIONS PRACK SUBSCRIBE NOTIFY PUBLISH
    // INFO REFER MESSAGE UPDATE and of "SIP/2.0"; CR/LF for stream keep-alives.
    for (char c : std::string_view("IABCROPSNMU\r\n")) t[static_cast<unsigned char>(c)] = true;
    return t;
}
constexpr auto kFirstOctets = make_first_octets();

int on_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
    *static_cast<unsigned*>(ctx) = id;
    return 1;  // stop at the first match
}

}  // namespace

bool SipDetector::may_start_sip(unsigned char first_octet) {
    return kFirstOctets[first_octet];
}

bool SipDetector::init(unsigned slots, std::string& error) {
    const unsigned flags = HS_FLAG_SINGLEMATCH;
    std::vector<HsPattern> patterns = {
        {"^(?:INVITE|ACK|BYE|CANCEL|REGISTER|OPTIONS|PRACK|SUBSCRIBE|NOTIFY|PUBLISH|INFO|REFER|"
         "MESSAGE|UPDATE) [^ \\r\\n]+ SIP/2\\.0\\r?\\n",
         flags, static_cast<unsigned>(StartLine::request)},
        {"^SIP/2\\.0 [1-6][0-9][0-9](?: [^\\r\\n]*)?\\r?\\n", flags,
         static_cast<unsigned>(StartLine::response)},
    };
    return db_.compile(patterns, slots, error);
}

StartLine SipDetector::classify(std::string_view payload, unsigned slot) const {
    if (payload.empty() || !kFirstOctets[static_cast<unsigned char>(payload.front())])
        return StartLine::none;
    size_t skip = 0;
    while (skip < payload.size() && (payload[skip] == '\r' || payload[skip] == '\n')) ++skip;
    if (skip == payload.size() ||
        (skip > 0 && !kFirstOctets[static_cast<unsigned char>(payload[skip])]))
        return StartLine::none;
    payload.remove_prefix(skip);
    // Only the start line matters: scan up to its LF (or kScanLimit octets).
    size_t nl = payload.substr(0, kScanLimit).find('\n');
    payload = payload.substr(0, nl == std::string_view::npos ? kScanLimit : nl + 1);
    hs_scratch_t* scratch = db_.scratch(slot);
    if (!scratch) return StartLine::none;
    unsigned id = 0;
    hs_scan(db_.database(), payload.data(), static_cast<unsigned>(payload.size()), 0, scratch,
            on_match, &id);
    return static_cast<StartLine>(id);
}

}  // namespace liprobe::sip
