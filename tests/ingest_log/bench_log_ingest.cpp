// Throughput and peak memory of ingesting a large log: generates one (or takes a path), evicts it
// from the page cache (posix_fadvise DONTNEED after fdatasync, checked with mincore) so that it is
// read from the disk, reads it with readLogDocument and a consumer that only counts, and with
// --model also as `strata-cli ingest` does (ingestFile: spans counted with the model's tokenizer),
// evicting it again first. Prints the figures and writes them as JSON.
//   bench_log_ingest [--size-mb N] [--path FILE] [--keep] [--collapse] [--warm] [--model M] [--json OUT]
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "LogDocument.h"
#include "PromptParts.h"
#include "format/Checkpoint.h"
#include "arch/ModelConfig.h"
#include "tokenizer/Tokenizer.h"
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

// Drops the file's pages from the page cache (clean pages only, hence the fdatasync first) and
// returns the fraction still resident afterwards; negative when it cannot tell.
double evictFromPageCache(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return -1;
    const off_t size = ::lseek(fd, 0, SEEK_END);
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    double resident = -1;
    if (size > 0) {
        void* map = ::mmap(nullptr, size_t(size), PROT_READ, MAP_SHARED, fd, 0);
        if (map != MAP_FAILED) {
            const long page = ::sysconf(_SC_PAGESIZE);
            std::vector<unsigned char> pages((size_t(size) + size_t(page) - 1) / size_t(page));
            if (::mincore(map, size_t(size), pages.data()) == 0) {
                size_t in = 0;
                for (unsigned char p : pages) in += p & 1;
                resident = double(in) / double(pages.size());
            }
            ::munmap(map, size_t(size));
        }
    }
    ::close(fd);
    return resident;
}

// Resets VmHWM to the current resident set (Linux: "5" to clear_refs), so that the peak that
// follows is the ingest's own, not the generator's or the tokenizer loader's.
void resetPeakResident() {
    if (std::FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
        std::fputs("5", f);
        std::fclose(f);
    }
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t sizeMb = 2048;
    std::filesystem::path path, model;
    std::string jsonOut = "bench_log_ingest.json";
    bool keep = false, warm = false;
    LogReadOptions options;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--size-mb" && i + 1 < argc) sizeMb = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--path" && i + 1 < argc) path = argv[++i];
        else if (a == "--model" && i + 1 < argc) model = argv[++i];
        else if (a == "--json" && i + 1 < argc) jsonOut = argv[++i];
        else if (a == "--keep") keep = true;
        else if (a == "--warm") warm = true;
        else if (a == "--collapse") options.collapseRepeats = true;
        else {
            std::fprintf(stderr, "usage: %s [--size-mb N] [--path FILE] [--keep] [--collapse] [--warm] [--model M] "
                                 "[--json OUT]\n", argv[0]);
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
        generateSeconds = secondsSince(t0);
        generated = true;
    }
    const auto removeGenerated = [&] {
        if (generated && !keep) std::filesystem::remove(path);
    };
    const double residentBefore = warm ? 1.0 : evictFromPageCache(path);
    resetPeakResident();
    const uint64_t rssBefore = currentResidentBytes();
    uint64_t textBytes = 0;
    auto t0 = std::chrono::steady_clock::now();
    const auto summary = readLogDocument(
        path,
        [&](TextSpan&& span) {
            textBytes += span.text.size();
            return Status{};
        },
        options);
    const double seconds = secondsSince(t0);
    const uint64_t peak = peakResidentBytes();
    if (!summary.ok()) {
        removeGenerated();
        std::fprintf(stderr, "%s\n", summary.error().message.c_str());
        return 1;
    }
    const double mb = double(summary->bytes) / (1 << 20);
    std::printf("file %s: %.1f MiB, %s, %llu lines, %llu spans, %llu collapsed\n", path.c_str(), mb,
                summary->encoding.c_str(), (unsigned long long)summary->lines,
                (unsigned long long)summary->spans, (unsigned long long)summary->collapsedLines);
    std::printf("page cache before reading: %s\n",
                warm ? "not evicted (--warm)"
                     : (std::to_string(residentBefore * 100).substr(0, 4) + "% of the file resident").c_str());
    std::printf("read %.2f s, %.1f MiB/s, peak RSS %.1f MiB (before ingest %.1f MiB)\n", seconds, mb / seconds,
                double(peak) / (1 << 20), double(rssBefore) / (1 << 20));
    nlohmann::json j = {{"file", path.string()},       {"bytes", summary->bytes},
                        {"encoding", summary->encoding}, {"lines", summary->lines},
                        {"spans", summary->spans},     {"collapsed_lines", summary->collapsedLines},
                        {"text_bytes", textBytes},     {"seconds", seconds},
                        {"mib_per_second", mb / seconds}, {"peak_rss_bytes", peak},
                        {"peak_rss_before_ingest_bytes", rssBefore},
                        {"page_cache_resident_before", residentBefore}, {"evicted", !warm},
                        {"generate_seconds", generateSeconds},
                        {"block_bytes", options.blockBytes}, {"collapse", options.collapseRepeats}};

    if (!model.empty()) {  // the whole ingest: read, and count every span's tokens
        auto tokenizer = loadTokenizer(model);
        auto checkpoint = tokenizer.ok() ? Checkpoint::open(model) : Result<std::unique_ptr<Checkpoint>>(tokenizer.error());
        auto config = checkpoint.ok() ? loadModelConfig(*checkpoint.value()) : Result<ModelConfig>(checkpoint.error());
        if (!config.ok()) {
            removeGenerated();
            std::fprintf(stderr, "%s\n", config.error().message.c_str());
            return 1;
        }
        if (!warm) evictFromPageCache(path);
        resetPeakResident();
        const uint64_t rssModel = currentResidentBytes();
        IngestOptions ingestOptions;
        ingestOptions.collapseRepeats = options.collapseRepeats;
        t0 = std::chrono::steady_clock::now();
        auto part = ingestFile(path, modelInputsFor(config.value(), *tokenizer.value()), ingestOptions);
        const double ingestSeconds = secondsSince(t0);
        if (!part.ok()) {
            removeGenerated();
            std::fprintf(stderr, "%s\n", part.error().message.c_str());
            return 1;
        }
        const uint64_t ingestPeak = peakResidentBytes();
        std::printf("ingest with token counts (%s): %.2f s, %.1f MiB/s, %lld tokens (%.0f tokens/s), peak RSS %.1f "
                    "MiB (%.1f MiB before, with the tokenizer loaded)\n",
                    config->modelType.c_str(), ingestSeconds, mb / ingestSeconds, static_cast<long long>(part->tokens),
                    double(part->tokens) / ingestSeconds, double(ingestPeak) / (1 << 20), double(rssModel) / (1 << 20));
        j["ingest"] = {{"model", model.string()}, {"seconds", ingestSeconds}, {"mib_per_second", mb / ingestSeconds},
                       {"tokens", part->tokens}, {"text_kept", part->textKept}, {"peak_rss_bytes", ingestPeak},
                       {"peak_rss_before_bytes", rssModel}};
    }
    removeGenerated();
    std::ofstream(jsonOut) << j.dump(2) << "\n";
    std::printf("wrote %s\n", jsonOut.c_str());
    return 0;
}
