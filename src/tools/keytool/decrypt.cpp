// liprobe-keytool decrypt: offline decryption of a capture with the probe's own fast path
// (KeyTable + SrtpDecryptor, hosted by an in-process EAL without hugepages or PCI).
// Streams the file: memory stays bounded by one burst of packets, whatever the capture size.
#include <rte_eal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "keytool.hpp"
#include "liprobe/keys/key_table.hpp"
#include "liprobe/net/checksum.hpp"
#include "liprobe/net/parse.hpp"
#include "liprobe/net/pcap_file.hpp"
#include "liprobe/srtp/decryptor.hpp"

namespace liprobe::keytool {
namespace {

constexpr unsigned kReaderId = 0;

// Starts EAL for this process only: no hugepages, no PCI, no shared config files, no telemetry
// socket, quiet, a unique file prefix. (DPDK 22.11 refuses --in-memory together with --no-huge,
// which implies legacy memory; --no-shconf gives the same "nothing shared" behaviour.)
class Eal {
  public:
    Eal() {
        std::vector<std::string> args = {
            "liprobe-keytool",
            "--no-huge",
            "--no-pci",
            "--no-shconf",
            "--no-telemetry",
            "-m",
            "256",
            "--log-level=*:error",
            "--file-prefix=liprobe-keytool-" + std::to_string(getpid())};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        ok_ = rte_eal_init(static_cast<int>(argv.size()), argv.data()) >= 0;
        if (ok_) runtime_dir_ = rte_eal_get_runtime_dir();
    }
    ~Eal() {
        if (!ok_) return;
        rte_eal_cleanup();
        // The per-process runtime directory EAL created is empty by now; leave no litter.
        if (!runtime_dir_.empty()) ::rmdir(runtime_dir_.c_str());
    }
    bool ok() const { return ok_; }

  private:
    bool ok_ = false;
    std::string runtime_dir_;
};

// RTP/RTCP version 2; RTCP by packet type 200..204 in the second octet (RFC 5761 rtcp-mux).
bool looks_like_rtp(const uint8_t* p, uint32_t len, bool* is_rtcp) {
    if (len < 8 || (p[0] >> 6) != 2) return false;
    *is_rtcp = p[1] >= 200 && p[1] <= 204;
    return *is_rtcp || len >= 12;
}

struct Slot {
    std::vector<uint8_t> original;  // the record as read, written back when not decrypted
    std::vector<uint8_t> work;      // decrypted in place
    net::PcapRecord record;         // timestamps and lengths of the original
    net::ParsedPacket parsed;
};

struct Totals {
    uint64_t packets = 0;
    uint64_t outcome[srtp::kOutcomeCount] = {};
    uint64_t decrypted_srtcp = 0;
    uint64_t not_srtp = 0;
    uint64_t other = 0;
};

class BurstWriter {
  public:
    BurstWriter(srtp::SrtpDecryptor& decryptor, const keys::KeyTable& table,
                net::PcapWriter& writer, Totals& totals)
        : decryptor_(decryptor), table_(table), writer_(writer), totals_(totals) {}

    Slot& next_slot() { return slots_[pending_]; }
    void push(bool is_rtcp, int64_t time_us) {
        Slot& s = slots_[pending_];
        srtp::Packet& p = packets_[pending_];
        p = srtp::Packet{};
        p.data = s.work.data() + s.parsed.payload_offset;
        p.len = s.parsed.payload_len;
        p.is_rtcp = is_rtcp;
        p.time_us = time_us;
        if (++pending_ == srtp::kMaxBurst) flush();
    }
    void flush() {
        if (pending_ == 0) return;
        decryptor_.decrypt_burst(packets_.data(), pending_);
        table_.quiescent(kReaderId);
        for (uint16_t i = 0; i < pending_; ++i) {
            Slot& s = slots_[i];
            const srtp::Packet& p = packets_[i];
            ++totals_.outcome[static_cast<size_t>(p.outcome)];
            uint32_t new_len = 0;
            if (p.outcome == srtp::Outcome::decrypted) {
                if (p.is_rtcp) ++totals_.decrypted_srtcp;
                new_len = net::set_udp_payload_length(s.work.data(), s.parsed, p.plain_len);
            }
            if (new_len != 0) {
                writer_.write(s.record.ts_sec, s.record.ts_frac, s.work.data(), new_len);
            } else {
                net::PcapRecord r = s.record;
                r.data = s.original.data();
                writer_.write(r);
            }
        }
        pending_ = 0;
    }

  private:
    srtp::SrtpDecryptor& decryptor_;
    const keys::KeyTable& table_;
    net::PcapWriter& writer_;
    Totals& totals_;
    std::array<Slot, srtp::kMaxBurst> slots_;
    std::array<srtp::Packet, srtp::kMaxBurst> packets_;
    uint16_t pending_ = 0;
};

void print_totals(const Totals& t, const srtp::SrtpDecryptor& d) {
    using srtp::Outcome;
    const auto count = [&](Outcome o) {
        return static_cast<unsigned long long>(t.outcome[static_cast<size_t>(o)]);
    };
    std::printf("packets %llu\n", static_cast<unsigned long long>(t.packets));
    std::printf("decrypted %llu (srtp %llu, srtcp %llu)\n", count(Outcome::decrypted),
                count(Outcome::decrypted) - static_cast<unsigned long long>(t.decrypted_srtcp),
                static_cast<unsigned long long>(t.decrypted_srtcp));
    std::printf("auth_failed %llu\n", count(Outcome::auth_failed));
    std::printf("unknown_mki %llu\n", count(Outcome::unknown_mki));
    std::printf("malformed %llu\n", count(Outcome::malformed));
    std::printf("not_srtp %llu\n", static_cast<unsigned long long>(t.not_srtp));
    std::printf("other %llu\n", static_cast<unsigned long long>(t.other));
    const srtp::Counters& c = d.counters();
    if (c.expired_key != 0) {
        std::printf("note: %llu packets had a known MKI but no key valid at packet time\n",
                    static_cast<unsigned long long>(c.expired_key));
    }
}

}  // namespace

int run_decrypt(const std::string& keys_path, const std::string& in_path,
                const std::string& out_path) {
    std::string text;
    if (!read_text_file(keys_path, text)) {
        std::fprintf(stderr, "liprobe-keytool: cannot read %s\n", keys_path.c_str());
        return 2;
    }
    const std::vector<keys::EntryResult> entries = keys::derive_keys_text(text);
    size_t contexts = 0;
    for (const auto& e : entries) contexts += e.contexts.size();

    Eal eal;
    if (!eal.ok()) {
        std::fprintf(stderr, "liprobe-keytool: cannot initialise DPDK EAL\n");
        return 2;
    }
    try {
        net::PcapReader reader(in_path);
        const auto link = reader.link_type();
        if (!link) {
            std::fprintf(stderr, "liprobe-keytool: %s: unsupported link type (DLT %d)\n",
                         in_path.c_str(), reader.dlt());
            return 2;
        }

        keys::KeyTableConfig config;
        config.name = "keytool_mki";
        config.capacity = static_cast<uint32_t>(std::max<size_t>(1024, 4 * contexts));
        config.max_readers = 1;
        keys::KeyTable table(config);
        size_t installed = 0, refused = 0;
        for (const keys::EntryResult& e : entries) {
            std::string reason = e.ok ? table.install(e) : e.reason;
            if (reason.empty()) {
                ++installed;
                continue;
            }
            ++refused;
            keys::EntryResult shown = e;
            shown.reason = reason;
            std::fprintf(stderr, "liprobe-keytool: %s: %s\n", keys_path.c_str(),
                         describe_refusal(shown).c_str());
        }

        srtp::SrtpDecryptor decryptor(table);
        std::printf("IPsec-MB architecture: %s\n", decryptor.gcm().architecture());
        std::printf("keys: %zu entries installed (%zu contexts), %zu refused\n", installed,
                    table.context_count(), refused);

        net::PcapWriter writer(out_path, reader.dlt(), reader.nanosecond(), reader.snaplen());
        Totals totals;
        table.register_reader(kReaderId);
        {
            BurstWriter burst(decryptor, table, writer, totals);
            net::PcapRecord rec;
            while (reader.next(rec)) {
                ++totals.packets;
                Slot& slot = burst.next_slot();
                net::ParsedPacket& parsed = slot.parsed;
                net::parse_frame(rec.data, rec.caplen, *link, parsed);
                bool is_rtcp = false;
                const bool candidate =
                    parsed.status == net::ParseStatus::ok &&
                    looks_like_rtp(rec.data + parsed.payload_offset, parsed.payload_len, &is_rtcp);
                if (!candidate) {
                    if (parsed.status == net::ParseStatus::ok) {
                        ++totals.not_srtp;
                    } else {
                        ++totals.other;
                    }
                    burst.flush();  // keep the file order
                    writer.write(rec);
                    continue;
                }
                slot.original.assign(rec.data, rec.data + rec.caplen);
                slot.work = slot.original;
                slot.record = rec;
                slot.record.data = nullptr;
                burst.push(is_rtcp, reader.time_us(rec));
            }
            burst.flush();
        }
        table.unregister_reader(kReaderId);
        writer.close();
        print_totals(totals, decryptor);
        std::printf("wrote %s (%llu packets)\n", out_path.c_str(),
                    static_cast<unsigned long long>(writer.records()));
        std::fflush(stdout);
        return refused != 0 ? 1 : 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "liprobe-keytool: %s\n", e.what());
        return 2;
    }
}

}  // namespace liprobe::keytool
