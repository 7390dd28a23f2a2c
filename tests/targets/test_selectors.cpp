// Selector set: Hyperscan prefilter + exact verification (design.md 3.4 and section 4 note).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "../sip/sip_samples.hpp"
#include "liprobe/sip/message.hpp"
#include "liprobe/targets/normalise.hpp"
#include "liprobe/targets/selector_set.hpp"

namespace liprobe::targets {
namespace {

using sip::ParseError;
using sip::SipMessage;
using test::sip_message;

std::unique_ptr<const SelectorSet> build(std::vector<Warrant> w, unsigned slots = 1) {
    std::string error;
    auto set = SelectorSet::build(std::move(w), {slots}, error);
    EXPECT_NE(set, nullptr) << error;
    return set;
}

std::string invite(const std::string& ruri, const std::string& from, const std::string& to,
                   const std::vector<std::string>& extra = {}, const std::string& body = "",
                   const std::string& ctype = "") {
    std::vector<std::string> lines = {
        "INVITE " + ruri + " SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
        "From: " + from + ";tag=1",    "To: " + to,
        "Call-ID: c1@192.0.2.1",       "CSeq: 1 INVITE"};
    lines.insert(lines.end(), extra.begin(), extra.end());
    if (!ctype.empty()) lines.push_back("Content-Type: " + ctype);
    return sip_message(lines, body);
}

struct Matched {
    MatchResult result;
    size_t count = 0;
};

class Selectors : public ::testing::Test {
  protected:
    std::unique_ptr<Matched> run(const SelectorSet& set, const std::string& text) {
        auto m = std::make_unique<SipMessage>();
        EXPECT_EQ(sip::parse_message(text, *m), ParseError::ok);
        keep_.push_back(text);
        auto r = std::make_unique<Matched>();
        r->count = set.match(*m, 0, xml_, r->result);
        return r;
    }
    sip::McpttInfoParser xml_;
    std::vector<std::string> keep_;
};

TEST_F(Selectors, SipUriFieldsAndCaseRules) {
    auto set = build({{"LIID-A", {"sip:alice@atlanta.example.com"}, {"lemf1"}},
                      {"LIID-B", {"sip:bob@Biloxi.Example.com;transport=tcp"}, {"lemf2"}}});
    ASSERT_TRUE(set);
    EXPECT_EQ(set->warrant_count(), 2u);
    EXPECT_EQ(set->literal_count(), 2u);

    // From matches warrant 0; host case differs and the URI carries parameters and a port.
    auto r = run(*set, invite("sip:carol@chicago.example.com",
                              "<sip:alice@ATLANTA.example.com:5070;transport=udp>",
                              "<sip:carol@chicago.example.com>"));
    ASSERT_EQ(r->count, 1u);
    EXPECT_EQ(r->result.warrants[0].warrant, 0u);
    EXPECT_TRUE(r->result.warrants[0].has(MatchField::from));
    EXPECT_FALSE(r->result.warrants[0].has(MatchField::to));

    // Request-URI and To both match warrant 1 (sips and params ignored).
    r = run(*set, invite("sips:bob@biloxi.example.com;user=ip", "<sip:x@y.example>",
                         "\"Bob\" <sip:bob@BILOXI.example.com>"));
    ASSERT_EQ(r->count, 1u);
    EXPECT_EQ(r->result.warrants[0].warrant, 1u);
    EXPECT_EQ(r->result.warrants[0].fields,
              (1u << unsigned(MatchField::request_uri)) | (1u << unsigned(MatchField::to)));

    // A case-different user part must not match.
    r = run(*set, invite("sip:Alice@atlanta.example.com", "<sip:ALICE@atlanta.example.com>",
                         "<sip:Bob@biloxi.example.com>"));
    EXPECT_EQ(r->count, 0u);
    EXPECT_EQ(r->result.prefilter_hits, 0u);

    // Same user, other domain: the prefilter fires, the exact check refuses.
    r = run(*set, invite("sip:alice@evil.example.net", "<sip:z@z.example>", "<sip:q@q.example>"));
    EXPECT_EQ(r->count, 0u);
    EXPECT_GT(r->result.prefilter_hits, 0u);
    EXPECT_TRUE(r->result.verified);

    // The user appearing only in a Via or Call-ID is no match.
    r = run(*set, invite("sip:q@q.example", "<sip:z@z.example>", "<sip:q@q.example>",
                         {"Contact: <sip:alice@atlanta.example.com>"}));
    EXPECT_EQ(r->count, 0u);
}

TEST_F(Selectors, TelNormalisationAndUserPhone) {
    std::string error;
    EXPECT_EQ(SelectorSet::build({{"T", {"tel:+4930"}, {}}, {"S", {"+1 201"}, {}}}, {}, error),
              nullptr);  // "+1 201" is not a usable identity
    auto set = build({{"TEL", {"tel:+49-30-1234567"}, {}}});
    ASSERT_TRUE(set);
    const char* matching_tos[] = {
        "<tel:+49301234567>",
        "<tel:+49-30-123-4567>",
        "<tel:+49(30)1234567;phone-context=x>",
        "<sip:+49301234567@ims.example.org;user=phone>",
        "<sip:+49.30.1234567@ims.example.org;user=phone>",
    };
    for (const char* to : matching_tos) {
        auto r = run(*set, invite("sip:svc@ims.example.org", "<sip:a@b.example>", to));
        ASSERT_EQ(r->count, 1u) << to;
        EXPECT_TRUE(r->result.warrants[0].has(MatchField::to)) << to;
    }
    for (const char* to :
         {"<tel:+4930123456>", "<sip:+49301234567@ims.example.org>", "<tel:+49301234568>"}) {
        auto r = run(*set, invite("sip:svc@ims.example.org", "<sip:a@b.example>", to));
        EXPECT_EQ(r->count, 0u) << to;
    }
}

TEST_F(Selectors, AssertedIdentityAndMcpttInfo) {
    auto set = build({{"L1", {"tel:+12015550123"}, {}},
                      {"L2", {"sip:group-17@mcptt.example.org"}, {}},
                      {"L3", {"sip:Carol@mcptt.example.org", "sip:dave@mcptt.example.org"}, {}}},
                     2);
    ASSERT_TRUE(set);
    auto r = run(*set, test::invite_with_sdp());
    ASSERT_EQ(r->count, 1u);
    EXPECT_EQ(r->result.warrants[0].warrant, 0u);
    EXPECT_EQ(r->result.warrants[0].fields, 1u << unsigned(MatchField::p_asserted_identity));
    EXPECT_FALSE(r->result.mcptt_parsed);

    r = run(*set, test::mcptt_multipart_invite());
    ASSERT_EQ(r->count, 2u);
    EXPECT_TRUE(r->result.mcptt_parsed);
    EXPECT_EQ(r->result.warrants[0].warrant, 1u);
    EXPECT_EQ(r->result.warrants[0].fields, 1u << unsigned(MatchField::mcptt_request_uri));
    EXPECT_EQ(r->result.warrants[1].warrant, 2u);
    EXPECT_EQ(r->result.warrants[1].fields, 1u << unsigned(MatchField::mcptt_calling_user_id));
    EXPECT_EQ(r->result.mcptt.calling_user_id.view(), "sip:Carol@mcptt.example.org");
    EXPECT_STREQ(match_field_name(MatchField::mcptt_calling_group_id), "mcptt_calling_group_id");
}

TEST_F(Selectors, EscapedAndPasswordSpellingsAreStillFound) {
    auto set = build({{"A", {"sip:alice@atlanta.example.com"}, {}}});
    auto r = run(
        *set, invite("sip:%61lice@atlanta.example.com", "<sip:z@z.example>", "<sip:q@q.example>"));
    ASSERT_EQ(r->count, 1u);
    EXPECT_TRUE(r->result.warrants[0].has(MatchField::request_uri));
    r = run(*set,
            invite("sip:q@q.example", "<sip:alice:pw@atlanta.example.com>", "<sip:q@q.example>"));
    ASSERT_EQ(r->count, 1u);
    EXPECT_TRUE(r->result.warrants[0].has(MatchField::from));
}

TEST_F(Selectors, UserlessUriAndSharedTargets) {
    auto set = build({{"H", {"sip:conference.example.org"}, {}},
                      {"X", {"sip:alice@a.example"}, {}},
                      {"Y", {"SIP:alice@A.EXAMPLE"}, {}}});
    ASSERT_TRUE(set);
    EXPECT_EQ(set->selector_count(), 2u);
    auto ids = set->lookup("sip:alice@a.example");
    ASSERT_EQ(ids.size(), 2u);
    auto r = run(*set, invite("sip:Conference.Example.org", "<sip:alice@a.example>",
                              "<sip:conference.example.org>"));
    ASSERT_EQ(r->count, 3u);
    EXPECT_EQ(r->result.warrants[0].warrant, 0u);
    EXPECT_EQ(r->result.warrants[0].fields,
              (1u << unsigned(MatchField::request_uri)) | (1u << unsigned(MatchField::to)));
    EXPECT_EQ(r->result.warrants[1].warrant, 1u);
    EXPECT_EQ(r->result.warrants[2].warrant, 2u);
}

TEST_F(Selectors, BuildErrorsNameNoIdentity) {
    std::string error;
    auto set =
        SelectorSet::build({{"L9", {"sip:ok@x.example", "urn:secret:identity"}, {}}}, {}, error);
    EXPECT_EQ(set, nullptr);
    EXPECT_EQ(error, "warrant L9: target 2 is not a usable SIP URI, tel URI or MCPTT ID");
    set = SelectorSet::build({{"D", {"sip:a@x"}, {}}, {"D", {"sip:b@x"}, {}}}, {}, error);
    EXPECT_EQ(set, nullptr);
    EXPECT_EQ(error, "warrant D: duplicate LIID");
    // No warrants: a valid set that matches nothing.
    set = SelectorSet::build({}, {}, error);
    ASSERT_NE(set, nullptr);
    auto m = std::make_unique<SipMessage>();
    std::string text = test::invite_with_sdp();
    ASSERT_EQ(sip::parse_message(text, *m), ParseError::ok);
    MatchResult r;
    EXPECT_EQ(set->match(*m, 0, xml_, r), 0u);
}

// design.md 4: 10,000 selectors that share one domain compile to "userNNNNN@" literals and
// still match exactly.
TEST_F(Selectors, TenThousandSelectorsSharingADomain) {
    std::vector<Warrant> warrants;
    for (int i = 0; i < 10000; ++i) {
        char uri[64];
        std::snprintf(uri, sizeof(uri), "sip:user%05d@mcptt.example.org", i);
        warrants.push_back({"LIID-" + std::to_string(i), {uri}, {"lemf"}});
    }
    auto set = build(std::move(warrants));
    ASSERT_TRUE(set);
    EXPECT_EQ(set->literal_count(), 10000u);
    for (int i : {0, 1, 4242, 9999}) {
        char uri[64];
        std::snprintf(uri, sizeof(uri), "<sip:user%05d@mcptt.example.org>", i);
        auto r = run(
            *set, invite("sip:user99999@mcptt.example.org", "<sip:nobody@mcptt.example.org>", uri));
        ASSERT_EQ(r->count, 1u) << i;
        EXPECT_EQ(r->result.warrants[0].warrant, static_cast<uint32_t>(i));
        EXPECT_EQ(set->warrant(r->result.warrants[0].warrant).liid, "LIID-" + std::to_string(i));
    }
    auto r =
        run(*set, invite("sip:user10000@mcptt.example.org", "<sip:User00001@mcptt.example.org>",
                         "<sip:user00001@other.example.org>"));
    EXPECT_EQ(r->count, 0u);
}

}  // namespace
}  // namespace liprobe::targets
