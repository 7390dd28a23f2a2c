// --check: the files a config names are readable and of the right kind. Messages name the key
// and the path; the contents (keys, certificates, key JSON) are never quoted.
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "liprobe/control/config.hpp"
#include "liprobe/keys/key_model.hpp"

namespace liprobe::control {
namespace {

// File contents that are wiped when dropped (private keys pass through here).
struct FileBytes {
    std::string data;
    int error = 0;  // errno when the file could not be read
    ~FileBytes() {
        if (!data.empty()) OPENSSL_cleanse(data.data(), data.size());
    }
};

void read_file(const std::string& path, FileBytes& out) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        out.error = errno;
        return;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        out.error = EISDIR;
        std::fclose(f);
        return;
    }
    char buf[16384];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.data.append(buf, n);
    if (std::ferror(f)) out.error = errno != 0 ? errno : EIO;
    OPENSSL_cleanse(buf, sizeof buf);
    std::fclose(f);
}

int refuse_passphrase(char*, int, int, void*) {
    return -1;
}

class Checker {
  public:
    explicit Checker(LoadResult& result) : result_(result) {}

    void error(const std::string& key, std::string problem) {
        result_.errors.push_back({result_.config.file, 0, 0, key, std::move(problem)});
    }
    void warn(const std::string& key, std::string problem) {
        result_.warnings.push_back({result_.config.file, 0, 0, key, std::move(problem)});
    }

    bool readable(const std::string& key, const std::string& path, FileBytes& bytes) {
        read_file(path, bytes);
        if (bytes.error == 0) return true;
        error(key, "cannot read '" + path + "': " + std::strerror(bytes.error));
        return false;
    }

    // Returns the first certificate in a PEM file, or null after reporting.
    X509* certificate(const std::string& key, const std::string& path) {
        FileBytes bytes;
        if (!readable(key, path, bytes)) return nullptr;
        BIO* bio = BIO_new_mem_buf(bytes.data.data(), static_cast<int>(bytes.data.size()));
        X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
        BIO_free(bio);
        ERR_clear_error();
        if (cert == nullptr) error(key, "'" + path + "' holds no PEM certificate");
        return cert;
    }

    EVP_PKEY* private_key(const std::string& key, const std::string& path) {
        FileBytes bytes;
        if (!readable(key, path, bytes)) return nullptr;
        struct stat st;
        if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
            if (result_.config.control.allow_insecure_key_files)
                warn(key, "'" + path +
                              "' is readable by group or others (chmod 600 it); allowed by "
                              "control.allow_insecure_key_files");
            else
                error(key, "'" + path +
                               "' is readable by group or others: chmod 600 it (or set "
                               "control.allow_insecure_key_files = true in a lab)");
        }
        BIO* bio = BIO_new_mem_buf(bytes.data.data(), static_cast<int>(bytes.data.size()));
        EVP_PKEY* pkey =
            bio ? PEM_read_bio_PrivateKey(bio, nullptr, refuse_passphrase, nullptr) : nullptr;
        BIO_free(bio);
        ERR_clear_error();
        if (pkey == nullptr)
            error(key, "'" + path +
                           "' holds no PEM private key (keys protected by a passphrase are not "
                           "supported)");
        return pkey;
    }

    // cert + key that belong together, and the CA that verifies the peer.
    void tls_files(const std::string& prefix, const std::string& cert_path,
                   const std::string& key_path, const std::string& ca_key,
                   const std::string& ca_path) {
        X509* cert = certificate(prefix + "cert", cert_path);
        EVP_PKEY* pkey = private_key(prefix + "key", key_path);
        if (cert != nullptr && pkey != nullptr && X509_check_private_key(cert, pkey) != 1)
            error(prefix + "key", "does not belong to the certificate in '" + cert_path + "'");
        ERR_clear_error();
        X509_free(cert);
        EVP_PKEY_free(pkey);
        X509_free(certificate(prefix + ca_key, ca_path));
    }

    // The X1 state holds target identities: like a private key, never readable by group or
    // others (no lab exception). A missing file is a fresh start.
    void x1_state(const std::string& path) {
        struct stat st;
        if (stat(path.c_str(), &st) != 0) return;
        if ((st.st_mode & 077) != 0)
            error("control.x1_state",
                  "'" + path +
                      "' is readable by group or others (it holds target identities): "
                      "chmod 600 it");
    }

    void preload(const std::string& path, FileCheck mode) {
        const std::string key = "keys.preload";
        FileBytes bytes;
        if (!readable(key, path, bytes)) return;
        nlohmann::json body;
        try {
            body = nlohmann::json::parse(bytes.data);
        } catch (const nlohmann::json::parse_error& e) {
            // e.what() quotes the input near the error (key material): report the place only.
            size_t line = 1, column = 1;
            for (size_t i = 0; i + 1 < e.byte && i < bytes.data.size(); ++i) {
                if (bytes.data[i] == '\n') {
                    ++line;
                    column = 1;
                } else {
                    ++column;
                }
            }
            error(key, "'" + path + "' is not valid JSON (line " + std::to_string(line) +
                           ", column " + std::to_string(column) + ")");
            return;
        }
        const bool keys_object =
            body.is_object() && body.contains("keys") && body["keys"].is_array();
        if (!keys_object && !body.is_array())
            error(key, "'" + path + "' must hold {\"keys\": [...]} or a JSON array");
        else if (mode == FileCheck::full)
            // The run's own validation (reasons name the field, never the value).
            for (const keys::EntryResult& entry : keys::derive_keys(body))
                if (!entry.ok)
                    error(key, "'" + path + "': keys[" + std::to_string(entry.index) +
                                   "] refused: " + entry.reason);
        // Wipe the parsed copy of the key material too.
        std::function<void(nlohmann::json&)> wipe = [&](nlohmann::json& j) {
            if (j.is_string()) {
                auto& s = j.get_ref<std::string&>();
                OPENSSL_cleanse(s.data(), s.size());
            } else if (j.is_structured()) {
                for (auto& child : j) wipe(child);
            }
        };
        wipe(body);
    }

    void spool_dir(const std::string& path) {
        namespace fs = std::filesystem;
        const std::string key = "export.spool_dir";
        std::error_code ec;
        if (fs::exists(path, ec)) {
            if (!fs::is_directory(path, ec))
                error(key, "'" + path + "' is not a directory");
            else if (access(path.c_str(), W_OK | X_OK) != 0)
                warn(key, "'" + path + "' is not writable by this user");
            return;
        }
        // liprobe creates it at start: the nearest existing parent must be writable.
        fs::path parent = fs::path(path).parent_path();
        while (!parent.empty() && !fs::exists(parent, ec)) parent = parent.parent_path();
        if (parent.empty()) parent = ".";
        if (access(parent.c_str(), W_OK | X_OK) != 0)
            warn(key, "'" + path + "' does not exist and this user cannot create it");
    }

  private:
    LoadResult& result_;
};

}  // namespace

void check_files(LoadResult& result, FileCheck mode) {
    Checker checker(result);
    const Config& cfg = result.config;
    if (!cfg.control.listen.empty())
        checker.tls_files("control.", cfg.control.cert, cfg.control.key, "client_ca",
                          cfg.control.client_ca);
    for (size_t i = 0; i < cfg.destinations.size(); ++i) {
        const Destination& d = cfg.destinations[i];
        if (d.tls)
            checker.tls_files("destination[" + std::to_string(i) + "].", d.cert, d.key, "ca", d.ca);
    }
    if (cfg.exporter.tls && !cfg.exporter.cert.empty())
        checker.tls_files("export.", cfg.exporter.cert, cfg.exporter.key, "ca", cfg.exporter.ca);
    if (!cfg.control.x1_state.empty()) checker.x1_state(cfg.control.x1_state);
    if (!cfg.keys.preload.empty()) checker.preload(cfg.keys.preload, mode);
    if (!cfg.exporter.spool_dir.empty()) checker.spool_dir(cfg.exporter.spool_dir);
}

}  // namespace liprobe::control
