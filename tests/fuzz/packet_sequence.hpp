// Splits a fuzz input into a sequence of packets for the stateful harnesses: each packet is a
// 2-octet big-endian length followed by that many octets (a short last packet is kept as is).
#pragma once

#include <cstddef>
#include <cstdint>

namespace liprobe::fuzz {

template <typename OnPacket>
void for_each_packet(const uint8_t* data, size_t size, OnPacket&& on_packet) {
    size_t pos = 0;
    while (pos + 2 <= size) {
        size_t len = (size_t{data[pos]} << 8) | data[pos + 1];
        pos += 2;
        if (len > size - pos) len = size - pos;
        on_packet(data + pos, static_cast<uint32_t>(len));
        pos += len;
    }
}

}  // namespace liprobe::fuzz
