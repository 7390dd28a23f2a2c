// A read-only JSON document for key batches (POST /v1/keys, preload files): parsed through
// nlohmann's SAX interface into one flat node array and one character arena, both kept by the
// thread and reused by its next parse. A batch of 100 GMK entries is about 1,700 JSON values;
// as an nlohmann tree that was some 3,000 heap allocations and frees per request, and a tenth of
// the key API's time. Private to the key model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace liprobe::keys::detail {

class KeyJson;

enum class JsonKind : uint8_t {
    null,
    boolean,
    integer,
    unsigned_integer,
    floating,
    string,
    array,
    object
};

// One value of a parsed document, by index. Cheap to copy; valid until the document parses again.
class JsonValue {
  public:
    JsonValue(const KeyJson& doc, uint32_t index) : doc_(&doc), index_(index) {}

    JsonKind kind() const;
    bool is_null() const { return kind() == JsonKind::null; }
    bool is_string() const { return kind() == JsonKind::string; }
    bool is_array() const { return kind() == JsonKind::array; }
    bool is_object() const { return kind() == JsonKind::object; }
    // Integers as nlohmann reports them: non-negative ones are "unsigned" too.
    bool is_number_integer() const {
        return kind() == JsonKind::integer || kind() == JsonKind::unsigned_integer;
    }
    bool is_number_unsigned() const { return kind() == JsonKind::unsigned_integer; }
    int64_t as_int64() const;
    uint64_t as_uint64() const;
    std::string_view str() const;  // a string's decoded text ("" for other kinds)
    std::string_view key() const;  // the member name, for a value inside an object

    // Arrays and objects: the number of elements / members and iteration in document order.
    size_t size() const;
    bool empty() const { return size() == 0; }
    class Iterator {
      public:
        Iterator(const KeyJson* doc, uint32_t index) : doc_(doc), index_(index) {}
        JsonValue operator*() const { return {*doc_, index_}; }
        Iterator& operator++();
        bool operator!=(const Iterator& o) const { return index_ != o.index_; }

      private:
        const KeyJson* doc_;
        uint32_t index_;
    };
    Iterator begin() const;
    Iterator end() const { return {doc_, kNone}; }
    // An object's member by name (the last one when a name repeats, as nlohmann's tree keeps).
    std::optional<JsonValue> find(std::string_view name) const;

    static constexpr uint32_t kNone = UINT32_MAX;

  private:
    const KeyJson* doc_;
    uint32_t index_;
};

class KeyJson {
  public:
    // Parses text (the whole of it must be one JSON value); false when it is not valid JSON.
    bool parse(std::string_view text);
    // The document's root, after a successful parse.
    JsonValue root() const { return {*this, 0}; }
    // Cleanses the character arena (decoded strings: key hex among them). Call when done.
    void wipe();

    // This thread's document: its arena and node array are reused across requests.
    static KeyJson& for_this_thread();
    // The whole character arena, used or not: for the tests that check it is wiped.
    std::string_view arena() const { return chars_; }

  private:
    friend class JsonValue;
    friend class KeyJsonBuilder;
    struct Node {
        JsonKind kind = JsonKind::null;
        uint32_t next = JsonValue::kNone;    // next sibling in the enclosing array/object
        uint32_t first = JsonValue::kNone;   // first child (arrays, objects)
        uint32_t count = 0;                  // children
        uint32_t key_at = 0, key_len = 0;    // member name in chars_ (inside objects)
        uint32_t text_at = 0, text_len = 0;  // string value in chars_
        union {
            int64_t i;
            uint64_t u;
            double d;
            bool b;
        } number{};
    };
    std::vector<Node> nodes_;
    std::string chars_;  // reserved to the input's size before parsing: never reallocated while
                         // it holds secrets
    size_t used_chars_ = 0;
};

}  // namespace liprobe::keys::detail
