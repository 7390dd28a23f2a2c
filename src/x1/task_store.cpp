#include "liprobe/x1/task_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace liprobe::x1 {

namespace {

struct NamedKind {
    TargetKind kind;
    const char* name;
};
constexpr NamedKind kTargetKinds[] = {{TargetKind::sip_uri, "sipUri"},
                                      {TargetKind::tel_uri, "telUri"},
                                      {TargetKind::e164_number, "e164Number"},
                                      {TargetKind::mcptt_id, "mcpttId"},
                                      {TargetKind::mcptt_group_id, "mcpttGroupId"}};

struct NamedDelivery {
    DeliveryType type;
    const char* name;
};
constexpr NamedDelivery kDeliveryTypes[] = {{DeliveryType::x2_only, "X2Only"},
                                            {DeliveryType::x3_only, "X3Only"},
                                            {DeliveryType::x2_and_x3, "X2andX3"}};

}  // namespace

const char* deliver_mode_name(control::DeliverMode m) {
    switch (m) {
        case control::DeliverMode::encrypted:
            return "encrypted";
        case control::DeliverMode::both:
            return "both";
        default:
            return "decrypted";
    }
}

std::optional<control::DeliverMode> deliver_mode_from_name(const std::string& s) {
    if (s == "decrypted") return control::DeliverMode::decrypted;
    if (s == "encrypted") return control::DeliverMode::encrypted;
    if (s == "both") return control::DeliverMode::both;
    return std::nullopt;
}

namespace {

Error error(int code, std::string description) {
    return {code, std::move(description)};
}

// The checks activate and modify share: destinations exist, the LIID is not another task's.
std::optional<Error> check_task(const State& state, const Task& task) {
    for (const auto& did : task.dids)
        if (state.destinations.count(did) == 0)
            return error(kUnknownDid, "listOfDIDs: no destination with dId " + did);
    for (const auto& [xid, other] : state.tasks)
        if (xid != task.xid && other.liid == task.liid)
            return error(kLiidInUse, "the LIID is already used by task " + xid);
    return std::nullopt;
}

int fsync_path(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) return -1;
    const int rc = ::fsync(fd);
    ::close(fd);
    return rc;
}

}  // namespace

const char* target_kind_name(TargetKind kind) {
    for (const auto& k : kTargetKinds)
        if (k.kind == kind) return k.name;
    return "?";
}

std::optional<TargetKind> target_kind_from_name(const std::string& name) {
    for (const auto& k : kTargetKinds)
        if (name == k.name) return k.kind;
    return std::nullopt;
}

std::string Target::uri() const {
    if (kind != TargetKind::e164_number) return value;
    std::string digits;
    for (char c : value)
        if (std::isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
    return "tel:+" + digits;
}

const char* delivery_type_name(DeliveryType type) {
    for (const auto& d : kDeliveryTypes)
        if (d.type == type) return d.name;
    return "?";
}

std::optional<DeliveryType> delivery_type_from_name(const std::string& name) {
    for (const auto& d : kDeliveryTypes)
        if (name == d.name) return d.type;
    return std::nullopt;
}

std::optional<std::string> canonical_uuid(const std::string& text) {
    if (text.size() != 36) return std::nullopt;
    std::string out = text;
    for (size_t i = 0; i < out.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash) {
            if (out[i] != '-') return std::nullopt;
            continue;
        }
        if (!std::isxdigit(static_cast<unsigned char>(out[i]))) return std::nullopt;
        out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
    }
    return out;
}

std::array<uint8_t, 16> uuid_octets(const std::string& canonical) {
    std::array<uint8_t, 16> out{};
    size_t n = 0;
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    for (size_t i = 0; i + 1 < canonical.size() && n < out.size();) {
        if (canonical[i] == '-') {
            ++i;
            continue;
        }
        out[n++] = static_cast<uint8_t>(nibble(canonical[i]) << 4 | nibble(canonical[i + 1]));
        i += 2;
    }
    return out;
}

std::optional<Error> activate_task(State& state, Task task) {
    if (state.tasks.count(task.xid) != 0)
        return error(kDuplicateXid, "a task with xId " + task.xid + " is already active");
    if (auto e = check_task(state, task)) return e;
    const std::string xid = task.xid;
    state.tasks.emplace(xid, std::move(task));
    return std::nullopt;
}

std::optional<Error> modify_task(State& state, Task task) {
    auto it = state.tasks.find(task.xid);
    if (it == state.tasks.end()) return error(kUnknownXid, "no task with xId " + task.xid);
    if (auto e = check_task(state, task)) return e;
    it->second = std::move(task);
    return std::nullopt;
}

std::optional<Error> deactivate_task(State& state, const std::string& xid) {
    if (state.tasks.erase(xid) == 0) return error(kUnknownXid, "no task with xId " + xid);
    return std::nullopt;
}

void deactivate_all_tasks(State& state) {
    state.tasks.clear();
}

std::optional<Error> create_destination(State& state, DestinationInfo destination) {
    if (state.destinations.count(destination.did) != 0)
        return error(kDuplicateDid, "a destination with dId " + destination.did + " exists");
    const std::string did = destination.did;
    state.destinations.emplace(did, std::move(destination));
    return std::nullopt;
}

std::optional<Error> modify_destination(State& state, DestinationInfo destination) {
    auto it = state.destinations.find(destination.did);
    if (it == state.destinations.end())
        return error(kUnknownDid, "no destination with dId " + destination.did);
    it->second = std::move(destination);
    return std::nullopt;
}

std::optional<Error> remove_destination(State& state, const std::string& did) {
    if (state.destinations.count(did) == 0)
        return error(kUnknownDid, "no destination with dId " + did);
    for (const auto& [xid, task] : state.tasks)
        for (const auto& d : task.dids)
            if (d == did)
                return error(kDestinationInUse,
                             "destination " + did + " is still used by task " + xid);
    state.destinations.erase(did);
    return std::nullopt;
}

std::string state_to_json(const State& state) {
    nlohmann::json tasks = nlohmann::json::array(), dests = nlohmann::json::array();
    for (const auto& [xid, t] : state.tasks) {
        nlohmann::json targets = nlohmann::json::array();
        for (const auto& target : t.targets)
            targets.push_back({{"type", target_kind_name(target.kind)}, {"value", target.value}});
        tasks.push_back({{"xid", t.xid},
                         {"liid", t.liid},
                         {"targets", targets},
                         {"delivery_type", delivery_type_name(t.delivery)},
                         {"dids", t.dids},
                         {"deliver", deliver_mode_name(t.deliver)}});
    }
    for (const auto& [did, d] : state.destinations)
        dests.push_back({{"did", d.did},
                         {"friendly_name", d.friendly_name},
                         {"delivery_type", delivery_type_name(d.delivery)},
                         {"host", d.address.host},
                         {"port", d.address.port},
                         {"format", d.format == control::ExportFormat::x3 ? "x3" : "etsi102232"}});
    return nlohmann::json{{"version", 1}, {"tasks", tasks}, {"destinations", dests}}.dump(1) + "\n";
}

std::optional<State> state_from_json(const std::string& text, std::string& error_text) {
    State state;
    try {
        const auto j = nlohmann::json::parse(text);
        if (j.at("version").get<int>() != 1) {
            error_text = "unsupported state version";
            return std::nullopt;
        }
        for (const auto& jd : j.at("destinations")) {
            DestinationInfo d;
            d.did = jd.at("did").get<std::string>();
            d.friendly_name = jd.at("friendly_name").get<std::string>();
            auto type = delivery_type_from_name(jd.at("delivery_type").get<std::string>());
            d.address.host = jd.at("host").get<std::string>();
            d.address.port = jd.at("port").get<uint16_t>();
            const std::string format = jd.at("format").get<std::string>();
            if (!type || !canonical_uuid(d.did) || (format != "x3" && format != "etsi102232")) {
                error_text = "destination entry is invalid";
                return std::nullopt;
            }
            d.delivery = *type;
            d.format =
                format == "x3" ? control::ExportFormat::x3 : control::ExportFormat::etsi102232;
            state.destinations[d.did] = d;
        }
        for (const auto& jt : j.at("tasks")) {
            Task t;
            t.xid = jt.at("xid").get<std::string>();
            t.liid = jt.at("liid").get<std::string>();
            for (const auto& target : jt.at("targets")) {
                auto kind = target_kind_from_name(target.at("type").get<std::string>());
                if (!kind) {
                    error_text = "task target type is invalid";
                    return std::nullopt;
                }
                t.targets.push_back({*kind, target.at("value").get<std::string>()});
            }
            auto type = delivery_type_from_name(jt.at("delivery_type").get<std::string>());
            auto deliver = deliver_mode_from_name(jt.at("deliver").get<std::string>());
            t.dids = jt.at("dids").get<std::vector<std::string>>();
            if (!type || !deliver || !canonical_uuid(t.xid)) {
                error_text = "task entry is invalid";
                return std::nullopt;
            }
            t.delivery = *type;
            t.deliver = *deliver;
            // The same rules as at activation: a hand-edited file cannot smuggle in a task
            // whose destinations do not exist.
            if (auto e = activate_task(state, std::move(t))) {
                error_text = "task entry refused: " + e->description;
                return std::nullopt;
            }
        }
    } catch (const nlohmann::json::exception&) {
        // The exception text may quote the input (target identities): not passed on.
        error_text = "not a liprobe X1 state document";
        return std::nullopt;
    }
    return state;
}

bool save_state(const State& state, const std::string& path, std::string& error_text) {
    const std::string tmp = path + ".tmp";
    const std::string text = state_to_json(state);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        error_text = "cannot create " + tmp + ": " + std::strerror(errno);
        return false;
    }
    ::fchmod(fd, 0600);  // an older tmp file may have had a wider mode
    size_t off = 0;
    while (off < text.size()) {
        const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error_text = "cannot write " + tmp + ": " + std::strerror(errno);
            ::close(fd);
            ::unlink(tmp.c_str());
            return false;
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        error_text = "cannot fsync " + tmp + ": " + std::strerror(errno);
        ::close(fd);
        ::unlink(tmp.c_str());
        return false;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        error_text = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return false;
    }
    // The rename is durable only once the directory is.
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "."
                            : slash == 0               ? "/"
                                                       : path.substr(0, slash);
    if (fsync_path(dir, O_RDONLY | O_DIRECTORY) != 0) {
        error_text = "cannot fsync directory " + dir + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

std::optional<State> load_state(const std::string& path, std::string& error_text) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return State{};
        error_text = path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    if ((st.st_mode & 077) != 0) {
        error_text =
            path + ": readable by group or others (it holds target identities): chmod 600 it";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error_text = path + ": cannot open for reading";
        return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string why;
    auto state = state_from_json(ss.str(), why);
    if (!state) error_text = path + ": " + why;
    return state;
}

}  // namespace liprobe::x1
