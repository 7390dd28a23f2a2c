// MIKEY I_MESSAGE parsing (refs/specs.md section 6).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "liprobe/sip/mikey.hpp"

namespace liprobe::sip {
namespace {

// Published: Streamwide/sw_mikey_sakke StreamwideTestVectors.md (commit 90179ad7), section
// "MIKEYSAKKE-PAYLOAD", Test 1: GMK (GMK-ID 0e144748, GUK-ID 034db662, GMK-RAND d154c2d3...,
// initiator gms@streamwide.com, responder sip:alice@streamwide.com). Decoded in refs 6.5.
const char* const kStreamwideGmk =
    "ARoFAQNNtmIBAgQAAQAAAAgOFEdIA022YgsA7IZoTwAAAAAOENFUwtOJvZ7FNqkOhjs0dN8OCAEAIBWk1bEoVlONAtkf"
    "7bt2bm3Td7AUyS4hZmbI+2eGCNIODgkBACC1xFIwkhnaaj2AVhVUjWwbD03kWmtI+xPZok2Ff8A9xA4GAQAYa21zLm15"
    "ZGV2LnN0cmVhbXdpZGUuY29tCgcBABhrbXMubXlkZXYuc3RyZWFtd2lkZS5jb20aAAAAGwABBgEBEAIBBAQBDAUBAAYB"
    "ABIBBBMBABQBEBUBAgERBCkcziv5PVX7PVMDI1Y/b3n2A5qul6eXaeK2HEKrCf5KFgfGOWF+y33g8TdBD3IsbV4Ey7HJ"
    "iDKkgDZa8QIAVAh3+VWP30ykJ8BmYxZM0+BuuGrETWTO9y4pohYBMHPIL3cnlNulxryRWgU95ErGg7wuCKwzRJeC6Uci"
    "StR1iN1UCkNo7IvRZznjtB9O/oAIPP7sshOxsTcXhb/nI5OiAYwL0F2B7lymm7AzgHTynWKSTYyKoo+wQxb53Chnb+/X"
    "lkJNFtayZ1CSa5Y8nS4QjUEyWAopFwBSQBxF50nHOaEXLIJotETja3OYt9Z0y15vNuVY3TY6csajVt8IxdWL4f80A/pB"
    "jnAQT7yCkmo54YFtBAcAR0MAAAAAAQAAAAAAARBSxhhwr95y11DPkNnVfZEDTbZiAAAkKvD+khpd0bDkhhJdbogNWVQI"
    "bAe67Q/OFifVP58MjwrixjWRIIEwpGB+08FszdvSNwTRbZ6H0z/puSA6LVP2MJo+jFLOAAOvjK0Mg3koTcipQq8qQFhf"
    "fl9IIn/NuKjcxl0CxMulBGiiTUmxhNcAjSL2OkFd69OL+pKV8Gb6atpZUcIyLS7KHW8dmU8icQ2u93bZxU2aM48yOVCA"
    "1vK9/7bHiV8SzaI=";

// Same file, Test 2: CSK (CSK-ID 2fe0b176, CSK-RAND 2d877234..., initiator alice, responder gms).
const char* const kStreamwideCsk =
    "ARoFAS/gsXYBAgYAAQAAAAQv4LF2CwDshmhPAAAAAA4QLYdyNEt+0upw01YoQG20hQ4IAQAgtcRSMJIZ2mo9gFYVVI1s"
    "Gw9N5FprSPsT2aJNhX/APcQOCQEAIBWk1bEoVlONAtkf7bt2bm3Td7AUyS4hZmbI+2eGCNIODgYBABhrbXMubXlkZXYu"
    "c3RyZWFtd2lkZS5jb20KBwEAGGttcy5teWRldi5zdHJlYW13aWRlLmNvbRoAAAAbAAEGAQEQAgEEBAEMBQEABgEAEgEE"
    "EwEAFAEQFQECAREEg2yJfJc1Hxuo6oCPXSlzgLpaTf+GzdN4R6vNba9pY15ipGP3ECbJQYSOQ/Hd5aXWW/00WRoAWag2"
    "oeto2NktA81b91nkczEbz0kZw0OdQXchpxfmjenmiNCrK5Sk72Hd7MI7d21S9af0Hbbxjt8yqaPMdl8ugfA7PiDJxlVU"
    "UM48wG7ZpMu0iYL23aDI7EoEx126RR9k6MsD7DDE90mUxUopZJHrEmM9641tZFuQuhw8hipeppkSg/v62K/afHz9/C+H"
    "lCJHBv1Pf/6+D5U7sdVogs0qWUMdspH79YTW787hsDuvTGstX7vkovZsx45dtCRjZSTvcsIRGQ1kodNOj6wUGrYbpLjB"
    "9uzUO/ER7E4EBwBEQwAAAAABAAAAAAABfnLxfi4vVcUyYDm4eyFwyS/gsXYAACGQ0BK0lmoQaEpj10IZuO/yVDFc2oNu"
    "uFumXaImtbORin8ggfXn3aSYuh/tdmqF7bHeofrM4sJ18wJaVxG6W2haF62HxUFRXFEvRVZN06CsdypONBVdzLxISCTn"
    "5mlAn+9zV+gEJs2LCjOvmzge5T68aEGu1cHJj7DSvrnH/5jXx5gI0fVmZZ9rc1AWGS3ZmE31blTz+Vx2rEY4wfPTIo88"
    "dSyMyA==";

// Same file, Test 3: PCK (PCK-ID 1278dcab, PCK-RAND 42b4ca1b..., alice -> bob). Empty CS map.
const char* const kStreamwidePck =
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

std::vector<uint8_t> hex(const std::string& h) {
    std::vector<uint8_t> v;
    for (size_t i = 0; i + 1 < h.size(); i += 2)
        v.push_back(static_cast<uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16)));
    return v;
}
std::vector<uint8_t> bytes(std::span<const uint8_t> s) {
    return {s.begin(), s.end()};
}

std::vector<uint8_t> decode(const char* b64) {
    std::vector<uint8_t> out(kMaxMikeyMessage);
    size_t n = 0;
    EXPECT_TRUE(base64_decode(b64, out, n));
    out.resize(n);
    return out;
}

TEST(Base64, Rfc4648Vectors) {
    // RFC 4648 section 10 test vectors.
    const std::pair<const char*, const char*> v[] = {{"", ""},
                                                     {"Zg==", "f"},
                                                     {"Zm8=", "fo"},
                                                     {"Zm9v", "foo"},
                                                     {"Zm9vYg==", "foob"},
                                                     {"Zm9vYmE=", "fooba"},
                                                     {"Zm9vYmFy", "foobar"}};
    for (auto [in, expected] : v) {
        uint8_t out[16];
        size_t n = 99;
        ASSERT_TRUE(base64_decode(in, out, n)) << in;
        EXPECT_EQ(std::string(reinterpret_cast<char*>(out), n), expected);
    }
    uint8_t out[16];
    size_t n;
    EXPECT_TRUE(base64_decode("Zm9v\r\nYmFy", out, n));  // whitespace skipped
    EXPECT_EQ(n, 6u);
    EXPECT_TRUE(base64_decode("Zm8", out, n));  // padding optional
    EXPECT_EQ(n, 2u);
    EXPECT_FALSE(base64_decode("Zm9v!", out, n));
    EXPECT_FALSE(base64_decode("Z", out, n));
    EXPECT_FALSE(base64_decode("Zm=9", out, n));
    EXPECT_FALSE(base64_decode("Zm9===", out, n));
    EXPECT_FALSE(base64_decode("Zh==", out, n));  // non-zero leftover bits
    uint8_t tiny[2];
    EXPECT_FALSE(base64_decode("Zm9v", tiny, n));
}

TEST(Mikey, StreamwideGmk) {
    const auto msg = decode(kStreamwideGmk);
    ASSERT_EQ(msg.size(), 701u);
    MikeyMessage m;
    ASSERT_EQ(parse_mikey(msg, m), MikeyError::ok);
    EXPECT_EQ(m.length, 701u);
    EXPECT_EQ(m.version, 1);
    EXPECT_EQ(m.data_type, 26);
    EXPECT_FALSE(m.v_flag);
    EXPECT_EQ(m.prf, 1);
    EXPECT_EQ(m.csb_id, 0x034db662u);  // the GUK-ID
    EXPECT_EQ(m.cs_count, 1);
    EXPECT_EQ(m.map_type, 2);
    ASSERT_EQ(m.cs_entries, 1u);
    EXPECT_EQ(m.cs[0].cs_id, 4);
    EXPECT_EQ(m.cs[0].prot_type, 0);
    EXPECT_FALSE(m.cs[0].s_flag);
    EXPECT_EQ(bytes(m.cs[0].policies), hex("00"));
    EXPECT_TRUE(m.cs[0].session_data.empty());
    EXPECT_EQ(bytes(m.cs[0].spi), hex("0e144748034db662"));  // MKI = GMK-ID || GUK-ID
    const std::vector<uint8_t> order = {5, 11, 14, 14, 14, 14, 10, 26, 21, 4};
    ASSERT_EQ(m.payload_count, order.size());
    EXPECT_EQ(std::vector<uint8_t>(m.payload_types.begin(), m.payload_types.begin() + 10), order);
    EXPECT_EQ(m.ts_type, 0);
    EXPECT_EQ(bytes(m.ts_value), hex("ec86684f00000000"));
    EXPECT_EQ(bytes(m.rand), hex("d154c2d389bd9ec536a90e863b3474df"));  // GMK-RAND
    ASSERT_EQ(m.id_count, 4u);
    EXPECT_EQ(m.ids[0].role, 8);
    EXPECT_EQ(m.ids[0].type, 1);
    // The UIDs equal the file's "UserID" of the GMS and of Alice.
    EXPECT_EQ(bytes(m.ids[0].data),
              hex("15a4d5b12856538d02d91fedbb766e6dd377b014c92e216666c8fb678608d20e"));
    EXPECT_EQ(m.ids[1].role, 9);
    EXPECT_EQ(bytes(m.ids[1].data),
              hex("b5c452309219da6a3d805615548d6c1b0f4de45a6b48fb13d9a24d857fc03dc4"));
    EXPECT_EQ(m.ids[2].role, 6);
    EXPECT_EQ(m.ids[2].text(), "kms.mydev.streamwide.com");
    EXPECT_EQ(m.ids[3].role, 7);
    EXPECT_EQ(m.ids[3].text(), "kms.mydev.streamwide.com");
    EXPECT_EQ(m.sp_policy_no, 0);
    EXPECT_EQ(m.sp_prot_type, 0);
    EXPECT_EQ(bytes(m.sp_params), hex("00010601011002010404010c050100060100120104130100140110"));
    EXPECT_EQ(m.sakke_params, 1);
    EXPECT_EQ(m.sakke_id_scheme, 2);
    EXPECT_EQ(m.sakke_data.size(), 273u);
    EXPECT_EQ(m.sakke_data[0], 0x04);
    ASSERT_EQ(m.extension_count, 1u);
    EXPECT_EQ(m.extensions[0].type, 7);
    EXPECT_EQ(m.extensions[0].data.size(), 71u);
    EXPECT_TRUE(m.has_sign);
    EXPECT_EQ(m.sign_type, 2);  // ECCSI
    EXPECT_EQ(m.signature.size(), 129u);
    EXPECT_EQ(bytes(m.signature.last(4)), hex("5f12cda2"));

    MikeySummary s;
    ASSERT_EQ(decode_mikey_summary(kStreamwideGmk, s), MikeyError::ok);
    EXPECT_EQ(s.csb_id, 0x034db662u);
    ASSERT_EQ(s.cs_count, 1u);
    EXPECT_EQ(s.cs[0].cs_id, 4);
    EXPECT_EQ(s.cs[0].spi_len, 8);
    EXPECT_EQ(std::vector<uint8_t>(s.cs[0].spi.begin(), s.cs[0].spi.begin() + 8),
              hex("0e144748034db662"));
    EXPECT_EQ(s.rand_len, 16);
    EXPECT_EQ(s.initiator.role, 8);
    EXPECT_EQ(s.initiator.len, 32);
    EXPECT_EQ(s.responder.role, 9);
    EXPECT_EQ(s.responder.data[0], 0xb5);
}

TEST(Mikey, StreamwideCsk) {
    const auto msg = decode(kStreamwideCsk);
    MikeyMessage m;
    ASSERT_EQ(parse_mikey(msg, m), MikeyError::ok);
    EXPECT_EQ(m.length, msg.size());
    EXPECT_EQ(m.csb_id, 0x2fe0b176u);  // CSK-ID
    ASSERT_EQ(m.cs_entries, 1u);
    EXPECT_EQ(m.cs[0].cs_id, 6);
    EXPECT_EQ(bytes(m.cs[0].spi), hex("2fe0b176"));
    EXPECT_EQ(bytes(m.rand), hex("2d8772344b7ed2ea70d35628406db485"));  // CSK-RAND
    ASSERT_GE(m.id_count, 2u);
    EXPECT_EQ(m.ids[0].role, 8);
    EXPECT_EQ(m.ids[0].data[0], 0xb5);  // alice's UID initiates
    EXPECT_EQ(m.extensions[0].data.size(), 68u);
    EXPECT_TRUE(m.has_sign);
}

TEST(Mikey, StreamwidePck) {
    const auto msg = decode(kStreamwidePck);
    MikeyMessage m;
    ASSERT_EQ(parse_mikey(msg, m), MikeyError::ok);
    EXPECT_EQ(m.length, msg.size());
    EXPECT_EQ(m.csb_id, 0x1278dcabu);  // PCK-ID
    EXPECT_EQ(m.cs_count, 0);
    EXPECT_EQ(m.map_type, 1);  // empty map
    EXPECT_EQ(m.cs_entries, 0u);
    EXPECT_EQ(bytes(m.rand), hex("42b4ca1be2041f6f186e88d203de5c7d"));  // PCK-RAND
    EXPECT_EQ(m.extensions[0].data.size(), 68u);
    EXPECT_EQ(m.signature.size(), 129u);
}

// Synthetic: every payload type the parser knows, with URIs in IDRi/IDRr and an SRTP-ID map.
std::vector<uint8_t> synthetic_message() {
    std::vector<uint8_t> m =
        hex("01"        // version
            "00"        // data type 0 (PSK init)
            "05"        // next: T
            "81"        // V=1, PRF=1
            "cafebabe"  // CSB ID
            "02"
            "00"  // #CS=2, SRTP-ID map
            "07"
            "11223344"
            "00000005"  // policy 7, SSRC, ROC 5
            "08"
            "55667788"
            "00000000");  // policy 8
    auto push = [&](std::initializer_list<int> v) {
        for (int b : v) m.push_back(static_cast<uint8_t>(b));
    };
    auto push_str = [&](const std::string& s) { m.insert(m.end(), s.begin(), s.end()); };
    push({11, 2, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08});  // T: next RAND, COUNTER
    m.erase(m.end() - 4, m.end());                                  // COUNTER is 32 bits
    push({14, 4, 0xaa, 0xbb, 0xcc, 0xdd});                          // RAND: next IDR, len 4
    const std::string idri = "sip:alice@example.org", idrr = "tel:+4930123";
    push({14, 1, 1, 0, static_cast<int>(idri.size())});  // IDRi, URI
    push_str(idri);
    push({6, 2, 1, 0, static_cast<int>(idrr.size())});  // IDRr, URI; next ID
    push_str(idrr);
    push({10, 0, 0, 3});  // ID (RFC 3830): next SP, type NAI, len 3
    push_str("kms");
    push({12, 1, 0, 0, 3, 0, 1, 6});    // SP: next ERR, policy 1, SRTP, len 3 {0:06}
    push({7, 13, 0, 0});                // ERR: next CERT
    push({2, 0, 0, 2, 0x30, 0x00});     // CERT: next PKE, type 0, len 2
    push({1, 0x40, 0x02, 0xee, 0xff});  // PKE: next KEMAC, C=1, len 2
    push({26, 2, 0, 1, 0x99, 1});       // KEMAC: next SAKKE, alg 2, len 1, MAC alg 1 (20)
    for (int i = 0; i < 20; ++i) m.push_back(0x5a);
    push({21, 1, 2, 0, 3, 0x04, 0x01, 0x02});  // SAKKE: next EXT, set 1, scheme 2, len 3
    push({9, 7, 0, 2, 0x43, 0x00});            // EXT: next V, type 7, len 2
    push({4, 0});                              // V: next SIGN, null auth
    push({0x20, 0x03, 0x01, 0x02, 0x03});      // SIGN: ECCSI, len 3
    return m;
}

TEST(Mikey, SyntheticEveryPayload) {
    const auto msg = synthetic_message();
    MikeyMessage m;
    ASSERT_EQ(parse_mikey(msg, m), MikeyError::ok) << mikey_error_name(parse_mikey(msg, m));
    EXPECT_EQ(m.length, msg.size());
    EXPECT_EQ(m.data_type, 0);
    EXPECT_TRUE(m.v_flag);
    EXPECT_EQ(m.prf, 1);
    EXPECT_EQ(m.csb_id, 0xcafebabeu);
    ASSERT_EQ(m.cs_entries, 2u);
    EXPECT_EQ(m.cs[0].cs_id, 1);
    EXPECT_EQ(m.cs[0].policy_no, 7);
    EXPECT_EQ(m.cs[0].ssrc, 0x11223344u);
    EXPECT_EQ(m.cs[0].roc, 5u);
    EXPECT_EQ(m.cs[1].cs_id, 2);
    EXPECT_EQ(m.cs[1].ssrc, 0x55667788u);
    const std::vector<uint8_t> order = {5, 11, 14, 14, 6, 10, 12, 7, 2, 1, 26, 21, 9, 4};
    ASSERT_EQ(m.payload_count, order.size());
    EXPECT_EQ(std::vector<uint8_t>(m.payload_types.begin(), m.payload_types.begin() + order.size()),
              order);
    EXPECT_EQ(m.ts_type, 2);
    EXPECT_EQ(bytes(m.ts_value), hex("01020304"));
    EXPECT_EQ(bytes(m.rand), hex("aabbccdd"));
    ASSERT_EQ(m.id_count, 3u);
    ASSERT_NE(m.find_id(IdRole::idri), nullptr);
    EXPECT_EQ(m.find_id(IdRole::idri)->text(), "sip:alice@example.org");
    EXPECT_EQ(m.find_id(IdRole::idrr)->text(), "tel:+4930123");
    EXPECT_EQ(m.ids[2].role, 0);
    EXPECT_EQ(m.ids[2].text(), "kms");
    EXPECT_EQ(m.sp_policy_no, 1);
    EXPECT_EQ(bytes(m.sp_params), hex("000106"));
    EXPECT_EQ(m.sakke_params, 1);
    EXPECT_EQ(m.sakke_id_scheme, 2);
    EXPECT_EQ(bytes(m.sakke_data), hex("040102"));
    EXPECT_EQ(m.extensions[0].type, 7);
    EXPECT_EQ(bytes(m.extensions[0].data), hex("4300"));
    EXPECT_EQ(m.sign_type, 2);
    EXPECT_EQ(bytes(m.signature), hex("010203"));

    // Through base64, as it rides in SDP.
    static const char* kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string b64;
    for (size_t i = 0; i < msg.size(); i += 3) {
        uint32_t v = msg[i] << 16 | (i + 1 < msg.size() ? msg[i + 1] << 8 : 0) |
                     (i + 2 < msg.size() ? msg[i + 2] : 0);
        b64 += kAlphabet[v >> 18 & 63];
        b64 += kAlphabet[v >> 12 & 63];
        b64 += i + 1 < msg.size() ? kAlphabet[v >> 6 & 63] : '=';
        b64 += i + 2 < msg.size() ? kAlphabet[v & 63] : '=';
    }
    MikeySummary s;
    ASSERT_EQ(decode_mikey_summary(b64, s), MikeyError::ok);
    EXPECT_EQ(s.data_type, 0);
    EXPECT_EQ(s.csb_id, 0xcafebabeu);
    EXPECT_EQ(s.map_type, 0);
    ASSERT_EQ(s.cs_count, 2u);
    EXPECT_EQ(s.cs[0].ssrc, 0x11223344u);
    EXPECT_EQ(s.cs[0].roc, 5u);
    EXPECT_EQ(s.cs[0].spi_len, 0);
    EXPECT_EQ(s.rand_len, 4);
    EXPECT_EQ(s.initiator.role, 1);
    EXPECT_EQ(s.initiator.text(), "sip:alice@example.org");
    EXPECT_EQ(s.responder.role, 2);
    EXPECT_EQ(s.responder.text(), "tel:+4930123");
}

TEST(Mikey, Errors) {
    MikeyMessage m;
    auto gmk = decode(kStreamwideGmk);
    auto bad = gmk;
    bad[0] = 2;
    EXPECT_EQ(parse_mikey(bad, m), MikeyError::bad_version);
    bad = gmk;
    bad[9] = 3;
    EXPECT_EQ(parse_mikey(bad, m), MikeyError::bad_map_type);
    bad = gmk;
    bad[2] = 3;  // DH: length depends on the group
    EXPECT_EQ(parse_mikey(bad, m), MikeyError::unsupported_payload);
    bad = gmk;
    bad[26] = 9;  // T with TS type 9
    EXPECT_EQ(parse_mikey(bad, m), MikeyError::bad_timestamp_type);
    bad = gmk;
    bad.push_back(0);
    EXPECT_EQ(parse_mikey(bad, m), MikeyError::trailing_data);
    std::vector<uint8_t> loop = hex("01000b01000000000001");  // RAND payloads pointing at RAND
    for (int i = 0; i < 40; ++i) {
        loop.push_back(11);
        loop.push_back(0);
    }
    EXPECT_EQ(parse_mikey(loop, m), MikeyError::too_many_payloads);
    std::vector<uint8_t> huge(kMaxMikeyMessage + 1, 1);
    EXPECT_EQ(parse_mikey(huge, m), MikeyError::too_large);
    MikeySummary s;
    EXPECT_EQ(decode_mikey_summary("not base64!", s), MikeyError::bad_base64);
    EXPECT_STREQ(mikey_error_name(MikeyError::truncated), "truncated");
}

TEST(Mikey, EveryTruncationIsRefused) {
    for (const auto& msg : {decode(kStreamwideGmk), decode(kStreamwidePck), synthetic_message()}) {
        MikeyMessage m;
        for (size_t len = 0; len < msg.size(); ++len) {
            std::unique_ptr<uint8_t[]> copy(new uint8_t[len + 1]);
            if (len) std::memcpy(copy.get(), msg.data(), len);
            MikeyError e = parse_mikey({copy.get(), len}, m);
            EXPECT_NE(e, MikeyError::ok) << len;
        }
    }
}

TEST(Mikey, CorruptedOctetsNeverCrash) {
    const auto msg = decode(kStreamwideGmk);
    MikeyMessage m;
    size_t errors = 0;
    for (size_t i = 0; i < msg.size(); ++i) {
        for (uint8_t v : {0x00, 0x04, 0x0e, 0xff}) {
            auto t = msg;
            t[i] = v;
            if (parse_mikey(t, m) != MikeyError::ok) ++errors;
        }
    }
    EXPECT_GT(errors, 0u);
}

}  // namespace
}  // namespace liprobe::sip
