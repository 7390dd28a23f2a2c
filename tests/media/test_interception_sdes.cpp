// SDES (RFC 4568) in the interception logic: the keys of the a=crypto lines in an intercepted
// dialog's SDP decrypt its media with no key from the mediation function. Media is protected by
// libsrtp2 (independent of ours) in every suite the probe decrypts, with and without an MKI, RTP
// and SRTCP both ways; a re-INVITE re-keys mid-call; refused lines are counted and their media
// goes out as encrypted CC; a warrant with sdes = false gets the packets as they are.
#include <openssl/evp.h>

#include "interception_fixture.hpp"
#include "libsrtp_sender.hpp"

namespace {

using liprobe::crypto::SrtpProfile;
using Bytes = std::vector<uint8_t>;

std::string base64(const Bytes& b) {
    std::string out(4 * ((b.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), b.data(),
                                  static_cast<int>(b.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

const char* suite_name(SrtpProfile p) {
    switch (p) {
        case SrtpProfile::aead_aes_128_gcm:
            return "AEAD_AES_128_GCM";
        case SrtpProfile::aead_aes_256_gcm:
            return "AEAD_AES_256_GCM";
        case SrtpProfile::aes_cm_128_hmac_sha1_80:
            return "AES_CM_128_HMAC_SHA1_80";
        case SrtpProfile::aes_cm_128_hmac_sha1_32:
            return "AES_CM_128_HMAC_SHA1_32";
        case SrtpProfile::aes_256_cm_hmac_sha1_80:
            return "AES_256_CM_HMAC_SHA1_80";
        case SrtpProfile::aes_256_cm_hmac_sha1_32:
            return "AES_256_CM_HMAC_SHA1_32";
    }
    return "?";
}

// A master key || salt of the profile's lengths, distinct per seed.
Bytes key_salt(SrtpProfile p, uint8_t seed) {
    const auto& info = liprobe::crypto::profile_info(p);
    Bytes b(info.key_len + info.salt_len);
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(seed * 31 + i * 7 + 1);
    return b;
}

// "a=crypto" value; mki: the "|value:length" parameter's value (length 4) when non-zero.
std::string crypto_line(uint32_t tag, SrtpProfile p, const Bytes& ks, uint32_t mki = 0) {
    std::string l = std::to_string(tag) + " " + suite_name(p) + " inline:" + base64(ks) + "|2^31";
    if (mki != 0) l += "|" + std::to_string(mki) + ":4";
    return l;
}

Bytes mki_bytes(uint32_t mki) {
    if (mki == 0) return {};
    return {static_cast<uint8_t>(mki >> 24), static_cast<uint8_t>(mki >> 16),
            static_cast<uint8_t>(mki >> 8), static_cast<uint8_t>(mki)};
}

// sdp_for() with a=crypto lines (and RTCP on port + 1, RFC 3550).
std::string sdes_sdp(uint8_t ip, uint16_t port, const std::vector<std::string>& lines) {
    std::string s = sdp_for(ip, port);
    for (const auto& l : lines) s += "a=crypto:" + l + "\r\n";
    return s;
}

// An RTCP receiver report (8-octet header + one report block) with a recognisable body.
Bytes make_rtcp(uint32_t ssrc, uint8_t fill) {
    Bytes p{0x81, 201, 0x00, 0x07};
    for (int i = 3; i >= 0; --i) p.push_back(static_cast<uint8_t>(ssrc >> (8 * i)));
    for (int i = 0; i < 24; ++i) p.push_back(static_cast<uint8_t>(fill + i));
    return p;
}

Want cc_ip(Direction d, const liprobe::test::Frame& f, uint32_t cin = 7) {
    return {RecordKind::cc_ip, IriType::cont, d, cin, ip_of(f)};
}

class Sdes : public Interception {
  protected:
    int64_t t_ = 1700000000000000;
    std::vector<Want> want_;

    // One media packet protected by sender from src:sport to dst:dport; plain is what a LEMF must
    // get decrypted (empty: the frame is expected as cc_ip).
    liprobe::test::Frame send(liprobe::test::LibsrtpSender& s, bool rtcp, uint8_t src,
                              uint16_t sport, uint8_t dst, uint16_t dport, const Bytes& plain) {
        auto f = udp_frame(t_ += 5000, src, sport, dst, dport,
                           rtcp ? s.protect_rtcp(plain) : s.protect_rtp(plain));
        feed(f);
        EXPECT_TRUE(last_intercepted_);
        return f;
    }
    void sip(bool from_alice, const std::string& m, IriType type) {
        sip_feeder(t_, want_)(from_alice, m, type);
    }
    std::string invite(int cseq, const std::string& to_tag, const std::string& body) {
        return sip_msg("INVITE " + kBob + " SIP/2.0", kAlice, "t1", kBob, to_tag, cseq, "INVITE",
                       "i" + std::to_string(cseq), body);
    }
    std::string ok(int cseq, const std::string& method, const std::string& body) {
        return sip_msg("SIP/2.0 200 OK", kAlice, "t1", kBob, "t2", cseq, method,
                       (method == "INVITE" ? "i" : "b") + std::to_string(cseq), body);
    }
    std::string ack(int cseq) {
        return sip_msg("ACK " + kBob + " SIP/2.0", kAlice, "t1", kBob, "t2", cseq, "ACK",
                       "a" + std::to_string(cseq));
    }
    void bye(int cseq) {
        sip(true,
            sip_msg("BYE " + kBob + " SIP/2.0", kAlice, "t1", kBob, "t2", cseq, "BYE",
                    "b" + std::to_string(cseq)),
            IriType::cont);
        sip(false, ok(cseq, "BYE", ""), IriType::end);
    }
    uint64_t refused(liprobe::sip::SdesError e) const {
        return icpt_->counters().sdes_lines_refused[static_cast<size_t>(e)].get();
    }
};

struct SuiteParam {
    SrtpProfile profile;
    uint32_t mki;  // 0: no MKI
};

class SdesSuite : public Sdes, public ::testing::WithParamInterface<SuiteParam> {};

// Alice offers two lines (another suite first, the tested one second); Bob answers the second.
// Alice's first packet travels before the answer (early media on an offered key). RTP and SRTCP
// both ways, every CC byte exact, nothing pending.
TEST_P(SdesSuite, OfferAnswerKeysDecryptRtpAndSrtcpBothWays) {
    make(liprobe::media::DeliverMode::decrypted);
    const SrtpProfile p = GetParam().profile;
    const SrtpProfile other = p == SrtpProfile::aes_cm_128_hmac_sha1_80
                                  ? SrtpProfile::aead_aes_128_gcm
                                  : SrtpProfile::aes_cm_128_hmac_sha1_80;
    const uint32_t mki = GetParam().mki;
    const Bytes alice_other = key_salt(other, 1), alice_key = key_salt(p, 2),
                bob_key = key_salt(p, 3);
    liprobe::test::LibsrtpSender alice(p, alice_key, mki_bytes(mki));
    liprobe::test::LibsrtpSender bob(p, bob_key, mki_bytes(mki == 0 ? 0 : mki + 1));

    sip(true,
        invite(
            1, "",
            sdes_sdp(kAliceIp, 40000,
                     {crypto_line(1, other, alice_other, mki), crypto_line(2, p, alice_key, mki)})),
        IriType::begin);
    const Bytes early = liprobe::test::make_rtp(99, 0, 0x11111111, 33, 0x05);
    send(alice, false, kAliceIp, 40000, kBobIp, 50000, early);
    want_.push_back(cc(kFrom, early));
    sip(false,
        ok(1, "INVITE",
           sdes_sdp(kBobIp, 50000, {crypto_line(2, p, bob_key, mki == 0 ? 0 : mki + 1)})),
        IriType::cont);
    sip(true, ack(1), IriType::cont);
    for (int i = 0; i < 3; ++i) {
        const Bytes a = liprobe::test::make_rtp(static_cast<uint16_t>(100 + i), 160 * (i + 1),
                                                0x11111111, 40 + i, 0x10);
        const Bytes b = liprobe::test::make_rtp(static_cast<uint16_t>(200 + i), 160 * i, 0x22222222,
                                                30 + i, 0x80);
        send(alice, false, kAliceIp, 40000, kBobIp, 50000, a);
        want_.push_back(cc(kFrom, a));
        send(bob, false, kBobIp, 50000, kAliceIp, 40000, b);
        want_.push_back(cc(kTo, b));
    }
    const Bytes ra = make_rtcp(0x11111111, 0x20), rb = make_rtcp(0x22222222, 0x40);
    send(alice, true, kAliceIp, 40001, kBobIp, 50001, ra);
    want_.push_back(cc(kFrom, ra));
    send(bob, true, kBobIp, 50001, kAliceIp, 40001, rb);
    want_.push_back(cc(kTo, rb));
    bye(2);

    expect_records(sink_.out, want_);
    const auto& c = icpt_->counters();
    EXPECT_EQ(c.srtp_decrypted.get(), 9u);
    EXPECT_EQ(c.sdes_decrypted.get(), 9u);
    EXPECT_EQ(c.sdes_lines_installed.get(), 3u);  // two offered, one answer
    EXPECT_EQ(c.srtp_unknown_mki.get(), 0u);
    EXPECT_EQ(c.srtp_auth_failed.get(), 0u);
    EXPECT_EQ(c.pending_queued.get(), 0u);
    EXPECT_EQ(c.sdes_dialogs_refused.get(), 0u);
}

INSTANTIATE_TEST_SUITE_P(EverySuite, SdesSuite,
                         ::testing::Values(SuiteParam{SrtpProfile::aes_cm_128_hmac_sha1_80, 0},
                                           SuiteParam{SrtpProfile::aes_cm_128_hmac_sha1_80, 7},
                                           SuiteParam{SrtpProfile::aes_cm_128_hmac_sha1_32, 0},
                                           SuiteParam{SrtpProfile::aes_cm_128_hmac_sha1_32, 7},
                                           SuiteParam{SrtpProfile::aes_256_cm_hmac_sha1_80, 0},
                                           SuiteParam{SrtpProfile::aes_256_cm_hmac_sha1_32, 7},
                                           SuiteParam{SrtpProfile::aead_aes_128_gcm, 0},
                                           SuiteParam{SrtpProfile::aead_aes_128_gcm, 7},
                                           SuiteParam{SrtpProfile::aead_aes_256_gcm, 0},
                                           SuiteParam{SrtpProfile::aead_aes_256_gcm, 7}),
                         [](const auto& info) {
                             return std::string(
                                        liprobe::crypto::profile_info(info.param.profile).name) +
                                    (info.param.mki != 0 ? "_mki" : "");
                         });

// A re-INVITE re-keys both sides. Alice keeps her old key until the answer; after it, both use
// the new keys, and a late packet of Bob's under his old key (in flight) is still decrypted.
TEST_F(Sdes, ReInviteRekeysMidCall) {
    make(liprobe::media::DeliverMode::decrypted);
    const SrtpProfile p = SrtpProfile::aes_cm_128_hmac_sha1_80;
    const Bytes a1 = key_salt(p, 1), b1 = key_salt(p, 2), a2 = key_salt(p, 3), b2 = key_salt(p, 4);
    liprobe::test::LibsrtpSender alice1(p, a1), bob1(p, b1), alice2(p, a2), bob2(p, b2);
    sip(true, invite(1, "", sdes_sdp(kAliceIp, 40000, {crypto_line(1, p, a1)})), IriType::begin);
    sip(false, ok(1, "INVITE", sdes_sdp(kBobIp, 50000, {crypto_line(1, p, b1)})), IriType::cont);
    sip(true, ack(1), IriType::cont);
    uint16_t sa = 100, sb = 500;
    auto both = [&](liprobe::test::LibsrtpSender& a, liprobe::test::LibsrtpSender& b) {
        const Bytes pa = liprobe::test::make_rtp(sa++, 0, 0x11111111, 20, 0x01);
        send(a, false, kAliceIp, 40000, kBobIp, 50000, pa);
        want_.push_back(cc(kFrom, pa));
        const Bytes pb = liprobe::test::make_rtp(sb++, 0, 0x22222222, 20, 0x02);
        send(b, false, kBobIp, 50000, kAliceIp, 40000, pb);
        want_.push_back(cc(kTo, pb));
    };
    both(alice1, bob1);
    sip(true, invite(2, "t2", sdes_sdp(kAliceIp, 40000, {crypto_line(1, p, a2)})), IriType::cont);
    both(alice1, bob1);  // offer outstanding: both still on the old keys
    sip(false, ok(2, "INVITE", sdes_sdp(kBobIp, 50000, {crypto_line(1, p, b2)})), IriType::cont);
    sip(true, ack(2), IriType::cont);
    both(alice2, bob1);  // Bob's old key in flight: kept one round as previous
    both(alice2, bob2);
    bye(3);
    expect_records(sink_.out, want_);
    EXPECT_EQ(icpt_->counters().sdes_decrypted.get(), 8u);
    EXPECT_EQ(icpt_->counters().srtp_auth_failed.get(), 0u);
    EXPECT_EQ(icpt_->counters().sdes_lines_installed.get(), 4u);
}

struct BadLine {
    const char* name;
    std::string line;
    liprobe::sip::SdesError reason;
};

class SdesBadLine : public Sdes, public ::testing::WithParamInterface<BadLine> {};

// A refused line is counted by reason and once per dialog, and the call's media goes out as the
// packets were (encrypted CC, once the pending wait for a key ends), never a crash.
TEST_P(SdesBadLine, IsCountedAndTheMediaGoesOutEncrypted) {
    make(liprobe::media::DeliverMode::decrypted);
    const SrtpProfile p = SrtpProfile::aes_cm_128_hmac_sha1_80;
    const Bytes a = key_salt(p, 1);
    liprobe::test::LibsrtpSender alice(p, a);
    sip(true, invite(1, "", sdes_sdp(kAliceIp, 40000, {GetParam().line})), IriType::begin);
    sip(false, ok(1, "INVITE", sdes_sdp(kBobIp, 50000, {})), IriType::cont);
    sip(true, ack(1), IriType::cont);
    const auto f =
        send(alice, false, kAliceIp, 40000, kBobIp, 50000, liprobe::test::make_rtp(1, 0, 9, 20, 3));
    icpt_->tick(t_ + 5'000'000, 1);  // past the pending wait: out as it came
    want_.push_back(cc_ip(kFrom, f));
    bye(2);
    expect_records(sink_.out, want_);
    EXPECT_EQ(refused(GetParam().reason), 1u);
    EXPECT_EQ(icpt_->counters().sdes_dialogs_refused.get(), 1u);
    EXPECT_EQ(icpt_->counters().sdes_lines_installed.get(), 0u);
    EXPECT_EQ(icpt_->counters().pending_expired.get(), 1u);
    // Reported per dialog: one note naming the dialog by its CIN, the tag and the reason.
    liprobe::media::DialogNote notes[4];
    ASSERT_EQ(icpt_->take_notes(notes, 4), 1u);
    EXPECT_EQ(notes[0].cin, 7u);
    EXPECT_EQ(notes[0].tag, 1u);
    EXPECT_EQ(notes[0].reason, GetParam().reason);
    EXPECT_EQ(icpt_->take_notes(notes, 4), 0u);
}

const Bytes kGoodKey = key_salt(SrtpProfile::aes_cm_128_hmac_sha1_80, 1);
INSTANTIATE_TEST_SUITE_P(
    Rfc4568, SdesBadLine,
    ::testing::Values(
        BadLine{"bad_base64",
                "1 AES_CM_128_HMAC_SHA1_80 inline:@@@@not*base64@@@@@@@@@@@@@@@@@@@@@@@@@@@",
                liprobe::sip::SdesError::bad_base64},
        BadLine{"wrong_key_length", "1 AES_CM_128_HMAC_SHA1_80 inline:" + base64(Bytes(20, 7)),
                liprobe::sip::SdesError::wrong_key_length},
        BadLine{"unknown_suite", "1 F8_128_HMAC_SHA1_80 inline:" + base64(kGoodKey),
                liprobe::sip::SdesError::unknown_suite},
        BadLine{"lifetime_2_to_the_0",
                "1 AES_CM_128_HMAC_SHA1_80 inline:" + base64(kGoodKey) + "|2^0",
                liprobe::sip::SdesError::bad_lifetime},
        BadLine{"unencrypted_srtp",
                "1 AES_CM_128_HMAC_SHA1_80 inline:" + base64(kGoodKey) + " UNENCRYPTED_SRTP",
                liprobe::sip::SdesError::unsupported_session_parameter}),
    [](const auto& info) { return std::string(info.param.name); });

// Bob's answer line is refused, in his 183 and again in his 200: counted and noted once. Which
// offered tag he chose is unknown, so Alice's offered keys all stay candidates and her media is
// still decrypted; Bob's goes out as it came.
TEST_F(Sdes, RefusedAnswerIsCountedOnceAndTheOfferStillKeysTheOfferer) {
    make(liprobe::media::DeliverMode::decrypted);
    const SrtpProfile p = SrtpProfile::aes_cm_128_hmac_sha1_80;
    const Bytes a1 = key_salt(p, 1), a2 = key_salt(p, 2);
    liprobe::test::LibsrtpSender alice(p, a2);
    sip(true,
        invite(1, "", sdes_sdp(kAliceIp, 40000, {crypto_line(1, p, a1), crypto_line(2, p, a2)})),
        IriType::begin);
    const std::string bad = "2 AES_CM_128_HMAC_SHA1_80 inline:" + base64(Bytes(29, 1));
    sip(false,
        sip_msg("SIP/2.0 183 Session Progress", kAlice, "t1", kBob, "t2", 1, "INVITE", "i1",
                sdes_sdp(kBobIp, 50000, {bad})),
        IriType::cont);
    sip(false, ok(1, "INVITE", sdes_sdp(kBobIp, 50000, {bad})), IriType::cont);
    sip(true, ack(1), IriType::cont);
    const Bytes pa = liprobe::test::make_rtp(10, 0, 0x11111111, 20, 0x01);
    send(alice, false, kAliceIp, 40000, kBobIp, 50000, pa);
    want_.push_back(cc(kFrom, pa));
    bye(2);
    expect_records(sink_.out, want_);
    EXPECT_EQ(refused(liprobe::sip::SdesError::wrong_key_length), 1u);
    EXPECT_EQ(icpt_->counters().sdes_dialogs_refused.get(), 1u);
    EXPECT_EQ(icpt_->counters().sdes_decrypted.get(), 1u);
    liprobe::media::DialogNote notes[4];
    EXPECT_EQ(icpt_->take_notes(notes, 4), 1u);
}

// Two warrants on one SDES call: Alice's (sdes on) gets the RTP decrypted, Bob's (sdes = false)
// gets every packet as it was.
TEST_F(Sdes, WarrantWithSdesOffGetsThePacketsAsTheyWere) {
    make_with(liprobe::media::DeliverMode::decrypted,
              {{"LIID-A", {kAlice}, {"a"}}, {"LIID-B", {kBob}, {"b"}}});
    policy_.routes[1].sdes = false;
    const SrtpProfile p = SrtpProfile::aes_cm_128_hmac_sha1_32;
    const Bytes a = key_salt(p, 1), b = key_salt(p, 2);
    liprobe::test::LibsrtpSender alice(p, a), bob(p, b);
    sip(true, invite(1, "", sdes_sdp(kAliceIp, 40000, {crypto_line(1, p, a)})), IriType::begin);
    sip(false, ok(1, "INVITE", sdes_sdp(kBobIp, 50000, {crypto_line(1, p, b)})), IriType::cont);
    const Bytes pa = liprobe::test::make_rtp(10, 0, 0x11111111, 20, 0x01);
    const auto fa = send(alice, false, kAliceIp, 40000, kBobIp, 50000, pa);
    const Bytes pb = liprobe::test::make_rtp(20, 0, 0x22222222, 20, 0x02);
    const auto fb = send(bob, false, kBobIp, 50000, kAliceIp, 40000, pb);
    std::vector<Captured> for_a, for_b;
    for (const auto& r : sink_.out)
        if (r.rec.kind != RecordKind::iri_sip) (r.rec.warrant == 0 ? for_a : for_b).push_back(r);
    ASSERT_EQ(for_a.size(), 2u);
    ASSERT_EQ(for_b.size(), 2u);
    EXPECT_EQ(for_a[0].rec.kind, RecordKind::cc_rtp);
    EXPECT_EQ(for_a[0].bytes, pa);
    EXPECT_EQ(for_a[1].bytes, pb);
    EXPECT_EQ(for_b[0].rec.kind, RecordKind::cc_ip);
    EXPECT_EQ(for_b[0].bytes, ip_of(fa));
    EXPECT_EQ(for_b[1].rec.kind, RecordKind::cc_ip);
    EXPECT_EQ(for_b[1].bytes, ip_of(fb));
    EXPECT_EQ(icpt_->counters().sdes_decrypted.get(), 2u);
}

// No warrant wants SDES: no key is installed, the media goes through the MKI table as before.
TEST_F(Sdes, OffForEveryWarrantInstallsNothing) {
    make(liprobe::media::DeliverMode::decrypted);
    policy_.routes[0].sdes = false;
    const SrtpProfile p = SrtpProfile::aes_cm_128_hmac_sha1_80;
    const Bytes a = key_salt(p, 1);
    liprobe::test::LibsrtpSender alice(p, a);
    sip(true, invite(1, "", sdes_sdp(kAliceIp, 40000, {crypto_line(1, p, a)})), IriType::begin);
    const auto f =
        send(alice, false, kAliceIp, 40000, kBobIp, 50000, liprobe::test::make_rtp(1, 0, 9, 20, 3));
    EXPECT_EQ(icpt_->counters().sdes_lines_installed.get(), 0u);
    EXPECT_EQ(icpt_->counters().srtp_unknown_mki.get(), 1u);
    icpt_->tick(t_ + 5'000'000, 1);
    ASSERT_EQ(sink_.out.size(), 2u);
    EXPECT_EQ(sink_.out[1].rec.kind, RecordKind::cc_ip);
    EXPECT_EQ(sink_.out[1].bytes, ip_of(f));
}

}  // namespace
