// Throwaway PEM files for the control tests: an EC P-256 key and a self-signed certificate,
// generated with OpenSSL at test time so that no key material lives in the test sources.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

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
    X509_free(cert);
    EVP_PKEY_free(pkey);
}

}  // namespace liprobe::test
