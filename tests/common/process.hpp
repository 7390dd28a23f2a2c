// Subprocess and file helpers for tests that run liprobe, liprobe-lemf, liprobe-gen or sipp.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace liprobe::test {

std::string slurp(const std::string& path);
void write_text(const std::string& path, const std::string& text);
// Starts args (PATH lookup) with stdin from /dev/null and stdout/stderr to files; -1 on failure.
pid_t spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err);
// Exit code, or 128 + signal; -1 when pid is not a child.
int wait_exit(pid_t pid);
// Waits up to `seconds`, then SIGKILLs: returns the exit code (1000 + code when it had to kill).
int wait_exit_within(pid_t pid, int seconds);
// curl with ARGS (its output files in DIR): the HTTP status, 0 when curl failed (no connection,
// TLS handshake refused, ...); the response body in `body`.
int run_curl(const std::string& dir, const std::vector<std::string>& args, std::string& body);
// One JSON value per non-empty line.
std::vector<nlohmann::json> read_jsonl(const std::string& path);

}  // namespace liprobe::test
