// Dialog tracking, warrant matching, flow installation and the CC/IRI record path of one worker.
// Choices where the design is silent are commented where they are made.
#include "liprobe/media/interception.hpp"

#include <algorithm>
#include <cstring>

#include "dialog.hpp"

namespace liprobe::media {

namespace {

using namespace detail;  // the per-dialog records (dialog.hpp)

uint32_t pow2_at_least(uint32_t v) {
    uint32_t p = 1;
    while (p < v) p <<= 1;
    return p;
}

void fill_endpoints(const net::ParsedPacket& p, exporter::Record& r) {
    r.src.family = r.dst.family = p.ip_version == 6 ? 6 : 4;
    std::memcpy(r.src.addr, p.src.bytes, 16);
    std::memcpy(r.dst.addr, p.dst.bytes, 16);
    r.src.port = p.src_port;
    r.dst.port = p.dst_port;
}

exporter::Direction direction_for(Side sender, Side target) {
    if (target == Side::unknown || sender == Side::unknown)
        return exporter::Direction::indeterminate;
    return sender == target ? exporter::Direction::from_target : exporter::Direction::to_target;
}

// Where the target is, from the fields that matched: the caller's identities are From, P-Asserted-
// Identity and the mcptt calling user / calling group; the called party's are the Request-URI, To
// and mcptt request-uri / called party. Matches on both sides (a target calling itself): unknown.
Side target_side_of(const targets::WarrantMatch& m) {
    using F = targets::MatchField;
    const bool caller = m.has(F::from) || m.has(F::p_asserted_identity) ||
                        m.has(F::mcptt_calling_user_id) || m.has(F::mcptt_calling_group_id);
    const bool callee = m.has(F::request_uri) || m.has(F::to) || m.has(F::mcptt_request_uri) ||
                        m.has(F::mcptt_called_party_id);
    if (caller == callee) return Side::unknown;
    return caller ? Side::initiator : Side::receiver;
}

}  // namespace

struct Interceptor::Impl {
    Interceptor& owner;
    InterceptorConfig config;
    FlowTable& flows;
    FlowWriter writer;
    RecordSink& sink;
    std::atomic<uint32_t>& cin_counter;
    srtp::SrtpDecryptor decryptor;
    detail::SdesKeys sdes;
    sip::McpttInfoParser xml;
    targets::MatchResult match;
    sip::DialogMessage dm;

    std::vector<Dialog> dialogs;
    std::vector<int32_t> buckets;
    uint32_t bucket_mask = 0;
    int32_t free_head = -1;
    size_t active = 0;
    int32_t queue_oldest[kAgeQueues] = {-1, -1, -1};
    int32_t queue_newest[kAgeQueues] = {-1, -1, -1};
    uint32_t sweep_cursor = 0;

    Staged staged[srtp::kMaxBurst];
    uint16_t staged_count = 0;

    PendingSlots pending;
    uint64_t key_generation = 0;
    int64_t now_us = 0;

    Impl(Interceptor& o, const InterceptorConfig& c, FlowTable& f, const keys::KeyTable& k,
         RecordSink& s, std::atomic<uint32_t>& cins)
        : owner(o),
          config(c),
          flows(f),
          writer(f),
          sink(s),
          cin_counter(cins),
          decryptor(k),
          sdes(c.sdes_contexts, f.rcu(), c.worker, decryptor.gcm(), o.counters_),
          pending(c.pending_packets < 1 ? 1 : c.pending_packets, c.pending_slot_bytes) {
        const uint32_t n = c.max_dialogs < 16 ? 16 : c.max_dialogs;
        dialogs.resize(n);
        for (uint32_t i = 0; i < n; ++i) dialogs[i].next = i + 1 < n ? int32_t(i + 1) : -1;
        free_head = 0;
        buckets.assign(pow2_at_least(n * 2), -1);
        bucket_mask = static_cast<uint32_t>(buckets.size() - 1);
    }

    InterceptorCounters& ctr() { return owner.counters_; }
    const Policy* policy() const { return owner.policy_; }

    // ---- records ----

    const WarrantRoute* route(uint32_t warrant, int64_t time_us) const {
        const Policy* p = policy();
        if (p == nullptr || warrant >= p->routes.size()) return nullptr;
        const WarrantRoute& r = p->routes[warrant];
        if (!r.active) return nullptr;
        if (r.not_before_us != 0 && time_us < r.not_before_us) return nullptr;
        if (r.not_after_us != 0 && time_us > r.not_after_us) return nullptr;
        return &r;
    }

    // One record per destination of the warrant.
    void emit(const WarrantRoute& r, exporter::RecordKind kind, uint32_t warrant, uint32_t cin,
              exporter::Direction dir, exporter::IriType iri, int64_t time_us,
              const exporter::IpEndpoint& src, const exporter::IpEndpoint& dst, uint8_t proto,
              const uint8_t* data, uint32_t len) {
        if (kind == exporter::RecordKind::iri_sip ? !r.deliver_iri : !r.deliver_cc) return;
        for (uint8_t i = 0; i < r.destination_count; ++i) {
            exporter::Record* rec = sink.get_record(r.destinations[i], len);
            if (rec == nullptr || rec->capacity < len) {
                ctr().records_lost.add();
                continue;
            }
            rec->kind = kind;
            rec->direction = dir;
            rec->iri_type = iri;
            rec->ip_protocol = proto;
            rec->warrant = warrant;
            rec->cin = cin;
            rec->time_us = time_us;
            rec->src = src;
            rec->dst = dst;
            std::memcpy(rec->data, data, len);
            rec->len = len;
            if (!sink.submit(r.destinations[i], rec)) {
                ctr().records_lost.add();
                continue;
            }
            if (kind == exporter::RecordKind::cc_rtp)
                ctr().cc_rtp_records.add();
            else if (kind == exporter::RecordKind::cc_ip)
                ctr().cc_ip_records.add();
            else
                ctr().iri_records.add();
        }
    }

    // ---- dialogs ----

    Dialog* find(std::string_view call_id, uint64_t h) {
        const size_t prefix = call_id.size() < kMaxCallId ? call_id.size() : kMaxCallId;
        for (int32_t i = buckets[h & bucket_mask]; i >= 0; i = dialogs[i].next) {
            Dialog& d = dialogs[i];
            if (d.hash == h && d.call_id_full_len == call_id.size() &&
                std::memcmp(d.call_id, call_id.data(), prefix) == 0)
                return &d;
        }
        return nullptr;
    }

    uint32_t index_of(const Dialog& d) const { return static_cast<uint32_t>(&d - dialogs.data()); }

    uint64_t owner_tag(const Dialog& d) const {
        return uint64_t{config.worker} << 56 | uint64_t{index_of(d)} << 32 | d.generation;
    }

    void dequeue(Dialog& d) {
        if (d.queue == kNoQueue) return;
        (d.older >= 0 ? dialogs[d.older].newer : queue_oldest[d.queue]) = d.newer;
        (d.newer >= 0 ? dialogs[d.newer].older : queue_newest[d.queue]) = d.older;
        d.queue = kNoQueue;
        d.older = d.newer = -1;
    }

    // Appends d as the most recent of queue q (taking it out of its previous queue).
    void enqueue(Dialog& d, uint8_t q) {
        dequeue(d);
        const int32_t i = static_cast<int32_t>(index_of(d));
        d.queue = q;
        d.older = queue_newest[q];
        (d.older >= 0 ? dialogs[d.older].newer : queue_oldest[q]) = i;
        queue_newest[q] = i;
    }

    // Full table: the slot of the oldest lingering ended, else unanswered, else proceeding
    // dialog (never a confirmed one). False when every dialog is confirmed.
    bool evict_one() {
        for (uint8_t q = 0; q < kAgeQueues; ++q) {
            if (queue_oldest[q] < 0) continue;
            (q == kEndedQueue ? ctr().dialogs_linger_evicted : ctr().dialogs_evicted).add();
            release(dialogs[queue_oldest[q]]);
            return true;
        }
        return false;
    }

    Dialog* create(std::string_view call_id, uint64_t h) {
        if (free_head < 0 && !evict_one()) return nullptr;
        const int32_t i = free_head;
        Dialog& d = dialogs[i];
        free_head = d.next;
        const uint32_t gen = d.generation + 1;
        d = Dialog{};
        d.generation = gen;
        d.hash = h;
        d.call_id_full_len = static_cast<uint32_t>(call_id.size());
        d.call_id_len =
            static_cast<uint16_t>(call_id.size() < kMaxCallId ? call_id.size() : kMaxCallId);
        std::memcpy(d.call_id, call_id.data(), d.call_id_len);
        d.next = buckets[h & bucket_mask];
        buckets[h & bucket_mask] = i;
        ++active;
        ctr().dialogs_created.add();
        enqueue(d, kUnansweredQueue);
        return &d;
    }

    void release(Dialog& d) {
        remove_flows(d);
        detail::SdesKeys::drop_all(d.sdes);
        sdes.retire_dropped(d.sdes);
        dequeue(d);
        const int32_t i = static_cast<int32_t>(index_of(d));
        int32_t* link = &buckets[d.hash & bucket_mask];
        while (*link >= 0 && *link != i) link = &dialogs[*link].next;
        if (*link == i) *link = d.next;
        d.state = DialogState::free;
        d.next = free_head;
        free_head = i;
        --active;
    }

    void remove_flows(Dialog& d) {
        const uint64_t tag = owner_tag(d);
        for (uint8_t i = 0; i < d.installed_count; ++i) writer.remove(d.installed[i], tag);
        d.installed_count = 0;
    }

    // Installs every endpoint of both sides' latest SDP with the dialog's current warrants,
    // removing endpoints no longer negotiated.
    void install_flows(Dialog& d) {
        const uint64_t tag = owner_tag(d);
        FlowKey desired[2 * kMaxEndpoints];
        uint8_t desired_count = 0;
        for (int side = 0; side < 2; ++side)
            for (uint8_t e = 0; e < d.endpoint_count[side]; ++e) {
                const FlowKey& k = d.endpoints[side][e].key;
                bool dup = false;
                for (uint8_t j = 0; j < desired_count; ++j) dup = dup || desired[j] == k;
                if (!dup) desired[desired_count++] = k;
            }
        for (uint8_t i = 0; i < d.installed_count; ++i) {
            bool keep = false;
            for (uint8_t j = 0; j < desired_count; ++j) keep = keep || desired[j] == d.installed[i];
            if (!keep) writer.remove(d.installed[i], tag);
        }
        d.installed_count = 0;
        for (int side = 0; side < 2; ++side)
            for (uint8_t e = 0; e < d.endpoint_count[side]; ++e) {
                const Endpoint& ep = d.endpoints[side][e];
                FlowInfo* info = writer.allocate();
                if (info == nullptr) {
                    ctr().flows_refused.add();
                    continue;
                }
                info->key = ep.key;
                info->owner = static_cast<Side>(side);
                info->kind = ep.kind;
                info->secure = ep.secure;
                info->owner_tag = tag;
                sdes.fill(d.sdes, ep.media, *info);
                info->warrant_count = d.warrant_count;
                for (uint8_t w = 0; w < d.warrant_count; ++w)
                    info->warrants[w] = FlowWarrant{d.warrants[w].warrant, d.warrants[w].cin,
                                                    d.warrants[w].target_side};
                if (!writer.install(info)) {
                    ctr().flows_refused.add();
                    continue;
                }
                bool dup = false;
                for (uint8_t j = 0; j < d.installed_count; ++j)
                    dup = dup || d.installed[j] == ep.key;
                if (!dup) d.installed[d.installed_count++] = ep.key;
            }
    }

    static bool to_key(const sip::IpAddr& a, uint16_t port, FlowKey& k) {
        if (a.family != 4 && a.family != 6) return false;  // FQDN: not resolvable on the fast path
        if (port == 0) return false;
        k = FlowKey{};
        k.family = a.family;
        k.port = port;
        std::memcpy(k.addr, a.bytes.data(), 16);
        return true;
    }

    // The endpoints a side receives on, from its SDP. Returns true when they changed.
    bool take_sdp(Dialog& d, Side side, const sip::SdpSession& sdp) {
        const int s = static_cast<int>(side);
        Endpoint next[kMaxEndpoints];
        uint8_t n = 0;
        for (size_t m = 0; m < sdp.media_count && size_t{n} + 2 <= kMaxEndpoints; ++m) {
            const sip::MediaStream& ms = sdp.media[m];
            Endpoint rtp;
            if (!to_key(ms.rtp_addr, ms.rtp_port, rtp.key)) continue;
            rtp.secure = ms.secure;
            rtp.media = static_cast<uint8_t>(m);
            const bool mux =
                ms.rtcp_mux || (ms.rtcp_port == ms.rtp_port && ms.rtcp_addr == ms.rtp_addr);
            rtp.kind = mux ? FlowKind::rtp_rtcp_mux : FlowKind::rtp;
            next[n++] = rtp;
            Endpoint rtcp;
            if (!mux && to_key(ms.rtcp_addr.family != 0 ? ms.rtcp_addr : ms.rtp_addr, ms.rtcp_port,
                               rtcp.key)) {
                rtcp.kind = FlowKind::rtcp;
                rtcp.secure = ms.secure;
                rtcp.media = static_cast<uint8_t>(m);
                next[n++] = rtcp;
            }
        }
        bool same = n == d.endpoint_count[s];
        for (uint8_t i = 0; same && i < n; ++i)
            same = next[i].key == d.endpoints[s][i].key && next[i].kind == d.endpoints[s][i].kind &&
                   next[i].secure == d.endpoints[s][i].secure &&
                   next[i].media == d.endpoints[s][i].media;
        if (same) return false;
        for (uint8_t i = 0; i < n; ++i) d.endpoints[s][i] = next[i];
        d.endpoint_count[s] = n;
        return true;
    }

    // Any of the dialog's warrants still wants SDES decryption.
    bool sdes_wanted(const Dialog& d) const {
        const Policy* p = policy();
        if (p == nullptr || !sdes.enabled()) return false;
        for (uint8_t w = 0; w < d.warrant_count; ++w) {
            const uint32_t id = d.warrants[w].warrant;
            if (id < p->routes.size() && p->routes[id].active && p->routes[id].sdes) return true;
        }
        return false;
    }

    bool on_sip(const UdpPacket& pkt, const sip::SipMessage& msg, uint8_t proto) {
        ctr().sip_messages.add();
        if (pkt.time_us > now_us) now_us = pkt.time_us;
        const Policy* pol = policy();
        size_t matches = 0;
        if (pol != nullptr && pol->selectors != nullptr)
            matches = pol->selectors->match(msg, config.worker, xml, match);
        const uint64_t h = hash_bytes(msg.call_id);
        Dialog* d = find(msg.call_id, h);

        // Matches of active warrants only.
        uint32_t ids[targets::kMaxWarrantMatches];
        Side sides[targets::kMaxWarrantMatches];
        size_t valid = 0;
        for (size_t i = 0; i < matches && i < match.count; ++i) {
            const uint32_t sel = match.warrants[i].warrant;
            if (sel >= pol->global_id.size()) continue;
            const uint32_t gid = pol->global_id[sel];
            if (route(gid, pkt.time_us) == nullptr) continue;
            ids[valid] = gid;
            sides[valid] = target_side_of(match.warrants[i]);
            ++valid;
        }
        if (d == nullptr && valid == 0) return false;

        sip::extract_dialog_message(msg, xml, dm);
        if (d == nullptr) {
            d = create(msg.call_id, h);
            if (d == nullptr) {
                ctr().dialogs_refused_full.add();
                return false;
            }
            d->state = DialogState::early;
            const std::string_view tag = dm.from_tag.substr(0, kMaxTag);
            std::memcpy(d->initiator_tag, tag.data(), tag.size());
            d->tag_len = static_cast<uint8_t>(tag.size());
            d->initial_cseq = dm.cseq;
            d->initial_method = dm.is_request ? dm.method : dm.cseq_method;
            d->invite_dialog = d->initial_method == sip::Method::invite;
            // Created from a 2xx to the INVITE (its start was not seen): the call is up.
        }
        ctr().sip_intercepted.add();

        bool warrants_changed = false;
        for (size_t i = 0; i < valid; ++i) {
            bool known = false;
            for (uint8_t w = 0; w < d->warrant_count; ++w)
                known = known || d->warrants[w].warrant == ids[i];
            if (known) continue;
            if (d->warrant_count == kMaxDialogWarrants) {
                ctr().dialog_warrants_refused.add();
                continue;
            }
            DialogWarrant& w = d->warrants[d->warrant_count++];
            w.warrant = ids[i];
            w.cin = cin_counter.fetch_add(1, std::memory_order_relaxed);  // one per (LIID, dialog)
            w.target_side = sides[i];
            warrants_changed = true;
        }

        const std::string_view itag(d->initiator_tag, d->tag_len);
        const bool from_initiator = dm.from_tag.substr(0, kMaxTag) == itag;
        const Side sender = dm.is_request == from_initiator ? Side::initiator : Side::receiver;

        const bool retransmission =
            d->last_sender == sender && d->last_cseq == dm.cseq &&
            (dm.is_request ? d->last_method == dm.method && d->last_status == 0
                           : d->last_status == dm.status_code && d->last_method == dm.cseq_method);
        if (retransmission) ctr().sip_retransmissions.add();
        d->last_sender = sender;
        d->last_cseq = dm.cseq;
        d->last_status = dm.is_request ? 0 : dm.status_code;
        d->last_method = dm.is_request ? dm.method : dm.cseq_method;
        d->last_us = pkt.time_us;

        // Does this message end the dialog? The final response to BYE; the final response to the
        // initial INVITE when it is not 2xx (after a CANCEL: the 487); for a dialog started by
        // any other request, the final response to that request.
        const bool was_ended = d->state == DialogState::ended;
        bool ends = false;
        if (!was_ended && !dm.is_request && dm.status_code >= 200) {
            if (dm.cseq_method == sip::Method::bye) {
                ends = true;
            } else if (dm.cseq_method == d->initial_method && dm.cseq == d->initial_cseq &&
                       d->state == DialogState::early) {
                if (d->invite_dialog && dm.status_code < 300) {
                    d->state = DialogState::confirmed;
                    dequeue(*d);  // never evicted from here on
                } else {
                    ends = true;
                }
            }
        }
        if (d->state == DialogState::early) {
            // The far end answered provisionally (100 Trying is hop by hop: not an answer).
            const bool answered = !dm.is_request && dm.status_code > 100 && dm.status_code < 200;
            enqueue(*d,
                    answered || d->queue == kProceedingQueue ? kProceedingQueue : kUnansweredQueue);
        }

        // IRI: Begin first, End for the last, Continue between; messages after the end (ACK of
        // a non-2xx, retransmissions) are Report.
        exporter::IpEndpoint src, dst;
        {
            exporter::Record tmp;
            fill_endpoints(*pkt.parsed, tmp);
            src = tmp.src;
            dst = tmp.dst;
        }
        const uint8_t* raw = reinterpret_cast<const uint8_t*>(msg.raw.data());
        const uint32_t raw_len = static_cast<uint32_t>(msg.raw.size());
        for (uint8_t i = 0; i < d->warrant_count; ++i) {
            DialogWarrant& w = d->warrants[i];
            exporter::IriType type = exporter::IriType::cont;
            if (!w.begun)
                type = exporter::IriType::begin;
            else if (was_ended)
                type = exporter::IriType::report;
            else if (ends)
                type = exporter::IriType::end;
            w.begun = true;
            const WarrantRoute* r = route(w.warrant, pkt.time_us);
            if (r == nullptr) continue;
            emit(*r, exporter::RecordKind::iri_sip, w.warrant, w.cin,
                 direction_for(sender, w.target_side), type, pkt.time_us, src, dst, proto, raw,
                 raw_len);
        }

        if (dm.has_mikey && dm.mikey_error == sip::MikeyError::ok) {
            d->has_mikey = true;
            d->csb_id = dm.mikey.csb_id;
            if (dm.mikey.cs_count > 0) {
                const auto& cs = dm.mikey.cs[0];
                d->mki_len = cs.spi_len <= keys::kMaxMkiLen ? cs.spi_len : keys::kMaxMkiLen;
                std::memcpy(d->mki, cs.spi.data(), d->mki_len);
            }
        }

        if (ends) {
            d->state = DialogState::ended;
            d->end_us = pkt.time_us;
            enqueue(*d, kEndedQueue);
            remove_flows(*d);
            ctr().dialogs_ended.add();
        } else if (!was_ended) {
            bool media_changed = false;
            bool keys_changed = false;
            if (dm.has_sdp) {
                if (dm.sdp_error == sip::SdpError::ok) {
                    media_changed = take_sdp(*d, sender, dm.sdp);
                    if (!retransmission && sdes_wanted(*d))
                        keys_changed = sdes.take(d->sdes, d->warrants[0].cin, sender, dm, dm.sdp);
                } else {
                    ctr().sip_sdp_errors.add();
                }
            }
            if (media_changed || keys_changed || (warrants_changed && d->installed_count > 0))
                install_flows(*d);
            if (keys_changed) sdes.retire_dropped(d->sdes);
        }
        return true;
    }

    // ---- media ----

    static FlowKey key_of(const net::ParsedPacket& p, bool dst) {
        FlowKey k;
        k.family = p.ip_version == 6 ? 6 : 4;
        k.port = dst ? p.dst_port : p.src_port;
        std::memcpy(k.addr, (dst ? p.dst : p.src).bytes, 16);
        return k;
    }

    bool on_udp(const UdpPacket& pkt) {
        const net::ParsedPacket& p = *pkt.parsed;
        FlowLookup found;
        found.dst = flows.lookup(key_of(p, true));
        if (found.dst == nullptr) found.src = flows.lookup(key_of(p, false));
        return on_udp(pkt, found);
    }

    bool on_udp(const UdpPacket& pkt, const FlowLookup& found) {
        const net::ParsedPacket& p = *pkt.parsed;
        if (pkt.time_us > now_us) now_us = pkt.time_us;
        Side sender;
        const FlowInfo* info = found.dst;
        if (info != nullptr) {
            sender = other_side(info->owner);
        } else {
            info = found.src;
            if (info == nullptr) return false;
            sender = info->owner;  // symmetric RTP: a side sends from where it receives
        }
        const uint8_t* payload = pkt.frame + p.payload_offset;
        bool rtcp = info->kind == FlowKind::rtcp;
        // RFC 5761 4: with rtcp-mux, RTCP packet types 192..223 occupy the RTP M+PT octet.
        if (info->kind == FlowKind::rtp_rtcp_mux && p.payload_len >= 2)
            rtcp = payload[1] >= 192 && payload[1] <= 223;
        Staged& s = staged[staged_count++];
        s.pkt = pkt;
        s.parsed = p;
        s.pkt.parsed = &s.parsed;
        s.info = info;
        s.sender = sender;
        s.is_rtcp = rtcp;
        ctr().media_packets.add();
        if (staged_count == srtp::kMaxBurst) flush();
        return true;
    }

    // only_not_delivered: just to the warrants that did not get the packet as is already.
    void deliver_encrypted(const FlowWarrant* ws, uint8_t n, int64_t time_us, Side sender,
                           const exporter::IpEndpoint& src, const exporter::IpEndpoint& dst,
                           const uint8_t* ip, uint32_t ip_len, bool only_not_delivered,
                           bool sdes_keyed = false) {
        for (uint8_t i = 0; i < n; ++i) {
            const WarrantRoute* r = route(ws[i].warrant, time_us);
            if (r == nullptr) continue;
            if (only_not_delivered && got_original(*r, sdes_keyed)) continue;
            emit(*r, exporter::RecordKind::cc_ip, ws[i].warrant, ws[i].cin,
                 direction_for(sender, ws[i].target_side), exporter::IriType::cont, time_us, src,
                 dst, 17, ip, ip_len);
        }
    }

    // A warrant that gets this packet's plain (decrypted) form; sdes_keyed: the flow's keys came
    // from the dialog's SDP, which a warrant with sdes = false does not use.
    static bool wants_plain(const WarrantRoute& r, bool sdes_keyed) {
        return r.deliver != DeliverMode::encrypted && (!sdes_keyed || r.sdes);
    }
    // A warrant that got the packet as is before decryption (deliver = encrypted or both, or an
    // SDES-keyed packet it does not decrypt).
    static bool got_original(const WarrantRoute& r, bool sdes_keyed) {
        return r.deliver != DeliverMode::decrypted || !wants_plain(r, sdes_keyed);
    }

    void deliver_plain(const FlowWarrant* ws, uint8_t n, int64_t time_us, Side sender,
                       const exporter::IpEndpoint& src, const exporter::IpEndpoint& dst,
                       const uint8_t* rtp, uint32_t len, bool sdes_keyed = false) {
        for (uint8_t i = 0; i < n; ++i) {
            const WarrantRoute* r = route(ws[i].warrant, time_us);
            if (r == nullptr || !wants_plain(*r, sdes_keyed)) continue;
            emit(*r, exporter::RecordKind::cc_rtp, ws[i].warrant, ws[i].cin,
                 direction_for(sender, ws[i].target_side), exporter::IriType::cont, time_us, src,
                 dst, 17, rtp, len);
        }
    }

    void flush() {
        srtp::Packet batch[srtp::kMaxBurst];
        uint16_t map[srtp::kMaxBurst];
        uint16_t m = 0;
        for (uint16_t i = 0; i < staged_count; ++i) {
            Staged& s = staged[i];
            const FlowInfo& info = *s.info;
            const net::ParsedPacket& p = s.parsed;
            exporter::Record eps;
            fill_endpoints(p, eps);
            const uint8_t* ip = s.pkt.frame + p.l3_offset;
            const uint32_t ip_len = p.l3_end - p.l3_offset;
            const int sender = static_cast<int>(s.sender);
            const bool sdes_keyed = info.secure && sender < 2 && info.sdes_count[sender] > 0;
            bool need_plain = false;
            for (uint8_t w = 0; w < info.warrant_count; ++w) {
                const WarrantRoute* r = route(info.warrants[w].warrant, s.pkt.time_us);
                if (r == nullptr) continue;
                if (got_original(*r, sdes_keyed))  // the packet as is, before it is decrypted
                    emit(*r, exporter::RecordKind::cc_ip, info.warrants[w].warrant,
                         info.warrants[w].cin,
                         direction_for(s.sender, info.warrants[w].target_side),
                         exporter::IriType::cont, s.pkt.time_us, eps.src, eps.dst, 17, ip, ip_len);
                if (wants_plain(*r, sdes_keyed)) need_plain = true;
            }
            if (!need_plain) continue;
            if (!info.secure) {  // RTP/AVP: nothing to decrypt
                ctr().plain_rtp.add();
                deliver_plain(info.warrants, info.warrant_count, s.pkt.time_us, s.sender, eps.src,
                              eps.dst, s.pkt.frame + p.payload_offset, p.payload_len);
                continue;
            }
            srtp::Packet& b = batch[m];
            b = srtp::Packet{};
            b.data = s.pkt.frame + p.payload_offset;
            b.len = p.payload_len;
            b.is_rtcp = s.is_rtcp;
            b.preferred_cs_id = s.sender == Side::initiator  ? 0
                                : s.sender == Side::receiver ? 1
                                                             : -1;
            b.time_us = s.pkt.time_us;
            if (sdes_keyed) {
                b.flow_contexts = info.sdes[sender];
                b.flow_context_count = info.sdes_count[sender];
                b.flow_stream = info.owner_tag << 1 | static_cast<uint64_t>(sender);
            }
            map[m++] = i;
        }
        if (m > 0) decryptor.decrypt_burst(batch, m);
        for (uint16_t j = 0; j < m; ++j) {
            Staged& s = staged[map[j]];
            const FlowInfo& info = *s.info;
            const net::ParsedPacket& p = s.parsed;
            const bool sdes_keyed = batch[j].flow_context_count > 0;
            exporter::Record eps;
            fill_endpoints(p, eps);
            switch (batch[j].outcome) {
                case srtp::Outcome::decrypted:
                    ctr().srtp_decrypted.add();
                    if (sdes_keyed) ctr().sdes_decrypted.add();
                    deliver_plain(info.warrants, info.warrant_count, s.pkt.time_us, s.sender,
                                  eps.src, eps.dst, batch[j].data, batch[j].plain_len, sdes_keyed);
                    break;
                case srtp::Outcome::unknown_mki:
                    ctr().srtp_unknown_mki.add();
                    queue_pending(s, info, eps);
                    break;
                case srtp::Outcome::auth_failed:
                case srtp::Outcome::malformed:
                    (batch[j].outcome == srtp::Outcome::auth_failed ? ctr().srtp_auth_failed
                                                                    : ctr().srtp_malformed)
                        .add();
                    deliver_encrypted(info.warrants, info.warrant_count, s.pkt.time_us, s.sender,
                                      eps.src, eps.dst, s.pkt.frame + p.l3_offset,
                                      p.l3_end - p.l3_offset, true, sdes_keyed);
                    break;
            }
        }
        staged_count = 0;
    }

    // ---- pending queue (design.md 1: packets wait for their key, bounded, on packet time) ----

    void deliver_slot_encrypted(PendingSlot& ps) {
        deliver_encrypted(ps.warrants, ps.warrant_count, ps.time_us, ps.sender, ps.src, ps.dst,
                          ps.bytes, ps.ip_len, true);
    }

    void queue_pending(const Staged& s, const FlowInfo& info, const exporter::Record& eps) {
        const net::ParsedPacket& p = s.parsed;
        const uint32_t ip_len = p.l3_end - p.l3_offset;
        if (ip_len > config.pending_slot_bytes) {
            ctr().pending_too_large.add();
            deliver_encrypted(info.warrants, info.warrant_count, s.pkt.time_us, s.sender, eps.src,
                              eps.dst, s.pkt.frame + p.l3_offset, ip_len, true);
            return;
        }
        if (!pending.any_free()) {  // full: the oldest goes out encrypted, never silently
            const uint32_t old = pending.pop();
            deliver_slot_encrypted(pending.at(old));
            ctr().pending_overflow.add();
            pending.give_back(old);
        }
        const uint32_t idx = pending.take_free();
        PendingSlot& ps = pending.at(idx);
        ps.time_us = s.pkt.time_us;
        ps.ip_len = ip_len;
        ps.payload_offset = p.payload_offset - p.l3_offset;
        ps.payload_len = p.payload_len;
        ps.is_rtcp = s.is_rtcp;
        ps.sender = s.sender;
        ps.src = eps.src;
        ps.dst = eps.dst;
        ps.warrant_count = info.warrant_count;
        for (uint8_t w = 0; w < info.warrant_count; ++w) ps.warrants[w] = info.warrants[w];
        std::memcpy(ps.bytes, s.pkt.frame + p.l3_offset, ip_len);
        pending.push(idx);
        ctr().pending_queued.add();
    }

    void retry_pending() {
        size_t remaining = pending.waiting();
        while (remaining > 0) {
            srtp::Packet batch[srtp::kMaxBurst];
            uint32_t idx[srtp::kMaxBurst];
            uint16_t n = 0;
            while (n < srtp::kMaxBurst && remaining > 0) {
                idx[n] = pending.pop();
                --remaining;
                PendingSlot& ps = pending.at(idx[n]);
                batch[n] = srtp::Packet{};
                batch[n].data = ps.bytes + ps.payload_offset;
                batch[n].len = ps.payload_len;
                batch[n].is_rtcp = ps.is_rtcp;
                batch[n].preferred_cs_id = ps.sender == Side::initiator  ? 0
                                           : ps.sender == Side::receiver ? 1
                                                                         : -1;
                batch[n].time_us = ps.time_us;
                ++n;
            }
            decryptor.decrypt_burst(batch, n);
            for (uint16_t j = 0; j < n; ++j) {
                PendingSlot& ps = pending.at(idx[j]);
                switch (batch[j].outcome) {
                    case srtp::Outcome::unknown_mki:
                        pending.push(idx[j]);  // still waiting, order kept
                        continue;
                    case srtp::Outcome::decrypted:
                        ctr().pending_resolved.add();
                        ctr().srtp_decrypted.add();
                        deliver_plain(ps.warrants, ps.warrant_count, ps.time_us, ps.sender, ps.src,
                                      ps.dst, batch[j].data, batch[j].plain_len);
                        break;
                    default:
                        ctr().pending_resolved.add();
                        (batch[j].outcome == srtp::Outcome::auth_failed ? ctr().srtp_auth_failed
                                                                        : ctr().srtp_malformed)
                            .add();
                        deliver_slot_encrypted(ps);
                        break;
                }
                pending.give_back(idx[j]);
            }
        }
    }

    // Lingering ended and unconfirmed dialogs past their bound, oldest first (each queue is in
    // order of its dialogs' last message, so this stops at the first one still within it).
    void expire_queues() {
        const auto bounded = [&](int64_t us) { return std::min(us, config.dialog_timeout_us); };
        const int64_t bound[kAgeQueues] = {config.linger_us, bounded(config.unconfirmed_timeout_us),
                                           bounded(config.proceeding_timeout_us)};
        for (uint8_t q = 0; q < kAgeQueues; ++q) {
            while (queue_oldest[q] >= 0) {
                Dialog& d = dialogs[queue_oldest[q]];
                if (now_us - (q == kEndedQueue ? d.end_us : d.last_us) <= bound[q]) break;
                if (q != kEndedQueue) ctr().dialogs_unconfirmed_timed_out.add();
                release(d);
            }
        }
    }

    void tick(int64_t now, uint64_t generation) {
        if (now > now_us) now_us = now;
        if (generation != key_generation) {
            key_generation = generation;
            if (pending.waiting() > 0) retry_pending();
        }
        while (pending.waiting() > 0 && pending.oldest().time_us + config.pending_us <= now_us) {
            const uint32_t idx = pending.pop();
            deliver_slot_encrypted(pending.at(idx));
            ctr().pending_expired.add();
            pending.give_back(idx);
        }
        expire_queues();
        sdes.reclaim();
        // Confirmed dialog timeouts, a few per tick.
        for (unsigned k = 0; k < kSweepPerTick && active > 0; ++k) {
            Dialog& d = dialogs[sweep_cursor];
            sweep_cursor = (sweep_cursor + 1) % dialogs.size();
            if (d.state == DialogState::confirmed &&
                now_us - d.last_us > config.dialog_timeout_us) {
                ctr().dialogs_timed_out.add();
                release(d);
            }
        }
        writer.reclaim();
    }

    void finish() {
        flush();
        while (pending.waiting() > 0) {
            const uint32_t idx = pending.pop();
            deliver_slot_encrypted(pending.at(idx));
            ctr().pending_flushed.add();
            pending.give_back(idx);
        }
    }
};

Interceptor::Interceptor(const InterceptorConfig& config, FlowTable& flows,
                         const keys::KeyTable& keys, RecordSink& sink,
                         std::atomic<uint32_t>& cin_counter)
    : impl_(std::make_unique<Impl>(*this, config, flows, keys, sink, cin_counter)) {}

Interceptor::~Interceptor() {
    // Take this worker's flows out of the shared table (the table outlives the interceptors).
    for (Dialog& d : impl_->dialogs)
        if (d.state != DialogState::free) impl_->remove_flows(d);
}

bool Interceptor::on_sip(const UdpPacket& pkt, const sip::SipMessage& msg, uint8_t ip_protocol) {
    return impl_->on_sip(pkt, msg, ip_protocol);
}
bool Interceptor::on_udp(const UdpPacket& pkt) {
    return impl_->on_udp(pkt);
}
bool Interceptor::on_udp(const UdpPacket& pkt, const FlowLookup& found) {
    return impl_->on_udp(pkt, found);
}
void Interceptor::flush() {
    impl_->flush();
}
void Interceptor::tick(int64_t now_us, uint64_t key_generation) {
    impl_->tick(now_us, key_generation);
}
void Interceptor::finish() {
    impl_->finish();
}
const FlowWriter& Interceptor::flow_writer() const {
    return impl_->writer;
}
const FlowTable& Interceptor::flow_table() const {
    return impl_->flows;
}
size_t Interceptor::active_dialogs() const {
    return impl_->active;
}
size_t Interceptor::pending() const {
    return impl_->pending.waiting();
}
size_t Interceptor::take_notes(DialogNote* out, size_t max) {
    return impl_->sdes.take_notes(out, max);
}
uint64_t Interceptor::notes_dropped() const {
    return impl_->sdes.notes_dropped();
}

}  // namespace liprobe::media
