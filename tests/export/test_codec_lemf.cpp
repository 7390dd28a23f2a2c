// liprobe-lemf end to end on loopback: plain TCP (ETSI) and mutual TLS (X3). Sequence gaps and
// duplicates are counted, keep-alives answered, malformed input closes only that connection,
// pcap / JSON-lines / summary.json are written. The binary comes from $LIPROBE_LEMF.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "codec_test_util.hpp"
#include "liprobe/export/decode.hpp"
#include "liprobe/export/encoder.hpp"

namespace liprobe::exporter {
namespace {

namespace fs = std::filesystem;

struct Lemf {
    pid_t pid = -1;
    int out_fd = -1;
    uint16_t port = 0;
    std::string dir;

    bool start(const std::vector<std::string>& extra) {
        const char* exe = std::getenv("LIPROBE_LEMF");
        if (!exe) return false;
        int pipefd[2];
        if (pipe(pipefd) != 0) return false;
        pid = fork();
        if (pid == 0) {
            dup2(pipefd[1], 1);
            close(pipefd[0]);
            std::vector<std::string> args = {exe, "--listen", "127.0.0.1:0", "--out", dir};
            args.insert(args.end(), extra.begin(), extra.end());
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(exe, argv.data());
            _exit(127);
        }
        close(pipefd[1]);
        out_fd = pipefd[0];
        std::string line;
        char c;
        while (read(out_fd, &c, 1) == 1 && c != '\n') line += c;
        const size_t colon = line.rfind(':');
        if (line.rfind("listening on ", 0) != 0 || colon == std::string::npos) return false;
        port = static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
        return true;
    }
    // SIGTERM, wait, return the printed summary.
    std::string stop() {
        kill(pid, SIGTERM);
        std::string rest;
        char b[4096];
        ssize_t n;
        while ((n = read(out_fd, b, sizeof b)) > 0) rest.append(b, static_cast<size_t>(n));
        int status = 0;
        waitpid(pid, &status, 0);
        close(out_fd);
        pid = -1;
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
        return rest;
    }
    ~Lemf() {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    }
};

int connect_to(uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

bool send_all(int fd, const std::vector<uint8_t>& b) {
    size_t o = 0;
    while (o < b.size()) {
        const ssize_t n = send(fd, b.data() + o, b.size() - o, MSG_NOSIGNAL);
        if (n <= 0) return false;
        o += static_cast<size_t>(n);
    }
    return true;
}

// The first whole ETSI PDU that arrives on fd (empty when the connection ends first).
std::vector<uint8_t> receive_pdu(int fd) {
    std::vector<uint8_t> pdu(256);
    size_t have = 0;
    long length = 0;
    while ((length = frame_length(Format::etsi102232, pdu.data(), have)) == 0) {
        const ssize_t n = recv(fd, pdu.data() + have, pdu.size() - have, 0);
        if (n <= 0) return {};
        have += static_cast<size_t>(n);
    }
    pdu.resize(length > 0 ? static_cast<size_t>(length) : 0);
    return pdu;
}

void append_keepalive(PduEncoder& enc, uint32_t seq, std::vector<uint8_t>& out) {
    std::vector<uint8_t> ka(256);
    ka.resize(enc.encode_keepalive(seq, 1700000000000000, ka.data(), ka.size()));
    out.insert(out.end(), ka.begin(), ka.end());
}

// Sends `stream` and then a keep-alive on a new connection, and waits for the answer: the
// receiver has then read everything before it. The answer (one PDU), empty when none came.
std::vector<uint8_t> send_then_keepalive(uint16_t port, PduEncoder& enc,
                                         std::vector<uint8_t> stream, uint32_t keepalive_seq) {
    append_keepalive(enc, keepalive_seq, stream);
    const int fd = connect_to(port);
    if (fd < 0) return {};
    std::vector<uint8_t> answer;
    if (send_all(fd, stream)) answer = receive_pdu(fd);
    close(fd);
    return answer;
}

std::string temp_dir(const std::string& name) {
    const std::string d =
        ::testing::TempDir() + "/liprobe_lemf_" + name + "_" + std::to_string(getpid());
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    nlohmann::json j;
    in >> j;
    return j;
}

size_t count_lines(const std::string& path) {
    std::ifstream in(path);
    std::string l;
    size_t n = 0;
    while (std::getline(in, l)) ++n;
    return n;
}

const nlohmann::json* find_stream(const nlohmann::json& s, const std::string& liid, uint64_t cin,
                                  const std::string& kind) {
    for (const auto& st : s["streams"])
        if (st["liid"] == liid && st["cin"] == cin && st["stream"] == kind) return &st;
    return nullptr;
}

ProbeIdentity probe() {
    return ProbeIdentity{"OP1", "NE1", "NZ"};
}

// ETSI PDUs of one LIID back to back, as a probe's connection carries them.
struct EtsiStream {
    std::unique_ptr<PduEncoder> enc = PduEncoder::create(Format::etsi102232, probe());
    WarrantInfo warrant;
    std::vector<uint8_t> bytes;

    explicit EtsiStream(const std::string& liid) { warrant.liid = liid; }
    void add(const Record& r, uint32_t seq) {
        std::vector<uint8_t> pdu(r.len + enc->max_overhead());
        pdu.resize(enc->encode(r, warrant, seq, pdu.data(), pdu.size()));
        bytes.insert(bytes.end(), pdu.begin(), pdu.end());
    }
};

TEST(Lemf, PlainEtsiCountsGapsDuplicatesAndAnswersKeepalives) {
    Lemf lemf;
    lemf.dir = temp_dir("plain");
    ASSERT_TRUE(lemf.start({"--plain"})) << "LIPROBE_LEMF not set or lemf did not start";

    EtsiStream stream("LIID1");
    auto add = [&](const Record& r, uint32_t seq) { stream.add(r, seq); };
    test::OwnedRecord rtp(RecordKind::cc_rtp, test::rtp_packet(1, 160));
    rtp.rec.cin = 1;
    rtp.rec.direction = Direction::from_target;
    rtp.rec.time_us = 1700000000000000;
    for (uint32_t s = 0; s < 100; ++s) {
        if (s == 50) continue;  // a gap of one
        add(rtp.rec, s);
        if (s == 60) add(rtp.rec, s);  // a duplicate
    }
    test::OwnedRecord sip(RecordKind::iri_sip, test::sip_message("INVITE sip:b@x SIP/2.0"));
    sip.rec.cin = 1;
    sip.rec.iri_type = IriType::begin;
    add(sip.rec, 0);
    // The keep-alive is answered with a keep-aliveResponse repeating its header.
    const std::vector<uint8_t> resp = send_then_keepalive(lemf.port, *stream.enc, stream.bytes, 5);
    ASSERT_FALSE(resp.empty());
    EXPECT_TRUE(is_keepalive_response(Format::etsi102232, resp.data(), resp.size()));

    // Garbage on a second connection: that connection is closed, the receiver lives on.
    const int bad = connect_to(lemf.port);
    ASSERT_GE(bad, 0);
    ASSERT_TRUE(send_all(bad, {0x30, 0x03, 0x02, 0x01, 0x00}));
    char c;
    EXPECT_EQ(recv(bad, &c, 1, 0), 0);  // closed by the receiver
    close(bad);

    const std::string printed = lemf.stop();
    EXPECT_NE(printed.find("liprobe-lemf summary: 101 PDUs, 1 missing, 1 duplicates"),
              std::string::npos)
        << printed;
    const auto s = read_json(lemf.dir + "/summary.json");
    EXPECT_EQ(s["pdus"], 101);
    EXPECT_EQ(s["missing"], 1);
    EXPECT_EQ(s["duplicates"], 1);
    EXPECT_EQ(s["keepalives_answered"], 1);
    EXPECT_EQ(s["connections"], 2);
    EXPECT_EQ(s["malformed_connections"], 1);
    const auto* cc = find_stream(s, "LIID1", 1, "cc");
    ASSERT_NE(cc, nullptr);
    EXPECT_EQ((*cc)["pdus"], 100);
    EXPECT_EQ((*cc)["next_seq"], 100);
    EXPECT_EQ((*cc)["gap_events"], 1);
    const auto* iri = find_stream(s, "LIID1", 1, "iri");
    ASSERT_NE(iri, nullptr);
    EXPECT_EQ((*iri)["missing"], 0);

    EXPECT_EQ(count_lines(lemf.dir + "/LIID1_1.jsonl"), 101u);
    // pcap: global header + 100 records of 16 + IPv4 20 + UDP 8 + RTP 172.
    EXPECT_EQ(fs::file_size(lemf.dir + "/LIID1_1.pcap"), 24u + 100u * (16 + 20 + 8 + 172));
    std::ifstream j(lemf.dir + "/LIID1_1.jsonl");
    std::string first;
    std::getline(j, first);
    const auto line = nlohmann::json::parse(first);
    EXPECT_EQ(line["kind"], "cc_rtp");
    EXPECT_EQ(line["seq"], 0);
    EXPECT_EQ(line["direction"], "from_target");
    EXPECT_EQ(line["time"], "2023-11-14T22:13:20.000000Z");
    fs::remove_all(lemf.dir);
}

TEST(Lemf, ReportsLiDeactivatedPerLiidAfterItsRecords) {
    Lemf lemf;
    lemf.dir = temp_dir("hi1");
    ASSERT_TRUE(lemf.start({"--plain"})) << "LIPROBE_LEMF not set or lemf did not start";
    auto enc = PduEncoder::create(Format::etsi102232, probe());
    std::vector<uint8_t> stream;
    auto add = [&](const Record& r, const std::string& liid, uint32_t seq) {
        WarrantInfo w;
        w.liid = liid;
        std::vector<uint8_t> pdu(r.len + enc->max_overhead());
        pdu.resize(enc->encode(r, w, seq, pdu.data(), pdu.size()));
        ASSERT_FALSE(pdu.empty());
        stream.insert(stream.end(), pdu.begin(), pdu.end());
    };
    test::OwnedRecord rtp(RecordKind::cc_rtp, test::rtp_packet(1, 160));
    rtp.rec.cin = 4;
    rtp.rec.time_us = 1700000000000000;
    for (uint32_t s = 0; s < 3; ++s) add(rtp.rec, "LIID1", s);
    add(rtp.rec, "LIID2", 0);
    test::OwnedRecord note(RecordKind::hi1_li_deactivated, {});
    note.rec.time_us = 1700000000000000;
    add(note.rec, "LIID1", 0);
    ASSERT_FALSE(send_then_keepalive(lemf.port, *enc, stream, 0).empty());
    const std::string printed = lemf.stop();
    EXPECT_NE(printed.find("  LIID1: 1 liDeactivated"), std::string::npos) << printed;

    const auto s = read_json(lemf.dir + "/summary.json");
    EXPECT_EQ(s["pdus"], 5);
    EXPECT_EQ(s["li_deactivated"], nlohmann::json({{"LIID1", 1}}));
    const auto* hi1 = find_stream(s, "LIID1", 0, "hi1");
    ASSERT_NE(hi1, nullptr);
    EXPECT_EQ((*hi1)["pdus"], 1);
    EXPECT_EQ((*hi1)["missing"], 0);
    std::ifstream j(lemf.dir + "/LIID1_0.jsonl");
    std::string text;
    std::getline(j, text);
    const auto line = nlohmann::json::parse(text);
    EXPECT_EQ(line["kind"], "li_deactivated");
    EXPECT_EQ(line["notification_liid"], "LIID1");
    EXPECT_EQ(line["notification_operator"], "OP1");
    EXPECT_EQ(line["notification_time"], "231114221320Z");
    EXPECT_EQ(line["liid_records_before"], 3);  // LIID2's record is not LIID1's
    fs::remove_all(lemf.dir);
}

// ---------------------------------------------------------------- TLS ----------------------

bool make_pki(const std::string& d) {
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    const std::string q = " >/dev/null 2>&1";
    auto ca = [&](const std::string& n) {
        return "openssl req -x509" + ec + "-keyout " + d + "/" + n + ".key -out " + d + "/" + n +
               ".crt -days 2 -subj /CN=" + n + q;
    };
    auto leaf = [&](const std::string& n, const std::string& by) {
        return "openssl req" + ec + "-keyout " + d + "/" + n + ".key -out " + d + "/" + n +
               ".csr -subj /CN=" + n + q + " && openssl x509 -req -in " + d + "/" + n +
               ".csr -CA " + d + "/" + by + ".crt -CAkey " + d + "/" + by +
               ".key -CAcreateserial -days 2 -out " + d + "/" + n + ".crt" + q;
    };
    for (const std::string& cmd : {ca("ca"), ca("otherca"), leaf("server", "ca"),
                                   leaf("client", "ca"), leaf("stranger", "otherca")})
        if (std::system(cmd.c_str()) != 0) return false;
    return true;
}

// A TLS client connection; nullptr when the handshake (or the first read) fails.
SSL* tls_connect(SSL_CTX* ctx, uint16_t port, int& fd) {
    fd = connect_to(port);
    if (fd < 0) return nullptr;
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
        SSL_free(ssl);
        close(fd);
        return nullptr;
    }
    return ssl;
}

TEST(Lemf, MutualTlsX3) {
    if (std::system("openssl version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl CLI";
    Lemf lemf;
    lemf.dir = temp_dir("tls");
    const std::string pki = lemf.dir + "/pki";
    fs::create_directories(pki);
    ASSERT_TRUE(make_pki(pki));
    ASSERT_TRUE(lemf.start({"--format", "x3", "--cert", pki + "/server.crt", "--key",
                            pki + "/server.key", "--ca", pki + "/ca.crt"}));

    auto client_ctx = [&](const std::string& who) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_load_verify_locations(ctx, (pki + "/ca.crt").c_str(), nullptr);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        if (!who.empty()) {
            SSL_CTX_use_certificate_file(ctx, (pki + "/" + who + ".crt").c_str(), SSL_FILETYPE_PEM);
            SSL_CTX_use_PrivateKey_file(ctx, (pki + "/" + who + ".key").c_str(), SSL_FILETYPE_PEM);
        }
        return ctx;
    };

    // Good client: 1000 X3 PDUs, then a keepalive answered with an acknowledgement.
    SSL_CTX* good = client_ctx("client");
    int fd = -1;
    SSL* ssl = tls_connect(good, lemf.port, fd);
    ASSERT_NE(ssl, nullptr);
    auto enc = PduEncoder::create(Format::x3, ProbeIdentity{});
    WarrantInfo w;
    w.liid = "L";
    for (int i = 0; i < 16; ++i) w.xid[i] = static_cast<uint8_t>(0xa0 + i);
    test::OwnedRecord rtp(RecordKind::cc_rtp, test::rtp_packet(1, 160));
    rtp.rec.cin = 9;
    test::set_v4(rtp.rec.src, 192, 0, 2, 1, 8000);
    test::set_v4(rtp.rec.dst, 198, 51, 100, 2, 9000);
    std::vector<uint8_t> batch;
    for (uint32_t s = 0; s < 1000; ++s) {
        std::vector<uint8_t> pdu(rtp.rec.len + enc->max_overhead());
        pdu.resize(enc->encode(rtp.rec, w, s, pdu.data(), pdu.size()));
        batch.insert(batch.end(), pdu.begin(), pdu.end());
    }
    std::vector<uint8_t> ka(64);
    ka.resize(enc->encode_keepalive(3, 0, ka.data(), ka.size()));
    batch.insert(batch.end(), ka.begin(), ka.end());
    ASSERT_EQ(SSL_write(ssl, batch.data(), static_cast<int>(batch.size())),
              static_cast<int>(batch.size()));
    uint8_t ack[64];
    int got = 0;
    while (got < 48) {
        const int n = SSL_read(ssl, ack + got, static_cast<int>(sizeof ack) - got);
        ASSERT_GT(n, 0);
        got += n;
    }
    EXPECT_TRUE(is_keepalive_response(Format::x3, ack, 48));
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);

    // No client certificate, and a certificate from another CA: refused.
    for (const std::string who : {"", "stranger"}) {
        SSL_CTX* ctx = client_ctx(who);
        int f = -1;
        SSL* s = tls_connect(ctx, lemf.port, f);
        if (s) {  // TLS 1.3: the client learns of the refusal on its first read
            uint8_t b;
            EXPECT_LE(SSL_read(s, &b, 1), 0) << who;
            SSL_free(s);
            close(f);
        }
        SSL_CTX_free(ctx);
    }
    SSL_CTX_free(good);

    lemf.stop();
    const auto s = read_json(lemf.dir + "/summary.json");
    EXPECT_EQ(s["format"], "x3");
    EXPECT_EQ(s["pdus"], 1000);
    EXPECT_EQ(s["missing"], 0);
    EXPECT_EQ(s["keepalives_answered"], 1);
    EXPECT_EQ(s["tls_failures"], 2);
    const std::string xid = "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf";
    const auto* cc = find_stream(s, xid, 9, "cc");
    ASSERT_NE(cc, nullptr);
    EXPECT_EQ((*cc)["next_seq"], 1000);
    EXPECT_EQ(count_lines(lemf.dir + "/" + xid + "_9.jsonl"), 1000u);
    // X3 carries the addresses: the pcap uses them (IPv4 20 + UDP 8 + RTP 172).
    EXPECT_EQ(fs::file_size(lemf.dir + "/" + xid + "_9.pcap"), 24u + 1000u * (16 + 200));
    fs::remove_all(lemf.dir);
}

// The UDP ports of each record of a LINKTYPE_RAW IPv4 pcap, and its UDP payload.
struct PcapUdp {
    uint16_t src_port, dst_port;
    std::vector<uint8_t> payload;
};
std::vector<PcapUdp> read_raw_ipv4_udp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> f((std::istreambuf_iterator<char>(in)), {});
    std::vector<PcapUdp> out;
    size_t at = 24;
    while (at + 16 <= f.size()) {
        const uint32_t caplen =
            f[at + 8] | f[at + 9] << 8 | f[at + 10] << 16 | uint32_t{f[at + 11]} << 24;
        const uint8_t* ip = f.data() + at + 16;
        at += 16 + caplen;
        if (caplen < 28 || at > f.size()) break;
        const size_t ihl = (ip[0] & 0x0Fu) * 4;
        out.push_back({static_cast<uint16_t>(ip[ihl] << 8 | ip[ihl + 1]),
                       static_cast<uint16_t>(ip[ihl + 2] << 8 | ip[ihl + 3]),
                       std::vector<uint8_t>(ip + ihl + 8, ip + caplen)});
    }
    return out;
}

// Issue 10: decrypted SRTCP reaches the LEMF as CC in the RTP packet's form (ETSI rtpFrame,
// mMCCprotocol rTP), with no addresses. liprobe-lemf writes it next to the call's RTP, one
// synthetic port up (RFC 5761 4 tells RTCP from RTP by the second octet), so Wireshark with
// Decode As RTP on 50000 and RTCP on 50001 shows both streams of both directions.
TEST(Lemf, DecryptedRtcpLandsOnePortAboveItsRtp) {
    Lemf lemf;
    lemf.dir = temp_dir("rtcp");
    ASSERT_TRUE(lemf.start({"--plain"})) << "LIPROBE_LEMF not set or lemf did not start";
    EtsiStream stream("LIID2");
    uint32_t seq = 0;
    auto add = [&](std::vector<uint8_t> packet, Direction direction) {
        test::OwnedRecord r(RecordKind::cc_rtp, std::move(packet));
        r.rec.cin = 7;
        r.rec.direction = direction;
        r.rec.time_us = 1700000000000000 + int64_t{seq} * 20000;
        stream.add(r.rec, seq++);
    };
    // RTCP sender report (PT 200) of SSRC 0x11223344: header, NTP time, RTP time, counts.
    const std::vector<uint8_t> report = {0x80, 200,  0x00, 0x06, 0x11, 0x22, 0x33, 0x44, 0xea, 0x7c,
                                         0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f, 0x40,
                                         0x00, 0x00, 0x00, 0x32, 0x00, 0x00, 0x1f, 0x40};
    for (const Direction d : {Direction::from_target, Direction::to_target}) {
        for (uint16_t i = 0; i < 3; ++i)
            add(test::rtp_packet(static_cast<uint16_t>(100 + i), 160), d);
        add(report, d);
    }
    // A keep-alive last: once it is answered, every PDU before it has been written.
    ASSERT_FALSE(send_then_keepalive(lemf.port, *stream.enc, stream.bytes, 1).empty());
    lemf.stop();

    const std::string pcap = lemf.dir + "/LIID2_7.pcap";
    const auto records = read_raw_ipv4_udp(pcap);
    ASSERT_EQ(records.size(), 8u);
    const uint16_t expected_ports[8][2] = {{50000, 50002}, {50000, 50002}, {50000, 50002},
                                           {50001, 50003}, {50002, 50000}, {50002, 50000},
                                           {50002, 50000}, {50003, 50001}};
    for (size_t i = 0; i < records.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(records[i].src_port, expected_ports[i][0]);
        EXPECT_EQ(records[i].dst_port, expected_ports[i][1]);
        if (i % 4 == 3) {
            EXPECT_EQ(records[i].payload, report);
        }
    }
    std::ifstream jl(lemf.dir + "/LIID2_7.jsonl");
    std::string line;
    size_t rtcp_lines = 0;
    while (std::getline(jl, line)) {
        const auto j = nlohmann::json::parse(line);
        EXPECT_EQ(j["kind"], "cc_rtp");
        EXPECT_EQ(j["frame_type"], 2);     // rtpFrame
        EXPECT_EQ(j["mmcc_protocol"], 0);  // rTP
        rtcp_lines += j["rtcp"].get<bool>() ? 1 : 0;
    }
    EXPECT_EQ(rtcp_lines, 2u);

    if (std::system("tshark -v >/dev/null 2>&1") != 0) {
        fs::remove_all(lemf.dir);
        GTEST_SKIP() << "tshark not installed: ports checked, dissection not";
    }
    // One line per frame: RTP sequence number or RTCP packet type, as tshark decodes them.
    const std::string cmd = "tshark -r " + pcap +
                            " -d udp.port==50000,rtp -d udp.port==50001,rtcp -T fields -e "
                            "frame.protocols -e rtp.seq -e rtcp.pt -e rtcp.senderssrc 2>/dev/null";
    std::string out;
    if (FILE* p = popen(cmd.c_str(), "r")) {
        char b[4096];
        size_t n;
        while ((n = std::fread(b, 1, sizeof b, p)) > 0) out.append(b, n);
        pclose(p);
    }
    EXPECT_EQ(out,
              "raw:ip:udp:rtp\t100\t\t\n"
              "raw:ip:udp:rtp\t101\t\t\n"
              "raw:ip:udp:rtp\t102\t\t\n"
              "raw:ip:udp:rtcp\t\t200\t0x11223344\n"
              "raw:ip:udp:rtp\t100\t\t\n"
              "raw:ip:udp:rtp\t101\t\t\n"
              "raw:ip:udp:rtp\t102\t\t\n"
              "raw:ip:udp:rtcp\t\t200\t0x11223344\n");
    fs::remove_all(lemf.dir);
}

TEST(Lemf, PlainRefusesNonLoopback) {
    const char* exe = std::getenv("LIPROBE_LEMF");
    ASSERT_NE(exe, nullptr);
    const std::string cmd = std::string(exe) + " --plain --listen 0.0.0.0:0 --out " +
                            ::testing::TempDir() + "/liprobe_lemf_never >/dev/null 2>&1";
    EXPECT_NE(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace liprobe::exporter
