// The application/vnd.3gpp.mcptt-info+xml body (TS 24.379 F.1): the MCPTT IDs that identify
// who is calling whom. Values may be wrapped in <mcpttURI> or given bare; namespace prefixes are
// ignored (elements are matched on their local name). Parsed with pugixml whose allocations go to
// this parser's fixed arena, so a worker can parse without touching the heap.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace liprobe::sip {

// A short string with inline storage.
template <size_t N>
struct FixedString {
    std::array<char, N> data{};
    uint16_t len = 0;
    std::string_view view() const { return {data.data(), len}; }
    bool empty() const { return len == 0; }
    bool assign(std::string_view s) {
        if (s.size() > N) return false;
        for (size_t i = 0; i < s.size(); ++i) data[i] = s[i];
        len = static_cast<uint16_t>(s.size());
        return true;
    }
};

inline constexpr size_t kMaxMcpttIdLength = 256;

struct McpttIds {
    FixedString<kMaxMcpttIdLength> request_uri;       // mcptt-request-uri
    FixedString<kMaxMcpttIdLength> calling_user_id;   // mcptt-calling-user-id
    FixedString<kMaxMcpttIdLength> called_party_id;   // mcptt-called-party-id
    FixedString<kMaxMcpttIdLength> calling_group_id;  // mcptt-calling-group-id
    FixedString<32> session_type;                     // session-type (prearranged, private, ...)
};

enum class McpttInfoError : uint8_t {
    ok = 0,
    empty,
    too_large,
    bad_xml,
    out_of_memory,
    id_too_long
};
const char* mcptt_info_error_name(McpttInfoError e);

// One per worker thread (not thread-safe; owns its arena).
class McpttInfoParser {
  public:
    static constexpr size_t kMaxBody = 16384;
    McpttInfoParser();
    ~McpttInfoParser();
    McpttInfoParser(const McpttInfoParser&) = delete;
    McpttInfoParser& operator=(const McpttInfoParser&) = delete;

    // The first occurrence of each ID; absent IDs stay empty.
    McpttInfoError parse(std::string_view body, McpttIds& out);

  private:
    struct Arena;
    std::unique_ptr<Arena> arena_;
};

}  // namespace liprobe::sip
