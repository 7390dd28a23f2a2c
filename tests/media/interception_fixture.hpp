// The Interception fixture: an Interceptor over a real flow table, key table and RCU, whose
// records are captured; hand-built SIP dialogs (192.0.2.x, SIP on 5060) and the exact records
// they must give. Shared by test_interception and test_interception_sdes (one per executable:
// everything here has internal linkage).
#pragma once

#include <gtest/gtest.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <random>

#include "eal.hpp"
#include "liprobe/keys/key_model.hpp"
#include "liprobe/media/interception.hpp"
#include "scenario.hpp"

namespace {

using liprobe::exporter::Direction;
using liprobe::exporter::IriType;
using liprobe::exporter::Record;
using liprobe::exporter::RecordKind;

struct Captured {
    Record rec;
    uint16_t destination;
    std::vector<uint8_t> bytes;
};

class CaptureSink : public liprobe::media::RecordSink {
  public:
    Record* get_record(uint16_t, uint32_t bytes) override {
        buffers_.emplace_back(bytes);
        auto* r = &records_.emplace_back();
        r->data = buffers_.back().data();
        r->capacity = bytes;
        return r;
    }
    bool submit(uint16_t d, Record* r) override {
        out.push_back({*r, d, std::vector<uint8_t>(r->data, r->data + r->len)});
        return true;
    }
    std::vector<Captured> out;

  private:
    std::deque<std::vector<uint8_t>> buffers_;
    std::deque<Record> records_;
};

// ---- hand-built dialogs (192.0.2.x, SIP on 5060) for the dialog cases of issue 4 ----

liprobe::test::Frame udp_frame(int64_t t, uint8_t src_ip, uint16_t sport, uint8_t dst_ip,
                               uint16_t dport, const std::vector<uint8_t>& payload) {
    liprobe::net::UdpFrameSpec s;
    s.src = liprobe::net::ipv4_address(192, 0, 2, src_ip);
    s.dst = liprobe::net::ipv4_address(192, 0, 2, dst_ip);
    s.src_port = sport;
    s.dst_port = dport;
    return {t, liprobe::net::build_udp_frame(s, payload)};
}

liprobe::test::Frame sip_frame(int64_t t, uint8_t src_ip, uint8_t dst_ip, const std::string& m) {
    return udp_frame(t, src_ip, 5060, dst_ip, 5060, std::vector<uint8_t>(m.begin(), m.end()));
}

std::string sdp_for(uint8_t ip, uint16_t port) {
    const std::string addr = "192.0.2." + std::to_string(ip);
    return "v=0\r\no=- 1 1 IN IP4 " + addr + "\r\ns=-\r\nc=IN IP4 " + addr +
           "\r\nt=0 0\r\nm=audio " + std::to_string(port) +
           " RTP/SAVP 96\r\na=rtpmap:96 AMR-WB/16000\r\n";
}

// A SIP message of call "dlg-1@example.org"; from/to are the URIs with their tags ("" = none).
std::string sip_msg(const std::string& start, const std::string& from, const std::string& from_tag,
                    const std::string& to, const std::string& to_tag, int cseq,
                    const std::string& method, const std::string& branch,
                    const std::string& body = "") {
    std::string m = start + "\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK" + branch +
                    "\r\nFrom: <" + from + ">;tag=" + from_tag + "\r\nTo: <" + to + ">" +
                    (to_tag.empty() ? "" : ";tag=" + to_tag) +
                    "\r\nCall-ID: dlg-1@example.org\r\nCSeq: " + std::to_string(cseq) + " " +
                    method + "\r\nMax-Forwards: 70\r\n";
    if (!body.empty()) m += "Content-Type: application/sdp\r\n";
    return m + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string kAlice = "sip:alice@example.org", kBob = "sip:bob@example.org";
constexpr uint8_t kAliceIp = 10, kBobIp = 20, kStrangerIp = 30;

// What one captured record must be.
struct Want {
    RecordKind kind;
    IriType iri;
    Direction dir;
    uint32_t cin;
    std::vector<uint8_t> bytes;
};

Want iri(IriType t, Direction d, const std::string& m, uint32_t cin = 7) {
    return {RecordKind::iri_sip, t, d, cin, std::vector<uint8_t>(m.begin(), m.end())};
}
Want cc(Direction d, const std::vector<uint8_t>& rtp, uint32_t cin = 7) {
    return {RecordKind::cc_rtp, IriType::cont, d, cin, rtp};
}

void expect_records(const std::vector<Captured>& got, const std::vector<Want>& want,
                    uint16_t destination = 3, uint32_t warrant = 0) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(got[i].destination, destination);
        EXPECT_EQ(got[i].rec.warrant, warrant);
        EXPECT_EQ(got[i].rec.kind, want[i].kind);
        EXPECT_EQ(got[i].rec.iri_type, want[i].iri);
        EXPECT_EQ(got[i].rec.direction, want[i].dir);
        EXPECT_EQ(got[i].rec.cin, want[i].cin);
        EXPECT_EQ(got[i].bytes, want[i].bytes);
    }
}

constexpr Direction kFrom = Direction::from_target, kTo = Direction::to_target;

// Every record a scenario call gives the warrant on its caller (caller_is_target) or its callee,
// in order: INVITE, 200, ACK, the RTP both ways, the callee's BYE and its 200.
[[maybe_unused]] std::vector<Want> call_records(const liprobe::test::Call& call, uint32_t cin,
                               bool caller_is_target = true) {
    const Direction a = caller_is_target ? kFrom : kTo;  // sent by the caller
    const Direction b = caller_is_target ? kTo : kFrom;  // sent by the callee
    std::vector<Want> w{iri(IriType::begin, a, call.sip[0], cin),
                        iri(IriType::cont, b, call.sip[1], cin),
                        iri(IriType::cont, a, call.sip[2], cin)};
    for (size_t i = 0; i < call.rtp_from_caller.size(); ++i) {
        w.push_back(cc(a, call.rtp_from_caller[i], cin));
        w.push_back(cc(b, call.rtp_from_callee[i], cin));
    }
    w.push_back(iri(IriType::cont, b, call.sip[3], cin));
    w.push_back(iri(IriType::end, a, call.sip[4], cin));
    return w;
}

// The IP packet of a frame (without its 14-octet Ethernet header): what cc_ip records carry.
std::vector<uint8_t> ip_of(const liprobe::test::Frame& f) {
    return std::vector<uint8_t>(f.bytes.begin() + 14, f.bytes.end());
}

class Interception : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(liprobe::test::init_eal());
        static int n = 0;
        ++n;
        const size_t bytes = rte_rcu_qsbr_get_memsize(2);
        rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("t_rcu", bytes, 64));
        rte_rcu_qsbr_init(rcu_, 2);
        rte_rcu_qsbr_thread_register(rcu_, 0);
        rte_rcu_qsbr_thread_online(rcu_, 0);
        liprobe::keys::KeyTableConfig kc;
        kc.name = "t_keys" + std::to_string(n);
        kc.capacity = 1024;
        keys_ = std::make_unique<liprobe::keys::KeyTable>(kc);
        keys_->register_reader(0);
        for (const auto& e : liprobe::keys::derive_keys_text(liprobe::test::keys_json()))
            ASSERT_EQ(keys_->install(e), "");
        liprobe::media::FlowTableConfig fc;
        fc.name = "t_flows" + std::to_string(n);
        fc.capacity = 64;
        fc.rcu = rcu_;
        flows_ = std::make_unique<liprobe::media::FlowTable>(fc);
    }
    void TearDown() override {
        icpt_.reset();
        flows_.reset();
        keys_->unregister_reader(0);
        keys_.reset();
        rte_rcu_qsbr_thread_offline(rcu_, 0);
        rte_free(rcu_);
    }

    void make(liprobe::media::DeliverMode mode) {
        make_with(mode, {{"LIID-A", {"sip:alice@example.org"}, {"d"}}});
    }
    // Warrant i (global id i) delivers to destination 3 + i.
    void make_with(liprobe::media::DeliverMode mode,
                   std::vector<liprobe::targets::Warrant> warrants) {
        std::string error;
        const size_t n = warrants.size();
        policy_.selectors = liprobe::targets::SelectorSet::build(std::move(warrants), {}, error);
        ASSERT_TRUE(policy_.selectors) << error;
        policy_.global_id.clear();
        policy_.routes.resize(n);
        for (size_t i = 0; i < n; ++i) {
            policy_.global_id.push_back(static_cast<uint32_t>(i));
            policy_.routes[i].active = true;
            policy_.routes[i].deliver = mode;
            policy_.routes[i].destination_count = 1;
            policy_.routes[i].destinations[0] = static_cast<uint16_t>(3 + i);
        }
        liprobe::media::InterceptorConfig ic;
        ic.max_dialogs = 16;
        ic.pending_packets = 8;
        icpt_ = std::make_unique<liprobe::media::Interceptor>(ic, *flows_, *keys_, sink_, cins_);
        icpt_->set_policy(&policy_);
    }

    // A SIP feeder for a test's timeline: each call feeds message m from Alice (or Bob) 10 ms
    // after the last frame, expects it intercepted and appends the IRI it must give to want.
    auto sip_feeder(int64_t& t, std::vector<Want>& want) {
        return [this, &t, &want](bool from_alice, const std::string& m, IriType type) {
            feed(sip_frame(t += 10000, from_alice ? kAliceIp : kBobIp,
                           from_alice ? kBobIp : kAliceIp, m));
            EXPECT_TRUE(last_intercepted_);
            want.push_back(iri(type, from_alice ? kFrom : kTo, m));
        };
    }

    // Feeds a frame the way a worker does (SIP on port 5060, else media).
    void feed(liprobe::test::Frame f) {
        frames_.push_back(std::move(f.bytes));
        auto& bytes = frames_.back();
        liprobe::net::ParsedPacket p;
        ASSERT_EQ(liprobe::net::parse_frame(bytes.data(), static_cast<uint32_t>(bytes.size()),
                                            liprobe::net::LinkType::ethernet, p),
                  liprobe::net::ParseStatus::ok);
        liprobe::media::UdpPacket pkt{bytes.data(), static_cast<uint32_t>(bytes.size()), &p,
                                      f.time_us};
        if (p.src_port == 5060 || p.dst_port == 5060) {
            liprobe::sip::SipMessage msg;
            const std::string_view payload(
                reinterpret_cast<const char*>(bytes.data() + p.payload_offset), p.payload_len);
            ASSERT_EQ(liprobe::sip::parse_message(payload, msg), liprobe::sip::ParseError::ok);
            last_intercepted_ = icpt_->on_sip(pkt, msg);
        } else {
            last_intercepted_ = icpt_->on_udp(pkt);
            icpt_->flush();
        }
        icpt_->tick(f.time_us, 1);
        rte_rcu_qsbr_quiescent(rcu_, 0);
        keys_->quiescent(0);
    }

    rte_rcu_qsbr* rcu_ = nullptr;
    std::unique_ptr<liprobe::keys::KeyTable> keys_;
    std::unique_ptr<liprobe::media::FlowTable> flows_;
    liprobe::media::Policy policy_;
    CaptureSink sink_;
    std::atomic<uint32_t> cins_{7};
    std::unique_ptr<liprobe::media::Interceptor> icpt_;
    std::deque<std::vector<uint8_t>> frames_;
    bool last_intercepted_ = false;  // what on_sip / on_udp returned for the last frame fed
};

}  // namespace
