// strata-cli bench: prefill and decode speed, each next to the raw limit of this machine measured
// in the same run (BLAS sgemm on the model's shapes, memory read bandwidth, disk read bandwidth).
#include <cblas.h>
#include <fcntl.h>
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "CliModel.h"
#include "Commands.h"
#include "core/Clock.h"
#include "format/Checkpoint.h"
#include "runtime/KvCache.h"

namespace strata::cli {

namespace {

// Best of repeated fp32 GEMMs of [m, k] x [k, n] (five at least, more for half a second when
// each is short, as for small models): the ceiling for prefill's matrix products.
double rawSgemmGflops(int64_t m, int64_t k, int64_t n) {
    std::vector<float> a(size_t(m * k), 0.5f), b(size_t(k * n), 0.25f), c(size_t(m * n));
    double best = 0;
    const auto start = SteadyClock::now();
    for (int rep = 0; rep < 5 || (rep < 200 && secondsSince(start) < 0.5); ++rep) {
        const auto t0 = SteadyClock::now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(n), int(k), 1.0f, a.data(), int(k), b.data(),
                    int(k), 0.0f, c.data(), int(n));
        best = std::max(best, 2.0 * double(m) * double(k) * double(n) / secondsSince(t0) / 1e9);
    }
    return best;
}

// Best of three parallel passes over 512 MiB: the ceiling for decode from RAM-resident weights.
// XOR of 64-bit words keeps the loop memory-bound (a float sum would wait on add latency).
double rawMemoryReadGBps() {
    const size_t n = size_t(64) << 20;
    std::vector<uint64_t> data(n, 0x9e3779b97f4a7c15ull);
    double best = 0;
    volatile uint64_t sink = 0;
    for (int rep = 0; rep < 3; ++rep) {
        const auto t0 = SteadyClock::now();
        uint64_t x = 0;
#pragma omp parallel for simd reduction(^ : x) schedule(static)
        for (size_t i = 0; i < n; ++i) x ^= data[i];
        sink = sink ^ x;
        best = std::max(best, double(n * sizeof(uint64_t)) / secondsSince(t0) / 1e9);
    }
    return best;
}

// Sequential read of the checkpoint files (up to limit bytes) past the page cache, so the figure
// is the disk's, not RAM's: O_DIRECT where the file system allows it, else buffered reads of files
// the kernel was asked to drop from the cache first.
struct DiskRead {
    double gbps = 0;
    uint64_t bytes = 0;
    bool direct = true;  // every file was read with O_DIRECT
    const char* method() const { return direct ? "O_DIRECT" : "buffered, page cache dropped first"; }
};
DiskRead rawDiskRead(const std::vector<std::filesystem::path>& files, uint64_t limit) {
    DiskRead out;
    constexpr size_t kChunk = size_t(8) << 20;  // a multiple of every logical block size
    std::unique_ptr<char, decltype(&std::free)> buffer(static_cast<char*>(std::aligned_alloc(4096, kChunk)), &std::free);
    if (!buffer) return out;
    const auto t0 = SteadyClock::now();
    for (const auto& f : files) {
        int fd = ::open(f.c_str(), O_RDONLY | O_DIRECT);
        if (fd < 0) {  // tmpfs and some overlay file systems refuse O_DIRECT
            out.direct = false;
            fd = ::open(f.c_str(), O_RDONLY);
            if (fd < 0) continue;
            ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        }
        ssize_t got;
        while (out.bytes < limit && (got = ::read(fd, buffer.get(), kChunk)) > 0) out.bytes += uint64_t(got);
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
        if (out.bytes >= limit) break;
    }
    out.gbps = double(out.bytes) / secondsSince(t0) / 1e9;
    return out;
}

void dropFromPageCache(const std::vector<std::filesystem::path>& files) {
    for (const auto& f : files) {
        const int fd = ::open(f.c_str(), O_RDONLY);
        if (fd < 0) continue;
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
}

}  // namespace

Status benchCommand(const std::vector<std::string>& argv) {
    std::set<std::string> flags = kModelFlags;
    flags.insert({"prompt-tokens", "gen-tokens", "json", "seed"});
    auto args = CliArguments::parse(argv, flags, {});
    STRATA_TRY(args);
    auto promptTokens = args->integer("prompt-tokens", 512, 1, 1 << 24);
    STRATA_TRY(promptTokens);
    auto genTokens = args->integer("gen-tokens", 32, 1, 1 << 20);
    STRATA_TRY(genTokens);
    auto seed = args->integer("seed", 1, 0, INT64_MAX);
    STRATA_TRY(seed);
    const std::string jsonPath = args->get("json").value_or("strata-bench.json");

    STRATA_TRY(checkRunnableBudgets(args.value()));
    // Raw limits first, on this model's shapes.
    auto path = modelPath(args.value());
    STRATA_TRY(path);
    auto checkpoint = Checkpoint::open(path.value());
    STRATA_TRY(checkpoint);
    auto config = loadModelConfig(*checkpoint.value());
    STRATA_TRY(config);
    const ModelConfig& c = config.value();
    auto chunkArg = args->integer("chunk", 256, 1, 1 << 20);
    STRATA_TRY(chunkArg);
    // Sets the BLAS and OpenMP thread counts for the raw measurements as the model run will.
    CpuOps threadSetup(int(args->integer("threads", 0, 0, 1024).value()));
    const int64_t gemmRows = std::min(promptTokens.value(), chunkArg.value());
    std::fprintf(stderr, "measuring raw limits...\n");
    const double sgemm = rawSgemmGflops(gemmRows, c.hiddenSize, c.intermediateSize);
    const double memory = rawMemoryReadGBps();
    const std::vector<std::filesystem::path> files = checkpoint.value()->files();
    checkpoint.value().reset();
    const DiskRead disk = rawDiskRead(files, uint64_t(1) << 30);
    // The model is then loaded from disk, not from what the raw read left in the page cache.
    dropFromPageCache(files);
    std::fprintf(stderr, "loading model...\n");
    auto loaded = loadCliModel(args.value());
    STRATA_TRY(loaded);
    TransformerModel& model = *loaded->model;
    const ResidencyPlan& plan = model.streamer().plan();

    std::mt19937 rng(uint32_t(seed.value()));
    std::uniform_int_distribution<int32_t> pick(0, int32_t(c.vocabSize - 1));
    std::vector<int32_t> prompt(static_cast<size_t>(promptTokens.value()));
    for (int32_t& id : prompt) id = pick(rng);
    auto kv = KvCache::create(model.ops(), c, promptTokens.value() + genTokens.value());
    STRATA_TRY(kv);

    std::vector<float> logits;
    std::fprintf(stderr, "prefill of %lld tokens...\n", static_cast<long long>(promptTokens.value()));
    const StreamerStats before = model.streamer().stats();
    const auto p0 = SteadyClock::now();
    STRATA_TRY(model.forward(prompt, kv.value(), false, logits));
    const double prefillSeconds = secondsSince(p0);
    const StreamerStats afterPrefill = model.streamer().stats();

    std::fprintf(stderr, "decode of %lld tokens...\n", static_cast<long long>(genTokens.value()));
    const auto d0 = SteadyClock::now();
    for (int64_t i = 0; i < genTokens.value(); ++i) {
        const int32_t next[1] = {int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin())};
        STRATA_TRY(model.forward(next, kv.value(), false, logits));
    }
    const double decodeSeconds = secondsSince(d0);
    const StreamerStats afterDecode = model.streamer().stats();

    // Prefill work: two flops per weight of every matrix per token, plus attention (QK and PV over
    // on average half the prompt, or the window).
    uint64_t matrixParams = 0;
    for (const WeightUnit& u : model.layout().units)
        for (const UnitTensor& t : u.tensors)
            if (t.info->shape.size() == 2) matrixParams += uint64_t(t.info->numel());
    const double attnFlopsPerToken =
        4.0 * double(c.numLayers) * double(c.numHeads * c.headDim) * double(promptTokens.value()) / 2.0;
    const double prefillGflops =
        (2.0 * double(matrixParams) + attnFlopsPerToken) * double(promptTokens.value()) / prefillSeconds / 1e9;
    const double prefillTokS = double(promptTokens.value()) / prefillSeconds;
    const double decodeMs = decodeSeconds / double(genTokens.value()) * 1000.0;
    const double streamedPerToken = double(afterDecode.bytesRead - afterPrefill.bytesRead) / double(genTokens.value());
    const double residentPerToken = double(plan.residentBytes);
    // The decode floor: resident bytes at memory speed plus streamed bytes at disk speed.
    const double boundMs = (residentPerToken / (memory * 1e9) + streamedPerToken / (disk.gbps * 1e9)) * 1000.0;

    std::printf("model                %s\n", loaded->path.c_str());
    std::printf("threads              %d\n", loaded->ops->threads());
    std::printf("raw sgemm            %.1f GFLOP/s ([%lld x %lld] x [%lld x %lld], fp32 BLAS)\n", sgemm,
                static_cast<long long>(gemmRows), static_cast<long long>(c.hiddenSize),
                static_cast<long long>(c.hiddenSize), static_cast<long long>(c.intermediateSize));
    std::printf("raw memory read      %.2f GB/s\n", memory);
    std::printf("raw disk read        %.2f GB/s (%s read, %s)\n", disk.gbps, formatBytes(disk.bytes).c_str(),
                disk.method());
    std::printf("load                 %.2f s (%s resident, %s streamed per pass)\n", loaded->loadSeconds,
                formatBytes(plan.residentBytes).c_str(), formatBytes(plan.streamedBytesPerPass).c_str());
    std::printf("prefill              %lld tokens in %.2f s: %.1f tok/s, %.1f GFLOP/s = %.0f%% of raw sgemm\n",
                static_cast<long long>(promptTokens.value()), prefillSeconds, prefillTokS, prefillGflops,
                100.0 * prefillGflops / sgemm);
    std::printf("decode               %.1f ms/token (%.2f tok/s); floor %.1f ms/token from bytes moved = %.0f%% of "
                "the bound\n",
                decodeMs, 1000.0 / decodeMs, boundMs, 100.0 * boundMs / decodeMs);
    std::printf("bytes per token      %s from RAM, %s from disk; reader stalls %.2f s\n",
                formatBytes(uint64_t(residentPerToken)).c_str(), formatBytes(uint64_t(streamedPerToken)).c_str(),
                afterDecode.stallSeconds - before.stallSeconds);

    nlohmann::json j;
    j["model"] = loaded->path;
    j["threads"] = loaded->ops->threads();
    j["ram_budget_bytes"] = args->byteSize("ram-budget", 0).value();
    j["raw"] = {{"sgemm_gflops", sgemm}, {"memory_read_gbps", memory}, {"disk_read_gbps", disk.gbps},
                {"disk_read_bytes", disk.bytes}, {"disk_read_method", disk.method()}};
    j["load_seconds"] = loaded->loadSeconds;
    j["plan"] = {{"resident_bytes", plan.residentBytes},
                 {"stream_slots", plan.streamSlots},
                 {"slot_bytes", plan.slotBytes},
                 {"streamed_bytes_per_pass", plan.streamedBytesPerPass}};
    j["prefill"] = {{"tokens", promptTokens.value()},
                    {"seconds", prefillSeconds},
                    {"tokens_per_second", prefillTokS},
                    {"gflops", prefillGflops},
                    {"fraction_of_raw_sgemm", prefillGflops / sgemm}};
    j["decode"] = {{"tokens", genTokens.value()},
                   {"ms_per_token", decodeMs},
                   {"tokens_per_second", 1000.0 / decodeMs},
                   {"bound_ms_per_token", boundMs},
                   {"fraction_of_bound", boundMs / decodeMs},
                   {"bytes_from_ram_per_token", residentPerToken},
                   {"bytes_from_disk_per_token", streamedPerToken},
                   {"stall_seconds", afterDecode.stallSeconds - afterPrefill.stallSeconds}};
    const std::string tmp = jsonPath + ".tmp";
    {
        std::ofstream out(tmp);
        out << j.dump(2) << '\n';
        if (!out) return internalError("cannot write " + tmp);
    }
    std::error_code ec;
    std::filesystem::rename(tmp, jsonPath, ec);
    if (ec) return internalError("cannot write " + jsonPath + ": " + ec.message());
    std::printf("json                 %s\n", jsonPath.c_str());
    return {};
}

}  // namespace strata::cli
