#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace liprobe::test {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

pid_t spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
    std::vector<std::string> a = args;
    std::vector<char*> argv;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = -1;
    if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

int wait_exit(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int wait_exit_within(pid_t pid, int seconds) {
    for (int i = 0; i < seconds * 20; ++i) {
        int status = 0;
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0) return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid, SIGKILL);
    return 1000 + wait_exit(pid);
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
    std::vector<nlohmann::json> out;
    std::istringstream in(slurp(path));
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    return out;
}

int run_curl(const std::string& dir, const std::vector<std::string>& args, std::string& body) {
    std::vector<std::string> a = {"curl", "-sS",         "--max-time", "10",
                                  "-o",   dir + "/body", "-w",         "%{http_code}"};
    a.insert(a.end(), args.begin(), args.end());
    std::remove((dir + "/body").c_str());
    const pid_t pid = spawn(a, dir + "/curl.out", dir + "/curl.err");
    if (pid < 0 || wait_exit_within(pid, 15) != 0) return 0;
    body = slurp(dir + "/body");
    return std::atoi(slurp(dir + "/curl.out").c_str());
}

LemfProcess::~LemfProcess() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        wait_exit(pid_);
    }
}

int LemfProcess::start(const std::string& binary, const std::string& dir,
                       const std::string& out_dir, const std::string& format,
                       const std::vector<std::string>& extra) {
    std::vector<std::string> args = {binary, "--listen", "127.0.0.1:0", "--format",
                                     format, "--out",    out_dir};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = spawn(args, dir + "/lemf.out", dir + "/lemf.err");
    if (pid_ < 0) return -1;
    for (int i = 0; i < 400; ++i) {
        const std::string out = slurp(dir + "/lemf.out");
        const size_t at = out.find("listening on ");
        const size_t nl = out.find('\n', at);
        if (at != std::string::npos && nl != std::string::npos) {
            const std::string addr = out.substr(at + 13, nl - at - 13);
            return std::stoi(addr.substr(addr.rfind(':') + 1));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return -1;
}

int LemfProcess::stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    const int status = wait_exit(pid_);
    pid_ = -1;
    return status;
}

uint64_t number_after(const std::string& text, const std::string& label) {
    size_t at = text.find(label);
    if (at == std::string::npos) return ~uint64_t{0};
    at += label.size();
    while (at < text.size() && text[at] == ' ') ++at;
    size_t end = at;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    if (end == at) return ~uint64_t{0};
    return std::stoull(text.substr(at, end - at));
}

}  // namespace liprobe::test
