// Recognises SIP by content on any port: a Hyperscan block-mode database of SIP request lines
// (RFC 3261 methods) and status lines, anchored at the start of a UDP payload or TCP stream
// (after any keep-alive CRLFs). A 256-entry first-octet table rejects almost all non-SIP
// payloads before Hyperscan runs. classify() is allocation-free; each thread uses its own slot.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "liprobe/sip/hyperscan.hpp"

namespace liprobe::sip {

enum class StartLine : uint8_t { none = 0, request = 1, response = 2 };

class SipDetector {
  public:
    // Only the start line is scanned, and at most this many octets of it.
    static constexpr size_t kScanLimit = 2048;

    // Control plane: compiles the database and one scratch per slot (worker thread).
    bool init(unsigned slots, std::string& error);

    // Fast path. slot < slots given to init().
    StartLine classify(std::string_view payload, unsigned slot) const;

    // True when the first octet can begin a SIP message (the cheap pre-check).
    static bool may_start_sip(unsigned char first_octet);

  private:
    HsBlockDatabase db_;
};

}  // namespace liprobe::sip
