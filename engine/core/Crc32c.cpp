#include "core/Crc32c.h"

#include <array>
#include <cstring>

namespace strata {

namespace {

constexpr uint32_t kPolyReflected = 0x82F63B78u;

// tables[0] is the classic byte-at-a-time table; tables[k][b] is the CRC of byte b followed by k
// zero bytes, which lets the loop fold eight input bytes with eight independent look-ups.
constexpr std::array<std::array<uint32_t, 256>, 8> makeTables() {
    std::array<std::array<uint32_t, 256>, 8> t{};
    for (uint32_t b = 0; b < 256; ++b) {
        uint32_t c = b;
        for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1u) ? kPolyReflected : 0u);
        t[0][b] = c;
    }
    for (size_t k = 1; k < 8; ++k)
        for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xffu];
    return t;
}

constexpr auto kTables = makeTables();

}  // namespace

uint32_t crc32cSoftware(const void* data, size_t n, uint32_t crc) {
    const auto* p = static_cast<const unsigned char*>(data);
    uint32_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo, hi;  // little-endian loads: the reflected CRC consumes the lowest byte first
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + 4, 4);
        lo ^= c;
        c = kTables[7][lo & 0xffu] ^ kTables[6][(lo >> 8) & 0xffu] ^ kTables[5][(lo >> 16) & 0xffu] ^
            kTables[4][lo >> 24] ^ kTables[3][hi & 0xffu] ^ kTables[2][(hi >> 8) & 0xffu] ^
            kTables[1][(hi >> 16) & 0xffu] ^ kTables[0][hi >> 24];
    }
    for (; n > 0; --n, ++p) c = (c >> 8) ^ kTables[0][(c ^ *p) & 0xffu];
    return ~c;
}

#if defined(__x86_64__)

bool crc32cHardwareAvailable() {
    static const bool available = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("sse4.2") != 0;
    }();
    return available;
}

__attribute__((target("sse4.2"))) uint32_t crc32cHardware(const void* data, size_t n, uint32_t crc) {
    const auto* p = static_cast<const unsigned char*>(data);
    unsigned long long c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        unsigned long long word;
        std::memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
    }
    uint32_t c32 = uint32_t(c);
    for (; n > 0; --n, ++p) c32 = __builtin_ia32_crc32qi(c32, *p);
    return ~c32;
}

#else

bool crc32cHardwareAvailable() { return false; }
uint32_t crc32cHardware(const void* data, size_t n, uint32_t crc) { return crc32cSoftware(data, n, crc); }

#endif

uint32_t crc32c(const void* data, size_t n, uint32_t crc) {
    return crc32cHardwareAvailable() ? crc32cHardware(data, n, crc) : crc32cSoftware(data, n, crc);
}

}  // namespace strata
