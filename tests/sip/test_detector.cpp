// SIP detection by content (Hyperscan start-line database).
#include <gtest/gtest.h>

#include <string>

#include "liprobe/sip/detector.hpp"
#include "sip_samples.hpp"

namespace liprobe::sip {
namespace {

class Detector : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string error;
        ASSERT_TRUE(d.init(2, error)) << error;
    }
    SipDetector d;
};

TEST_F(Detector, RequestsAndResponses) {
    for (const char* m : {"INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "PRACK",
                          "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE"}) {
        std::string line = std::string(m) + " sip:bob@biloxi.example.com SIP/2.0\r\nVia: x\r\n";
        EXPECT_EQ(d.classify(line, 0), StartLine::request) << m;
        EXPECT_EQ(d.classify(line, 1), StartLine::request) << m;
    }
    EXPECT_EQ(d.classify(test::invite_with_sdp(), 0), StartLine::request);
    EXPECT_EQ(d.classify("SIP/2.0 200 OK\r\n", 0), StartLine::response);
    EXPECT_EQ(d.classify("SIP/2.0 180 \r\n", 0), StartLine::response);
    EXPECT_EQ(d.classify("SIP/2.0 603\r\n", 0), StartLine::response);
    EXPECT_EQ(d.classify("\r\n\r\nBYE sip:a@b SIP/2.0\r\n", 0), StartLine::request);
}

TEST_F(Detector, NotSip) {
    const char* cases[] = {
        "",
        "\r\n\r\n",
        "GET / HTTP/1.1\r\n",
        "HTTP/1.1 200 OK\r\n",
        "INVITE sip:a@b SIP/2.0",      // no line end
        "INVITE  SIP/2.0\r\n",         // no URI
        "invite sip:a@b SIP/2.0\r\n",  // methods are case-sensitive
        "FOO sip:a@b SIP/2.0\r\n",     // not a method of the list
        "SIP/2.0 99 Low\r\n",
        "SIP/2.0 700 High\r\n",
        "SIP/3.0 200 OK\r\n",
        " INVITE sip:a@b SIP/2.0\r\n",
        "\x80\x00\x12\x34",  // RTP
        "INFO sip:a@b SIP/2.0 extra\r\n",
    };
    for (const char* c : cases) EXPECT_EQ(d.classify(c, 0), StartLine::none) << c;
    EXPECT_FALSE(SipDetector::may_start_sip(0x80));
    EXPECT_TRUE(SipDetector::may_start_sip('I'));
    // An unknown slot is refused, never dereferenced.
    EXPECT_EQ(d.classify("SIP/2.0 200 OK\r\n", 7), StartLine::none);
}

}  // namespace
}  // namespace liprobe::sip
