#include "core/ProcessMemory.h"

#include <cstdio>
#include <cstring>

namespace strata {

namespace {
uint64_t statusField(const char* field) {
    FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    uint64_t kib = 0;
    const size_t len = std::strlen(field);
    while (std::fgets(line, sizeof line, f)) {
        if (std::strncmp(line, field, len) == 0 && line[len] == ':') {
            unsigned long long v = 0;
            if (std::sscanf(line + len + 1, "%llu", &v) == 1) kib = v;
            break;
        }
    }
    std::fclose(f);
    return kib * 1024;
}
}  // namespace

uint64_t currentResidentBytes() { return statusField("VmRSS"); }
uint64_t peakResidentBytes() { return statusField("VmHWM"); }

}  // namespace strata
