#include "liprobe/targets/selector_set.hpp"

#include <hs/hs.h>

#include <algorithm>
#include <cstdio>

#include "liprobe/targets/normalise.hpp"

namespace liprobe::targets {
namespace {

// Pattern ids at and above this are "verify anyway" triggers, below are literals.
constexpr unsigned kTriggerBase = 1u << 30;

// A literal as a Hyperscan expression: every octet escaped, so any text is safe.
std::string escape_literal(std::string_view lit) {
    std::string out;
    out.reserve(lit.size() * 4);
    char tmp[5];
    for (unsigned char c : lit) {
        std::snprintf(tmp, sizeof(tmp), "\\x%02x", c);
        out += tmp;
    }
    return out;
}

struct ScanState {
    size_t xml_from = 0, xml_to = 0;
    size_t hits = 0;
    bool trigger = false;
    bool in_xml = false;
};

int on_hit(unsigned id, unsigned long long, unsigned long long to, unsigned, void* ctx) {
    auto* st = static_cast<ScanState*>(ctx);
    ++st->hits;
    if (id >= kTriggerBase) st->trigger = true;
    if (to > st->xml_from && to <= st->xml_to) st->in_xml = true;
    return 0;
}

}  // namespace

const char* match_field_name(MatchField f) {
    switch (f) {
        case MatchField::request_uri:
            return "request_uri";
        case MatchField::from:
            return "from";
        case MatchField::to:
            return "to";
        case MatchField::p_asserted_identity:
            return "p_asserted_identity";
        case MatchField::mcptt_request_uri:
            return "mcptt_request_uri";
        case MatchField::mcptt_calling_user_id:
            return "mcptt_calling_user_id";
        case MatchField::mcptt_called_party_id:
            return "mcptt_called_party_id";
        case MatchField::mcptt_calling_group_id:
            return "mcptt_calling_group_id";
    }
    return "unknown";
}

std::unique_ptr<const SelectorSet> SelectorSet::build(std::vector<Warrant> warrants,
                                                      const Options& options, std::string& error) {
    std::unique_ptr<SelectorSet> set(new SelectorSet());
    std::unordered_map<std::string, unsigned> literal_ids;  // literal text -> pattern id
    std::vector<sip::HsPattern> patterns;
    bool any_tel = false;
    for (size_t w = 0; w < warrants.size(); ++w) {
        for (size_t k = 0; k < w; ++k) {
            if (warrants[k].liid == warrants[w].liid) {
                error = "warrant " + warrants[w].liid + ": duplicate LIID";
                return nullptr;
            }
        }
        const auto& targets = warrants[w].targets;
        for (size_t t = 0; t < targets.size(); ++t) {
            std::optional<std::string> canon = normalise_identity(targets[t]);
            if (!canon) {
                error = "warrant " + warrants[w].liid + ": target " + std::to_string(t + 1) +
                        " is not a usable SIP URI, tel URI or MCPTT ID";
                return nullptr;
            }
            auto& ids = set->exact_[*canon];
            if (std::find(ids.begin(), ids.end(), static_cast<uint32_t>(w)) == ids.end())
                ids.push_back(static_cast<uint32_t>(w));
            // The distinctive literal of this identity.
            std::string_view c = *canon;
            std::string literal;
            unsigned flags = HS_FLAG_SINGLEMATCH;
            if (c.substr(0, 4) == "tel:") {
                literal = std::string(c.substr(4));
                any_tel = true;
            } else {
                std::string_view rest = c.substr(4);  // after "sip:"
                size_t at = rest.find('@');
                if (at != std::string_view::npos) {
                    literal = std::string(rest.substr(0, at + 1));  // "user@", case-sensitive
                } else {
                    // user-less URI: ":host". Built by append: GCC 12 -O3 reports a false
                    // -Wrestrict on `":" + std::string(...)`.
                    literal.assign(1, ':');
                    literal.append(rest);
                    flags |= HS_FLAG_CASELESS;
                }
            }
            std::string key = literal + (flags & HS_FLAG_CASELESS ? "\x01" : "");
            if (literal_ids.emplace(key, static_cast<unsigned>(literal_ids.size())).second) {
                patterns.push_back(
                    {escape_literal(literal), flags, static_cast<unsigned>(patterns.size())});
            }
        }
    }
    set->literal_count_ = patterns.size();
    if (!patterns.empty()) {
        // Spellings a literal would miss; any of them makes match() verify the fields.
        const unsigned tf = HS_FLAG_SINGLEMATCH | HS_FLAG_CASELESS;
        patterns.push_back({"sips?:[^@>,\\s]*%[0-9a-f]{2}[^@>,\\s]*@", tf, kTriggerBase});
        patterns.push_back({"sips?:[^@>;,:\\s]*:[^@>,\\s]*@", tf, kTriggerBase + 1});
        if (any_tel) {
            patterns.push_back({"tel:\\+?[0-9a-f*#]*[-.()]", tf, kTriggerBase + 2});
            patterns.push_back({"sips?:\\+?[0-9]*[-.()][^@>,\\s]*@", tf, kTriggerBase + 3});
        }
        if (!set->prefilter_.compile(patterns, options.scratch_slots, error)) return nullptr;
    }
    set->warrants_ = std::move(warrants);
    return set;
}

std::span<const uint32_t> SelectorSet::lookup(std::string_view canonical) const {
    auto it = exact_.find(canonical);
    if (it == exact_.end()) return {};
    return it->second;
}

void SelectorSet::add_hits(std::string_view canonical, MatchField field, MatchResult& out) const {
    auto it = exact_.find(canonical);
    if (it == exact_.end()) return;
    const uint16_t bit = static_cast<uint16_t>(1u << static_cast<unsigned>(field));
    for (uint32_t w : it->second) {
        size_t i = 0;
        while (i < out.count && out.warrants[i].warrant != w) ++i;
        if (i == out.count) {
            if (out.count == kMaxWarrantMatches) {
                out.truncated = true;
                continue;
            }
            out.warrants[out.count++] = WarrantMatch{w, 0};
        }
        out.warrants[i].fields |= bit;
    }
}

void SelectorSet::verify_uri(const sip::Uri& uri, MatchField field, MatchResult& out) const {
    char buf[kMaxCanonicalLength];
    size_t n = normalise_uri(uri, buf, sizeof(buf));
    if (n) add_hits({buf, n}, field, out);
}

void SelectorSet::verify_text(std::string_view text, MatchField field, MatchResult& out) const {
    char buf[kMaxCanonicalLength];
    size_t n = normalise_text(text, buf, sizeof(buf), false);
    if (n) add_hits({buf, n}, field, out);
}

size_t SelectorSet::match(const sip::SipMessage& msg, unsigned slot, sip::McpttInfoParser& xml,
                          MatchResult& out) const {
    out.count = 0;
    out.truncated = false;
    out.prefilter_hits = 0;
    out.verified = false;
    out.mcptt_parsed = false;
    out.mcptt_error = sip::McpttInfoError::ok;
    hs_scratch_t* scratch = prefilter_.scratch(slot);
    if (!prefilter_.database() || !scratch || msg.raw.empty()) return 0;

    ScanState st;
    if (!msg.mcptt_info.empty() && msg.mcptt_info.data() >= msg.raw.data()) {
        st.xml_from = static_cast<size_t>(msg.mcptt_info.data() - msg.raw.data());
        st.xml_to = st.xml_from + msg.mcptt_info.size();
    }
    hs_scan(prefilter_.database(), msg.raw.data(), static_cast<unsigned>(msg.raw.size()), 0,
            scratch, on_hit, &st);
    out.prefilter_hits = st.hits;
    if (st.hits == 0) return 0;

    out.verified = true;
    if (msg.is_request) verify_uri(msg.request_uri, MatchField::request_uri, out);
    verify_uri(msg.from.uri, MatchField::from, out);
    verify_uri(msg.to.uri, MatchField::to, out);
    for (size_t i = 0; i < msg.asserted_identity_count; ++i)
        verify_uri(msg.asserted_identities[i].uri, MatchField::p_asserted_identity, out);

    if (!msg.mcptt_info.empty() && (st.in_xml || st.trigger)) {
        out.mcptt_parsed = true;
        out.mcptt_error = xml.parse(msg.mcptt_info, out.mcptt);
        verify_text(out.mcptt.request_uri.view(), MatchField::mcptt_request_uri, out);
        verify_text(out.mcptt.calling_user_id.view(), MatchField::mcptt_calling_user_id, out);
        verify_text(out.mcptt.called_party_id.view(), MatchField::mcptt_called_party_id, out);
        verify_text(out.mcptt.calling_group_id.view(), MatchField::mcptt_calling_group_id, out);
    }
    return out.count;
}

}  // namespace liprobe::targets
