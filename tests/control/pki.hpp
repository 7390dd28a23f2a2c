// Throwaway PEM files for the control tests: an EC P-256 key and a self-signed certificate,
// generated with OpenSSL at test time so that no key material lives in the test sources.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace liprobe::test {

// A fresh directory under $TMPDIR (default /tmp).
inline std::string make_temp_dir() {
    std::string tmpl = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                       "/liprobe-control-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return tmpl;
}

inline void write_text(const std::string& path, const std::string& text, mode_t mode = 0644) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    chmod(path.c_str(), mode);
}

inline void remove_tree(const std::string& dir) {
    const std::string cmd = "rm -rf '" + dir + "'";
    if (std::system(cmd.c_str()) != 0) std::perror("rm");
}

// Writes key_path (mode 0600; encrypted with AES-256-CBC when passphrase is set) and cert_path.
inline void write_pem_pair(const std::string& key_path, const std::string& cert_path,
                           EVP_PKEY* pkey, X509* cert, const char* passphrase = nullptr) {
    FILE* kf = std::fopen(key_path.c_str(), "wb");
    FILE* cf = std::fopen(cert_path.c_str(), "wb");
    if (kf == nullptr || cf == nullptr) throw std::runtime_error("cannot write PEM files");
    if (passphrase != nullptr)
        PEM_write_PrivateKey(
            kf, pkey, EVP_aes_256_cbc(), reinterpret_cast<const unsigned char*>(passphrase),
            static_cast<int>(std::char_traits<char>::length(passphrase)), nullptr, nullptr);
    else
        PEM_write_PrivateKey(kf, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    PEM_write_X509(cf, cert);
    std::fclose(kf);
    std::fclose(cf);
    chmod(key_path.c_str(), 0600);
}

// Writes key_path (mode 0600) and cert_path (a self-signed certificate for that key). With a
// passphrase, the key is written encrypted (AES-256-CBC).
inline void write_key_and_cert(const std::string& key_path, const std::string& cert_path,
                               const char* passphrase = nullptr) {
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    if (pkey == nullptr || cert == nullptr) throw std::runtime_error("OpenSSL keygen failed");
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, pkey);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("liprobe-test"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, pkey, EVP_sha256());

    write_pem_pair(key_path, cert_path, pkey, cert, passphrase);
    X509_free(cert);
    EVP_PKEY_free(pkey);
}

// A throwaway CA that issues EC P-256 certificates (mutual-TLS tests: the control API server
// and its clients). Subjects are given as (field, value) pairs in order, e.g. {{"O", "Op"},
// {"CN", "mf"}} (RFC 2253 form, as the server prints it: "CN=mf,O=Op").
class TestCa {
  public:
    using Subject = std::vector<std::pair<std::string, std::string>>;
    explicit TestCa(const std::string& dir, const std::string& name = "ca") : dir_(dir) {
        key_ = EVP_EC_gen("P-256");
        cert_ = X509_new();
        if (key_ == nullptr || cert_ == nullptr) throw std::runtime_error("CA keygen failed");
        fill(cert_, key_, {{"O", "liprobe test"}, {"CN", "liprobe test CA " + name}}, 1);
        X509_set_issuer_name(cert_, X509_get_subject_name(cert_));
        add_ext(cert_, cert_, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert_, cert_, NID_key_usage, "critical,keyCertSign,cRLSign");
        X509_sign(cert_, key_, EVP_sha256());
        ca_pem_ = dir + "/" + name + ".pem";
        FILE* f = std::fopen(ca_pem_.c_str(), "wb");
        if (f == nullptr) throw std::runtime_error("cannot write " + ca_pem_);
        PEM_write_X509(f, cert_);
        std::fclose(f);
    }
    ~TestCa() {
        X509_free(cert_);
        EVP_PKEY_free(key_);
    }
    TestCa(const TestCa&) = delete;
    TestCa& operator=(const TestCa&) = delete;

    const std::string& ca_pem() const { return ca_pem_; }

    // Writes dir/<name>.pem and dir/<name>.key (0600); server certificates get
    // subjectAltName localhost, 127.0.0.1 and ::1.
    std::pair<std::string, std::string> issue(const std::string& name, const Subject& subject,
                                              bool server) {
        EVP_PKEY* pkey = EVP_EC_gen("P-256");
        X509* cert = X509_new();
        if (pkey == nullptr || cert == nullptr) throw std::runtime_error("keygen failed");
        fill(cert, pkey, subject, ++serial_);
        X509_set_issuer_name(cert, X509_get_subject_name(cert_));
        add_ext(cert_, cert, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert_, cert, NID_key_usage, "critical,digitalSignature");
        add_ext(cert_, cert, NID_ext_key_usage, server ? "serverAuth" : "clientAuth");
        if (server) add_ext(cert_, cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
        X509_sign(cert, key_, EVP_sha256());
        const std::string cert_path = dir_ + "/" + name + ".pem",
                          key_path = dir_ + "/" + name + ".key";
        write_pem_pair(key_path, cert_path, pkey, cert);
        X509_free(cert);
        EVP_PKEY_free(pkey);
        return {cert_path, key_path};
    }

  private:
    static void fill(X509* cert, EVP_PKEY* pkey, const Subject& subject, long serial) {
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
        X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
        X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
        X509_set_pubkey(cert, pkey);
        X509_NAME* n = X509_get_subject_name(cert);
        for (const auto& [field, value] : subject)
            X509_NAME_add_entry_by_txt(n, field.c_str(), MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                       -1, 0);
    }
    static void add_ext(X509* issuer, X509* cert, int nid, const char* value) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        if (ext == nullptr) throw std::runtime_error("bad certificate extension");
        X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
    }
    std::string dir_, ca_pem_;
    EVP_PKEY* key_ = nullptr;
    X509* cert_ = nullptr;
    long serial_ = 1;
};

}  // namespace liprobe::test
