// Encoders and decoders of the delivery formats: published/synthetic vectors, round trips, a
// hand-written BER walker independent of the product decoder, long-form lengths, framing,
// keep-alives, the header cache, and "no heap allocation per PDU".
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "codec_test_util.hpp"
#include "liprobe/export/decode.hpp"
#include "liprobe/export/encoder.hpp"
#include "liprobe/export/etsi102232.hpp"
#include "liprobe/export/x3.hpp"

// Counts global allocations so a test can prove encode() never allocates. GCC flags the
// malloc/free pairing inside replacement operators; it is the intended implementation.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::atomic<long> g_allocations{0};
void* operator new(size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, size_t) noexcept {
    std::free(p);
}

namespace liprobe::exporter {
namespace {

using test::from_hex;
using test::OwnedRecord;
using test::to_hex;

ProbeIdentity nz_probe() {
    ProbeIdentity p;
    p.operator_id = "OP1";
    p.network_element_id = "NE1";
    p.country_code = "NZ";
    return p;
}

WarrantInfo warrant(const std::string& liid, const std::string& target = "") {
    WarrantInfo w;
    w.liid = liid;
    for (int i = 0; i < 16; ++i) w.xid[i] = static_cast<uint8_t>(i);
    w.matched_target = target;
    return w;
}

constexpr int64_t kTime = 1700000000LL * 1000000 + 123456;  // 6553f100 s, 01e240 us

bool walk(const uint8_t* p, size_t len, const std::string& path, std::vector<std::string>& out,
          std::vector<size_t>& lengths);

// refs/specs.md 8.3, synthetic BER example: IPMMCC CC PDU, LIID1, CIN 1, OP1/NE1, NZ, seq 0.
const char* kRefs83CcPdu =
    "3069a13c80070400020205011181054c4949443182024e5aa313a00a80034f503181034e453181010182024e5a"
    "840100a70b80046553f100810301e240880101a229a1273025800100a220ac1e80040505060281108060123400"
    "000a0b1122334401020304820102840100";
// refs/specs.md 8.3: keep-alive with the same header.
const char* kRefs83KeepAlive =
    "3044a13c80070400020205011181054c4949443182024e5aa313a00a80034f503181034e453181010182024e5a"
    "840100a70b80046553f100810301e240880101a204a2028300";

std::vector<uint8_t> encode(PduEncoder& enc, const Record& r, const WarrantInfo& w, uint32_t seq) {
    std::vector<uint8_t> out(r.len + enc.max_overhead());
    const size_t n = enc.encode(r, w, seq, out.data(), out.size());
    out.resize(n);
    return out;
}

DecodedPdu decode(Format f, const std::vector<uint8_t>& pdu) {
    DecodedPdu d;
    std::string err;
    EXPECT_TRUE(decode_pdu(f, pdu.data(), pdu.size(), d, err)) << err;
    return d;
}

TEST(Etsi102232, ReproducesRefs83CcPdu) {
    auto enc = PduEncoder::create(Format::etsi102232, nz_probe());
    ASSERT_TRUE(enc);
    OwnedRecord r(RecordKind::cc_rtp, from_hex("8060123400000a0b1122334401020304"));
    r.rec.direction = Direction::from_target;
    r.rec.cin = 1;
    r.rec.time_us = kTime;
    const auto pdu = encode(*enc, r.rec, warrant("LIID1"), 0);
    EXPECT_EQ(to_hex(pdu), kRefs83CcPdu);
    EXPECT_EQ(frame_length(Format::etsi102232, pdu.data(), pdu.size()), 0x6b);
    // The second PDU of the same (warrant, CIN) comes from the cache and is identical.
    const auto again = encode(*enc, r.rec, warrant("LIID1"), 0);
    EXPECT_EQ(to_hex(again), kRefs83CcPdu);
    auto* etsi = static_cast<etsi::Etsi102232Encoder*>(enc.get());
    EXPECT_EQ(etsi->cache_misses(), 1u);
    EXPECT_EQ(etsi->cache_hits(), 1u);
}

TEST(Etsi102232, ReproducesRefs83KeepAliveAndAnswersIt) {
    etsi::Etsi102232Encoder enc(nz_probe());
    uint8_t buf[256];
    const size_t n = enc.encode_keepalive_for("LIID1", 1, 0, kTime, buf, sizeof buf);
    ASSERT_EQ(to_hex(buf, n), kRefs83KeepAlive);
    EXPECT_TRUE(is_keepalive(Format::etsi102232, buf, n));
    EXPECT_FALSE(is_keepalive_response(Format::etsi102232, buf, n));

    uint8_t resp[256];
    const size_t rn = enc.encode_keepalive_response(buf, n, resp, sizeof resp);
    // Same PSHeader; keep-aliveResponse [4] NULL instead of keep-alive [3] NULL.
    std::string expected = kRefs83KeepAlive;
    expected.replace(expected.size() - 4, 4, "8400");
    EXPECT_EQ(to_hex(resp, rn), expected);
    EXPECT_TRUE(is_keepalive_response(Format::etsi102232, resp, rn));
    EXPECT_FALSE(is_keepalive(Format::etsi102232, resp, rn));
    const auto d = decode(Format::etsi102232, std::vector<uint8_t>(resp, resp + rn));
    EXPECT_EQ(d.kind, PduKind::keepalive_response);
    EXPECT_EQ(d.liid, "LIID1");

    // The warrant-less keep-alive of the interface.
    const size_t kn = enc.encode_keepalive(77, kTime, buf, sizeof buf);
    const auto k = decode(Format::etsi102232, std::vector<uint8_t>(buf, buf + kn));
    EXPECT_EQ(k.kind, PduKind::keepalive);
    EXPECT_EQ(k.liid, etsi::kKeepaliveLiid);
    EXPECT_EQ(k.sequence, 77u);
    EXPECT_EQ(k.time_us(), kTime);
    // Too small an output buffer: 0, nothing written past cap.
    EXPECT_EQ(enc.encode_keepalive(77, kTime, buf, kn - 1), 0u);
    EXPECT_EQ(enc.encode_keepalive_response(buf, 3, resp, sizeof resp), 0u);
}

// HI1-Operation liDeactivated for LIID1 with the refs 8.3 identity, CIN 0, seq 0, kTime
// (2023-11-14 22:13:20 UTC), assembled by hand from TS 102 232-1 Payload, TS 101 671
// HI1NotificationOperations and HI2Operations (what OpenLI's hi1notification.c emits):
//   30 6e                       PS-PDU
//     a1 3c ...                 PSHeader as refs 8.3, communicationIdentityNumber 0 (81 01 00)
//     a2 2e                     payload
//       a3 2c                   hI1-Operation [3]
//         a2 2a                 liDeactivated [2] Notification
//           80 07 04 00 02 02 00 01 06   domainID hi1OperationId version6
//           81 05 "LIID1"               lawfulInterceptionIdentifier
//           a2 07 a1 05 80 03 "OP1"     communicationIdentifier {network-Identifier {op}}
//           a3 0f 81 0d "231114221320Z" timeStamp utcTime
const char* kLiDeactivatedPdu =
    "306ea13c80070400020205011181054c4949443182024e5aa313a00a80034f503181034e453181010082024e5a"
    "840100a70b80046553f100810301e240880101"
    "a22ea32ca22a80070400020200010681054c49494431a207a10580034f5031a30f810d"
    "3233313131343232313332305a";

OwnedRecord li_deactivated_record() {
    OwnedRecord r(RecordKind::hi1_li_deactivated, {});
    r.rec.cin = 0;
    r.rec.time_us = kTime;
    return r;
}

TEST(Etsi102232, LiDeactivatedNotificationExactBytes) {
    auto enc = PduEncoder::create(Format::etsi102232, nz_probe());
    const OwnedRecord r = li_deactivated_record();
    const auto pdu = encode(*enc, r.rec, warrant("LIID1"), 0);
    ASSERT_EQ(to_hex(pdu), kLiDeactivatedPdu);
    EXPECT_EQ(frame_length(Format::etsi102232, pdu.data(), pdu.size()), 0x70);
    EXPECT_FALSE(is_keepalive(Format::etsi102232, pdu.data(), pdu.size()));
    EXPECT_FALSE(is_keepalive_response(Format::etsi102232, pdu.data(), pdu.size()));
    EXPECT_EQ(seq_stream_of(r.rec), SeqStream::hi1);

    const DecodedPdu d = decode(Format::etsi102232, pdu);
    EXPECT_EQ(d.kind, PduKind::li_deactivated);
    EXPECT_STREQ(pdu_kind_name(d.kind), "li_deactivated");
    EXPECT_EQ(d.liid, "LIID1");
    EXPECT_EQ(d.hi1_liid, "LIID1");
    EXPECT_EQ(d.hi1_operator_id, "OP1");
    EXPECT_EQ(d.hi1_time, "231114221320Z");
    EXPECT_EQ(to_hex(d.hi1_domain_id), "04000202000106");
    EXPECT_TRUE(d.has_cin);
    EXPECT_EQ(d.cin, 0u);
    EXPECT_EQ(d.sequence, 0u);
    EXPECT_EQ(d.time_us(), kTime);

    // The independent walker agrees on the tree.
    std::vector<std::string> tags;
    std::vector<size_t> lens;
    ASSERT_TRUE(walk(pdu.data(), pdu.size(), "", tags, lens));
    const std::vector<std::string> payload(tags.begin() + 16, tags.end());
    const std::string n = "30/a2/a3/a2";
    const std::vector<std::string> expected = {
        "30/a2",      "30/a2/a3",      n,         n + "/80",   n + "/81", n + "/a2",
        n + "/a2/a1", n + "/a2/a1/80", n + "/a3", n + "/a3/81"};
    EXPECT_EQ(payload, expected);
}

TEST(Etsi102232, LiDeactivatedCutsTheOperatorIdToFiveOctetsAndNeedsRoom) {
    ProbeIdentity p = nz_probe();
    p.operator_id = "OPERATOR-16-OCTS";
    auto enc = PduEncoder::create(Format::etsi102232, p);
    const OwnedRecord r = li_deactivated_record();
    const auto pdu = encode(*enc, r.rec, warrant("LIID-9"), 7);
    const DecodedPdu d = decode(Format::etsi102232, pdu);
    EXPECT_EQ(d.kind, PduKind::li_deactivated);
    EXPECT_EQ(d.operator_id, "OPERATOR-16-OCTS");  // the PSHeader keeps all of it
    EXPECT_EQ(d.hi1_operator_id, "OPERA");         // HI2 operator-Identifier SIZE (1..5)
    EXPECT_EQ(d.hi1_liid, "LIID-9");
    EXPECT_EQ(d.sequence, 7u);
    // One octet short of the PDU: nothing.
    std::vector<uint8_t> out(pdu.size() - 1);
    EXPECT_EQ(enc->encode(r.rec, warrant("LIID-9"), 7, out.data(), out.size()), 0u);
}

TEST(X3, HasNoLiDeactivatedPdu) {
    // TS 103 221-2 has no HI1 notification: the record is refused, never sent as X3 RTP.
    auto enc = PduEncoder::create(Format::x3, ProbeIdentity{});
    const OwnedRecord r = li_deactivated_record();
    std::vector<uint8_t> out(4096);
    EXPECT_EQ(enc->encode(r.rec, warrant("LIID1"), 0, out.data(), out.size()), 0u);
}

TEST(Etsi102232, InvalidIdentityGivesNoEncoder) {
    ProbeIdentity p = nz_probe();
    p.operator_id = "";
    EXPECT_EQ(PduEncoder::create(Format::etsi102232, p), nullptr);
    p = nz_probe();
    p.country_code = "NZL";
    const char* why = nullptr;
    EXPECT_FALSE(etsi::Etsi102232Encoder::valid_identity(p, &why));
    EXPECT_STREQ(why, "country_code must be 2 characters");
    p = nz_probe();
    p.network_element_id = std::string(17, 'n');
    EXPECT_EQ(PduEncoder::create(Format::etsi102232, p), nullptr);
}

TEST(Format, NamesAndParsing) {
    Format f;
    EXPECT_TRUE(parse_format("x3", f));
    EXPECT_EQ(f, Format::x3);
    EXPECT_TRUE(parse_format("etsi102232", f));
    EXPECT_EQ(f, Format::etsi102232);
    EXPECT_FALSE(parse_format("X3", f));
    EXPECT_FALSE(parse_format("", f));
    EXPECT_STREQ(format_name(Format::x3), "x3");
    EXPECT_STREQ(format_name(Format::etsi102232), "etsi102232");
}

// ---------------------------------------------------------------- round trips -------------

struct Case {
    std::string name;
    RecordKind kind;
    bool v6;
    Direction dir;
    IriType iri;
    std::vector<uint8_t> data;
    uint32_t seq;
    uint32_t cin;
};

std::vector<Case> cases() {
    std::vector<Case> c;
    auto ip4 = test::rtp_packet(1, 20);
    ip4.insert(ip4.begin(), {0x45, 0, 0,   48, 0,   0, 0,    0,    64,   17,   0, 0,  192, 0,
                             2,    1, 198, 51, 100, 2, 0x1f, 0x40, 0x23, 0x28, 0, 28, 0,   0});
    std::vector<uint8_t> ip6(48, 0);
    ip6[0] = 0x60;
    c.push_back({"rtp_v4_from", RecordKind::cc_rtp, false, Direction::from_target, IriType::cont,
                 test::rtp_packet(7, 160), 0, 1});
    c.push_back({"rtp_v6_to", RecordKind::cc_rtp, true, Direction::to_target, IriType::cont,
                 test::rtp_packet(8, 1200), 0xffffffffu, 0x80000000u});
    c.push_back({"rtp_empty_indet",
                 RecordKind::cc_rtp,
                 false,
                 Direction::indeterminate,
                 IriType::cont,
                 {},
                 127,
                 128});
    c.push_back(
        {"ip_v4", RecordKind::cc_ip, false, Direction::to_target, IriType::cont, ip4, 128, 255});
    c.push_back({"ip_v6", RecordKind::cc_ip, true, Direction::from_target, IriType::cont, ip6,
                 65535, 65536});
    c.push_back({"sip_begin_v4", RecordKind::iri_sip, false, Direction::from_target, IriType::begin,
                 test::sip_message("INVITE sip:bob@example.org SIP/2.0", 300), 0, 3});
    c.push_back({"sip_cont_v6", RecordKind::iri_sip, true, Direction::to_target, IriType::cont,
                 test::sip_message("SIP/2.0 200 OK"), 1, 3});
    c.push_back({"sip_end_v4", RecordKind::iri_sip, false, Direction::from_target, IriType::end,
                 test::sip_message("BYE sip:bob@example.org SIP/2.0"), 2, 3});
    c.push_back({"sip_report_v4", RecordKind::iri_sip, false, Direction::indeterminate,
                 IriType::report, test::sip_message("MESSAGE sip:bob@example.org SIP/2.0"), 9, 4});
    c.push_back({"sip_max", RecordKind::iri_sip, false, Direction::from_target, IriType::cont,
                 std::vector<uint8_t>(kMaxRecordBytes, 'S'), 10, 4});
    return c;
}

OwnedRecord make(const Case& c) {
    OwnedRecord r(c.kind, c.data);
    r.rec.direction = c.dir;
    r.rec.iri_type = c.iri;
    r.rec.cin = c.cin;
    r.rec.warrant = 3;
    r.rec.time_us = kTime + c.seq;
    r.rec.ip_protocol = c.kind == RecordKind::iri_sip && c.v6 ? 6 : 17;
    if (c.v6) {
        test::set_v6(r.rec.src, 1, 5060);
        test::set_v6(r.rec.dst, 2, 5062);
    } else {
        test::set_v4(r.rec.src, 192, 0, 2, 1, 8000);
        test::set_v4(r.rec.dst, 198, 51, 100, 2, 9000);
    }
    return r;
}

PduKind kind_of(RecordKind k) {
    return k == RecordKind::cc_rtp  ? PduKind::cc_rtp
           : k == RecordKind::cc_ip ? PduKind::cc_ip
                                    : PduKind::iri_sip;
}

TEST(RoundTrip, Etsi102232EveryKind) {
    auto enc = PduEncoder::create(Format::etsi102232, nz_probe());
    const WarrantInfo w = warrant("LI-0042");
    for (const Case& c : cases()) {
        SCOPED_TRACE(c.name);
        OwnedRecord r = make(c);
        const auto pdu = encode(*enc, r.rec, w, c.seq);
        ASSERT_FALSE(pdu.empty());
        ASSERT_EQ(frame_length(Format::etsi102232, pdu.data(), pdu.size()),
                  static_cast<long>(pdu.size()));
        const DecodedPdu d = decode(Format::etsi102232, pdu);
        EXPECT_EQ(d.kind, kind_of(c.kind));
        EXPECT_EQ(d.liid, "LI-0042");
        EXPECT_EQ(d.operator_id, "OP1");
        EXPECT_EQ(d.network_element_id, "NE1");
        EXPECT_EQ(d.authorization_country, "NZ");
        EXPECT_EQ(d.delivery_country, "NZ");
        EXPECT_EQ(to_hex(d.ps_domain_id), "04000202050111");
        EXPECT_TRUE(d.has_cin);
        EXPECT_EQ(d.cin, c.cin);
        EXPECT_EQ(d.sequence, c.seq);
        EXPECT_TRUE(d.has_time);
        EXPECT_EQ(d.time_us(), kTime + c.seq);
        EXPECT_EQ(d.timestamp_qualifier, 1u);
        EXPECT_EQ(d.payload, c.data);
        if (c.kind == RecordKind::iri_sip) {
            EXPECT_TRUE(d.has_iri_type);
            EXPECT_EQ(d.iri_type, c.iri);
            ASSERT_TRUE(d.has_addresses);
            EXPECT_EQ(d.src.family, c.v6 ? 6 : 4);
            EXPECT_EQ(0, std::memcmp(d.src.addr, r.rec.src.addr, 16));
            EXPECT_EQ(0, std::memcmp(d.dst.addr, r.rec.dst.addr, 16));
        } else {
            EXPECT_TRUE(d.has_direction);
            EXPECT_EQ(d.direction, c.dir);
            EXPECT_EQ(d.frame_type, c.kind == RecordKind::cc_rtp ? 2u : 0u);
            EXPECT_EQ(d.mmcc_protocol, c.kind == RecordKind::cc_rtp ? 0 : -1);
            EXPECT_FALSE(d.has_addresses);  // 102 232-5 CC carries no addresses
        }
    }
}

TEST(RoundTrip, X3EveryKind) {
    auto enc = PduEncoder::create(Format::x3, ProbeIdentity{});
    ASSERT_TRUE(enc);
    const WarrantInfo w = warrant("LI-0042", "sip:alice@example.org");
    for (const Case& c : cases()) {
        SCOPED_TRACE(c.name);
        OwnedRecord r = make(c);
        const auto pdu = encode(*enc, r.rec, w, c.seq);
        ASSERT_FALSE(pdu.empty());
        ASSERT_EQ(frame_length(Format::x3, pdu.data(), pdu.size()), static_cast<long>(pdu.size()));
        const DecodedPdu d = decode(Format::x3, pdu);
        EXPECT_EQ(d.kind, kind_of(c.kind));
        EXPECT_EQ(d.x_version, x3::kVersion);
        EXPECT_EQ(d.x_pdu_type, c.kind == RecordKind::iri_sip ? 1 : 2);
        const uint16_t pf = c.kind == RecordKind::iri_sip  ? 9
                            : c.kind == RecordKind::cc_rtp ? 8
                            : c.v6                         ? 6
                                                           : 5;
        EXPECT_EQ(d.x_payload_format, pf);
        EXPECT_EQ(0, std::memcmp(d.xid, w.xid, 16));
        EXPECT_EQ(d.cin, c.cin);
        EXPECT_EQ(d.sequence, c.seq);
        EXPECT_EQ(d.time_us(), kTime + c.seq);
        EXPECT_EQ(d.time_nsec % 1000, 0u);
        EXPECT_EQ(d.direction, c.dir);
        EXPECT_EQ(d.x_payload_direction, c.dir == Direction::to_target     ? 2
                                         : c.dir == Direction::from_target ? 3
                                                                           : 1);
        ASSERT_TRUE(d.has_addresses);
        EXPECT_EQ(d.src.family, c.v6 ? 6 : 4);
        EXPECT_EQ(d.dst.family, c.v6 ? 6 : 4);
        EXPECT_EQ(0, std::memcmp(d.src.addr, r.rec.src.addr, 16));
        EXPECT_EQ(0, std::memcmp(d.dst.addr, r.rec.dst.addr, 16));
        ASSERT_TRUE(d.has_ports);
        EXPECT_EQ(d.src.port, r.rec.src.port);
        EXPECT_EQ(d.dst.port, r.rec.dst.port);
        EXPECT_EQ(d.ip_protocol, r.rec.ip_protocol);
        EXPECT_EQ(d.matched_target, "sip:alice@example.org");
        EXPECT_EQ(d.payload, c.data);
    }
}

// Exact X3 bytes written out by hand from TS 103 221-2 (refs/specs.md 9.1).
TEST(X3, ExactBytes) {
    x3::X3Encoder enc;
    OwnedRecord r(RecordKind::cc_rtp, test::rtp_packet(0x1234, 4));
    r.rec.direction = Direction::to_target;
    r.rec.cin = 7;
    r.rec.time_us = kTime;
    test::set_v4(r.rec.src, 192, 0, 2, 1, 8000);
    test::set_v4(r.rec.dst, 198, 51, 100, 2, 9000);
    const auto pdu = encode(enc, r.rec, warrant("L", "alice"), 42);
    const std::string expected =
        "0005"
        "0002"
        "00000066"
        "00000010"
        "0008"
        "0002"                              // ver type hl pl pf pd
        "000102030405060708090a0b0c0d0e0f"  // XID
        "0000000000000007"                  // correlation ID = CIN
        "00080004"
        "0000002a"  // sequence number 42
        "00090008"
        "6553f100"
        "075bca00"  // 1700000000 s, 123456000 ns
        "000a0004"
        "c0000201"
        "000b0004"
        "c6336402"  // 192.0.2.1 -> 198.51.100.2
        "000e0002"
        "1f40"
        "000f0002"
        "2328"  // ports 8000 -> 9000
        "00100001"
        "11"  // UDP
        "00110005"
        "616c696365"  // matched target "alice"
        "80601234"
        "00000a0b"
        "11223344"
        "01080f16";  // RTP
    EXPECT_EQ(to_hex(pdu), expected);
    // cap one short: refused.
    uint8_t small[101 + 16];
    EXPECT_EQ(enc.encode(r.rec, warrant("L", "alice"), 42, small, sizeof small), 0u);
}

TEST(X3, KeepaliveAndAck) {
    x3::X3Encoder enc;
    uint8_t ka[64], ack[64];
    const size_t n = enc.encode_keepalive(0x01020304, kTime, ka, sizeof ka);
    EXPECT_EQ(to_hex(ka, n),
              "0005000300000030000000000000000000000000000000000000000000000000000000000000000000"
              "08000401020304");
    EXPECT_TRUE(is_keepalive(Format::x3, ka, n));
    EXPECT_FALSE(is_keepalive_response(Format::x3, ka, n));
    const size_t an = enc.encode_keepalive_response(ka, n, ack, sizeof ack);
    EXPECT_EQ(to_hex(ack, an),
              "0005000400000030000000000000000000000000000000000000000000000000000000000000000000"
              "08000401020304");
    EXPECT_TRUE(is_keepalive_response(Format::x3, ack, an));
    const auto d = decode(Format::x3, std::vector<uint8_t>(ka, ka + n));
    EXPECT_EQ(d.kind, PduKind::keepalive);
    EXPECT_EQ(d.sequence, 0x01020304u);
    const auto a = decode(Format::x3, std::vector<uint8_t>(ack, ack + an));
    EXPECT_EQ(a.kind, PduKind::keepalive_response);
    EXPECT_EQ(a.sequence, 0x01020304u);
    // Not a keepalive: no answer.
    EXPECT_EQ(enc.encode_keepalive_response(ack, an, ka, sizeof ka), 0u);
}

// ---------------------------------------------------------------- BER walker --------------

// Independent of the product's ber::Reader: walks every TLV, checks that each constructed
// element's children exactly fill it, and lists "path:tag" for every element.
bool walk(const uint8_t* p, size_t len, const std::string& path, std::vector<std::string>& out,
          std::vector<size_t>& lengths) {
    size_t i = 0;
    while (i < len) {
        const uint8_t tag = p[i++];
        if ((tag & 0x1f) == 0x1f || i >= len) return false;
        size_t l = p[i++];
        if (l & 0x80) {
            const size_t n = l & 0x7f;
            if (n == 0 || n > 3 || i + n > len) return false;
            l = 0;
            for (size_t k = 0; k < n; ++k) l = l << 8 | p[i++];
            if (l < 0x80) return false;  // not minimal
        }
        if (i + l > len) return false;
        char t[4];
        std::snprintf(t, sizeof t, "%02x", tag);
        const std::string me = path.empty() ? t : path + "/" + t;
        out.push_back(me);
        lengths.push_back(l);
        if ((tag & 0x20) && !walk(p + i, l, me, out, lengths)) return false;
        i += l;
    }
    return i == len;
}

TEST(BerWalker, CcTreeWithLongFormLengths) {
    auto enc = PduEncoder::create(Format::etsi102232, nz_probe());
    OwnedRecord r(RecordKind::cc_rtp, test::rtp_packet(5, 1188));  // 1200-octet RTP
    r.rec.direction = Direction::to_target;
    r.rec.cin = 300;
    r.rec.time_us = kTime;
    const auto pdu = encode(*enc, r.rec, warrant("LIID1"), 1000);
    std::vector<std::string> tags;
    std::vector<size_t> lens;
    ASSERT_TRUE(walk(pdu.data(), pdu.size(), "", tags, lens));
    const std::vector<std::string> expected = {"30",
                                               "30/a1",
                                               "30/a1/80",
                                               "30/a1/81",
                                               "30/a1/82",
                                               "30/a1/a3",
                                               "30/a1/a3/a0",
                                               "30/a1/a3/a0/80",
                                               "30/a1/a3/a0/81",
                                               "30/a1/a3/81",
                                               "30/a1/a3/82",
                                               "30/a1/84",
                                               "30/a1/a7",
                                               "30/a1/a7/80",
                                               "30/a1/a7/81",
                                               "30/a1/88",
                                               "30/a2",
                                               "30/a2/a1",
                                               "30/a2/a1/30",
                                               "30/a2/a1/30/80",
                                               "30/a2/a1/30/a2",
                                               "30/a2/a1/30/a2/ac",
                                               "30/a2/a1/30/a2/ac/80",
                                               "30/a2/a1/30/a2/ac/81",
                                               "30/a2/a1/30/a2/ac/82",
                                               "30/a2/a1/30/a2/ac/84"};
    EXPECT_EQ(tags, expected);
    EXPECT_EQ(lens[23], 1200u);  // mMCCContents
    EXPECT_EQ(lens[9], 2u);      // CIN 300 = 01 2c
    EXPECT_EQ(lens[11], 2u);     // seq 1000 = 03 e8
    // mMCCContents length in long form: 81 82 04 b0.
    EXPECT_NE(to_hex(pdu).find("818204b08060"), std::string::npos);
    EXPECT_EQ(pdu[0], 0x30);
    EXPECT_EQ(pdu[1], 0x82);  // outer length in two octets
    EXPECT_EQ(static_cast<size_t>(pdu[2] << 8 | pdu[3]) + 4, pdu.size());
}

TEST(BerWalker, IriTree) {
    auto enc = PduEncoder::create(Format::etsi102232, nz_probe());
    OwnedRecord r(RecordKind::iri_sip, test::sip_message("INVITE sip:b@x SIP/2.0"));
    r.rec.iri_type = IriType::begin;
    test::set_v4(r.rec.src, 10, 1, 1, 1, 5060);
    test::set_v6(r.rec.dst, 9, 5060);
    const auto pdu = encode(*enc, r.rec, warrant("LIID1"), 0);
    std::vector<std::string> tags;
    std::vector<size_t> lens;
    ASSERT_TRUE(walk(pdu.data(), pdu.size(), "", tags, lens));
    std::vector<std::string> tail(tags.begin() + 16, tags.end());
    const std::string s = "30/a2/a0/30/a2/ab/a1/a1";
    const std::vector<std::string> expected = {"30/a2",
                                               "30/a2/a0",
                                               "30/a2/a0/30",
                                               "30/a2/a0/30/80",
                                               "30/a2/a0/30/a2",
                                               "30/a2/a0/30/a2/ab",
                                               "30/a2/a0/30/a2/ab/80",
                                               "30/a2/a0/30/a2/ab/a1",
                                               s,
                                               s + "/a0",
                                               s + "/a0/81",
                                               s + "/a0/a2",
                                               s + "/a0/a2/81",
                                               s + "/a0/83",
                                               s + "/a1",
                                               s + "/a1/81",
                                               s + "/a1/a2",
                                               s + "/a1/a2/81",
                                               s + "/a1/83",
                                               s + "/82"};
    EXPECT_EQ(tail, expected);
    EXPECT_EQ(lens[16 + 12], 4u);   // source iPBinaryAddress: IPv4
    EXPECT_EQ(lens[16 + 17], 16u);  // destination iPBinaryAddress: IPv6
    // iPMMIRIObjId 05 05 06 01; iRIType iRI-Begin; iP-assignment notKnown(3).
    EXPECT_NE(to_hex(pdu).find("800101a2"), std::string::npos);
    EXPECT_NE(to_hex(pdu).find("800405050601"), std::string::npos);
    EXPECT_NE(to_hex(pdu).find("830103"), std::string::npos);
}

TEST(BerWalker, MaximumRecordUsesThreeOctetLengths) {
    auto enc = PduEncoder::create(Format::etsi102232, nz_probe());
    OwnedRecord r(RecordKind::iri_sip, std::vector<uint8_t>(kMaxRecordBytes, 'x'));
    const auto pdu = encode(*enc, r.rec, warrant("LIID1"), 0);
    std::vector<std::string> tags;
    std::vector<size_t> lens;
    ASSERT_TRUE(walk(pdu.data(), pdu.size(), "", tags, lens));
    EXPECT_EQ(pdu[1], 0x83);  // > 65535 octets of content
    EXPECT_EQ(lens.back(), kMaxRecordBytes);
    EXPECT_EQ(frame_length(Format::etsi102232, pdu.data(), pdu.size()),
              static_cast<long>(pdu.size()));
    // Oversized record: refused.
    r.rec.len = kMaxRecordBytes + 1;
    std::vector<uint8_t> big(kMaxRecordBytes * 2);
    EXPECT_EQ(enc->encode(r.rec, warrant("LIID1"), 0, big.data(), big.size()), 0u);
}

// ---------------------------------------------------------------- framing ------------------

TEST(Framing, EveryPrefixWaitsAndTheWholeIsFound) {
    for (Format f : {Format::etsi102232, Format::x3}) {
        auto enc = PduEncoder::create(f, nz_probe());
        OwnedRecord r(RecordKind::cc_rtp, test::rtp_packet(1, 300));
        auto pdu = encode(*enc, r.rec, warrant("LIID1"), 0);
        for (size_t n = 0; n < pdu.size(); ++n)
            ASSERT_EQ(frame_length(f, pdu.data(), n), 0) << format_name(f) << " prefix " << n;
        const size_t one = pdu.size();
        pdu.insert(pdu.end(), pdu.begin(), pdu.end());  // two PDUs back to back
        EXPECT_EQ(frame_length(f, pdu.data(), pdu.size()), static_cast<long>(one));
    }
}

TEST(Framing, GarbageIsRejected) {
    const uint8_t not_ber[] = {0x31, 0x05};
    EXPECT_EQ(frame_length(Format::etsi102232, not_ber, 1), -1);
    const uint8_t indefinite[] = {0x30, 0x80, 0, 0};
    EXPECT_EQ(frame_length(Format::etsi102232, indefinite, 4), -1);
    const uint8_t huge[] = {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff};
    EXPECT_EQ(frame_length(Format::etsi102232, huge, 6), -1);
    const uint8_t five[] = {0x30, 0x85, 0, 0, 0, 0, 1};
    EXPECT_EQ(frame_length(Format::etsi102232, five, 7), -1);
    const uint8_t long_ok[] = {0x30, 0x83, 0x01, 0x00, 0x00};
    EXPECT_EQ(frame_length(Format::etsi102232, long_ok, 5), 0);  // 65536+5: wait for more

    uint8_t x[12] = {0, 5, 0, 2, 0, 0, 0, 39, 0, 0, 0, 0};  // header length 39 < 40
    EXPECT_EQ(frame_length(Format::x3, x, 12), -1);
    x[7] = 40;
    x[8] = 0x01;  // payload 16 MiB + 40: too large
    EXPECT_EQ(frame_length(Format::x3, x, 12), -1);
    x[8] = 0;
    x[3] = 9;  // unknown PDU type
    EXPECT_EQ(frame_length(Format::x3, x, 4), -1);
    EXPECT_EQ(frame_length(Format::x3, nullptr, 0), 0);
}

// ---------------------------------------------------------------- header cache -------------

TEST(HeaderCache, ReusedWarrantSlotWithAnotherLiidIsNotServedStale) {
    etsi::Etsi102232Encoder enc(nz_probe());
    OwnedRecord r(RecordKind::cc_rtp, test::rtp_packet(1, 10));
    r.rec.warrant = 5;
    r.rec.cin = 9;
    const auto a = decode(Format::etsi102232, encode(enc, r.rec, warrant("FIRST"), 0));
    const auto b = decode(Format::etsi102232, encode(enc, r.rec, warrant("SECOND"), 0));
    EXPECT_EQ(a.liid, "FIRST");
    EXPECT_EQ(b.liid, "SECOND");
    EXPECT_EQ(enc.cache_misses(), 2u);
}

TEST(HeaderCache, EvictionKeepsEveryPduCorrect) {
    etsi::Etsi102232Encoder enc(nz_probe());
    OwnedRecord r(RecordKind::cc_rtp, test::rtp_packet(1, 10));
    const size_t pairs =
        3 * etsi::Etsi102232Encoder::kCacheSets * etsi::Etsi102232Encoder::kCacheWays;
    for (int round = 0; round < 2; ++round) {
        for (uint32_t i = 0; i < pairs; ++i) {
            r.rec.warrant = i % 7;
            r.rec.cin = i;
            const auto d = decode(Format::etsi102232,
                                  encode(enc, r.rec, warrant("W" + std::to_string(i % 7)), i));
            ASSERT_EQ(d.cin, i);
            ASSERT_EQ(d.liid, "W" + std::to_string(i % 7));
        }
    }
    EXPECT_GT(enc.cache_misses(), pairs);
}

TEST(NoAllocation, EncodeNeverAllocates) {
    auto etsi_enc = PduEncoder::create(Format::etsi102232, nz_probe());
    auto x_enc = PduEncoder::create(Format::x3, ProbeIdentity{});
    const WarrantInfo w = warrant("LIID-ALLOC", "target");
    OwnedRecord cc(RecordKind::cc_rtp, test::rtp_packet(1, 160));
    OwnedRecord iri(RecordKind::iri_sip, test::sip_message("INVITE sip:b@x SIP/2.0"));
    std::vector<uint8_t> out(70000);
    const long before = g_allocations.load();
    size_t total = 0;
    for (uint32_t i = 0; i < 5000; ++i) {
        cc.rec.cin = i % 2000;  // more (warrant, CIN) pairs than the cache holds
        iri.rec.cin = i % 2000;
        total += etsi_enc->encode(cc.rec, w, i, out.data(), out.size());
        total += etsi_enc->encode(iri.rec, w, i, out.data(), out.size());
        total += x_enc->encode(cc.rec, w, i, out.data(), out.size());
        total += x_enc->encode(iri.rec, w, i, out.data(), out.size());
        total += etsi_enc->encode_keepalive(i, kTime, out.data(), out.size());
        total += x_enc->encode_keepalive(i, kTime, out.data(), out.size());
    }
    EXPECT_EQ(g_allocations.load() - before, 0);
    EXPECT_GT(total, 5000u * 4 * 160);
}

}  // namespace
}  // namespace liprobe::exporter
