// Throughput and peak memory of readLogDocument on a large log: generates one (or takes a path),
// reads it with a consumer that only counts, prints the figures and writes them as JSON.
//   bench_log_ingest [--size-mb N] [--path FILE] [--keep] [--collapse] [--json OUT]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "LogDocument.h"
#include "core/ProcessMemory.h"

using namespace strata;

namespace {

// Lines that look like a service log: timestamps, levels, ids, now and then a repeat.
bool generate(const std::filesystem::path& path, uint64_t targetBytes) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f)
        return false;
    static const char* kLevels[] = {"INFO", "DEBUG", "WARN", "ERROR"};
    static const char* kMessages[] = {
        "request served in %u ms for client 10.0.%u.%u",
        "cache miss for key user:%u:profile (shard %u, attempt %u)",
        "connection reset by peer; retrying in %u ms (%u/%u)",
        "flushed %u records to segment %u at offset %u"};
    std::string buffer;
    buffer.reserve(1 << 20);
    uint64_t written = 0, n = 0;
    uint32_t state = 12345;
    auto next = [&] { return state = state * 1664525u + 1013904223u; };
    char line[256];
    while (written < targetBytes) {
        const uint32_t r = next();
        const unsigned secs = unsigned(n / 50);
        int len = std::snprintf(line, sizeof line, "2025-03-%02u %02u:%02u:%02u.%03u %-5s [worker-%u] ",
                                1 + secs / 86400 % 28, secs / 3600 % 24, secs / 60 % 60, secs % 60,
                                unsigned(n % 1000), kLevels[r % 4], (r >> 8) % 16);
        len += std::snprintf(line + len, sizeof line - size_t(len), kMessages[(r >> 12) % 4],
                             (r >> 4) % 997, (r >> 14) % 255, (r >> 20) % 255);
        line[len++] = '\n';
        const int copies = (r >> 28) == 0 ? 5 : 1;
        for (int c = 0; c < copies; ++c)
            buffer.append(line, size_t(len));
        n += unsigned(copies);
        if (buffer.size() >= (1 << 20)) {
            if (std::fwrite(buffer.data(), 1, buffer.size(), f) != buffer.size()) {
                std::fclose(f);
                return false;
            }
            written += buffer.size();
            buffer.clear();
        }
    }
    const bool ok = std::fwrite(buffer.data(), 1, buffer.size(), f) == buffer.size();
    return std::fclose(f) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t sizeMb = 2048;
    std::filesystem::path path;
    std::string jsonOut = "bench_log_ingest.json";
    bool keep = false;
    LogReadOptions options;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--size-mb" && i + 1 < argc) sizeMb = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--path" && i + 1 < argc) path = argv[++i];
        else if (a == "--json" && i + 1 < argc) jsonOut = argv[++i];
        else if (a == "--keep") keep = true;
        else if (a == "--collapse") options.collapseRepeats = true;
        else {
            std::fprintf(stderr, "usage: %s [--size-mb N] [--path FILE] [--keep] [--collapse] [--json OUT]\n", argv[0]);
            return 2;
        }
    }
    bool generated = false;
    double generateSeconds = 0;
    if (path.empty()) {
        path = std::filesystem::temp_directory_path() / ("strata-bench-" + std::to_string(sizeMb) + "mb.log");
        const auto t0 = std::chrono::steady_clock::now();
        if (!generate(path, sizeMb << 20)) {
            std::fprintf(stderr, "cannot write %s\n", path.c_str());
            return 1;
        }
        generateSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        generated = true;
    }
    const uint64_t rssBefore = peakResidentBytes();
    uint64_t textBytes = 0;
    const auto t0 = std::chrono::steady_clock::now();
    const auto summary = readLogDocument(
        path,
        [&](TextSpan&& span) {
            textBytes += span.text.size();
            return Status{};
        },
        options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (generated && !keep)
        std::filesystem::remove(path);
    if (!summary.ok()) {
        std::fprintf(stderr, "%s\n", summary.error().message.c_str());
        return 1;
    }
    const double mb = double(summary->bytes) / (1 << 20);
    const uint64_t peak = peakResidentBytes();
    std::printf("file %s: %.1f MiB, %s, %llu lines, %llu spans, %llu collapsed\n", path.c_str(), mb,
                summary->encoding.c_str(), (unsigned long long)summary->lines,
                (unsigned long long)summary->spans, (unsigned long long)summary->collapsedLines);
    std::printf("ingest %.2f s, %.1f MiB/s, peak RSS %.1f MiB (before ingest %.1f MiB)\n", seconds,
                mb / seconds, double(peak) / (1 << 20), double(rssBefore) / (1 << 20));
    nlohmann::json j = {{"file", path.string()},       {"bytes", summary->bytes},
                        {"encoding", summary->encoding}, {"lines", summary->lines},
                        {"spans", summary->spans},     {"collapsed_lines", summary->collapsedLines},
                        {"text_bytes", textBytes},     {"seconds", seconds},
                        {"mib_per_second", mb / seconds}, {"peak_rss_bytes", peak},
                        {"peak_rss_before_ingest_bytes", rssBefore},
                        {"generate_seconds", generateSeconds},
                        {"block_bytes", options.blockBytes}, {"collapse", options.collapseRepeats}};
    std::ofstream(jsonOut) << j.dump(2) << "\n";
    std::printf("wrote %s\n", jsonOut.c_str());
    return 0;
}
