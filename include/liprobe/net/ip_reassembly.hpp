// Bounded IPv4 / IPv6 fragment reassembly for one worker (not thread-safe; one per worker).
//
// Choice: our own reassembler into buffers preallocated at construction, not DPDK's
// librte_ip_frag. rte_ip_frag takes ownership of the fragment mbufs and returns a chained
// mbuf; the workers would then have to hold mbufs from the rx pool for up to the timeout
// (starving the pool under a fragment flood), linearise the chain anyway for SIP parsing and
// for encrypted-CC delivery of the whole IP packet, and offline tools without mbufs could not
// use it. Its drops (overlap, table full, timeout) are also not reported per reason. Here a
// fragment is copied once into its datagram's buffer; the worker keeps and frees its mbuf as
// usual; every drop has a name; timeouts run on packet time (pcap time offline).
//
// Rules: a datagram is keyed by (version, src, dst, Identification, and for IPv4 protocol).
// Its timeout runs from its first fragment. A fragment that overlaps an earlier one discards
// the whole datagram (RFC 5722); an exact duplicate with identical octets is dropped alone; a
// duplicate with different octets, or a fragment that disagrees with the known total length,
// discards the datagram (inconsistent). Non-last fragments must carry a multiple of 8 octets.
//
// Floods (issue 11): a table full of first fragments that never complete must not starve a
// datagram whose fragments arrive close together. A new datagram never finds the table full:
// when its source already holds max_datagrams_per_source incomplete datagrams, that source's
// oldest is evicted; otherwise, when the table is full, timed-out datagrams are freed and, if
// none, the oldest incomplete datagram of any source is evicted (counted). So one sender
// cannot hold more than its share, and under a flood from many sources a datagram survives as
// long as fewer than max_datagrams new datagrams start between its first and last fragment.
// Age is allocation order (an intrusive list: O(1) to find the oldest, no allocation).
#pragma once

#include <cstdint>
#include <memory>

#include "liprobe/net/parse.hpp"

namespace liprobe::net {

struct IpReassemblyConfig {
    uint32_t max_datagrams = 64;          // datagrams in flight
    uint32_t max_datagrams_per_source = 16;  // incomplete datagrams of one source address
    uint32_t max_fragments = 16;          // fragments per datagram (<= kMaxFragmentsPerDatagram)
    uint32_t max_datagram_bytes = 65535;  // fragmentable part (IP payload) of one datagram
    int64_t timeout_us = 2'000'000;       // from the first fragment, on packet time
};
inline constexpr uint32_t kMaxFragmentsPerDatagram = 64;
// Room for the unfragmentable part (IPv4 header with options, IPv6 header + extensions).
inline constexpr uint32_t kMaxFragmentHeaderBytes = 256;

enum class FragmentResult : uint8_t {
    held,          // stored, datagram still incomplete
    complete,      // this fragment completed the datagram (see packet())
    bad_length,    // no data, or a non-last fragment not a multiple of 8 octets
    too_large,     // datagram beyond max_datagram_bytes, or headers beyond the header room
    too_many,      // more than max_fragments fragments (datagram discarded)
    overlap,       // overlaps an earlier fragment (datagram discarded)
    duplicate,     // same range and octets as an earlier fragment (this fragment dropped)
    inconsistent,  // same range, other octets, or disagrees with the total (discarded)
    table_full,    // every slot holds a completed datagram still being read (dropped)
};
const char* fragment_result_name(FragmentResult result);

struct IpReassemblyStats {
    uint64_t datagrams_completed = 0;
    uint64_t datagrams_timed_out = 0;  // incomplete after timeout_us
    uint64_t fragments_timed_out = 0;  // fragments held by those
    uint64_t datagrams_discarded = 0;  // by too_large / too_many / overlap / inconsistent
    uint64_t fragments_discarded = 0;  // fragments held by those (not counting the trigger)
    uint64_t datagrams_flushed = 0;    // incomplete at flush() (end of an offline run)
    uint64_t fragments_flushed = 0;
    uint64_t datagrams_evicted = 0;    // oldest incomplete, to make room (table or source full)
    uint64_t fragments_evicted = 0;
    uint64_t fragments_completed = 0;  // held fragments of completed datagrams (not the last)
    // Every fragment add() returned held for ends in exactly one of fragments_completed,
    // _timed_out, _discarded, _flushed, _evicted, or is still in flight.
};

class IpReassembler {
  public:
    explicit IpReassembler(const IpReassemblyConfig& config);
    ~IpReassembler();
    IpReassembler(const IpReassembler&) = delete;
    IpReassembler& operator=(const IpReassembler&) = delete;

    // p must be a fragment located by parse_frame()/parse_ip() in frame (status ipv4_fragment
    // or ipv6_fragment). On complete, packet() is the whole reassembled IP packet (header
    // lengths, IPv4 checksum, IPv6 next header fixed; fragment header removed).
    FragmentResult add(const uint8_t* frame, const ParsedPacket& p, int64_t now_us);

    // The datagram completed by the last add(): valid until release_completed().
    const uint8_t* packet() const { return packet_; }
    uint32_t packet_len() const { return packet_len_; }
    // Returns the buffers of completed datagrams to the free pool. The pipeline calls it at
    // the start of each packet, so a completed datagram stays readable while it is processed
    // (also when it carries a GTP-U inner fragment that goes through add() again).
    void release_completed();

    // Discards every datagram older than the timeout (counted). Bounded by max_datagrams.
    void expire(int64_t now_us);
    // Discards every incomplete datagram (counted as flushed): end of input.
    void flush();

    uint32_t in_flight() const { return in_flight_; }
    const IpReassemblyStats& stats() const { return stats_; }
    const IpReassemblyConfig& config() const { return config_; }

  private:
    struct Range {
        uint32_t begin, end;
    };
    struct Slot;
    enum class Discard : uint8_t { timed_out, discarded, flushed, evicted };

    Slot* find(const ParsedPacket& p, int64_t now_us);
    Slot* allocate(const ParsedPacket& p, int64_t now_us);
    void free_slot(Slot& slot, Discard why);
    void link_newest(Slot& slot);
    void unlink(Slot& slot);
    uint8_t* data_of(const Slot& slot) const;
    Range* ranges_of(const Slot& slot) const;
    bool store_header(Slot& slot, const uint8_t* frame, const ParsedPacket& p);
    void finish(Slot& slot);

    IpReassemblyConfig config_;
    std::unique_ptr<Slot[]> slots_;
    std::unique_ptr<Range[]> ranges_;
    std::unique_ptr<uint8_t[]> buffers_;
    uint32_t slot_bytes_ = 0;
    uint32_t in_flight_ = 0;
    // Incomplete datagrams, oldest first (slot indices; -1 ends).
    int32_t oldest_ = -1, newest_ = -1;
    uint32_t completed_[2] = {};
    uint32_t completed_count_ = 0;
    const uint8_t* packet_ = nullptr;
    uint32_t packet_len_ = 0;
    IpReassemblyStats stats_;
};

}  // namespace liprobe::net
