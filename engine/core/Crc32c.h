#pragma once
// CRC-32C (Castagnoli), the checksum of Strata's on-disk records: iSCSI, ext4 and Btrfs use the
// same polynomial, so external tools can check a block, and x86 computes it in hardware.
#include <cstddef>
#include <cstdint>

namespace strata {

// Extends crc by n bytes: crc32c(b, nb, crc32c(a, na)) equals the checksum of a followed by b.
// Pass 0 to start. Uses the SSE4.2 instruction when the CPU has it, slicing-by-8 tables otherwise.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);

// Both paths, exposed so that tests can hold them against each other.
uint32_t crc32cSoftware(const void* data, size_t n, uint32_t crc = 0);
bool crc32cHardwareAvailable();
// Only valid when crc32cHardwareAvailable().
uint32_t crc32cHardware(const void* data, size_t n, uint32_t crc = 0);

}  // namespace strata
