// SIP parser: exact field values for real-looking messages, and every truncation of them
// (no crash, a named error).
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <memory>
#include <string>

#include "liprobe/sip/message.hpp"
#include "sip_samples.hpp"

namespace liprobe::sip {
namespace {

using test::sip_message;

// The parsed views point into the text, so every parsed text is kept alive here.
std::unique_ptr<SipMessage> parse_ok(const std::string& text) {
    static std::deque<std::string> kept;
    kept.push_back(text);
    auto m = std::make_unique<SipMessage>();
    ParseError e = parse_message(kept.back(), *m);
    EXPECT_EQ(e, ParseError::ok) << parse_error_name(e);
    return m;
}

TEST(SipParser, InviteWithSdp) {
    const std::string text = test::invite_with_sdp();
    auto m = parse_ok(text);
    EXPECT_TRUE(m->is_request);
    EXPECT_EQ(m->method, Method::invite);
    EXPECT_EQ(m->method_text, "INVITE");
    EXPECT_EQ(m->request_uri_text, "sip:bob@biloxi.example.com");
    EXPECT_EQ(m->request_uri.scheme, UriScheme::sip);
    EXPECT_EQ(m->request_uri.user, "bob");
    EXPECT_EQ(m->request_uri.host, "biloxi.example.com");
    EXPECT_EQ(m->call_id, "a84b4c76e66710@pc33.atlanta.example.com");
    EXPECT_EQ(m->cseq, 314159u);
    EXPECT_EQ(m->cseq_method, Method::invite);
    EXPECT_EQ(m->from.display, "Alice, A.");
    EXPECT_EQ(m->from.uri.text, "sip:alice@atlanta.example.com");
    EXPECT_EQ(m->from.tag, "1928301774");
    EXPECT_EQ(m->to.display, "Bob");
    EXPECT_EQ(m->to.uri.user, "bob");
    EXPECT_EQ(m->to.tag, "");
    ASSERT_EQ(m->asserted_identity_count, 2u);
    EXPECT_EQ(m->asserted_identities[0].display, "Alice");
    EXPECT_EQ(m->asserted_identities[0].uri.text, "sip:alice@atlanta.example.com");
    EXPECT_EQ(m->asserted_identities[1].uri.scheme, UriScheme::tel);
    EXPECT_EQ(m->asserted_identities[1].uri.user, "+1-201-555-0123");
    EXPECT_EQ(m->content_type, "application/sdp");
    EXPECT_EQ(m->content_length, static_cast<int64_t>(test::sdp_offer().size()));
    EXPECT_EQ(m->body, test::sdp_offer());
    EXPECT_EQ(m->sdp, test::sdp_offer());
    EXPECT_EQ(m->part_count, 1u);
    EXPECT_TRUE(m->mcptt_info.empty());
    EXPECT_EQ(m->header_count, 10u);
    EXPECT_EQ(m->raw.size(), text.size());
    EXPECT_EQ(m->trailing_octets, 0u);
    const Header* via = m->find(HeaderId::via);
    ASSERT_NE(via, nullptr);
    EXPECT_EQ(via->value, "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8");
    const Header* mf = m->find(HeaderId::max_forwards);
    ASSERT_NE(mf, nullptr);
    EXPECT_EQ(mf->value, "70");
}

TEST(SipParser, RingingAndOkWithSdpAnswer) {
    const std::string answer =
        "v=0\r\no=bob 2808844564 2808844564 IN IP4 198.51.100.20\r\ns=-\r\n"
        "c=IN IP4 198.51.100.20\r\nt=0 0\r\nm=audio 3456 RTP/AVP 0\r\n";
    const std::string ringing = sip_message(
        {"SIP/2.0 180 Ringing",
         "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8;received=192.0.2.10",
         "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf",
         "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774",
         "Call-ID: a84b4c76e66710@pc33.atlanta.example.com", "CSeq: 314159 INVITE",
         "Content-Type: application/sdp"},
        answer);
    auto r = parse_ok(ringing);
    EXPECT_FALSE(r->is_request);
    EXPECT_EQ(r->status_code, 180);
    EXPECT_EQ(r->reason, "Ringing");
    EXPECT_EQ(r->to.tag, "a6c85cf");
    EXPECT_EQ(r->from.tag, "1928301774");
    EXPECT_EQ(r->cseq_method, Method::invite);
    EXPECT_EQ(r->sdp, answer);

    std::string ok = ringing;
    ok.replace(0, std::strlen("SIP/2.0 180 Ringing"), "SIP/2.0 200 OK");
    auto o = parse_ok(ok);
    EXPECT_EQ(o->status_code, 200);
    EXPECT_EQ(o->reason, "OK");
    EXPECT_EQ(o->sdp, answer);
}

TEST(SipParser, AckByeCancelWithoutBody) {
    for (const char* method : {"ACK", "BYE", "CANCEL", "UPDATE", "PRACK", "OPTIONS"}) {
        const std::string text =
            sip_message({std::string(method) + " sip:bob@192.0.2.4 SIP/2.0",
                         "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds9",
                         "Max-Forwards: 70", "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf",
                         "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774",
                         "Call-ID: a84b4c76e66710", std::string("CSeq: 231 ") + method});
        auto m = parse_ok(text);
        EXPECT_EQ(m->method_text, method);
        EXPECT_EQ(method_name(m->method), std::string(method));
        EXPECT_EQ(m->cseq, 231u);
        EXPECT_EQ(m->cseq_method, m->method);
        EXPECT_EQ(m->content_length, 0);
        EXPECT_TRUE(m->body.empty());
        EXPECT_EQ(m->part_count, 0u);
        EXPECT_EQ(m->request_uri.host, "192.0.2.4");
    }
}

TEST(SipParser, ReInviteInDialog) {
    const std::string sdp =
        "v=0\r\no=alice 1 2 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.99\r\nt=0 0\r\n"
        "m=audio 50000 RTP/AVP 0\r\n";
    auto m = parse_ok(sip_message(
        {"INVITE sip:bob@192.0.2.4 SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1",
         "To: <sip:bob@biloxi.example.com>;tag=a6c85cf",
         "From: <sip:alice@atlanta.example.com>;tag=1928301774", "Call-ID: a84b4c76e66710",
         "CSeq: 314160 INVITE", "Content-Type: application/sdp"},
        sdp));
    EXPECT_EQ(m->method, Method::invite);
    EXPECT_EQ(m->to.tag, "a6c85cf");
    EXPECT_EQ(m->cseq, 314160u);
    EXPECT_EQ(m->sdp, sdp);
}

TEST(SipParser, CompactHeadersAndFolding) {
    const std::string text =
        "MESSAGE sip:user2@domain.example SIP/2.0\r\n"
        "v: SIP/2.0/TCP user1pc.domain.example;branch=z9hG4bK776sgdkse\r\n"
        "f: sip:user1@domain.example;tag=49583\r\n"
        "t: sip:user2@domain.example\r\n"
        "i: asd88asd77a@1.2.3.4\r\n"
        "CSeq: 1 MESSAGE\r\n"
        "s: a subject\r\n"
        "  folded over\r\n"
        "\tthree lines\r\n"
        "k: 100rel\r\n"
        "e: gzip\r\n"
        "c: text/plain\r\n"
        "l: 18\r\n"
        "\r\n"
        "Watson, come here.";
    auto m = parse_ok(text);
    EXPECT_EQ(m->method, Method::message);
    EXPECT_EQ(m->call_id, "asd88asd77a@1.2.3.4");
    // addr-spec form: ;tag belongs to the header, not the URI.
    EXPECT_EQ(m->from.uri.text, "sip:user1@domain.example");
    EXPECT_EQ(m->from.tag, "49583");
    EXPECT_EQ(m->to.uri.user, "user2");
    EXPECT_EQ(m->content_type, "text/plain");
    EXPECT_EQ(m->content_length, 18);
    EXPECT_EQ(m->body, "Watson, come here.");
    const Header* s = m->find(HeaderId::subject);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->value, "a subject\r\n  folded over\r\n\tthree lines");
    EXPECT_NE(m->find(HeaderId::supported), nullptr);
    EXPECT_EQ(m->find(HeaderId::content_encoding)->value, "gzip");
    EXPECT_EQ(m->find(HeaderId::via)->name, "v");
}

TEST(SipParser, FoldedFromHeader) {
    auto m = parse_ok(
        sip_message({"BYE sip:b@x.example SIP/2.0", "From: \"A\"", " <sip:a@x.example>",
                     "\t;tag=77", "To: <sip:b@x.example>;tag=88", "Call-ID: c1", "CSeq: 2 BYE"}));
    EXPECT_EQ(m->from.display, "A");
    EXPECT_EQ(m->from.uri.text, "sip:a@x.example");
    EXPECT_EQ(m->from.tag, "77");
}

TEST(SipParser, MultipartSdpAndMcpttInfo) {
    const std::string text = test::mcptt_multipart_invite();
    auto m = parse_ok(text);
    EXPECT_EQ(m->content_type, "multipart/mixed");
    EXPECT_EQ(m->call_id, "3848276298220188511@2001:db8::10");
    ASSERT_EQ(m->part_count, 2u);
    EXPECT_EQ(m->parts[0].content_type, "application/sdp");
    EXPECT_EQ(m->parts[1].content_type, "application/vnd.3gpp.mcptt-info+xml");
    EXPECT_EQ(m->sdp.substr(0, 5), "v=0\r\n");
    EXPECT_EQ(m->sdp.substr(m->sdp.size() - 26), "a=fmtp:MCPTT mc_queueing\r\n");
    std::string xml = test::mcptt_info_xml();
    xml.resize(xml.size() - 2);  // the CRLF before the delimiter belongs to the delimiter
    EXPECT_EQ(m->mcptt_info, xml);
    EXPECT_EQ(m->from.uri.user, "carol");
    EXPECT_EQ(m->request_uri.user, "mcptt-orig-part");
    EXPECT_EQ(m->find(HeaderId::contact)->value, "<sip:[2001:db8::10]:5060>");
}

TEST(SipParser, MultipartQuotedBoundaryPreambleAndPartWithoutHeaders) {
    std::string body =
        "preamble to ignore\r\n"
        "--other\r\n"  // a dash line that is not our delimiter
        "--simple boundary\r\n"
        "\r\n"
        "plain text part\r\n"
        "--simple boundary\r\n"
        "Content-Type: application/SDP; charset=utf-8\r\n"
        "\r\n"
        "v=0\r\n"
        "--simple boundary--\r\n"
        "epilogue";
    auto m = parse_ok(sip_message(
        {"MESSAGE sip:a@x SIP/2.0", "From: <sip:b@x>;tag=1", "To: <sip:a@x>", "Call-ID: q",
         "CSeq: 1 MESSAGE", "Content-Type: multipart/mixed; boundary=\"simple boundary\""},
        body));
    ASSERT_EQ(m->part_count, 2u);
    EXPECT_EQ(m->parts[0].content_type, "");
    EXPECT_EQ(m->parts[0].body, "plain text part");
    EXPECT_EQ(m->parts[1].content_type, "application/SDP");
    EXPECT_EQ(m->parts[1].type_params, "charset=utf-8");
    EXPECT_EQ(m->sdp, "v=0");
}

TEST(SipParser, StreamKeepAlivesAndNoContentLength) {
    // Leading CRLFs are skipped; without Content-Length the datagram's rest is the body.
    std::string text = "\r\n\r\n" +
                       sip_message({"SIP/2.0 486 Busy Here", "From: <sip:a@x>;tag=1",
                                    "To: <sip:b@x>;tag=2", "Call-ID: z", "CSeq: 7 INVITE"},
                                   "", false) +
                       "abc";
    auto m = parse_ok(text);
    EXPECT_EQ(m->status_code, 486);
    EXPECT_EQ(m->reason, "Busy Here");
    EXPECT_EQ(m->content_length, -1);
    EXPECT_EQ(m->body, "abc");
    EXPECT_EQ(m->raw.front(), 'S');
}

TEST(SipParser, ExtraOctetsAfterContentLengthAreIgnored) {
    std::string text = sip_message({"OPTIONS sip:a@x SIP/2.0", "From: <sip:b@x>;tag=1",
                                    "To: <sip:a@x>", "Call-ID: q", "CSeq: 1 OPTIONS"}) +
                       "junk";
    auto m = parse_ok(text);
    EXPECT_EQ(m->trailing_octets, 4u);
    EXPECT_EQ(m->raw.size(), text.size() - 4);
}

struct BadCase {
    const char* name;
    std::string text;
    ParseError expected;
};

TEST(SipParser, MalformedMessagesGiveNamedErrors) {
    const std::vector<std::string> good = {"From: <sip:b@x>;tag=1", "To: <sip:a@x>", "Call-ID: q",
                                           "CSeq: 1 INVITE"};
    auto with = [&](std::string start, std::vector<std::string> extra, bool keep = true) {
        std::vector<std::string> lines = {std::move(start)};
        if (keep) lines.insert(lines.end(), good.begin(), good.end());
        lines.insert(lines.end(), extra.begin(), extra.end());
        return sip_message(lines);
    };
    const std::vector<BadCase> cases = {
        {"empty", "", ParseError::empty},
        {"crlf only", "\r\n\r\n", ParseError::empty},
        {"no line end", "INVITE sip:a@x SIP/2.0", ParseError::truncated_start_line},
        {"one word", with("INVITE", {}), ParseError::bad_start_line},
        {"bad method", with("INV@TE sip:a@x SIP/2.0", {}), ParseError::bad_method},
        {"bad version", with("INVITE sip:a@x SIP/3.0", {}), ParseError::bad_version},
        {"uri no scheme", with("INVITE nothing SIP/2.0", {}), ParseError::bad_request_uri},
        {"status 99", with("SIP/2.0 099 Low", {}), ParseError::bad_status_code},
        {"status 700", with("SIP/2.0 700 High", {}), ParseError::bad_status_code},
        {"status letters", with("SIP/2.0 2x0 OK", {}), ParseError::bad_status_code},
        {"headers truncated", "INVITE sip:a@x SIP/2.0\r\nCall-ID: q\r\n",
         ParseError::headers_truncated},
        {"no colon", with("INVITE sip:a@x SIP/2.0", {"Garbage line"}), ParseError::bad_header_line},
        {"bad header name", with("INVITE sip:a@x SIP/2.0", {"Bad Name: x"}),
         ParseError::bad_header_line},
        {"fold first", "INVITE sip:a@x SIP/2.0\r\n  folded\r\n\r\n",
         ParseError::bad_header_folding},
        {"two call-ids", with("INVITE sip:a@x SIP/2.0", {"i: other"}),
         ParseError::duplicate_header},
        {"two lengths", with("INVITE sip:a@x SIP/2.0", {"l: 0"}), ParseError::duplicate_header},
        {"no call-id",
         sip_message(
             {"INVITE sip:a@x SIP/2.0", "From: <sip:b@x>", "To: <sip:a@x>", "CSeq: 1 INVITE"}),
         ParseError::missing_call_id},
        {"no cseq",
         sip_message({"INVITE sip:a@x SIP/2.0", "From: <sip:b@x>", "To: <sip:a@x>", "Call-ID: q"}),
         ParseError::missing_cseq},
        {"bad cseq",
         sip_message({"INVITE sip:a@x SIP/2.0", "From: <sip:b@x>", "To: <sip:a@x>", "Call-ID: q",
                      "CSeq: INVITE"}),
         ParseError::bad_cseq},
        {"cseq too big",
         sip_message({"INVITE sip:a@x SIP/2.0", "From: <sip:b@x>", "To: <sip:a@x>", "Call-ID: q",
                      "CSeq: 99999999999 INVITE"}),
         ParseError::bad_cseq},
        {"no from",
         sip_message({"INVITE sip:a@x SIP/2.0", "To: <sip:a@x>", "Call-ID: q", "CSeq: 1 INVITE"}),
         ParseError::missing_from},
        {"bad from",
         sip_message({"INVITE sip:a@x SIP/2.0", "From: <sip:b@x", "To: <sip:a@x>", "Call-ID: q",
                      "CSeq: 1 INVITE"}),
         ParseError::bad_from},
        {"no to",
         sip_message({"INVITE sip:a@x SIP/2.0", "From: <sip:b@x>", "Call-ID: q", "CSeq: 1 INVITE"}),
         ParseError::missing_to},
        {"bad length",
         sip_message({"INVITE sip:a@x SIP/2.0", "From: <sip:b@x>", "To: <sip:a@x>", "Call-ID: q",
                      "CSeq: 1 INVITE", "Content-Length: -1"},
                     "", false),
         ParseError::bad_content_length},
        {"short body",
         sip_message({"INVITE sip:a@x SIP/2.0", "From: <sip:b@x>", "To: <sip:a@x>", "Call-ID: q",
                      "CSeq: 1 INVITE", "Content-Length: 10"},
                     "short", false),
         ParseError::body_truncated},
        {"no boundary",
         sip_message({"INVITE sip:a@x SIP/2.0", "From: <sip:b@x>", "To: <sip:a@x>", "Call-ID: q",
                      "CSeq: 1 INVITE", "Content-Type: multipart/mixed"},
                     "--x\r\n\r\nbody\r\n--x--"),
         ParseError::bad_multipart},
        {"unclosed multipart",
         sip_message({"INVITE sip:a@x SIP/2.0", "From: <sip:b@x>", "To: <sip:a@x>", "Call-ID: q",
                      "CSeq: 1 INVITE", "Content-Type: multipart/mixed;boundary=x"},
                     "--x\r\n\r\nbody\r\n"),
         ParseError::bad_multipart},
    };
    for (const auto& c : cases) {
        auto m = std::make_unique<SipMessage>();
        ParseError e = parse_message(c.text, *m);
        EXPECT_EQ(e, c.expected) << c.name << ": got " << parse_error_name(e);
    }
}

TEST(SipParser, LimitsAreEnforced) {
    auto m = std::make_unique<SipMessage>();
    std::string big = test::invite_with_sdp();
    ParseLimits small;
    small.max_message_size = 100;
    EXPECT_EQ(parse_message(big, *m, small), ParseError::too_large);
    ParseLimits few;
    few.max_headers = 5;
    EXPECT_EQ(parse_message(big, *m, few), ParseError::too_many_headers);
    std::vector<std::string> lines = {"INVITE sip:a@x SIP/2.0", "From: <sip:b@x>", "To: <sip:a@x>",
                                      "Call-ID: q", "CSeq: 1 INVITE"};
    for (int i = 0; i < 70; ++i) lines.push_back("X-Filler: " + std::to_string(i));
    EXPECT_EQ(parse_message(sip_message(lines), *m), ParseError::too_many_headers);
    std::string parts;
    for (int i = 0; i < 9; ++i) parts += "--x\r\n\r\npart\r\n";
    parts += "--x--\r\n";
    EXPECT_EQ(parse_message(sip_message({"INVITE sip:a@x SIP/2.0", "From: <sip:b@x>",
                                         "To: <sip:a@x>", "Call-ID: q", "CSeq: 1 INVITE",
                                         "Content-Type: multipart/mixed;boundary=x"},
                                        parts),
                            *m),
              ParseError::too_many_parts);
    // More P-Asserted-Identity values than kept: the first four, flagged.
    auto p = parse_ok(
        sip_message({"INVITE sip:a@x SIP/2.0", "From: <sip:b@x>", "To: <sip:a@x>", "Call-ID: q",
                     "CSeq: 1 INVITE", "P-Asserted-Identity: <sip:1@x>, <sip:2@x>, <sip:3@x>",
                     "P-Asserted-Identity: <sip:4@x>, <sip:5@x>"}));
    EXPECT_EQ(p->asserted_identity_count, 4u);
    EXPECT_TRUE(p->asserted_identities_truncated);
    EXPECT_EQ(p->asserted_identities[3].uri.user, "4");
}

// Every prefix of every sample: never a crash (ASan/UBSan build), an error or a shorter message.
TEST(SipParser, EveryTruncationIsSafe) {
    const std::vector<std::string> samples = {test::invite_with_sdp(),
                                              test::mcptt_multipart_invite()};
    auto m = std::make_unique<SipMessage>();
    for (const auto& s : samples) {
        size_t ok_count = 0;
        for (size_t len = 0; len < s.size(); ++len) {
            // A heap copy of exactly len octets so ASan sees any over-read.
            std::unique_ptr<char[]> copy(new char[len + 1]);
            std::memcpy(copy.get(), s.data(), len);
            ParseError e = parse_message({copy.get(), len}, *m);
            if (e == ParseError::ok) ++ok_count;
            FrameResult f = frame_message({copy.get(), len});
            EXPECT_NE(f.status, FrameStatus::complete) << len;
        }
        // Content-Length framing: no strict prefix is a whole message.
        EXPECT_EQ(ok_count, 0u);
        EXPECT_EQ(parse_message(s, *m), ParseError::ok);
    }
}

TEST(SipParser, CorruptedOctetsNeverCrash) {
    const std::string base = test::mcptt_multipart_invite();
    auto m = std::make_unique<SipMessage>();
    const char replacements[] = {'\0', '\r', '\n', ':', ';', '<', '>', '"', '-', ' '};
    size_t errors = 0;
    for (size_t i = 0; i < base.size(); i += 3) {
        for (char r : replacements) {
            std::string t = base;
            t[i] = r;
            if (parse_message(t, *m) != ParseError::ok) ++errors;
        }
    }
    EXPECT_GT(errors, 0u);
}

TEST(SipFraming, StreamFraming) {
    const std::string a = test::invite_with_sdp();
    const std::string b = sip_message({"BYE sip:b@x SIP/2.0", "From: <sip:a@x>;tag=1",
                                       "To: <sip:b@x>;tag=2", "Call-ID: c", "CSeq: 2 BYE"});
    const std::string stream = "\r\n" + a + b;
    FrameResult f = frame_message(stream);
    ASSERT_EQ(f.status, FrameStatus::complete);
    EXPECT_EQ(f.skipped, 2u);
    EXPECT_EQ(f.length, a.size());
    FrameResult g = frame_message(std::string_view(stream).substr(2 + a.size()));
    ASSERT_EQ(g.status, FrameStatus::complete);
    EXPECT_EQ(g.length, b.size());
    EXPECT_EQ(frame_message(a.substr(0, a.size() - 1)).status, FrameStatus::need_more);
    FrameResult bad = frame_message("INVITE sip:a@x SIP/2.0\r\nl: x\r\n\r\n");
    EXPECT_EQ(bad.status, FrameStatus::error);
    EXPECT_EQ(bad.error, ParseError::bad_content_length);
    FrameResult big = frame_message(a, 100);
    EXPECT_EQ(big.status, FrameStatus::error);
    EXPECT_EQ(big.error, ParseError::too_large);
}

TEST(SipUri, Splitting) {
    Uri u;
    ASSERT_TRUE(
        parse_uri("sips:alice:secret@[2001:db8::1]:5061;transport=tcp;user=phone?subject=x", u));
    EXPECT_EQ(u.scheme, UriScheme::sips);
    EXPECT_EQ(u.user, "alice");
    EXPECT_EQ(u.password, "secret");
    EXPECT_EQ(u.host, "[2001:db8::1]");
    EXPECT_EQ(u.port, "5061");
    EXPECT_EQ(u.params, "transport=tcp;user=phone");
    EXPECT_EQ(u.headers, "subject=x");
    EXPECT_TRUE(u.has_param("USER", "Phone"));
    EXPECT_TRUE(u.has_param("transport"));
    EXPECT_FALSE(u.has_param("lr"));
    ASSERT_TRUE(parse_uri("tel:+1-201-555-0123;phone-context=example.com", u));
    EXPECT_EQ(u.scheme, UriScheme::tel);
    EXPECT_EQ(u.user, "+1-201-555-0123");
    EXPECT_EQ(u.params, "phone-context=example.com");
    ASSERT_TRUE(parse_uri("sip:example.org", u));
    EXPECT_EQ(u.user, "");
    EXPECT_EQ(u.host, "example.org");
    ASSERT_TRUE(parse_uri("urn:service:sos", u));
    EXPECT_EQ(u.scheme, UriScheme::other);
    EXPECT_FALSE(parse_uri("nocolon", u));
    EXPECT_FALSE(parse_uri("sip:", u));
    EXPECT_FALSE(parse_uri("sip:user@", u));
    EXPECT_FALSE(parse_uri("sip:[2001:db8::1", u));
}

TEST(SipUri, HeaderListSplitting) {
    std::string_view items[3];
    bool more = false;
    size_t n = split_header_list("\"Doe, John\" <sip:j@x;a=1,2>, <tel:+1>, ,sip:c@x, <sip:d@x>",
                                 items, 3, &more);
    ASSERT_EQ(n, 3u);
    EXPECT_TRUE(more);
    EXPECT_EQ(items[0], "\"Doe, John\" <sip:j@x;a=1,2>");
    EXPECT_EQ(items[1], "<tel:+1>");
    EXPECT_EQ(items[2], "sip:c@x");
}

}  // namespace
}  // namespace liprobe::sip
