// The active warrants' target selectors, compiled for the fast path (design.md 3.4 and the
// performance note of section 4):
//  - a Hyperscan prefilter of DISTINCTIVE literals: "user@" for SIP URIs with a user part (never
//    the shared "@domain" ending: 10,000 URIs ending in the same domain make Hyperscan slow),
//    ":host" (case-insensitive) for a user-less SIP URI, and the digit string for tel numbers;
//    plus a few patterns that spot spellings a literal could miss (escaped user parts, a
//    password, visual separators in numbers), which force verification;
//  - an exact table: canonical identity -> warrant ids.
// match() scans the message once; only when something may match are the parsed fields
// (Request-URI, From, To, P-Asserted-Identity, and the mcptt-info IDs) normalised and looked up
// exactly. A set is immutable once built (the dataplane replaces it under RCU); each worker uses
// its own scratch slot.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "liprobe/sip/hyperscan.hpp"
#include "liprobe/sip/mcptt_info.hpp"
#include "liprobe/sip/message.hpp"

namespace liprobe::targets {

struct Warrant {
    std::string liid;
    std::vector<std::string> targets;       // SIP/tel URIs, MCPTT (group) IDs
    std::vector<std::string> destinations;  // destination ids (delivery), carried as given
};

enum class MatchField : uint8_t {
    request_uri = 0,
    from,
    to,
    p_asserted_identity,
    mcptt_request_uri,
    mcptt_calling_user_id,
    mcptt_called_party_id,
    mcptt_calling_group_id,
};
const char* match_field_name(MatchField f);

struct WarrantMatch {
    uint32_t warrant = 0;  // index into the set's warrants
    uint16_t fields = 0;   // bit (1 << MatchField) per field that matched
    bool has(MatchField f) const { return (fields >> static_cast<unsigned>(f)) & 1u; }
};

inline constexpr size_t kMaxWarrantMatches = 16;

struct MatchResult {
    std::array<WarrantMatch, kMaxWarrantMatches> warrants{};
    size_t count = 0;
    bool truncated = false;     // more than kMaxWarrantMatches warrants matched
    size_t prefilter_hits = 0;  // Hyperscan matches (candidates) in the message
    bool verified = false;      // the exact check ran
    bool mcptt_parsed = false;  // the mcptt-info body was parsed (only on candidates)
    sip::McpttInfoError mcptt_error = sip::McpttInfoError::ok;
    sip::McpttIds mcptt;  // valid when mcptt_parsed
};

class SelectorSet {
  public:
    struct Options {
        unsigned scratch_slots = 1;  // one per worker thread that calls match()
    };

    // Control plane. Refuses (nullptr, error set) an unusable target identity or a duplicate
    // LIID; the error names the LIID and the target's position, never the identity itself.
    static std::unique_ptr<const SelectorSet> build(std::vector<Warrant> warrants,
                                                    const Options& options, std::string& error);

    size_t warrant_count() const { return warrants_.size(); }
    const Warrant& warrant(uint32_t id) const { return warrants_[id]; }
    size_t selector_count() const { return exact_.size(); }
    size_t literal_count() const { return literal_count_; }

    // Fast path: which warrants msg matches, and on which fields. Allocation-free.
    // Returns out.count.
    size_t match(const sip::SipMessage& msg, unsigned slot, sip::McpttInfoParser& xml,
                 MatchResult& out) const;

    // Exact table lookup of a canonical identity (see normalise.hpp).
    std::span<const uint32_t> lookup(std::string_view canonical) const;

  private:
    SelectorSet() = default;
    void verify_uri(const sip::Uri& uri, MatchField field, MatchResult& out) const;
    void verify_text(std::string_view text, MatchField field, MatchResult& out) const;
    void add_hits(std::string_view canonical, MatchField field, MatchResult& out) const;

    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::vector<Warrant> warrants_;
    std::unordered_map<std::string, std::vector<uint32_t>, StringHash, std::equal_to<>> exact_;
    sip::HsBlockDatabase prefilter_;
    size_t literal_count_ = 0;
};

}  // namespace liprobe::targets
