// strata-cli bench: prefill and decode speed, each next to the raw limit of this machine measured
// in the same run. On the CPU: BLAS sgemm on the model's shapes, memory read bandwidth and disk
// read bandwidth. On a GPU (--vram-budget): cuBLAS bf16 GEMM on the model's shapes, device memory
// bandwidth, pinned host-to-device bandwidth and disk read bandwidth.
#include <cblas.h>
#include <fcntl.h>
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "CliModel.h"
#include "TemporaryFolder.h"
#include "CommandSpec.h"
#include "Commands.h"
#include "backend/cpu/CpuOps.h"
#include "core/AtomicFile.h"
#include "core/Clock.h"
#include "core/NumberFormat.h"
#include "format/Checkpoint.h"
#include "kv/KvCache.h"
#include "model/Generator.h"
#include "core/ByteSize.h"
#ifdef STRATA_HAVE_CUDA
#include "CudaBench.h"
#include "CudaOps.h"
#endif

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

// The ceilings the run's figures are divided by.
struct RawLimits {
    double gemmGflops = 0;
    std::string gemmWhat;
    double weightMemoryGBps = 0;  // where resident weights are read from: RAM (CPU) or VRAM (GPU)
    double hostToDeviceGBps = 0;  // GPU only: RAM-tier weights cross the bus
    DiskRead disk;
};

Status measureCpuLimits(int64_t gemmRows, const ModelConfig& c, RawLimits& raw) {
    raw.gemmGflops = rawSgemmGflops(gemmRows, c.hiddenSize, c.intermediateSize);
    raw.gemmWhat = "fp32 BLAS sgemm";
    raw.weightMemoryGBps = rawMemoryReadGBps();
    return {};
}

#ifdef STRATA_HAVE_CUDA
Status measureDeviceLimits(int64_t gemmRows, const ModelConfig& c, RawLimits& raw) {
    double tflops = 0;
    STRATA_ASSIGN(tflops, rawBf16GemmTflops(gemmRows, c.hiddenSize, c.intermediateSize));
    raw.gemmGflops = tflops * 1000.0;
    raw.gemmWhat = "cuBLAS bf16, fp32 accumulate";
    STRATA_ASSIGN(raw.weightMemoryGBps, rawDeviceMemoryGBps());
    STRATA_ASSIGN(raw.hostToDeviceGBps, rawPinnedToDeviceGBps());
    return {};
}
#endif

// A mixture of experts' weights: the bytes of one expert's matrices, and of those matrices held
// inside the layers' units (all of them when the experts are not split into parts).
struct ExpertShares {
    uint64_t perExpert = 0;
    uint64_t inUnits = 0;
};

ExpertShares expertShares(const TransformerModel& model) {
    const ModelConfig& c = model.config();
    ExpertShares s;
    if (!c.isMixtureOfExperts()) return s;
    uint64_t all = 0;
    for (const WeightUnit& u : model.layout().units)
        for (const UnitTensor& t : u.tensors)
            if (isExpertMatrix(t.role)) s.inUnits += t.info->nbytes;
    for (const auto& layer : model.layout().experts)
        for (const WeightUnit& part : layer)
            for (const UnitTensor& t : part.tensors) all += t.info->nbytes;
    all += s.inUnits;
    s.perExpert = all / uint64_t(c.numLayers * c.numExperts);
    return s;
}

}  // namespace

Status benchCommand(const std::vector<std::string>& argv) {
    auto args = parseCommand("bench", argv);
    STRATA_TRY(args);
    int64_t promptTokens = 0, genTokens = 0, seed = 0, threads = 0;
    STRATA_ASSIGN(promptTokens, args->integer("prompt-tokens", 512, 1, 1 << 24));
    STRATA_ASSIGN(genTokens, args->integer("gen-tokens", 32, 1, 1 << 20));
    int64_t followTokens = 0, questions = 0;
    STRATA_ASSIGN(followTokens, args->integer("follow-up-tokens", 32, 1, 1 << 20));
    STRATA_ASSIGN(questions, args->integer("questions", 8, 1, 256));
    STRATA_ASSIGN(seed, args->integer("seed", 1, 0, INT64_MAX));
    STRATA_ASSIGN(threads, args->integer("threads", 0, 0, 1024));
    ModelOptions options;
    STRATA_ASSIGN(options, modelOptions(args.value(), promptTokens + genTokens));
    const int64_t chunk = options.prefillChunk;
    const uint64_t vramBudget = options.vramBudget;
    const std::string jsonPath = args->get("json").value_or("strata-bench.json");
    const bool device = vramBudget > 0;
    STRATA_TRY(backendAvailable(vramBudget));

    // Raw limits first, on this model's shapes.
    auto path = modelPath(args.value());
    STRATA_TRY(path);
    auto checkpoint = Checkpoint::open(path.value());
    STRATA_TRY(checkpoint);
    auto config = loadModelConfig(*checkpoint.value());
    STRATA_TRY(config);
    const ModelConfig& c = config.value();
    // Sets the BLAS and OpenMP thread counts for the raw measurements as the model run will.
    CpuOps threadSetup{int(threads)};
    const int64_t gemmRows = std::min(promptTokens, chunk);
    std::fprintf(stderr, "measuring raw limits...\n");
    RawLimits raw;
#ifdef STRATA_HAVE_CUDA
    STRATA_TRY(device ? measureDeviceLimits(gemmRows, c, raw) : measureCpuLimits(gemmRows, c, raw));
#else
    STRATA_TRY(measureCpuLimits(gemmRows, c, raw));
#endif
    const std::vector<std::filesystem::path> files = checkpoint.value()->files();
    checkpoint.value().reset();
    raw.disk = rawDiskRead(files, uint64_t(1) << 30);
    // The model is then loaded from disk, not from what the raw read left in the page cache.
    dropFromPageCache(files);
    std::fprintf(stderr, "loading model...\n");
    auto loaded = loadCliModel(args.value(), promptTokens + genTokens);
    STRATA_TRY(loaded);
    TransformerModel& model = *loaded->model;
    const ResidencyPlan& plan = model.streamer().plan();

    std::mt19937 rng{uint32_t(seed)};
    std::uniform_int_distribution<int32_t> pick(0, int32_t(c.vocabSize - 1));
    std::vector<int32_t> prompt(static_cast<size_t>(promptTokens));
    for (int32_t& id : prompt) id = pick(rng);
    // The cache is a saved session's, in a folder of its own, so that a follow-up can be timed the
    // way a user meets it: the session reopened from disk.
    TemporaryFolder sessionDir;
    STRATA_TRY(sessionDir.create("strata-bench"));
    KvCacheOptions kvOptions;
    kvOptions.directory = sessionDir.path();
    kvOptions.persist = true;
    kvOptions.residentBytes = options.kvBudget;
    STRATA_ASSIGN(kvOptions.hostBytes, args->byteSize("kv-ram-budget", 0));
    auto kv = KvCache::create(model.ops(), c, kvOptions);
    STRATA_TRY(kv);

    std::vector<float> logits;
    std::fprintf(stderr, "prefill of %s tokens...\n", groupDigits(promptTokens).c_str());
    const StreamerStats before = model.streamer().stats();
    const auto p0 = SteadyClock::now();
    STRATA_TRY(model.forward(prompt, *kv.value(), false, logits));
    const double prefillSeconds = secondsSince(p0);
    const StreamerStats afterPrefill = model.streamer().stats();

    std::fprintf(stderr, "decode of %s tokens...\n", groupDigits(genTokens).c_str());
    const ExpertUse expertsBefore = model.expertUse();
    const ExpertCacheStats cacheBefore = model.streamer().expertStats();
    const auto d0 = SteadyClock::now();
    for (int64_t i = 0; i < genTokens; ++i) {
        const int32_t next[1] = {int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin())};
        STRATA_TRY(model.forward(next, *kv.value(), false, logits));
    }
    const double decodeSeconds = secondsSince(d0);
    const StreamerStats afterDecode = model.streamer().stats();
    const ExpertUse expertsAfter = model.expertUse();
    const ExpertCacheStats cacheAfter = model.streamer().expertStats();

    // Follow-up: save, reopen, and run followTokens new tokens; only those are prefilled.
    std::fprintf(stderr, "follow-up of %s tokens on the saved session...\n", groupDigits(followTokens).c_str());
    const auto s0 = SteadyClock::now();
    STRATA_TRY(kv.value()->flush());
    const int64_t contextTokens = kv.value()->length();
    kv.value().reset();
    const double saveSeconds = secondsSince(s0);
    const auto f0 = SteadyClock::now();
    auto reopened = KvCache::open(model.ops(), c, kvOptions, contextTokens);
    STRATA_TRY(reopened);
    const double openSeconds = secondsSince(f0);
    std::vector<int32_t> followUp(static_cast<size_t>(followTokens));
    for (int32_t& id : followUp) id = pick(rng);
    const int64_t forwardedBefore = model.tokensForwarded();
    {
        auto branch = KvCache::fork(*reopened.value(), {});
        STRATA_TRY(branch);
        STRATA_TRY(model.forward(followUp, *branch.value(), false, logits));
    }
    const double followTtft = secondsSince(f0);
    const int64_t followForwarded = model.tokensForwarded() - forwardedBefore;

    // Batched questions on the session: one, then `questions` of them decoding together.
    auto batchSeconds = [&](int64_t count) -> Result<double> {
        std::vector<GenerationRequest> requests(static_cast<size_t>(count));
        for (GenerationRequest& r : requests) {
            r.promptIds = followUp;
            r.promptIds[0] = pick(rng);  // each question its own
            r.maxNewTokens = genTokens;
        }
        const std::vector<GenerationCallbacks> none(requests.size());
        const auto b0 = SteadyClock::now();
        auto results = generateBatch(model, nullptr, *reopened.value(), requests, none);
        STRATA_TRY(results);
        return secondsSince(b0);
    };
    std::fprintf(stderr, "one question, then %s batched...\n", groupDigits(questions).c_str());
    auto oneQuestion = batchSeconds(1);
    STRATA_TRY(oneQuestion);
    auto allQuestions = batchSeconds(questions);
    STRATA_TRY(allQuestions);

    // Prefill work: two flops per weight of every matrix per token, plus attention (QK and PV over
    // on average half the prompt, or the window).
    uint64_t matrixParams = 0;
    for (const WeightUnit& u : model.layout().units)
        for (const UnitTensor& t : u.tensors)
            if (t.info->shape.size() == 2) matrixParams += uint64_t(t.info->numel());
    const double attnFlopsPerToken =
        4.0 * double(c.numLayers) * double(c.numHeads * c.headDim) * double(promptTokens) / 2.0;
    const double prefillGflops =
        (2.0 * double(matrixParams) + attnFlopsPerToken) * double(promptTokens) / prefillSeconds / 1e9;
    const double prefillTokS = double(promptTokens) / prefillSeconds;
    const double decodeMs = decodeSeconds / double(genTokens) * 1000.0;

    // Bytes per decoded token from each tier: VRAM and RAM from the plan, disk as measured. The
    // floor is each at its raw speed: resident weights at memory speed (VRAM on a GPU, RAM on the
    // CPU), RAM-tier weights at the pinned copy speed (GPU), disk-tier weights at disk speed.
    // A mixture of experts reads only the experts its router picks: of the experts held in the
    // units, only those count, and experts from the expert cache count as RAM unless they were
    // read from disk on a miss (measured).
    TierBytes tiers = plan.bytesPerToken();
    const ExpertShares experts = expertShares(model);
    const double expertReads = double(expertsAfter.expertsRun - expertsBefore.expertsRun) / double(genTokens);
    const double expertDisk = double(cacheAfter.bytesRead - cacheBefore.bytesRead) / double(genTokens);
    const double expertBytes = expertReads * double(experts.perExpert);
    if (c.isMixtureOfExperts() && !device) {
        tiers.fromRam = tiers.fromRam - experts.inUnits + uint64_t(std::max(0.0, expertBytes - expertDisk));
    }
    const double fromDisk = double(afterDecode.bytesRead - afterPrefill.bytesRead) / double(genTokens) + expertDisk;
    const double toDevice = double(afterDecode.bytesToDevice - afterPrefill.bytesToDevice) / double(genTokens);
    const double fromResident = double(device ? tiers.fromVram : tiers.fromRam);
    const double fromRam = device ? double(tiers.fromRam) : 0.0;
    double boundSeconds = fromResident / (raw.weightMemoryGBps * 1e9) + fromDisk / (raw.disk.gbps * 1e9);
    if (device) boundSeconds += fromRam / (raw.hostToDeviceGBps * 1e9);
    const double boundMs = boundSeconds * 1000.0;

    uint64_t poolPeak = 0, poolBudget = 0, deviceInUse = 0;
#ifdef STRATA_HAVE_CUDA
    if (device) {
        auto& cuda = static_cast<CudaOps&>(model.ops());
        poolPeak = cuda.peakBytes();
        poolBudget = cuda.pool().budget();
        auto inUse = deviceMemoryInUse();
        if (inUse.ok()) deviceInUse = inUse.value();
    }
#endif

    std::printf("model                %s\n", loaded->path.c_str());
    std::printf("backend              %s, %d CPU threads\n", model.ops().name(), loaded->threads);
    std::printf("raw GEMM             %s GFLOP/s ([%s x %s] x [%s x %s], %s)\n", groupDigits(raw.gemmGflops, 1).c_str(),
                groupDigits(gemmRows).c_str(), groupDigits(c.hiddenSize).c_str(), groupDigits(c.hiddenSize).c_str(),
                groupDigits(c.intermediateSize).c_str(), raw.gemmWhat.c_str());
    std::printf("raw %s read      %s GB/s\n", device ? "VRAM  " : "memory", groupDigits(raw.weightMemoryGBps, 2).c_str());
    if (device) std::printf("raw pinned H2D       %s GB/s\n", groupDigits(raw.hostToDeviceGBps, 2).c_str());
    std::printf("raw disk read        %.2f GB/s (%s read, %s)\n", raw.disk.gbps, formatBytes(raw.disk.bytes).c_str(),
                raw.disk.method());
    std::printf("load                 %.2f s (%s resident, %s streamed per pass)\n", loaded->loadSeconds,
                formatBytes(afterDecode.residentBytes).c_str(), formatBytes(plan.streamedBytesPerPass).c_str());
    std::printf("prefill              %s tokens in %s s: %s tok/s, %s GFLOP/s = %.0f%% of raw GEMM\n",
                groupDigits(promptTokens).c_str(), groupDigits(prefillSeconds, 2).c_str(),
                groupDigits(prefillTokS, 1).c_str(), groupDigits(prefillGflops, 1).c_str(),
                100.0 * prefillGflops / raw.gemmGflops);
    std::printf("decode               %s ms/token (%s tok/s); floor %s ms/token from bytes moved = %.0f%% of "
                "the bound\n",
                groupDigits(decodeMs, 1).c_str(), groupDigits(1000.0 / decodeMs, 2).c_str(),
                groupDigits(boundMs, 1).c_str(), 100.0 * boundMs / decodeMs);
    std::printf("bytes per token      %s from VRAM, %s from RAM, %s from disk; %s copied to the device; reader "
                "stalls %.2f s\n",
                formatBytes(tiers.fromVram).c_str(), formatBytes(tiers.fromRam).c_str(),
                formatBytes(uint64_t(fromDisk)).c_str(), formatBytes(uint64_t(toDevice)).c_str(),
                afterDecode.stallSeconds - before.stallSeconds);
    std::printf("time to first token  %s s for the %s-token prompt; %.3f s for a %s-token follow-up on the saved "
                "session (reopened in %.3f s, %s tokens prefilled; saved in %.3f s)\n",
                groupDigits(prefillSeconds, 3).c_str(), groupDigits(promptTokens).c_str(), followTtft,
                groupDigits(followTokens).c_str(), openSeconds, groupDigits(followForwarded).c_str(), saveSeconds);
    std::printf("batched questions    %s questions x %s tokens in %s s; one question in %s s: %.2fx\n",
                groupDigits(questions).c_str(), groupDigits(genTokens).c_str(), groupDigits(allQuestions.value(), 2).c_str(),
                groupDigits(oneQuestion.value(), 2).c_str(), allQuestions.value() / oneQuestion.value());
    const int64_t cacheAcquired = cacheAfter.acquired - cacheBefore.acquired;
    const int64_t cacheHits = cacheAfter.hits - cacheBefore.hits;
    const int64_t cachePrefetched = cacheAfter.prefetched - cacheBefore.prefetched;
    const double expertReadSeconds = cacheAfter.readSeconds - cacheBefore.readSeconds;
    const double expertStallSeconds = cacheAfter.stallSeconds - cacheBefore.stallSeconds;
    uint64_t wholeLayers = experts.inUnits == 0 ? uint64_t(c.numLayers * c.numExperts) * experts.perExpert : 0;
    for (const WeightUnit& u : model.layout().units) wholeLayers += u.bytes;
    if (c.isMixtureOfExperts()) {
        const std::string cache =
            model.layout().expertsSplit()
                ? "expert cache " + formatBytes(plan.expertCacheBytes) + ": " + groupDigits(cacheHits) + " of " +
                      groupDigits(cacheAcquired) + " decode reads hit (" +
                      groupDigits(cacheAcquired ? 100.0 * double(cacheHits) / double(cacheAcquired) : 0.0, 0) +
                      "%), " + groupDigits(cachePrefetched) + " of the misses read ahead; expert reads " +
                      groupDigits(expertReadSeconds, 2) + " s, decode waited " + groupDigits(expertStallSeconds, 2) +
                      " s for them"
                : std::string("every expert held in RAM with its layer");
        std::printf("experts              %.1f read per token (%s); %s; streaming whole layers would move %s per token\n",
                    expertReads, formatBytes(uint64_t(expertBytes)).c_str(), cache.c_str(), formatBytes(wholeLayers).c_str());
    }
    if (device)
        std::printf("peak VRAM            %s of the %s pool (budget); %s in use on the device after the run\n",
                    formatBytes(poolPeak).c_str(), formatBytes(poolBudget).c_str(), formatBytes(deviceInUse).c_str());

    nlohmann::json j;
    j["model"] = loaded->path;
    j["backend"] = model.ops().name();
    j["threads"] = loaded->threads;
    j["ram_budget_bytes"] = plan.ramBytes();
    j["vram_budget_bytes"] = vramBudget;
    j["kv_budget_bytes"] = kvOptions.residentBytes;
    j["kv_ram_budget_bytes"] = kvOptions.hostBytes;
    j["raw"] = {{"gemm_gflops", raw.gemmGflops},          {"gemm", raw.gemmWhat},
                {"weight_memory_gbps", raw.weightMemoryGBps}, {"host_to_device_gbps", raw.hostToDeviceGBps},
                {"disk_read_gbps", raw.disk.gbps},          {"disk_read_bytes", raw.disk.bytes},
                {"disk_read_method", raw.disk.method()}};
    j["load_seconds"] = loaded->loadSeconds;
    j["plan"] = {{"vram_resident_bytes", plan.vramResidentBytes},
                 {"device_slots", plan.deviceSlots},
                 {"device_slot_bytes", plan.deviceSlotBytes},
                 {"vram_reserve_bytes", plan.vramReserve},
                 {"ram_resident_bytes", plan.residentBytes},
                 {"stream_slots", plan.streamSlots},
                 {"slot_bytes", plan.slotBytes},
                 {"streamed_bytes_per_pass", plan.streamedBytesPerPass}};
    j["prefill"] = {{"tokens", promptTokens},
                    {"seconds", prefillSeconds},
                    {"tokens_per_second", prefillTokS},
                    {"gflops", prefillGflops},
                    {"fraction_of_raw_gemm", prefillGflops / raw.gemmGflops}};
    j["decode"] = {{"tokens", genTokens},
                   {"ms_per_token", decodeMs},
                   {"tokens_per_second", 1000.0 / decodeMs},
                   {"bound_ms_per_token", boundMs},
                   {"fraction_of_bound", boundMs / decodeMs},
                   {"bytes_from_vram_per_token", tiers.fromVram},
                   {"bytes_from_ram_per_token", tiers.fromRam},
                   {"bytes_from_disk_per_token", fromDisk},
                   {"bytes_to_device_per_token", toDevice},
                   {"stall_seconds", afterDecode.stallSeconds - afterPrefill.stallSeconds}};
    j["session"] = {{"context_tokens", contextTokens},
                     {"save_seconds", saveSeconds},
                     {"ttft_prompt_seconds", prefillSeconds},
                     {"follow_up_tokens", followTokens},
                     {"follow_up_prefilled_tokens", followForwarded},
                     {"reopen_seconds", openSeconds},
                     {"ttft_follow_up_seconds", followTtft}};
    j["batched_questions"] = {{"questions", questions},
                              {"tokens_each", genTokens},
                              {"seconds", allQuestions.value()},
                              {"one_question_seconds", oneQuestion.value()},
                              {"ratio", allQuestions.value() / oneQuestion.value()}};
    if (c.isMixtureOfExperts())
        j["experts"] = {{"reads_per_token", expertReads},
                        {"bytes_per_token", expertBytes},
                        {"bytes_from_disk_per_token", expertDisk},
                        {"expert_bytes", experts.perExpert},
                        {"cache_bytes", plan.expertCacheBytes},
                        {"decode_acquired", cacheAcquired},
                        {"decode_hits", cacheHits},
                        {"decode_prefetched", cachePrefetched},
                        {"decode_read_seconds", expertReadSeconds},
                        {"decode_stall_seconds", expertStallSeconds},
                        {"whole_layer_bytes_per_token", wholeLayers}};
    if (device)
        j["vram"] = {{"pool_peak_bytes", poolPeak}, {"pool_bytes", poolBudget}, {"device_in_use_bytes", deviceInUse}};
    STRATA_TRY(writeFileAtomically(jsonPath, j.dump(2) + "\n"));
    std::printf("json                 %s\n", jsonPath.c_str());
    return {};
}

}  // namespace strata::cli
