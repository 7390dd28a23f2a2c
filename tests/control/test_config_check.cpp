// check_files (--check): the certificates, keys, CA files, preload JSON and spool directory a
// config names. Messages name the key and path and never quote file contents.
#include <gtest/gtest.h>

#include <string>

#include "liprobe/control/config.hpp"
#include "pki.hpp"
#include "preload_samples.hpp"

namespace liprobe::control {
namespace {

class ConfigCheck : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::make_temp_dir();
        test::write_key_and_cert(dir_ + "/probe.key", dir_ + "/probe.pem");
        test::write_key_and_cert(dir_ + "/other.key", dir_ + "/ca.pem");
        test::write_text(dir_ + "/keys.json", R"({"keys": []})");
    }
    void TearDown() override { test::remove_tree(dir_); }

    // A config whose destination and control API use the given files (relative to dir_).
    LoadResult check(const std::string& cert, const std::string& key,
                     const std::string& preload = "keys.json", const std::string& spool = "spool",
                     FileCheck mode = FileCheck::full, const std::string& control_extra = "") {
        const std::string text = R"(
[probe]
network_element_id = "ne"
operator_id = "op"
country_code = "SE"
[keys]
preload = ")" + preload + R"("
[control]
listen = "127.0.0.1:8443"
cert = ")" + cert + R"("
key = ")" + key + R"("
client_ca = "ca.pem"
audit_log = "audit.jsonl"
audit_salt = "0123456789abcdef0123"
)" + control_extra + R"(
[[control.client]]
subject = "CN=mf"
roles = ["keys"]
[export]
spool_dir = ")" + spool + R"("
[[destination]]
id = "lemf"
address = "127.0.0.1:4443"
cert = ")" + cert + R"("
key = ")" + key + R"("
ca = "ca.pem"
[[warrant]]
liid = "L1"
targets = ["sip:alice@example.org"]
destinations = ["lemf"]
)";
        LoadResult r = parse_config(text, "c.toml", dir_);
        EXPECT_TRUE(r.ok());
        check_files(r, mode);
        return r;
    }

    static std::string texts(const std::vector<Diagnostic>& list) {
        std::string out;
        for (const auto& d : list) out += d.text() + "\n";
        return out;
    }

    std::string dir_;
};

TEST_F(ConfigCheck, GoodFilesPass) {
    const LoadResult r = check("probe.pem", "probe.key");
    EXPECT_EQ(texts(r.errors), "");
    EXPECT_EQ(texts(r.warnings), "");
}

TEST_F(ConfigCheck, MissingFileIsNamedWithItsKey) {
    const LoadResult r = check("nope.pem", "probe.key");
    EXPECT_EQ(texts(r.errors), "c.toml: control.cert: cannot read '" + dir_ +
                                   "/nope.pem': No such file or directory\n"
                                   "c.toml: destination[0].cert: cannot read '" +
                                   dir_ + "/nope.pem': No such file or directory\n");
}

TEST_F(ConfigCheck, CertificateFileWithoutACertificate) {
    test::write_text(dir_ + "/junk.pem", "not a certificate\n");
    const LoadResult r = check("junk.pem", "probe.key");
    EXPECT_EQ(texts(r.errors), "c.toml: control.cert: '" + dir_ +
                                   "/junk.pem' holds no PEM certificate\n"
                                   "c.toml: destination[0].cert: '" +
                                   dir_ + "/junk.pem' holds no PEM certificate\n");
}

TEST_F(ConfigCheck, KeyOfAnotherCertificate) {
    const LoadResult r = check("probe.pem", "other.key");
    EXPECT_EQ(texts(r.errors),
              "c.toml: control.key: does not belong to the certificate in '" + dir_ +
                  "/probe.pem'\n"
                  "c.toml: destination[0].key: does not belong to the certificate in '" +
                  dir_ + "/probe.pem'\n");
}

TEST_F(ConfigCheck, PassphraseProtectedKeyIsRefused) {
    test::write_key_and_cert(dir_ + "/enc.key", dir_ + "/enc.pem", "passphrase");
    const LoadResult r = check("enc.pem", "enc.key");
    const std::string problem =
        "/enc.key' holds no PEM private key (keys protected by a passphrase are not supported)\n";
    EXPECT_EQ(texts(r.errors), "c.toml: control.key: '" + dir_ + problem +
                                   "c.toml: destination[0].key: '" + dir_ + problem);
}

TEST_F(ConfigCheck, GroupReadableKeyIsRefused) {
    chmod((dir_ + "/probe.key").c_str(), 0640);
    for (FileCheck mode : {FileCheck::full, FileCheck::run}) {
        const LoadResult r = check("probe.pem", "probe.key", "keys.json", "spool", mode);
        const std::string problem =
            "/probe.key' is readable by group or others: chmod 600 it (or set "
            "control.allow_insecure_key_files = true in a lab)\n";
        EXPECT_EQ(texts(r.errors), "c.toml: control.key: '" + dir_ + problem +
                                       "c.toml: destination[0].key: '" + dir_ + problem);
        EXPECT_EQ(texts(r.warnings), "");
    }
}

TEST_F(ConfigCheck, GroupReadableKeyAllowedInALabIsAWarning) {
    chmod((dir_ + "/probe.key").c_str(), 0604);
    const LoadResult r = check("probe.pem", "probe.key", "keys.json", "spool", FileCheck::full,
                               "allow_insecure_key_files = true");
    EXPECT_EQ(texts(r.errors), "");
    const std::string problem =
        "/probe.key' is readable by group or others (chmod 600 it); allowed by "
        "control.allow_insecure_key_files\n";
    EXPECT_EQ(texts(r.warnings), "c.toml: control.key: '" + dir_ + problem +
                                     "c.toml: destination[0].key: '" + dir_ + problem);
}

// --check derives the preload entries exactly as the run loads them: every refused entry is an
// error naming its index and field, never the value.
TEST_F(ConfigCheck, RefusedPreloadEntriesAreErrors) {
    test::write_text(dir_ + "/entries.json", test::kRefusedPreload);
    const LoadResult r = check("probe.pem", "probe.key", "entries.json");
    const std::string at = "c.toml: keys.preload: '" + dir_ + "/entries.json': ";
    EXPECT_EQ(texts(r.errors), at + "keys[1] refused: key: expected 16 octets, got 15\n" + at +
                                   "keys[2] refused: key: not a hex string\n" + at +
                                   "keys[3] refused: type: unknown type (expected gmk, pck or "
                                   "srtp)\n" +
                                   at + "keys[5] refused: key_id: duplicate of keys[4]\n");
    for (const char* secret : test::kRefusedPreloadSecrets)
        EXPECT_EQ(texts(r.errors).find(secret), std::string::npos) << secret;
    // Before a normal run only the file's shape is checked: the run refuses entries itself.
    EXPECT_EQ(
        texts(check("probe.pem", "probe.key", "entries.json", "spool", FileCheck::run).errors), "");
}

TEST_F(ConfigCheck, PreloadThatIsNotJsonIsLocatedButNotQuoted) {
    test::write_text(dir_ + "/bad.json", "{\"keys\": [\n  {\"key\": \"00112233deadbeef\" ]}\n");
    const LoadResult r = check("probe.pem", "probe.key", "bad.json");
    EXPECT_EQ(texts(r.errors), "c.toml: keys.preload: '" + dir_ +
                                   "/bad.json' is not valid JSON (line 2, column 30)\n");
    EXPECT_EQ(texts(r.errors).find("deadbeef"), std::string::npos);
}

TEST_F(ConfigCheck, PreloadOfTheWrongShape) {
    test::write_text(dir_ + "/shape.json", R"({"entries": []})");
    const LoadResult r = check("probe.pem", "probe.key", "shape.json");
    EXPECT_EQ(texts(r.errors), "c.toml: keys.preload: '" + dir_ +
                                   "/shape.json' must hold {\"keys\": [...]} or a JSON array\n");
}

TEST_F(ConfigCheck, SpoolDirThatIsAFile) {
    test::write_text(dir_ + "/file", "x");
    const LoadResult r = check("probe.pem", "probe.key", "keys.json", "file");
    EXPECT_EQ(texts(r.errors),
              "c.toml: export.spool_dir: '" + dir_ + "/file' is not a directory\n");
}

// The X1 state holds target identities: group- or other-readable stops the start, with no lab
// exception; a missing file is a fresh start.
TEST_F(ConfigCheck, X1StateReadableByOthersIsRefused) {
    const std::string extra = "x1_state = \"x1.json\"\nallow_insecure_key_files = true";
    EXPECT_EQ(
        texts(check("probe.pem", "probe.key", "keys.json", "spool", FileCheck::run, extra).errors),
        "");
    test::write_text(dir_ + "/x1.json", "{}", 0644);
    EXPECT_EQ(
        texts(check("probe.pem", "probe.key", "keys.json", "spool", FileCheck::run, extra).errors),
        "c.toml: control.x1_state: '" + dir_ +
            "/x1.json' is readable by group or others (it holds target identities): "
            "chmod 600 it\n");
    chmod((dir_ + "/x1.json").c_str(), 0600);
    EXPECT_EQ(
        texts(check("probe.pem", "probe.key", "keys.json", "spool", FileCheck::run, extra).errors),
        "");
}

// [export] cert/key/ca (TLS towards X1 destinations): all or none, and checked like the others.
TEST_F(ConfigCheck, ExportTlsForX1Destinations) {
    const std::string base = R"(
[probe]
network_element_id = "ne"
operator_id = "op"
country_code = "SE"
[export]
spool_dir = ""
)";
    LoadResult partial = parse_config(base + "cert = \"probe.pem\"\n", "c.toml", dir_);
    EXPECT_NE(texts(partial.errors).find("export.key: required with the other TLS settings"),
              std::string::npos)
        << texts(partial.errors);
    LoadResult wrong = parse_config(
        base + "cert = \"probe.pem\"\nkey = \"other.key\"\nca = \"ca.pem\"\n", "c.toml", dir_);
    ASSERT_TRUE(wrong.ok()) << texts(wrong.errors);
    check_files(wrong);
    EXPECT_EQ(texts(wrong.errors), "c.toml: export.key: does not belong to the certificate in '" +
                                       dir_ + "/probe.pem'\n");
}

}  // namespace
}  // namespace liprobe::control
