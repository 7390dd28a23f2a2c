// Target identity normalisation (design.md 3.4, RFC 3261 19.1.4, RFC 3966).
#include <gtest/gtest.h>

#include "liprobe/targets/normalise.hpp"

namespace liprobe::targets {
namespace {

std::string norm(std::string_view s) {
    return normalise_identity(s).value_or("<none>");
}

TEST(Normalise, SipUris) {
    EXPECT_EQ(norm("sip:alice@atlanta.example.com"), "sip:alice@atlanta.example.com");
    EXPECT_EQ(norm("SIP:alice@AtLanTa.Example.COM"), "sip:alice@atlanta.example.com");
    EXPECT_EQ(norm("sips:alice@atlanta.example.com"), "sip:alice@atlanta.example.com");
    EXPECT_EQ(norm("sip:Alice@atlanta.example.com"), "sip:Alice@atlanta.example.com");
    EXPECT_EQ(norm("sip:alice@atlanta.example.com:5060;transport=tcp;lr?subject=x"),
              "sip:alice@atlanta.example.com");
    EXPECT_EQ(norm("sip:alice:secret@atlanta.example.com"), "sip:alice@atlanta.example.com");
    EXPECT_EQ(norm("<sip:alice@atlanta.example.com>"), "sip:alice@atlanta.example.com");
    EXPECT_EQ(norm("sip:%61lice@atlanta.example.com"), "sip:alice@atlanta.example.com");
    EXPECT_EQ(norm("sip:a%3bb@x"), "sip:a%3Bb@x");  // an escaped reserved char stays escaped
    EXPECT_EQ(norm("sip:[2001:DB8::1]"), "sip:[2001:db8::1]");
    EXPECT_EQ(norm("sip:Example.ORG"), "sip:example.org");
    EXPECT_EQ(norm("alice@Example.org"), "sip:alice@example.org");  // scheme-less warrant entry
}

TEST(Normalise, TelNumbers) {
    EXPECT_EQ(norm("tel:+1-201-555-0123"), "tel:+12015550123");
    EXPECT_EQ(norm("tel:+1.201.(555).0123;phone-context=x"), "tel:+12015550123");
    EXPECT_EQ(norm("TEL:+12015550123"), "tel:+12015550123");
    EXPECT_EQ(norm("tel:7042;phone-context=example.com"), "tel:7042");
    EXPECT_EQ(norm("tel:*21#"), "tel:*21#");
    EXPECT_EQ(norm("sip:+1-201-555-0123@ims.example.com;user=phone"), "tel:+12015550123");
    EXPECT_EQ(norm("sip:+12015550123;npdi@ims.example.com;user=phone"), "tel:+12015550123");
    // Without user=phone a numeric user part is just a SIP user.
    EXPECT_EQ(norm("sip:+12015550123@ims.example.com"), "sip:+12015550123@ims.example.com");
    EXPECT_EQ(norm("+49 30"), "<none>");
    EXPECT_EQ(norm("+49-30-1234"), "tel:+49301234");
}

TEST(Normalise, Unusable) {
    EXPECT_EQ(norm(""), "<none>");
    EXPECT_EQ(norm("urn:service:sos"), "<none>");
    EXPECT_EQ(norm("tel:+1-800-FLOWERS"), "<none>");
    EXPECT_EQ(norm("tel:+"), "<none>");
    EXPECT_EQ(norm("sip:"), "<none>");
    EXPECT_EQ(norm("sip:" + std::string(400, 'a') + "@x"), "<none>");
    char buf[8];
    EXPECT_EQ(normalise_text("sip:alice@example.org", buf, sizeof(buf)), 0u);  // too small
    EXPECT_EQ(normalise_text("alice@example.org", buf, sizeof(buf)), 0u);      // bare not allowed
}

}  // namespace
}  // namespace liprobe::targets
