// pcap reader/writer: round trips in micro- and nanosecond precision, link types, errors.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "liprobe/net/pcap_file.hpp"

using namespace liprobe::net;
using Bytes = std::vector<uint8_t>;

namespace {

std::string temp_path(const std::string& name) {
    return ::testing::TempDir() + name + "_" + std::to_string(getpid()) + ".pcap";
}

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(PcapFile, RoundTripMicroseconds) {
    const std::string path = temp_path("micro");
    const Bytes a = {1, 2, 3, 4, 5};
    const Bytes b(1500, 0xab);
    {
        PcapWriter w(path, DLT_EN10MB);
        w.write(1714557600, 999999, a.data(), static_cast<uint32_t>(a.size()));
        w.write(PcapRecord{1714557601, 5, static_cast<uint32_t>(b.size()), 9000, b.data()});
        EXPECT_EQ(w.records(), 2u);
        w.close();
    }
    const Bytes file = read_file(path);
    ASSERT_EQ(file.size(), 24u + 16 + 5 + 16 + 1500);
    // Classic little-endian microsecond magic on this (x86) host.
    EXPECT_EQ(file[0], 0xd4);
    EXPECT_EQ(file[3], 0xa1);

    PcapReader r(path);
    EXPECT_EQ(r.dlt(), DLT_EN10MB);
    EXPECT_EQ(r.link_type(), LinkType::ethernet);
    EXPECT_FALSE(r.nanosecond());
    PcapRecord rec;
    ASSERT_TRUE(r.next(rec));
    EXPECT_EQ(rec.ts_sec, 1714557600);
    EXPECT_EQ(rec.ts_frac, 999999u);
    EXPECT_EQ(r.time_us(rec), 1714557600999999);
    EXPECT_EQ(Bytes(rec.data, rec.data + rec.caplen), a);
    ASSERT_TRUE(r.next(rec));
    EXPECT_EQ(rec.caplen, 1500u);
    EXPECT_EQ(rec.origlen, 9000u);
    EXPECT_FALSE(r.next(rec));
    EXPECT_FALSE(r.next(rec));
    std::remove(path.c_str());
}

TEST(PcapFile, NanosecondPrecisionIsKept) {
    const std::string path = temp_path("nano");
    const Bytes a = {0x45, 0};
    {
        PcapWriter w(path, DLT_RAW, /*nanosecond=*/true);
        w.write(1714557600, 123456789, a.data(), 2);
        w.close();
    }
    PcapReader r(path);
    EXPECT_TRUE(r.nanosecond());
    EXPECT_EQ(r.link_type(), LinkType::raw_ip);
    PcapRecord rec;
    ASSERT_TRUE(r.next(rec));
    EXPECT_EQ(rec.ts_frac, 123456789u);
    EXPECT_EQ(r.time_us(rec), 1714557600123456);
    // Copying records to a writer of the same precision reproduces the file byte for byte.
    const std::string copy = temp_path("nano_copy");
    {
        PcapReader again(path);
        PcapWriter w(copy, again.dlt(), again.nanosecond(), again.snaplen());
        while (again.next(rec)) w.write(rec);
        w.close();
    }
    EXPECT_EQ(read_file(copy), read_file(path));
    std::remove(path.c_str());
    std::remove(copy.c_str());
}

TEST(PcapFile, LinkTypes) {
    EXPECT_EQ(link_type_from_dlt(DLT_EN10MB), LinkType::ethernet);
    EXPECT_EQ(link_type_from_dlt(DLT_LINUX_SLL), LinkType::linux_sll);
    EXPECT_EQ(link_type_from_dlt(DLT_LINUX_SLL2), LinkType::linux_sll2);
    EXPECT_EQ(link_type_from_dlt(DLT_RAW), LinkType::raw_ip);
    EXPECT_EQ(link_type_from_dlt(DLT_IPV6), LinkType::raw_ip);
    EXPECT_FALSE(link_type_from_dlt(DLT_IEEE802_11).has_value());
    for (LinkType l :
         {LinkType::ethernet, LinkType::linux_sll, LinkType::linux_sll2, LinkType::raw_ip}) {
        EXPECT_EQ(link_type_from_dlt(dlt_from_link_type(l)), l);
    }
}

TEST(PcapFile, ErrorsNameTheFile) {
    try {
        PcapReader r("/nonexistent/dir/file.pcap");
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/file.pcap"), std::string::npos);
    }
    const std::string garbage = temp_path("garbage");
    { std::ofstream(garbage) << "this is not a capture file at all"; }
    EXPECT_THROW(PcapReader r(garbage), std::runtime_error);
    std::remove(garbage.c_str());
    EXPECT_THROW(PcapWriter w("/nonexistent/dir/out.pcap", DLT_EN10MB), std::runtime_error);
}

TEST(PcapFile, TruncatedRecordIsAnError) {
    const std::string path = temp_path("cut");
    const Bytes a(100, 1);
    {
        PcapWriter w(path, DLT_EN10MB);
        w.write(1, 0, a.data(), 100);
        w.close();
    }
    Bytes file = read_file(path);
    ASSERT_EQ(file.size(), 24u + 16u + 100u);
    file.erase(file.end() - 10, file.end());
    {
        std::ofstream(path, std::ios::binary)
            .write(reinterpret_cast<const char*>(file.data()),
                   static_cast<std::streamsize>(file.size()));
    }
    PcapReader r(path);
    PcapRecord rec;
    EXPECT_THROW(r.next(rec), std::runtime_error);
    std::remove(path.c_str());
}
