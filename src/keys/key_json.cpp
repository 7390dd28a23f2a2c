#include "key_json.hpp"

#include <openssl/crypto.h>

#include <cstring>
#include <nlohmann/json.hpp>

namespace liprobe::keys::detail {

// ---------------------------------------------------------------------------------------------
// JsonValue

JsonKind JsonValue::kind() const {
    return doc_->nodes_[index_].kind;
}

int64_t JsonValue::as_int64() const {
    const auto& n = doc_->nodes_[index_];
    return n.kind == JsonKind::unsigned_integer ? static_cast<int64_t>(n.number.u) : n.number.i;
}

uint64_t JsonValue::as_uint64() const {
    const auto& n = doc_->nodes_[index_];
    return n.kind == JsonKind::integer ? static_cast<uint64_t>(n.number.i) : n.number.u;
}

std::string_view JsonValue::str() const {
    const auto& n = doc_->nodes_[index_];
    return {doc_->chars_.data() + n.text_at, n.text_len};
}

std::string_view JsonValue::key() const {
    const auto& n = doc_->nodes_[index_];
    return {doc_->chars_.data() + n.key_at, n.key_len};
}

size_t JsonValue::size() const {
    return doc_->nodes_[index_].count;
}

JsonValue::Iterator& JsonValue::Iterator::operator++() {
    index_ = doc_->nodes_[index_].next;
    return *this;
}

JsonValue::Iterator JsonValue::begin() const {
    return {doc_, doc_->nodes_[index_].first};
}

std::optional<JsonValue> JsonValue::find(std::string_view name) const {
    if (!is_object()) return std::nullopt;
    std::optional<JsonValue> found;
    for (JsonValue member : *this)
        if (member.key() == name) found = member;
    return found;
}

// ---------------------------------------------------------------------------------------------
// The SAX handler: every value becomes one node, linked to its parent's previous child.

class KeyJsonBuilder {
  public:
    using json = nlohmann::json;
    explicit KeyJsonBuilder(KeyJson& doc) : doc_(doc) {}

    bool null() { return add(JsonKind::null) != JsonValue::kNone; }
    bool boolean(bool v) {
        const uint32_t i = add(JsonKind::boolean);
        if (i != JsonValue::kNone) doc_.nodes_[i].number.b = v;
        return i != JsonValue::kNone;
    }
    bool number_integer(json::number_integer_t v) {
        const uint32_t i = add(JsonKind::integer);
        if (i != JsonValue::kNone) doc_.nodes_[i].number.i = v;
        return i != JsonValue::kNone;
    }
    bool number_unsigned(json::number_unsigned_t v) {
        const uint32_t i = add(JsonKind::unsigned_integer);
        if (i != JsonValue::kNone) doc_.nodes_[i].number.u = v;
        return i != JsonValue::kNone;
    }
    bool number_float(json::number_float_t v, const json::string_t&) {
        const uint32_t i = add(JsonKind::floating);
        if (i != JsonValue::kNone) doc_.nodes_[i].number.d = v;
        return i != JsonValue::kNone;
    }
    bool string(json::string_t& v) {
        uint32_t at = 0;
        if (!store(v, at)) return false;
        const uint32_t i = add(JsonKind::string);
        if (i == JsonValue::kNone) return false;
        doc_.nodes_[i].text_at = at;
        doc_.nodes_[i].text_len = static_cast<uint32_t>(v.size());
        return true;
    }
    bool binary(json::binary_t&) { return false; }  // not produced by the JSON lexer
    bool start_object(std::size_t) { return open(JsonKind::object); }
    bool start_array(std::size_t) { return open(JsonKind::array); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(json::string_t& v) {
        if (!store(v, key_at_)) return false;
        key_len_ = static_cast<uint32_t>(v.size());
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
        return false;
    }

  private:
    struct Open {
        uint32_t container;
        uint32_t last_child;
    };

    // Copies a decoded string into the arena, which parse() sized to the input: decoded text is
    // never longer than its JSON source, so the arena never reallocates (and leaves no copy of
    // a key behind in freed memory).
    bool store(const std::string& v, uint32_t& at) {
        if (doc_.used_chars_ + v.size() > doc_.chars_.size()) return false;
        if (!v.empty()) std::memcpy(doc_.chars_.data() + doc_.used_chars_, v.data(), v.size());
        at = static_cast<uint32_t>(doc_.used_chars_);
        doc_.used_chars_ += v.size();
        return true;
    }

    uint32_t add(JsonKind kind) {
        if (doc_.nodes_.size() >= JsonValue::kNone - 1) return JsonValue::kNone;
        const auto index = static_cast<uint32_t>(doc_.nodes_.size());
        KeyJson::Node& node = doc_.nodes_.emplace_back();
        node.kind = kind;
        if (!stack_.empty()) {
            Open& parent = stack_.back();
            KeyJson::Node& p = doc_.nodes_[parent.container];
            if (p.kind == JsonKind::object) {
                node.key_at = key_at_;
                node.key_len = key_len_;
            }
            if (parent.last_child == JsonValue::kNone)
                p.first = index;
            else
                doc_.nodes_[parent.last_child].next = index;
            parent.last_child = index;
            ++p.count;
        }
        return index;
    }
    bool open(JsonKind kind) {
        const uint32_t i = add(kind);
        if (i == JsonValue::kNone) return false;
        stack_.push_back({i, JsonValue::kNone});
        return true;
    }
    bool close() {
        if (stack_.empty()) return false;
        stack_.pop_back();
        return true;
    }

    KeyJson& doc_;
    std::vector<Open> stack_;
    uint32_t key_at_ = 0, key_len_ = 0;
};

// ---------------------------------------------------------------------------------------------
// KeyJson

bool KeyJson::parse(std::string_view text) {
    wipe();
    nodes_.clear();
    if (text.size() >= JsonValue::kNone) return false;
    if (chars_.size() < text.size()) {
        std::string().swap(chars_);  // wiped above: nothing secret is freed here
        chars_.resize(text.size());
    }
    KeyJsonBuilder builder(*this);
    const bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &builder);
    if (!ok || nodes_.empty()) {
        wipe();
        nodes_.clear();
        return false;
    }
    return true;
}

void KeyJson::wipe() {
    if (used_chars_ != 0) OPENSSL_cleanse(chars_.data(), used_chars_);
    used_chars_ = 0;
    // One unusually large request should not pin its arena for the thread's lifetime.
    constexpr size_t kKeepChars = size_t{1} << 20;
    if (chars_.size() > kKeepChars) std::string().swap(chars_);
}

KeyJson& KeyJson::for_this_thread() {
    thread_local KeyJson doc;
    return doc;
}

}  // namespace liprobe::keys::detail
