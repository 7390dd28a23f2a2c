// X1 tasks and destinations (ETSI TS 103 221-1 subset, design.md 3.4) as the probe keeps them:
// the state an ADMF provisions, the checks every change passes (unknown or duplicate XID/DID, a
// destination still in use, an LIID taken by another task), and the state file that carries them
// across a restart. No network and no XML here (x1/service.hpp speaks the protocol), so the rules
// unit-test on their own. Control plane only.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "liprobe/control/config.hpp"

namespace liprobe::x1 {

// The X1 error codes liprobe answers in errorInformation. 3010 is the code X1 implementations
// use for an unsupported target identifier; the others are liprobe's (README, "X1").
enum ErrorCode : int {
    kMalformedRequest = 1000,    // not an X1 document, or a required element missing or invalid
    kUnsupportedMessage = 1001,  // an xsi:type liprobe does not implement
    kWrongNeIdentifier = 1002,   // neIdentifier is not this probe's [probe] network_element_id
    kUnknownXid = 3001,
    kDuplicateXid = 3002,
    kLiidInUse = 3003,  // another task (or a config warrant) has the LIID
    kUnsupportedTargetType = 3010,
    kInvalidTarget = 3011,  // a supported type whose value is not a usable identity
    kUnknownDid = 4001,
    kDuplicateDid = 4002,
    kDestinationInUse = 4003,
    kNotApplied = 5000,     // valid, but the data plane could not take it (e.g. exporter setup)
    kStateNotSaved = 5001,  // the state file could not be written: nothing changed
};

struct Error {
    int code = 0;
    std::string description;  // never quotes a target identity
};

enum class TargetKind : uint8_t { sip_uri, tel_uri, e164_number, mcptt_id, mcptt_group_id };
const char* target_kind_name(TargetKind kind);  // the X1 element name ("sipUri", ...)
std::optional<TargetKind> target_kind_from_name(const std::string& name);

struct Target {
    TargetKind kind = TargetKind::sip_uri;
    std::string value;  // as the ADMF sent it
    // The identity the selectors match (design.md 3.4): the value, or "tel:+" digits for an
    // e164Number.
    std::string uri() const;
    bool operator==(const Target&) const = default;
};

// TS 103 221-1 deliveryType: what the task delivers (X2 = IRI, X3 = CC).
enum class DeliveryType : uint8_t { x2_only, x3_only, x2_and_x3 };
const char* delivery_type_name(DeliveryType type);
std::optional<DeliveryType> delivery_type_from_name(const std::string& name);

// liprobe:deliver in taskDetailsExtensions: "decrypted", "encrypted" or "both" ([[warrant]]
// deliver).
const char* deliver_mode_name(control::DeliverMode mode);
std::optional<control::DeliverMode> deliver_mode_from_name(const std::string& name);

struct Task {
    std::string xid;  // lower-case UUID text
    std::vector<Target> targets;
    DeliveryType delivery = DeliveryType::x2_and_x3;
    std::vector<std::string> dids;  // lower-case UUID texts
    std::string liid;               // from taskDetailsExtensions (1..25 octets)
    control::DeliverMode deliver = control::DeliverMode::decrypted;
    bool operator==(const Task&) const = default;
};

struct DestinationInfo {
    std::string did;  // lower-case UUID text
    std::string friendly_name;
    DeliveryType delivery = DeliveryType::x2_and_x3;
    control::HostPort address;
    control::ExportFormat format = control::ExportFormat::x3;
    bool operator==(const DestinationInfo&) const = default;
};

struct State {
    std::map<std::string, Task> tasks;                    // by XID
    std::map<std::string, DestinationInfo> destinations;  // by DID
    bool operator==(const State&) const = default;
};

// "0f8fad5b-d9cb-469f-a165-70867728950e" in any case -> lower case; nullopt when not a UUID.
std::optional<std::string> canonical_uuid(const std::string& text);
// The 16 octets of a canonical UUID text (for the X2/X3 XID field).
std::array<uint8_t, 16> uuid_octets(const std::string& canonical);

// The state changes, each checked against the whole state. On error the state is unchanged.
std::optional<Error> activate_task(State& state, Task task);
std::optional<Error> modify_task(State& state, Task task);
std::optional<Error> deactivate_task(State& state, const std::string& xid);
void deactivate_all_tasks(State& state);
std::optional<Error> create_destination(State& state, DestinationInfo destination);
std::optional<Error> modify_destination(State& state, DestinationInfo destination);
std::optional<Error> remove_destination(State& state, const std::string& did);

// The state file: JSON, written to PATH.tmp (mode 0600), fsynced, renamed over PATH, and the
// directory fsynced, so a crash leaves the old or the new state, never a torn one.
bool save_state(const State& state, const std::string& path, std::string& error);
// A missing file is an empty state. A file readable by group or others is refused (it holds
// target identities), as is one that does not parse. The error names the file, never a target.
std::optional<State> load_state(const std::string& path, std::string& error);
std::string state_to_json(const State& state);
std::optional<State> state_from_json(const std::string& text, std::string& error);

}  // namespace liprobe::x1
