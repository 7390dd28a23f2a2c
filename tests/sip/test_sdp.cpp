// SDP: addresses, ports, RTCP rules (port+1, a=rtcp, rtcp-mux), key-mgmt, errors.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "liprobe/sip/message.hpp"
#include "liprobe/sip/sdp.hpp"
#include "sip_samples.hpp"

namespace liprobe::sip {
namespace {

IpAddr ip(const char* text) {
    IpAddr a;
    EXPECT_TRUE(parse_ip(text, a)) << text;
    return a;
}

TEST(Sdp, OfferWithSessionConnection) {
    const std::string body = test::sdp_offer();
    SdpSession s;
    ASSERT_EQ(parse_sdp(body, s), SdpError::ok);
    ASSERT_EQ(s.media_count, 2u);
    const MediaStream& a = s.media[0];
    EXPECT_EQ(a.media, "audio");
    EXPECT_EQ(a.proto, "RTP/AVP");
    EXPECT_EQ(a.formats, "0 8 97");
    EXPECT_FALSE(a.secure);
    EXPECT_EQ(a.rtp_addr, ip("192.0.2.10"));
    EXPECT_EQ(a.rtp_port, 49170);
    EXPECT_EQ(a.rtcp_addr, ip("192.0.2.10"));
    EXPECT_EQ(a.rtcp_port, 49171);
    EXPECT_EQ(a.rtp_addr.family, 4);
    EXPECT_EQ(a.rtp_addr.bytes[0], 192);
    EXPECT_EQ(a.rtp_addr.bytes[3], 10);
    EXPECT_EQ(s.media[1].media, "video");
    EXPECT_EQ(s.media[1].rtp_port, 51372);
    EXPECT_EQ(s.media[1].rtcp_port, 51373);
}

TEST(Sdp, MediaLevelConnectionRtcpAttributeAndMux) {
    const std::string body =
        "v=0\r\n"
        "o=- 1 1 IN IP4 192.0.2.1\r\n"
        "s=-\r\n"
        "c=IN IP4 192.0.2.1\r\n"
        "t=0 0\r\n"
        "a=sendonly\r\n"
        "m=audio 20000 RTP/SAVP 96\r\n"
        "c=IN IP4 198.51.100.7\r\n"
        "a=rtcp:20011\r\n"
        "m=audio 20002 UDP/TLS/RTP/SAVP 96\r\n"
        "a=rtcp:53020 IN IP4 203.0.113.5\r\n"
        "a=recvonly\r\n"
        "m=video 20004 RTP/AVPF 97\r\n"
        "a=rtcp-mux\r\n"
        "a=rtcp:20005\r\n"
        "m=audio 0 RTP/AVP 0\r\n"
        "m=audio 65535 RTP/AVP 0\r\n";
    SdpSession s;
    ASSERT_EQ(parse_sdp(body, s), SdpError::ok);
    ASSERT_EQ(s.media_count, 5u);
    EXPECT_EQ(s.connection, ip("192.0.2.1"));
    EXPECT_EQ(s.media[0].rtp_addr, ip("198.51.100.7"));
    EXPECT_EQ(s.media[0].rtcp_addr, ip("198.51.100.7"));
    EXPECT_EQ(s.media[0].rtcp_port, 20011);
    EXPECT_TRUE(s.media[0].secure);
    EXPECT_EQ(s.media[0].direction, MediaDirection::sendonly);  // inherited from session
    EXPECT_EQ(s.media[1].proto, "UDP/TLS/RTP/SAVP");
    EXPECT_EQ(s.media[1].rtp_addr, ip("192.0.2.1"));
    EXPECT_EQ(s.media[1].rtcp_addr, ip("203.0.113.5"));
    EXPECT_EQ(s.media[1].rtcp_port, 53020);
    EXPECT_EQ(s.media[1].direction, MediaDirection::recvonly);
    EXPECT_TRUE(s.media[2].rtcp_mux);
    EXPECT_EQ(s.media[2].rtcp_port, 20004);  // mux wins over a=rtcp
    EXPECT_EQ(s.media[3].rtp_port, 0);
    EXPECT_EQ(s.media[3].rtcp_port, 0);
    EXPECT_EQ(s.media[4].rtcp_port, 0);  // no port 65536
}

TEST(Sdp, Ipv6AndMulticastAndFqdn) {
    SdpSession s;
    ASSERT_EQ(parse_sdp("v=0\nc=IN IP6 2001:DB8::1\nm=audio 1000/2 RTP/AVP 0\n"
                        "m=audio 1002 RTP/AVP 0\nc=IN IP4 233.252.0.1/127/3\n"
                        "m=audio 1004 RTP/AVP 0\nc=IN IP4 media.example.com\n",
                        s),
              SdpError::ok);
    EXPECT_EQ(s.media[0].rtp_addr, ip("2001:db8::1"));
    EXPECT_EQ(s.media[0].rtp_addr.family, 6);
    EXPECT_EQ(s.media[0].port_count, 2);
    EXPECT_EQ(s.media[1].rtp_addr, ip("233.252.0.1"));
    EXPECT_EQ(s.media[2].rtp_addr.family, 0);  // unresolved name
}

TEST(Sdp, KeyMgmtAtSessionAndMediaLevel) {
    SdpSession s;
    ASSERT_EQ(parse_sdp("v=0\r\nc=IN IP4 192.0.2.1\r\na=key-mgmt:mikey AAAA\r\n"
                        "m=audio 1000 RTP/SAVP 0\r\n"
                        "m=audio 1002 RTP/SAVP 0\r\na=key-mgmt: MIKEY  BBBB \r\n"
                        "m=audio 1004 RTP/SAVP 0\r\na=key-mgmt:other CCCC\r\n",
                        s),
              SdpError::ok);
    EXPECT_EQ(s.session_mikey, "AAAA");
    EXPECT_EQ(s.media[0].mikey, "AAAA");
    EXPECT_EQ(s.media[1].mikey, "BBBB");
    EXPECT_EQ(s.media[2].mikey, "AAAA");
}

TEST(Sdp, MultipartIpv6WithMux) {
    const std::string text = test::mcptt_multipart_invite();
    SipMessage m;
    ASSERT_EQ(parse_message(text, m), ParseError::ok);
    SdpSession s;
    ASSERT_EQ(parse_sdp(m.sdp, s), SdpError::ok);
    ASSERT_EQ(s.media_count, 2u);
    EXPECT_EQ(s.media[0].rtp_addr, ip("2001:db8::10"));
    EXPECT_EQ(s.media[0].rtp_port, 40000);
    EXPECT_EQ(s.media[0].rtcp_port, 40000);
    EXPECT_EQ(s.media[0].mikey, "ARoFARJ43KsAAQsA");
    EXPECT_EQ(s.media[1].media, "application");
    EXPECT_EQ(s.media[1].proto, "udp");
    EXPECT_EQ(s.media[1].rtcp_port, 40003);
}

TEST(Sdp, Errors) {
    SdpSession s;
    EXPECT_EQ(parse_sdp("", s), SdpError::empty);
    EXPECT_EQ(parse_sdp("v=0\r\nbogus\r\n", s), SdpError::bad_line);
    EXPECT_EQ(parse_sdp("v=0\r\nc=IN IP4\r\n", s), SdpError::bad_connection);
    EXPECT_EQ(parse_sdp("v=0\r\nc=IN IP6 192.0.2.1\r\n", s), SdpError::bad_connection);
    EXPECT_EQ(parse_sdp("v=0\r\nc=XX IP4 192.0.2.1\r\n", s), SdpError::bad_connection);
    EXPECT_EQ(parse_sdp("v=0\r\nm=audio 70000 RTP/AVP 0\r\n", s), SdpError::bad_media);
    EXPECT_EQ(parse_sdp("v=0\r\nm=audio x RTP/AVP 0\r\n", s), SdpError::bad_media);
    EXPECT_EQ(parse_sdp("v=0\r\nm=audio 1000\r\n", s), SdpError::bad_media);
    EXPECT_EQ(parse_sdp("v=0\r\nm=audio 1000 RTP/AVP 0\r\na=rtcp:abc\r\n", s), SdpError::bad_rtcp);
    EXPECT_EQ(parse_sdp("v=0\r\nm=audio 1000 RTP/AVP 0\r\na=rtcp:1001 IN IP4\r\n", s),
              SdpError::bad_rtcp);
    EXPECT_EQ(parse_sdp("v=0\r\ns=-\r\n", s), SdpError::no_media);
    EXPECT_STREQ(sdp_error_name(SdpError::bad_rtcp), "bad_rtcp");
}

TEST(Sdp, TooManyMediaKeepsTheFirst) {
    std::string body = "v=0\r\nc=IN IP4 192.0.2.1\r\n";
    for (int i = 0; i < 10; ++i)
        body += "m=audio " + std::to_string(1000 + 2 * i) + " RTP/AVP 0\r\n";
    SdpSession s;
    ASSERT_EQ(parse_sdp(body, s), SdpError::ok);
    EXPECT_EQ(s.media_count, kMaxMediaStreams);
    EXPECT_TRUE(s.media_truncated);
    EXPECT_EQ(s.media[7].rtp_port, 1014);
}

TEST(Sdp, EveryTruncationIsSafe) {
    const std::string body = test::sdp_offer() + "a=rtcp:9 IN IP6 2001:db8::2\r\na=rtcp-mux\r\n";
    SdpSession s;
    for (size_t len = 0; len <= body.size(); ++len) {
        std::unique_ptr<char[]> copy(new char[len + 1]);
        std::memcpy(copy.get(), body.data(), len);
        (void)parse_sdp({copy.get(), len}, s);
    }
    EXPECT_EQ(parse_sdp(body, s), SdpError::ok);
    EXPECT_EQ(s.media[1].rtcp_port, 51372);
}

}  // namespace
}  // namespace liprobe::sip
