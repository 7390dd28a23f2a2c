#include "liprobe/x1/service.hpp"

#include <arpa/inet.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <pugixml.hpp>
#include <sstream>

#include "liprobe/control/audit.hpp"
#include "liprobe/targets/normalise.hpp"

namespace liprobe::x1 {

namespace {

// Element names compare on their local part: ADMFs bind the X1 namespace to a prefix or make it
// the default, and TS 103 280 types come with their own prefix.
std::string_view local_name(const char* name) {
    std::string_view n(name);
    const size_t colon = n.find(':');
    return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

pugi::xml_node child(pugi::xml_node node, std::string_view name) {
    for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling())
        if (c.type() == pugi::node_element && local_name(c.name()) == name) return c;
    return {};
}

pugi::xml_node first_element(pugi::xml_node node) {
    for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling())
        if (c.type() == pugi::node_element) return c;
    return {};
}

std::string trimmed_text(pugi::xml_node node) {
    std::string s = node.text().get();
    const size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    const size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

Error malformed(std::string what) {
    return {kMalformedRequest, std::move(what)};
}

// The text of a required child element, or the error naming it.
std::optional<Error> required_text(pugi::xml_node parent, const char* name, const std::string& path,
                                   std::string& out) {
    pugi::xml_node n = child(parent, name);
    if (!n) return malformed(path + name + ": required element is missing");
    out = trimmed_text(n);
    if (out.empty()) return malformed(path + name + ": must not be empty");
    return std::nullopt;
}

std::optional<Error> required_uuid(pugi::xml_node parent, const char* name, const std::string& path,
                                   std::string& out) {
    std::string text;
    if (auto e = required_text(parent, name, path, text)) return e;
    auto uuid = canonical_uuid(text);
    if (!uuid) return malformed(path + name + ": not a UUID");
    out = *uuid;
    return std::nullopt;
}

// The xsi:type of a message, without its prefix ("ActivateTaskRequest").
std::string message_type(pugi::xml_node message) {
    for (pugi::xml_attribute a = message.first_attribute(); a; a = a.next_attribute())
        if (local_name(a.name()) == "type") return std::string(local_name(a.value()));
    return "";
}

// "ActivateTaskRequest" -> "ActivateTask": the name responses and the audit use.
std::string base_of(const std::string& type) {
    const std::string suffix = "Request";
    return type.size() > suffix.size() && type.ends_with(suffix)
               ? type.substr(0, type.size() - suffix.size())
               : type;
}

bool declares_x1_namespace(pugi::xml_node root) {
    for (pugi::xml_attribute a = root.first_attribute(); a; a = a.next_attribute()) {
        const std::string_view name(a.name());
        if ((name == "xmlns" || name.substr(0, 6) == "xmlns:") &&
            std::strcmp(a.value(), kX1Namespace) == 0)
            return true;
    }
    return false;
}

std::optional<Error> read_target(pugi::xml_node identifier, size_t index, Target& out) {
    const std::string where = "targetIdentifiers/targetIdentifier[" + std::to_string(index) + "]";
    pugi::xml_node choice = first_element(identifier);
    if (!choice) return malformed(where + ": empty");
    std::string_view name = local_name(choice.name());
    if (name == "targetIdentifierExtension") {
        choice = first_element(choice);
        if (!choice) return malformed(where + "/targetIdentifierExtension: empty");
        name = local_name(choice.name());
        if (name != "mcpttId" && name != "mcpttGroupId")
            return Error{kUnsupportedTargetType,
                         where + ": unsupported target identifier extension " + std::string(name)};
    }
    auto kind = target_kind_from_name(std::string(name));
    if (!kind)
        return Error{kUnsupportedTargetType,
                     where + ": unsupported target identifier type " + std::string(name)};
    out.kind = *kind;
    out.value = trimmed_text(choice);
    bool usable = false;
    switch (out.kind) {
        case TargetKind::e164_number:
            usable = !out.value.empty() && out.value.size() <= 15 &&
                     out.value.find_first_not_of("0123456789") == std::string::npos;
            break;
        case TargetKind::tel_uri:
            usable = out.value.rfind("tel:", 0) == 0;
            break;
        default:  // SIP URIs: sipUri, MCPTT ID and MCPTT group ID
            usable = out.value.rfind("sip:", 0) == 0 || out.value.rfind("sips:", 0) == 0;
            break;
    }
    // The value itself is never quoted: it is a target identity.
    if (!usable || !targets::normalise_identity(out.uri()))
        return Error{kInvalidTarget, where + ": not a usable " + std::string(name)};
    return std::nullopt;
}

std::optional<Error> read_delivery_type(pugi::xml_node parent, const std::string& path,
                                        DeliveryType& out) {
    std::string text;
    if (auto e = required_text(parent, "deliveryType", path, text)) return e;
    auto type = delivery_type_from_name(text);
    if (!type) return malformed(path + "deliveryType: must be X2Only, X3Only or X2andX3");
    out = *type;
    return std::nullopt;
}

std::optional<Error> read_task(pugi::xml_node message, Task& task) {
    pugi::xml_node details = child(message, "taskDetails");
    if (!details) return malformed("taskDetails: required element is missing");
    const std::string path = "taskDetails/";
    if (auto e = required_uuid(details, "xId", path, task.xid)) return e;
    pugi::xml_node targets = child(details, "targetIdentifiers");
    if (!targets) return malformed(path + "targetIdentifiers: required element is missing");
    size_t index = 0;
    for (pugi::xml_node t = targets.first_child(); t; t = t.next_sibling()) {
        if (t.type() != pugi::node_element || local_name(t.name()) != "targetIdentifier") continue;
        Target target;
        if (auto e = read_target(t, index++, target)) return e;
        task.targets.push_back(std::move(target));
    }
    if (task.targets.empty()) return malformed(path + "targetIdentifiers: no targetIdentifier");
    if (auto e = read_delivery_type(details, path, task.delivery)) return e;
    pugi::xml_node dids = child(details, "listOfDIDs");
    if (!dids) return malformed(path + "listOfDIDs: required element is missing");
    for (pugi::xml_node d = dids.first_child(); d; d = d.next_sibling()) {
        if (d.type() != pugi::node_element || local_name(d.name()) != "dId") continue;
        auto did = canonical_uuid(trimmed_text(d));
        if (!did) return malformed(path + "listOfDIDs/dId: not a UUID");
        task.dids.push_back(*did);
    }
    if (task.dids.empty()) return malformed(path + "listOfDIDs: no dId");
    pugi::xml_node ext = child(details, "taskDetailsExtensions");
    if (!ext)
        return malformed(path + "taskDetailsExtensions: required (liprobe:liid carries the LIID)");
    if (auto e = required_text(ext, "liid", path + "taskDetailsExtensions/", task.liid)) return e;
    if (task.liid.size() > 25)
        return malformed(path + "taskDetailsExtensions/liid: longer than 25 octets");
    for (unsigned char c : task.liid)
        if (c < 0x20 || c == 0x7f)
            return malformed(path + "taskDetailsExtensions/liid: control characters");
    if (pugi::xml_node deliver = child(ext, "deliver")) {
        auto mode = deliver_mode_from_name(trimmed_text(deliver));
        if (!mode)
            return malformed(path +
                             "taskDetailsExtensions/deliver: must be decrypted, encrypted or both");
        task.deliver = *mode;
    }
    return std::nullopt;
}

std::optional<Error> read_destination(pugi::xml_node message, DestinationInfo& dest) {
    pugi::xml_node details = child(message, "destinationDetails");
    if (!details) return malformed("destinationDetails: required element is missing");
    const std::string path = "destinationDetails/";
    if (auto e = required_uuid(details, "dId", path, dest.did)) return e;
    if (pugi::xml_node name = child(details, "friendlyName"))
        dest.friendly_name = trimmed_text(name);
    if (auto e = read_delivery_type(details, path, dest.delivery)) return e;
    pugi::xml_node ip = child(child(details, "deliveryAddress"), "ipAddressAndPort");
    if (!ip)
        return malformed(path + "deliveryAddress/ipAddressAndPort: required element is missing");
    pugi::xml_node address = child(ip, "address");
    pugi::xml_node v4 = child(address, "IPv4Address"), v6 = child(address, "IPv6Address");
    unsigned char buf[16];
    if (v4 && inet_pton(AF_INET, trimmed_text(v4).c_str(), buf) == 1)
        dest.address.host = trimmed_text(v4);
    else if (v6 && inet_pton(AF_INET6, trimmed_text(v6).c_str(), buf) == 1)
        dest.address.host = trimmed_text(v6);
    else
        return malformed(path +
                         "deliveryAddress/ipAddressAndPort/address: an IPv4Address or IPv6Address");
    pugi::xml_node port = child(ip, "port");
    if (child(port, "UDPPort"))
        return malformed(path +
                         "deliveryAddress/ipAddressAndPort/port: UDPPort is not supported "
                         "(delivery is over TLS/TCP)");
    const std::string tcp = trimmed_text(child(port, "TCPPort"));
    char* end = nullptr;
    const unsigned long value = std::strtoul(tcp.c_str(), &end, 10);
    if (tcp.empty() || *end != '\0' || value == 0 || value > 65535)
        return malformed(path + "deliveryAddress/ipAddressAndPort/port/TCPPort: 1..65535");
    dest.address.port = static_cast<uint16_t>(value);
    if (pugi::xml_node format = child(child(details, "destinationDetailsExtensions"), "format")) {
        const std::string f = trimmed_text(format);
        if (f == "x3")
            dest.format = control::ExportFormat::x3;
        else if (f == "etsi102232")
            dest.format = control::ExportFormat::etsi102232;
        else
            return malformed(path +
                             "destinationDetailsExtensions/format: must be x3 or etsi102232");
    }
    return std::nullopt;
}

// ---- responses ----

std::string now_text() {
    return control::rfc3339_utc(std::chrono::duration_cast<std::chrono::microseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
}

void text_child(pugi::xml_node parent, const char* name, const std::string& value) {
    parent.append_child(name).text().set(value.c_str());
}

void write_error(pugi::xml_node parent, const Error& e) {
    pugi::xml_node info = parent.append_child("errorInformation");
    text_child(info, "errorCode", std::to_string(e.code));
    text_child(info, "errorDescription", e.description);
}

void write_task(pugi::xml_node parent, const Task& t) {
    pugi::xml_node d = parent.append_child("taskDetails");
    text_child(d, "xId", t.xid);
    pugi::xml_node ids = d.append_child("targetIdentifiers");
    for (const auto& target : t.targets) {
        pugi::xml_node id = ids.append_child("targetIdentifier");
        if (target.kind == TargetKind::mcptt_id || target.kind == TargetKind::mcptt_group_id)
            id = id.append_child("targetIdentifierExtension");
        const std::string prefix =
            id.name() == std::string("targetIdentifierExtension") ? "liprobe:" : "";
        text_child(id, (prefix + target_kind_name(target.kind)).c_str(), target.value);
    }
    text_child(d, "deliveryType", delivery_type_name(t.delivery));
    pugi::xml_node dids = d.append_child("listOfDIDs");
    for (const auto& did : t.dids) text_child(dids, "dId", did);
    pugi::xml_node ext = d.append_child("taskDetailsExtensions");
    text_child(ext, "liprobe:liid", t.liid);
    text_child(ext, "liprobe:deliver", deliver_mode_name(t.deliver));
}

void write_destination(pugi::xml_node parent, const DestinationInfo& dest) {
    pugi::xml_node d = parent.append_child("destinationDetails");
    text_child(d, "dId", dest.did);
    if (!dest.friendly_name.empty()) text_child(d, "friendlyName", dest.friendly_name);
    text_child(d, "deliveryType", delivery_type_name(dest.delivery));
    pugi::xml_node ip = d.append_child("deliveryAddress").append_child("ipAddressAndPort");
    const bool v6 = dest.address.host.find(':') != std::string::npos;
    text_child(ip.append_child("address"), v6 ? "etsi280:IPv6Address" : "etsi280:IPv4Address",
               dest.address.host);
    text_child(ip.append_child("port"), "etsi280:TCPPort", std::to_string(dest.address.port));
    text_child(d.append_child("destinationDetailsExtensions"), "liprobe:format",
               dest.format == control::ExportFormat::x3 ? "x3" : "etsi102232");
}

void task_response_details(pugi::xml_node parent, const Task& t) {
    pugi::xml_node r = parent.append_child("taskResponseDetails");
    write_task(r, t);
    text_child(r.append_child("taskStatus"), "provisioningStatus", "complete");
}

void destination_response_details(pugi::xml_node parent, const DestinationInfo& d) {
    write_destination(parent.append_child("destinationResponseDetails"), d);
}

pugi::xml_node new_root(pugi::xml_document& doc, const char* name) {
    pugi::xml_node decl = doc.append_child(pugi::node_declaration);
    decl.append_attribute("version") = "1.0";
    decl.append_attribute("encoding") = "UTF-8";
    pugi::xml_node root = doc.append_child(name);
    root.append_attribute("xmlns") = kX1Namespace;
    root.append_attribute("xmlns:xsi") = "http://www.w3.org/2001/XMLSchema-instance";
    root.append_attribute("xmlns:etsi280") = kCommonNamespace;
    root.append_attribute("xmlns:liprobe") = kLiprobeNamespace;
    return root;
}

std::string document_text(const pugi::xml_document& doc) {
    std::ostringstream out;
    doc.save(out, "  ", pugi::format_default, pugi::encoding_utf8);
    return out.str();
}

}  // namespace

// One x1RequestMessage: parses, applies (through Service::commit) and writes its response.
struct MessageHandler {
    Service& service;
    std::string_view subject;
    pugi::xml_node request;
    pugi::xml_node response;  // the x1ResponseMessage being written
    std::string base;         // "ActivateTask"
    nlohmann::json audit_details = nlohmann::json::object();

    void set_type(const std::string& type) {
        response.attribute("xsi:type").set_value(type.c_str());
    }

    void ok() {
        set_type(base + "Response");
        text_child(response, "oK", "AcknowledgedAndCompleted");
    }

    void fail(const Error& e) {
        set_type("ErrorResponse");
        text_child(response, "requestMessageType", base);
        write_error(response, e);
        audit("refused", &e);
    }

    void audit(const char* result, const Error* e) {
        if (service.audit_ == nullptr) return;
        nlohmann::json d = audit_details;
        if (e != nullptr) {
            d["error_code"] = e->code;
            d["error"] = e->description;
        }
        service.audit_->record(subject, "x1." + base, result, d);
    }

    void note_task(const Task& t) {
        audit_details["xid"] = t.xid;
        if (service.audit_ == nullptr) return;
        audit_details["liid_hash"] = service.audit_->hash(t.liid);
        nlohmann::json hashes = nlohmann::json::array();
        for (const auto& target : t.targets) hashes.push_back(service.audit_->hash(target.uri()));
        audit_details["target_hashes"] = hashes;
        audit_details["dids"] = t.dids;
    }

    // Applies a change made on a copy of the state.
    void change(State next) {
        if (auto e = service.commit(std::move(next))) return fail(*e);
        ok();
        audit("ok", nullptr);
    }

    // DeactivateTask and RemoveDestination: one UUID element names what goes.
    void remove(State next, const char* element, const char* audit_key,
                std::optional<Error> (*operation)(State&, const std::string&)) {
        std::string id;
        if (auto e = required_uuid(request, element, "", id)) return fail(*e);
        audit_details[audit_key] = id;
        if (auto e = operation(next, id)) return fail(*e);
        change(std::move(next));
    }

    void run(const std::string& type) {
        base = base_of(type);
        State next = service.state_;
        if (base == "ActivateTask" || base == "ModifyTask") {
            Task task;
            const auto e = read_task(request, task);
            note_task(task);
            if (e) return fail(*e);
            if (auto e2 =
                    base == "ActivateTask" ? activate_task(next, task) : modify_task(next, task))
                return fail(*e2);
            return change(std::move(next));
        }
        if (base == "DeactivateTask") return remove(std::move(next), "xId", "xid", deactivate_task);
        if (base == "DeactivateAllTasks") {
            nlohmann::json xids = nlohmann::json::array();
            for (const auto& [xid, t] : next.tasks) xids.push_back(xid);
            audit_details["xids"] = xids;
            deactivate_all_tasks(next);
            return change(std::move(next));
        }
        if (base == "CreateDestination" || base == "ModifyDestination") {
            DestinationInfo dest;
            const auto e = read_destination(request, dest);
            audit_details["did"] = dest.did;
            if (e) return fail(*e);
            if (auto e2 = base == "CreateDestination" ? create_destination(next, dest)
                                                      : modify_destination(next, dest))
                return fail(*e2);
            return change(std::move(next));
        }
        if (base == "RemoveDestination")
            return remove(std::move(next), "dId", "did", remove_destination);
        if (base == "GetTaskDetails") {
            std::string xid;
            if (auto e = required_uuid(request, "xId", "", xid)) return fail(*e);
            auto it = next.tasks.find(xid);
            if (it == next.tasks.end()) return fail({kUnknownXid, "no task with xId " + xid});
            set_type("GetTaskDetailsResponse");
            task_response_details(response, it->second);
            return;
        }
        if (base == "GetDestinationDetails") {
            std::string did;
            if (auto e = required_uuid(request, "dId", "", did)) return fail(*e);
            auto it = next.destinations.find(did);
            if (it == next.destinations.end())
                return fail({kUnknownDid, "no destination with dId " + did});
            set_type("GetDestinationDetailsResponse");
            destination_response_details(response, it->second);
            return;
        }
        if (base == "GetAllDetails") {
            set_type("GetAllDetailsResponse");
            pugi::xml_node tasks = response.append_child("listOfTaskResponseDetails");
            for (const auto& [xid, t] : next.tasks) task_response_details(tasks, t);
            pugi::xml_node dests = response.append_child("listOfDestinationResponseDetails");
            for (const auto& [did, d] : next.destinations) destination_response_details(dests, d);
            return;
        }
        if (base == "Ping" || base == "Keepalive") return ok();
        fail({kUnsupportedMessage,
              type.empty() ? "x1RequestMessage without xsi:type" : "unsupported message " + type});
    }
};

Service::Service(State initial, ServiceOptions options, Backend* backend, control::AuditLog* audit)
    : state_(std::move(initial)), options_(std::move(options)), backend_(backend), audit_(audit) {}

State Service::state() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return state_;
}

std::optional<Error> Service::commit(State next) {
    if (backend_ != nullptr)
        if (auto e = backend_->apply(next)) return e;
    if (!options_.state_path.empty()) {
        std::string why;
        if (!save_state(next, options_.state_path, why)) {
            // The data plane goes back to what the state file still says.
            if (backend_ != nullptr) backend_->apply(state_);
            return Error{kStateNotSaved, "state file not written, nothing changed: " + why};
        }
    }
    state_ = std::move(next);
    return std::nullopt;
}

Reply Service::handle(std::string_view xml, std::string_view client_subject) {
    pugi::xml_document in;
    const pugi::xml_parse_result parsed = in.load_buffer(xml.data(), xml.size());
    pugi::xml_node root = in.document_element();
    std::optional<Error> top;
    if (!parsed)
        top = malformed(std::string("not well-formed XML: ") + parsed.description() +
                        " at offset " + std::to_string(parsed.offset));
    else if (local_name(root.name()) != "X1Request")
        top = malformed("the document element is not X1Request");
    else if (!declares_x1_namespace(root))
        top = malformed(std::string("X1Request is not in the namespace ") + kX1Namespace);
    pugi::xml_document out;
    if (top) {
        pugi::xml_node r = new_root(out, "X1TopLevelErrorResponse");
        text_child(r, "neIdentifier", options_.ne_identifier);
        text_child(r, "messageTimestamp", now_text());
        text_child(r, "version", kX1Version);
        write_error(r, *top);
        if (audit_ != nullptr)
            audit_->record(client_subject, "x1.request", "refused",
                           {{"error_code", top->code}, {"error", top->description}});
        return {400, document_text(out)};
    }
    pugi::xml_node response_root = new_root(out, "X1Response");
    std::lock_guard<std::mutex> lock(mutex_);
    for (pugi::xml_node m = root.first_child(); m; m = m.next_sibling()) {
        if (m.type() != pugi::node_element || local_name(m.name()) != "x1RequestMessage") continue;
        pugi::xml_node resp = response_root.append_child("x1ResponseMessage");
        resp.append_attribute("xsi:type") = "ErrorResponse";
        std::string admf, transaction, ne;
        admf = trimmed_text(child(m, "admfIdentifier"));
        ne = trimmed_text(child(m, "neIdentifier"));
        transaction = trimmed_text(child(m, "x1TransactionId"));
        text_child(resp, "admfIdentifier", admf);
        text_child(resp, "neIdentifier", options_.ne_identifier);
        text_child(resp, "messageTimestamp", now_text());
        text_child(resp, "version", kX1Version);
        text_child(resp, "x1TransactionId", transaction);
        MessageHandler handler{*this, client_subject,           m,
                               resp,  base_of(message_type(m)), nlohmann::json::object()};
        const std::string type = message_type(m);
        if (admf.empty() || transaction.empty()) {
            handler.fail(malformed(admf.empty() ? "admfIdentifier: required element is missing"
                                                : "x1TransactionId: required element is missing"));
        } else if (!options_.ne_identifier.empty() && ne != options_.ne_identifier) {
            handler.fail({kWrongNeIdentifier, "neIdentifier: this is not that network element"});
        } else {
            handler.run(type);
        }
    }
    return {200, document_text(out)};
}

}  // namespace liprobe::x1
