// liprobe-keytool subcommands.
#pragma once

#include <string>

#include "liprobe/keys/key_model.hpp"

namespace liprobe::keytool {

// Prints one JSON line per SRTP context of the keys file; errors (naming the entry index and the
// field) go to stderr. Returns 0, 1 when an entry was refused, 2 when the file is unreadable.
int run_derive(const std::string& keys_path, bool show_secrets);

// Decrypts every SRTP/SRTCP packet of in_path whose key is known into out_path; every other
// packet is copied unchanged. Returns 0, 1 when a key entry was refused, 2 on I/O errors.
int run_decrypt(const std::string& keys_path, const std::string& in_path,
                const std::string& out_path);

// "entry 3 (gmk 0abc1234): key: expected 16 or 32 octets, got 15"
std::string describe_refusal(const keys::EntryResult& result);

// Reads a whole (small) file; false when it cannot be read.
bool read_text_file(const std::string& path, std::string& out);

}  // namespace liprobe::keytool
