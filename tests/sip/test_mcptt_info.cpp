// mcptt-info XML body (TS 24.379 F.1; refs/specs.md section 7).
#include <gtest/gtest.h>

#include <string>

#include "liprobe/sip/mcptt_info.hpp"
#include "sip_samples.hpp"

namespace liprobe::sip {
namespace {

TEST(McpttInfo, WrappedInMcpttUri) {
    McpttInfoParser p;
    McpttIds ids;
    ASSERT_EQ(p.parse(test::mcptt_info_xml(), ids), McpttInfoError::ok);
    EXPECT_EQ(ids.request_uri.view(), "sip:group-17@mcptt.example.org");
    EXPECT_EQ(ids.calling_user_id.view(), "sip:Carol@mcptt.example.org");
    EXPECT_TRUE(ids.called_party_id.empty());
    EXPECT_TRUE(ids.calling_group_id.empty());
    EXPECT_EQ(ids.session_type.view(), "prearranged");
}

TEST(McpttInfo, BareValuesPrefixesAndEscapes) {
    const std::string xml =
        "<?xml version=\"1.0\"?>\n"
        "<mi:mcpttinfo xmlns:mi=\"urn:3gpp:ns:mcpttInfo:1.0\">\n"
        " <mi:mcptt-Params>\n"
        "  <mi:mcptt-called-party-id> sip:dave@mcptt.example.org </mi:mcptt-called-party-id>\n"
        "  <mi:mcptt-calling-group-id><mi:mcpttURI>sip:g&amp;1@x.example</mi:mcpttURI>"
        "</mi:mcptt-calling-group-id>\n"
        "  <mi:mcptt-calling-user-id><![CDATA[tel:+4930123]]></mi:mcptt-calling-user-id>\n"
        "  <mi:mcptt-calling-user-id>sip:second@x</mi:mcptt-calling-user-id>\n"
        " </mi:mcptt-Params>\n"
        "</mi:mcpttinfo>\n";
    McpttInfoParser p;
    McpttIds ids;
    ASSERT_EQ(p.parse(xml, ids), McpttInfoError::ok);
    EXPECT_EQ(ids.called_party_id.view(), "sip:dave@mcptt.example.org");
    EXPECT_EQ(ids.calling_group_id.view(), "sip:g&1@x.example");
    EXPECT_EQ(ids.calling_user_id.view(), "tel:+4930123");  // the first occurrence
    EXPECT_TRUE(ids.request_uri.empty());
}

TEST(McpttInfo, Errors) {
    McpttInfoParser p;
    McpttIds ids;
    EXPECT_EQ(p.parse("", ids), McpttInfoError::empty);
    EXPECT_EQ(p.parse("<mcpttinfo><mcptt-Params>", ids), McpttInfoError::bad_xml);
    EXPECT_EQ(p.parse(std::string(McpttInfoParser::kMaxBody + 1, ' ') + "<a/>", ids),
              McpttInfoError::too_large);
    std::string long_id =
        "<mcptt-request-uri>sip:" + std::string(300, 'a') + "@x</mcptt-request-uri>";
    EXPECT_EQ(p.parse(long_id, ids), McpttInfoError::id_too_long);
    // Many nodes: the arena runs out rather than the heap growing.
    std::string many = "<r>";
    for (int i = 0; i < 1600; ++i) many += "<a/>";
    many += "</r>";
    EXPECT_EQ(p.parse(many, ids), McpttInfoError::ok);
    std::string huge = "<r>";
    while (huge.size() < McpttInfoParser::kMaxBody - 8) huge += "<a/>";
    huge += "</r>";
    McpttInfoError e = p.parse(huge, ids);
    EXPECT_TRUE(e == McpttInfoError::ok || e == McpttInfoError::out_of_memory)
        << mcptt_info_error_name(e);
    // And the parser still works afterwards.
    ASSERT_EQ(p.parse(test::mcptt_info_xml(), ids), McpttInfoError::ok);
    EXPECT_EQ(ids.request_uri.view(), "sip:group-17@mcptt.example.org");
}

TEST(McpttInfo, EveryTruncationIsSafe) {
    const std::string xml = test::mcptt_info_xml();
    McpttInfoParser p;
    McpttIds ids;
    size_t ok = 0;
    for (size_t len = 0; len <= xml.size(); ++len)
        if (p.parse(std::string_view(xml).substr(0, len), ids) == McpttInfoError::ok) ++ok;
    EXPECT_GT(ok, 0u);
}

}  // namespace
}  // namespace liprobe::sip
