// Subprocess and file helpers for tests that run liprobe, liprobe-lemf, liprobe-gen or sipp.
#pragma once

#include <sys/types.h>

#include <cstdint>
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

// A liprobe-lemf process on 127.0.0.1 with an ephemeral port, its stdout/stderr in
// dir/lemf.out and dir/lemf.err. Killed (SIGKILL) by the destructor if still running.
class LemfProcess {
  public:
    LemfProcess() = default;
    ~LemfProcess();
    LemfProcess(const LemfProcess&) = delete;
    LemfProcess& operator=(const LemfProcess&) = delete;

    // Starts `binary --listen 127.0.0.1:0 --format FORMAT --out out_dir` + extra and waits (10 s
    // at most) for its "listening on" line: the port, or -1.
    int start(const std::string& binary, const std::string& dir, const std::string& out_dir,
              const std::string& format, const std::vector<std::string>& extra = {"--plain"});
    // SIGTERM, then its exit status (0 when it wrote out_dir/summary.json).
    int stop();
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
};

// The number after the first occurrence of label (and any spaces) in text; all ones when the
// label is missing or no number follows.
uint64_t number_after(const std::string& text, const std::string& label);

}  // namespace liprobe::test
