// SDES keys of intercepted dialogs (see sdes_keys.hpp).
#include "sdes_keys.hpp"

#include <iterator>

namespace liprobe::media::detail {

void SdesKeys::note(const DialogNote& n) {
    const uint32_t head = notes_head_.load(std::memory_order_relaxed);
    if (head - notes_tail_.load(std::memory_order_acquire) == kNotes) {
        notes_dropped_.store(notes_dropped_.load(std::memory_order_relaxed) + 1,
                             std::memory_order_relaxed);
        return;
    }
    notes_[head % kNotes] = n;
    notes_head_.store(head + 1, std::memory_order_release);
}

size_t SdesKeys::take_notes(DialogNote* out, size_t max) {
    const uint32_t head = notes_head_.load(std::memory_order_acquire);
    uint32_t tail = notes_tail_.load(std::memory_order_relaxed);
    size_t n = 0;
    for (; tail != head && n < max; ++tail, ++n) out[n] = notes_[tail % kNotes];
    notes_tail_.store(tail, std::memory_order_release);
    return n;
}

void SdesKeys::refuse(DialogSdes& d, sip::SdesError e, uint32_t tag) {
    counters_.sdes_lines_refused[static_cast<size_t>(e)].add();
    if (!d.refused) {
        d.refused = true;
        counters_.sdes_dialogs_refused.add();
    }
    note(DialogNote{cin_, tag, e});
}

bool SdesKeys::refused_before(const DialogSdes& d, uint64_t line_hash) {
    for (uint64_t h : d.refused_lines)
        if (h == line_hash) return true;
    return false;
}

// One a=crypto value parsed and checked; false (counted and noted once) when refused.
bool SdesKeys::parse(DialogSdes& d, std::string_view line, sip::SdesCrypto& out) {
    const uint64_t line_hash = hash_bytes(line);
    if (refused_before(d, line_hash)) return false;
    sip::SdesError e = sip::parse_crypto_attribute(line, out);
    if (e == sip::SdesError::ok) e = sip::sdes_supported(out);
    if (e == sip::SdesError::ok) return true;
    // The tag, for the note: the leading digits of the line, if any (RFC 4568 9.1).
    uint32_t tag = 0;
    for (size_t i = 0; i < line.size() && i < 9 && line[i] >= '0' && line[i] <= '9'; ++i)
        tag = tag * 10 + static_cast<uint32_t>(line[i] - '0');
    sip::wipe(out);
    refuse(d, e, tag);
    d.refused_lines[d.refused_next++ % std::size(d.refused_lines)] = line_hash;
    return false;
}

// Contexts for every key of one parsed line, as slots of role. False when the dialog's slots
// or the pool ran out (counted; the keys made so far stay).
bool SdesKeys::add_line(DialogSdes& d, Side sender, uint8_t media, uint64_t line_hash,
                        const sip::SdesCrypto& c, SdesRole role) {
    const crypto::SrtpProfileInfo& info = crypto::profile_info(c.suite);
    for (size_t k = 0; k < c.key_count; ++k) {
        const sip::SdesKey& key = c.keys[k];
        SdesSlot* slot = nullptr;
        for (SdesSlot& x : d.slots)
            if (x.context == nullptr) {
                slot = &x;
                break;
            }
        uint8_t mki[keys::kMaxMkiLen] = {};
        for (uint8_t i = 0; i < key.mki_len; ++i) {
            const unsigned shift = 8u * (key.mki_len - 1u - i);
            mki[i] = shift < 64 ? static_cast<uint8_t>(key.mki >> shift) : 0;
        }
        const keys::SrtpContext* ctx =
            slot == nullptr
                ? nullptr
                : pool_.create(engine_, c.suite,
                               std::span<const uint8_t>(key.key_salt, info.key_len),
                               std::span<const uint8_t>(key.key_salt + info.key_len, info.salt_len),
                               mki, key.mki_len);
        if (ctx == nullptr) {
            counters_.sdes_contexts_exhausted.add();
            return false;
        }
        *slot = SdesSlot{ctx, line_hash, c.tag, sender, media, role};
    }
    return true;
}

void SdesKeys::set_role(DialogSdes& d, Side sender, uint8_t media, SdesRole from, SdesRole to) {
    for (SdesSlot& x : d.slots)
        if (x.context != nullptr && x.sender == sender && x.media == media && x.role == from)
            x.role = to;
}

// Every line of an offer becomes an offered key of its sender: until the answer names the
// tag, the offerer may send with any of them (it keeps its current keys meanwhile).
void SdesKeys::take_offer(DialogSdes& d, Side sender, const sip::SdpSession& sdp) {
    for (uint8_t m = 0; m < sip::kMaxMediaStreams; ++m)
        set_role(d, sender, m, SdesRole::offered, SdesRole::dropped);
    sip::SdesCrypto c;
    for (size_t m = 0; m < sdp.media_count; ++m) {
        const sip::MediaStream& ms = sdp.media[m];
        for (uint8_t l = 0; l < ms.crypto_count; ++l) {
            if (!parse(d, ms.crypto[l], c)) continue;
            if (add_line(d, sender, static_cast<uint8_t>(m), hash_bytes(ms.crypto[l]), c,
                         SdesRole::offered))
                counters_.sdes_lines_installed.add();
            sip::wipe(c);
        }
    }
    d.offer_from = sender;
}

// The answer's line per media names the offer's tag: those offered keys become the offerer's
// current ones, the answer's own keys the answerer's; the keys they replace stay one round as
// previous (packets in flight), older ones and the unchosen offers go.
void SdesKeys::take_answer(DialogSdes& d, Side answerer, const sip::SdpSession& sdp) {
    const Side offerer = other_side(answerer);
    sip::SdesCrypto c;
    for (uint8_t m = 0; m < sip::kMaxMediaStreams; ++m) {
        bool chosen = false;
        bool any_line = false;
        uint32_t tag = 0;
        uint64_t line_hash = 0;
        if (m < sdp.media_count) {
            const sip::MediaStream& ms = sdp.media[m];
            any_line = ms.crypto_count > 0;
            for (uint8_t l = 0; !chosen && l < ms.crypto_count; ++l) {
                chosen = parse(d, ms.crypto[l], c);
                line_hash = hash_bytes(ms.crypto[l]);
            }
            tag = c.tag;
        }
        // The offered keys the answer chose; when its lines were all refused the tag is
        // unknown, and every offered key stays a candidate (the tag of a packet decides).
        const bool keep_all = any_line && !chosen;
        auto picked = [&](const SdesSlot& x) {
            return x.context != nullptr && x.sender == offerer && x.media == m &&
                   x.role == SdesRole::offered && (keep_all || (chosen && x.tag == tag));
        };
        bool offered_picked = false;
        for (const SdesSlot& x : d.slots) offered_picked = offered_picked || picked(x);
        if (offered_picked) {
            set_role(d, offerer, m, SdesRole::previous, SdesRole::dropped);
            set_role(d, offerer, m, SdesRole::current, SdesRole::previous);
            for (SdesSlot& x : d.slots)
                if (picked(x)) x.role = SdesRole::current;
        }
        set_role(d, offerer, m, SdesRole::offered, SdesRole::dropped);
        if (!chosen) continue;
        set_role(d, answerer, m, SdesRole::previous, SdesRole::dropped);
        set_role(d, answerer, m, SdesRole::current, SdesRole::previous);
        if (add_line(d, answerer, m, line_hash, c, SdesRole::current))
            counters_.sdes_lines_installed.add();
        sip::wipe(c);
    }
    d.offer_from = Side::unknown;
}

// The same answer again (a reliable 183, then the 200): every line is already current.
bool SdesKeys::repeats_current(const DialogSdes& d, Side sender, const sip::SdpSession& sdp) const {
    for (size_t m = 0; m < sdp.media_count; ++m) {
        const sip::MediaStream& ms = sdp.media[m];
        for (uint8_t l = 0; l < ms.crypto_count; ++l) {
            const uint64_t h = hash_bytes(ms.crypto[l]);
            bool found = refused_before(d, h);
            for (const SdesSlot& x : d.slots)
                found = found || (x.context != nullptr && x.sender == sender && x.media == m &&
                                  x.role == SdesRole::current && x.line_hash == h);
            if (!found) return false;
        }
    }
    return true;
}

// The SDP of one (not retransmitted) message: true when the dialog's SDES keys changed.
bool SdesKeys::take(DialogSdes& d, uint32_t cin, Side sender, const sip::DialogMessage& m,
                    const sip::SdpSession& sdp) {
    cin_ = cin;
    bool lines = false;
    for (size_t i = 0; i < sdp.media_count; ++i) lines = lines || sdp.media[i].crypto_count > 0;
    if (!lines && d.offer_from == Side::unknown) return false;
    // RFC 3264 / RFC 3261 13.2.1: an INVITE or UPDATE with SDP is an offer; otherwise an SDP
    // answers the other side's pending offer (18x/2xx to the INVITE, ACK or PRACK to an offer
    // made in a response), or it is an offer made in a response.
    const bool offer_request =
        m.is_request && (m.method == sip::Method::invite || m.method == sip::Method::update);
    if (!offer_request && d.offer_from == other_side(sender)) {
        take_answer(d, sender, sdp);
        return true;
    }
    if (!m.is_request && repeats_current(d, sender, sdp)) return false;
    take_offer(d, sender, sdp);
    return true;
}

// A flow's contexts per sending side: current, then offered, then previous keys of its m=
// line, at most kMaxFlowSdesContexts each.
void SdesKeys::fill(const DialogSdes& d, uint8_t media, FlowInfo& info) const {
    for (int side = 0; side < 2; ++side) {
        uint8_t n = 0;
        for (SdesRole role : {SdesRole::current, SdesRole::offered, SdesRole::previous})
            for (const SdesSlot& x : d.slots)
                if (x.context != nullptr && x.media == media &&
                    x.sender == static_cast<Side>(side) && x.role == role &&
                    n < kMaxFlowSdesContexts)
                    info.sdes[side][n++] = x.context;
        info.sdes_count[side] = n;
    }
}

// After the flows naming them were replaced or removed: the dropped contexts go back to the
// pool once every reader has passed a quiescent state.
void SdesKeys::retire_dropped(DialogSdes& d) {
    for (SdesSlot& x : d.slots)
        if (x.context != nullptr && x.role == SdesRole::dropped) {
            pool_.retire(x.context);
            x = SdesSlot{};
        }
}

}  // namespace liprobe::media::detail
