#include "liprobe/net/ip_reassembly.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "liprobe/net/checksum.hpp"

namespace liprobe::net {

struct IpReassembler::Slot {
    enum class State : uint8_t { free, assembling, completed };
    State state = State::free;
    uint8_t ip_version = 0;
    uint8_t protocol = 0;  // IPv4 only (part of the key)
    bool have_last = false;
    uint32_t id = 0;
    IpAddress src{}, dst{};
    int64_t first_seen_us = 0;
    uint32_t header_len = 0;  // unfragmentable part, 0 until the offset-0 fragment arrived
    uint32_t total = 0;       // fragmentable length, known once the last fragment arrived
    uint32_t received = 0;    // octets of fragment data stored (ranges never overlap)
    uint32_t fragment_count = 0;
    int32_t older = -1, newer = -1;  // the age list of incomplete datagrams
};

namespace {

bool same_key(const IpAddress& a, const IpAddress& b, uint8_t version) {
    return std::memcmp(a.bytes, b.bytes, version == 4 ? 4 : 16) == 0;
}

uint32_t per_source_bound(const IpReassemblyConfig& c) {
    return std::clamp<uint32_t>(c.max_datagrams_per_source, 1, c.max_datagrams);
}

}  // namespace

const char* fragment_result_name(FragmentResult result) {
    switch (result) {
        case FragmentResult::held:
            return "held";
        case FragmentResult::complete:
            return "complete";
        case FragmentResult::bad_length:
            return "bad_length";
        case FragmentResult::too_large:
            return "too_large";
        case FragmentResult::too_many:
            return "too_many";
        case FragmentResult::overlap:
            return "overlap";
        case FragmentResult::duplicate:
            return "duplicate";
        case FragmentResult::inconsistent:
            return "inconsistent";
        case FragmentResult::table_full:
            return "table_full";
    }
    return "unknown";
}

IpReassembler::IpReassembler(const IpReassemblyConfig& config) : config_(config) {
    if (config_.max_datagrams == 0 || config_.max_fragments == 0 ||
        config_.max_fragments > kMaxFragmentsPerDatagram || config_.max_datagram_bytes == 0 ||
        config_.max_datagram_bytes > 16u * 1024 * 1024 || config_.timeout_us <= 0) {
        throw std::invalid_argument(
            "ip reassembly: max_datagrams, max_fragments (1..64), max_datagram_bytes and "
            "timeout must be positive");
    }
    slot_bytes_ = kMaxFragmentHeaderBytes + config_.max_datagram_bytes;
    slots_ = std::make_unique<Slot[]>(config_.max_datagrams);
    ranges_ = std::make_unique<Range[]>(size_t{config_.max_datagrams} * config_.max_fragments);
    buffers_ = std::make_unique<uint8_t[]>(size_t{config_.max_datagrams} * slot_bytes_);
}

IpReassembler::~IpReassembler() = default;

uint8_t* IpReassembler::data_of(const Slot& slot) const {
    const size_t index = static_cast<size_t>(&slot - slots_.get());
    return buffers_.get() + index * slot_bytes_ + kMaxFragmentHeaderBytes;
}

IpReassembler::Range* IpReassembler::ranges_of(const Slot& slot) const {
    const size_t index = static_cast<size_t>(&slot - slots_.get());
    return ranges_.get() + index * config_.max_fragments;
}

void IpReassembler::free_slot(Slot& slot, Discard why) {
    switch (why) {
        case Discard::timed_out:
            ++stats_.datagrams_timed_out;
            stats_.fragments_timed_out += slot.fragment_count;
            break;
        case Discard::discarded:
            ++stats_.datagrams_discarded;
            stats_.fragments_discarded += slot.fragment_count;
            break;
        case Discard::flushed:
            ++stats_.datagrams_flushed;
            stats_.fragments_flushed += slot.fragment_count;
            break;
        case Discard::evicted:
            ++stats_.datagrams_evicted;
            stats_.fragments_evicted += slot.fragment_count;
            break;
    }
    unlink(slot);
    slot.state = Slot::State::free;
    --in_flight_;
}

void IpReassembler::link_newest(Slot& slot) {
    const int32_t index = static_cast<int32_t>(&slot - slots_.get());
    slot.older = newest_;
    slot.newer = -1;
    if (newest_ >= 0)
        slots_[newest_].newer = index;
    else
        oldest_ = index;
    newest_ = index;
}

void IpReassembler::unlink(Slot& slot) {
    (slot.older >= 0 ? slots_[slot.older].newer : oldest_) = slot.newer;
    (slot.newer >= 0 ? slots_[slot.newer].older : newest_) = slot.older;
    slot.older = slot.newer = -1;
}

IpReassembler::Slot* IpReassembler::find(const ParsedPacket& p, int64_t now_us) {
    for (uint32_t i = 0; i < config_.max_datagrams; ++i) {
        Slot& s = slots_[i];
        if (s.state != Slot::State::assembling || s.id != p.fragment_id ||
            s.ip_version != p.ip_version || (p.ip_version == 4 && s.protocol != p.protocol) ||
            !same_key(s.src, p.src, p.ip_version) || !same_key(s.dst, p.dst, p.ip_version)) {
            continue;
        }
        if (now_us - s.first_seen_us > config_.timeout_us) {
            free_slot(s, Discard::timed_out);
            return nullptr;
        }
        return &s;
    }
    return nullptr;
}

// Makes room first (see the header): the source's own oldest when it holds its share, else the
// timed out, else the oldest of all when the table is full.
IpReassembler::Slot* IpReassembler::allocate(const ParsedPacket& p, int64_t now_us) {
    uint32_t same_source = 0;
    Slot* source_oldest = nullptr;
    for (int32_t i = oldest_; i >= 0; i = slots_[i].newer) {
        Slot& s = slots_[i];
        if (s.ip_version != p.ip_version || !same_key(s.src, p.src, p.ip_version)) continue;
        if (source_oldest == nullptr) source_oldest = &s;
        ++same_source;
    }
    if (same_source >= per_source_bound(config_)) {
        const bool timed_out = now_us - source_oldest->first_seen_us > config_.timeout_us;
        free_slot(*source_oldest, timed_out ? Discard::timed_out : Discard::evicted);
    } else if (in_flight_ == config_.max_datagrams) {
        expire(now_us);
        if (in_flight_ == config_.max_datagrams && oldest_ >= 0)
            free_slot(slots_[oldest_], Discard::evicted);
    }
    for (uint32_t i = 0; i < config_.max_datagrams; ++i) {
        Slot& s = slots_[i];
        if (s.state != Slot::State::free) continue;
        s = Slot{};
        s.state = Slot::State::assembling;
        s.ip_version = p.ip_version;
        s.protocol = p.ip_version == 4 ? p.protocol : 0;
        s.id = p.fragment_id;
        s.src = p.src;
        s.dst = p.dst;
        s.first_seen_us = now_us;
        link_newest(s);
        ++in_flight_;
        return &s;
    }
    return nullptr;
}

// Copies the unfragmentable part of the offset-0 fragment in front of the data. IPv6: the
// fragment header is left out and the next-header field pointing at it takes its value.
bool IpReassembler::store_header(Slot& slot, const uint8_t* frame, const ParsedPacket& p) {
    uint8_t* data = data_of(slot);
    if (p.ip_version == 4) {
        const uint32_t len = p.l4_offset - p.l3_offset;
        if (len > kMaxFragmentHeaderBytes) return false;
        std::memcpy(data - len, frame + p.l3_offset, len);
        slot.header_len = len;
        return true;
    }
    const uint32_t len = p.fragment_header_offset - p.l3_offset;
    if (len > kMaxFragmentHeaderBytes) return false;
    uint8_t* header = data - len;
    std::memcpy(header, frame + p.l3_offset, len);
    // Walk the extension headers before the fragment header to the field naming it.
    uint32_t next_field = 6;
    uint32_t offset = 40;
    while (offset < len) {
        next_field = offset;
        offset += (header[offset + 1] + 1u) * 8u;
    }
    header[next_field] = frame[p.fragment_header_offset];
    slot.header_len = len;
    return true;
}

void IpReassembler::finish(Slot& slot) {
    uint8_t* header = data_of(slot) - slot.header_len;
    const uint32_t total_len = slot.header_len + slot.total;
    if (slot.ip_version == 4) {
        header[2] = static_cast<uint8_t>(total_len >> 8);
        header[3] = static_cast<uint8_t>(total_len);
        header[6] &= 0x40;  // keep DF, clear MF and the offset
        header[7] = 0;
        header[10] = header[11] = 0;
        const uint16_t sum = ipv4_header_checksum(header, slot.header_len);
        header[10] = static_cast<uint8_t>(sum >> 8);
        header[11] = static_cast<uint8_t>(sum);
    } else {
        const uint32_t payload_len = total_len - 40;
        header[4] = static_cast<uint8_t>(payload_len >> 8);
        header[5] = static_cast<uint8_t>(payload_len);
    }
    packet_ = header;
    packet_len_ = total_len;
    unlink(slot);
    slot.state = Slot::State::completed;
    ++stats_.datagrams_completed;
    stats_.fragments_completed += slot.fragment_count - 1;  // the last one was not held
    if (completed_count_ == 2) {  // never with the pipeline (it nests at most once)
        slots_[completed_[0]].state = Slot::State::free;
        --in_flight_;
        completed_[0] = completed_[1];
        completed_count_ = 1;
    }
    completed_[completed_count_++] = static_cast<uint32_t>(&slot - slots_.get());
}

void IpReassembler::release_completed() {
    for (uint32_t i = 0; i < completed_count_; ++i) {
        slots_[completed_[i]].state = Slot::State::free;
        --in_flight_;
    }
    completed_count_ = 0;
    packet_ = nullptr;
    packet_len_ = 0;
}

FragmentResult IpReassembler::add(const uint8_t* frame, const ParsedPacket& p, int64_t now_us) {
    const uint32_t begin = uint32_t{p.fragment_offset} * 8u;
    const uint32_t len = p.l3_end - p.l4_offset;
    const uint32_t end = begin + len;
    if (len == 0 || (p.more_fragments && len % 8 != 0)) return FragmentResult::bad_length;
    if (end > config_.max_datagram_bytes) {
        if (Slot* s = find(p, now_us)) free_slot(*s, Discard::discarded);
        return FragmentResult::too_large;
    }
    Slot* slot = find(p, now_us);
    if (slot == nullptr) {
        slot = allocate(p, now_us);
        if (slot == nullptr) return FragmentResult::table_full;
    }
    Range* ranges = ranges_of(*slot);
    uint8_t* data = data_of(*slot);
    for (uint32_t i = 0; i < slot->fragment_count; ++i) {
        const Range& r = ranges[i];
        if (begin >= r.end || r.begin >= end) continue;
        if (begin == r.begin && end == r.end) {
            if (std::memcmp(data + begin, frame + p.l4_offset, len) == 0) {
                return FragmentResult::duplicate;
            }
            free_slot(*slot, Discard::discarded);
            return FragmentResult::inconsistent;
        }
        free_slot(*slot, Discard::discarded);
        return FragmentResult::overlap;
    }
    // The last fragment fixes the total; nothing may lie beyond it, and it may not move.
    const bool last = !p.more_fragments;
    bool consistent = true;
    if (last) {
        if (slot->have_last && slot->total != end) consistent = false;
        for (uint32_t i = 0; i < slot->fragment_count; ++i) {
            if (ranges[i].end > end) consistent = false;
        }
    } else if (slot->have_last && end > slot->total) {
        consistent = false;
    }
    if (!consistent) {
        free_slot(*slot, Discard::discarded);
        return FragmentResult::inconsistent;
    }
    if (slot->fragment_count == config_.max_fragments) {
        free_slot(*slot, Discard::discarded);
        return FragmentResult::too_many;
    }
    if (begin == 0 && !store_header(*slot, frame, p)) {
        free_slot(*slot, Discard::discarded);
        return FragmentResult::too_large;
    }
    std::memcpy(data + begin, frame + p.l4_offset, len);
    ranges[slot->fragment_count++] = Range{begin, end};
    slot->received += len;
    if (last) {
        slot->have_last = true;
        slot->total = end;
    }
    if (slot->have_last && slot->header_len != 0 && slot->received == slot->total) {
        // The rebuilt length field must hold the datagram (IPv4 total, IPv6 payload length).
        const uint32_t fixed = slot->ip_version == 4 ? 0 : 40;
        if (slot->header_len + slot->total - fixed > 0xFFFF) {
            --slot->fragment_count;  // the trigger is dropped, not held
            free_slot(*slot, Discard::discarded);
            return FragmentResult::too_large;
        }
        finish(*slot);
        return FragmentResult::complete;
    }
    return FragmentResult::held;
}

void IpReassembler::expire(int64_t now_us) {
    for (uint32_t i = 0; i < config_.max_datagrams; ++i) {
        Slot& s = slots_[i];
        if (s.state == Slot::State::assembling && now_us - s.first_seen_us > config_.timeout_us) {
            free_slot(s, Discard::timed_out);
        }
    }
}

void IpReassembler::flush() {
    for (uint32_t i = 0; i < config_.max_datagrams; ++i) {
        if (slots_[i].state == Slot::State::assembling) free_slot(slots_[i], Discard::flushed);
    }
}

}  // namespace liprobe::net
