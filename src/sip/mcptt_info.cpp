#include "liprobe/sip/mcptt_info.hpp"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <pugixml.hpp>

#include "liprobe/sip/uri.hpp"

namespace liprobe::sip {

// pugixml's allocator is process-wide. We install one that serves from the calling thread's
// active arena while McpttInfoParser::parse runs, and otherwise defers to the previous functions
// (malloc/free by default), so other pugixml users in the process are unaffected.
struct McpttInfoParser::Arena {
    static constexpr size_t kSize = 256 * 1024;
    alignas(64) unsigned char bytes[kSize];
    size_t used = 0;
};

namespace {

struct ActiveArena {
    unsigned char* base = nullptr;
    size_t size = 0;
    size_t* used = nullptr;
};
thread_local ActiveArena t_arena;
pugi::allocation_function g_prev_alloc = nullptr;
pugi::deallocation_function g_prev_free = nullptr;

void* arena_alloc(size_t size) {
    if (t_arena.base) {
        size_t off = (*t_arena.used + 15) & ~static_cast<size_t>(15);
        if (off > t_arena.size || t_arena.size - off < size) return nullptr;  // -> out_of_memory
        *t_arena.used = off + size;
        return t_arena.base + off;
    }
    return g_prev_alloc(size);
}

void arena_free(void* p) {
    auto* c = static_cast<unsigned char*>(p);
    if (t_arena.base && c >= t_arena.base && c < t_arena.base + t_arena.size) return;
    g_prev_free(p);
}

void install_allocator() {
    static std::once_flag once;
    std::call_once(once, [] {
        g_prev_alloc = pugi::get_memory_allocation_function();
        g_prev_free = pugi::get_memory_deallocation_function();
        pugi::set_memory_management_functions(arena_alloc, arena_free);
    });
}

std::string_view local_name(const char* name) {
    std::string_view n(name);
    size_t colon = n.rfind(':');
    return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

// The value of an ID element: the text of its <mcpttURI> child, else its own text.
std::string_view id_value(pugi::xml_node node) {
    for (pugi::xml_node child = node.first_child(); child; child = child.next_sibling()) {
        if (child.type() == pugi::node_element && local_name(child.name()) == "mcpttURI")
            return trim_lws(child.child_value());
    }
    return trim_lws(node.child_value());
}

}  // namespace

const char* mcptt_info_error_name(McpttInfoError e) {
    switch (e) {
        case McpttInfoError::ok:
            return "ok";
        case McpttInfoError::empty:
            return "empty";
        case McpttInfoError::too_large:
            return "too_large";
        case McpttInfoError::bad_xml:
            return "bad_xml";
        case McpttInfoError::out_of_memory:
            return "out_of_memory";
        case McpttInfoError::id_too_long:
            return "id_too_long";
    }
    return "unknown";
}

McpttInfoParser::McpttInfoParser() : arena_(std::make_unique<Arena>()) {
    install_allocator();
}
McpttInfoParser::~McpttInfoParser() = default;

McpttInfoError McpttInfoParser::parse(std::string_view body, McpttIds& out) {
    out = McpttIds{};
    if (trim_lws(body).empty()) return McpttInfoError::empty;
    if (body.size() > kMaxBody) return McpttInfoError::too_large;
    Arena& a = *arena_;
    // The body is copied into the arena and parsed in place (pugixml rewrites it).
    std::memcpy(a.bytes, body.data(), body.size());
    a.used = body.size();
    t_arena = ActiveArena{a.bytes, Arena::kSize, &a.used};
    McpttInfoError result = McpttInfoError::ok;
    {
        pugi::xml_document doc;
        const unsigned options = pugi::parse_minimal | pugi::parse_escapes | pugi::parse_cdata;
        pugi::xml_parse_result r =
            doc.load_buffer_inplace(a.bytes, body.size(), options, pugi::encoding_utf8);
        if (r.status == pugi::status_out_of_memory) {
            result = McpttInfoError::out_of_memory;
        } else if (!r) {
            result = McpttInfoError::bad_xml;
        } else {
            // Iterative pre-order walk, bounded.
            size_t visited = 0;
            pugi::xml_node n = doc.first_child();
            while (n && visited++ < 4096 && result == McpttInfoError::ok) {
                if (n.type() == pugi::node_element) {
                    std::string_view name = local_name(n.name());
                    FixedString<kMaxMcpttIdLength>* slot = nullptr;
                    if (name == "mcptt-request-uri")
                        slot = &out.request_uri;
                    else if (name == "mcptt-calling-user-id")
                        slot = &out.calling_user_id;
                    else if (name == "mcptt-called-party-id")
                        slot = &out.called_party_id;
                    else if (name == "mcptt-calling-group-id")
                        slot = &out.calling_group_id;
                    if (slot && slot->empty()) {
                        if (!slot->assign(id_value(n))) result = McpttInfoError::id_too_long;
                    } else if (name == "session-type" && out.session_type.empty()) {
                        out.session_type.assign(trim_lws(n.child_value()));
                    }
                }
                if (n.first_child()) {
                    n = n.first_child();
                    continue;
                }
                while (n && !n.next_sibling()) n = n.parent();
                if (n) n = n.next_sibling();
            }
        }
    }  // the document releases its pages into the still-active arena
    t_arena = ActiveArena{};
    return result;
}

}  // namespace liprobe::sip
