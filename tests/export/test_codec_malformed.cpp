// Malformed input never crashes the decoders or the framing (run under ASan/UBSan in CI):
// every truncation, every single-bit flip, and a deterministic pseudo-random corpus.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "codec_test_util.hpp"
#include "liprobe/export/decode.hpp"
#include "liprobe/export/encoder.hpp"

namespace liprobe::exporter {
namespace {

std::vector<std::vector<uint8_t>> samples(Format f) {
    ProbeIdentity probe;
    probe.operator_id = "OP1";
    probe.network_element_id = "NE1";
    probe.country_code = "NZ";
    auto enc = PduEncoder::create(f, probe);
    WarrantInfo w;
    w.liid = "LIID1";
    w.matched_target = "tel:+6421000000";
    std::vector<std::vector<uint8_t>> out;
    auto add = [&](RecordKind k, std::vector<uint8_t> data, bool v6) {
        test::OwnedRecord r(k, std::move(data));
        r.rec.cin = 77;
        r.rec.time_us = 1700000000123456;
        if (v6) {
            test::set_v6(r.rec.src, 1, 5060);
            test::set_v6(r.rec.dst, 2, 5060);
        } else {
            test::set_v4(r.rec.src, 10, 0, 0, 1, 5060);
            test::set_v4(r.rec.dst, 10, 0, 0, 2, 5060);
        }
        std::vector<uint8_t> pdu(r.rec.len + enc->max_overhead());
        pdu.resize(enc->encode(r.rec, w, 12345, pdu.data(), pdu.size()));
        out.push_back(pdu);
    };
    add(RecordKind::cc_rtp, test::rtp_packet(3, 40), false);
    add(RecordKind::cc_ip, std::vector<uint8_t>(60, 0x45), false);
    add(RecordKind::iri_sip, test::sip_message("INVITE sip:x@y SIP/2.0", 20), false);
    add(RecordKind::iri_sip, test::sip_message("BYE sip:x@y SIP/2.0"), true);
    std::vector<uint8_t> ka(256);
    ka.resize(enc->encode_keepalive(9, 1700000000000000, ka.data(), ka.size()));
    out.push_back(ka);
    return out;
}

// Runs everything that parses input; must never crash or read out of bounds.
void exercise(Format f, const std::vector<uint8_t>& buf, size_t& ok, size_t& bad) {
    const uint8_t* p = buf.empty() ? nullptr : buf.data();
    DecodedPdu d;
    std::string err;
    if (decode_pdu(f, p, buf.size(), d, err)) {
        ++ok;
    } else {
        EXPECT_FALSE(err.empty());
        ++bad;
    }
    const long fl = frame_length(f, p, buf.size());
    EXPECT_LE(fl, static_cast<long>(buf.size()));
    (void)is_keepalive(f, p, buf.size());
    (void)is_keepalive_response(f, p, buf.size());
    auto enc = PduEncoder::create(f, ProbeIdentity{"O", "N", "XX"});
    std::vector<uint8_t> out(512);
    (void)enc->encode_keepalive_response(p, buf.size(), out.data(), out.size());
}

class Malformed : public ::testing::TestWithParam<Format> {};

TEST_P(Malformed, EveryTruncationIsRejectedCleanly) {
    const Format f = GetParam();
    for (const auto& pdu : samples(f)) {
        size_t ok = 0, bad = 0;
        for (size_t n = 0; n < pdu.size(); ++n) {
            // Copy so ASan sees the exact end of the buffer.
            exercise(f, std::vector<uint8_t>(pdu.begin(), pdu.begin() + n), ok, bad);
        }
        EXPECT_EQ(ok, 0u) << "a truncated PDU decoded";
        EXPECT_EQ(bad, pdu.size());
        exercise(f, pdu, ok, bad);
        EXPECT_EQ(ok, 1u);
    }
}

TEST_P(Malformed, EveryBitFlipIsHandled) {
    const Format f = GetParam();
    size_t ok = 0, bad = 0;
    for (const auto& pdu : samples(f)) {
        for (size_t bit = 0; bit < pdu.size() * 8; ++bit) {
            std::vector<uint8_t> m = pdu;
            m[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
            exercise(f, m, ok, bad);
        }
    }
    // Flips in lengths and tags must be caught; flips in payload bytes still decode.
    EXPECT_GT(ok, 0u);
    EXPECT_GT(bad, 0u);
}

TEST_P(Malformed, RandomCorruptionAndGarbage) {
    const Format f = GetParam();
    std::mt19937 rng(12345);
    size_t ok = 0, bad = 0;
    for (const auto& pdu : samples(f)) {
        for (int i = 0; i < 2000; ++i) {
            std::vector<uint8_t> m = pdu;
            const int edits = 1 + static_cast<int>(rng() % 4);
            for (int e = 0; e < edits; ++e) m[rng() % m.size()] = static_cast<uint8_t>(rng());
            if (rng() % 3 == 0) m.resize(rng() % (m.size() + 1));
            exercise(f, m, ok, bad);
        }
    }
    for (int i = 0; i < 2000; ++i) {
        std::vector<uint8_t> g(rng() % 200);
        for (auto& b : g) b = static_cast<uint8_t>(rng());
        if (!g.empty() && f == Format::etsi102232) g[0] = 0x30;
        exercise(f, g, ok, bad);
    }
    EXPECT_GT(bad, 0u);
}

TEST(MalformedBer, DeepNestingAndHugeLengthsAreBounded) {
    // 5000 nested constructed elements with matching lengths would recurse; ours does not.
    std::vector<uint8_t> deep;
    for (int i = 0; i < 5000; ++i) {
        deep.insert(deep.begin(), {0xa2, 0x00});
    }
    size_t ok = 0, bad = 0;
    exercise(Format::etsi102232, deep, ok, bad);
    const std::vector<uint8_t> lie = {0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x00};
    exercise(Format::etsi102232, lie, ok, bad);
    const std::vector<uint8_t> hightag = {0x30, 0x06, 0xbf, 0x81, 0x81, 0x81, 0x81, 0x01};
    exercise(Format::etsi102232, hightag, ok, bad);
    EXPECT_EQ(ok, 0u);
}

INSTANTIATE_TEST_SUITE_P(Formats, Malformed, ::testing::Values(Format::etsi102232, Format::x3),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace liprobe::exporter
