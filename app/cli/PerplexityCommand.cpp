// strata-cli perplexity: how well a model predicts a text (TokenScorer), and with a second model
// how far the second's predictions are from the first's.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "CliModel.h"
#include "CommandSpec.h"
#include "Commands.h"
#include "ProgressLine.h"
#include "StopSignals.h"
#include "TextDocument.h"
#include "core/AtomicFile.h"
#include "core/NumberFormat.h"
#include "core/ProcessMemory.h"
#include "format/Checkpoint.h"
#include "format/JsonText.h"
#include "model/TokenScorer.h"
#include "core/ByteSize.h"

namespace strata::cli {

namespace {

// Windows longer than this need a KV cache and a time per window that few texts repay; the
// model's own context may be far larger (Gemma 3: 32,768 or 131,072 tokens).
constexpr int64_t kDefaultWindow = 4096;

constexpr const char* kScoringStopNote =
    "\nstrata-cli: stopping after the current piece (the same signal again quits at once)\n";

// --tokens-file: a JSON list of ids, or an object whose "tokens" is one.
Result<std::vector<int32_t>> readTokensFile(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return badInput(file + ": cannot read the tokens file");
    std::stringstream bytes;
    bytes << in.rdbuf();
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(bytes.str());
    } catch (const nlohmann::json::exception& e) {
        return badInput(file + ": not JSON: " + jsonErrorText(e));
    }
    if (j.is_object() && j.contains("tokens")) j = j["tokens"];
    if (!j.is_array())
        return badInput(file + ": expected a JSON list of token ids, or an object whose \"tokens\" is one");
    std::vector<int32_t> ids;
    for (size_t i = 0; i < j.size(); ++i) {
        const nlohmann::json& id = j[i];
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
            return badInput(file + ": entry " + std::to_string(i) + " (" + id.dump() + ") is not a token id");
        ids.push_back(id.get<int32_t>());
    }
    return ids;
}

// Every id inside a vocabulary of vocab ids; the message names the file and the first that is not.
Status checkVocabulary(const std::vector<int32_t>& ids, int64_t vocab, const std::string& file,
                       const std::string& model) {
    for (size_t i = 0; i < ids.size(); ++i)
        if (ids[i] >= vocab)
            return badInput(file + ": token " + std::to_string(i) + " is id " + std::to_string(ids[i]) +
                            ", outside the vocabulary of " + model + " (" + groupDigits(vocab) + " ids, 0 to " +
                            groupDigits(vocab - 1) + ")");
    return {};
}

// The tokens of --text-file by the first model's tokenizer, and the same ids from the second's.
Result<std::vector<int32_t>> textTokens(const std::string& file, const std::vector<std::string>& models,
                                        const Tokenizer& tokenizer) {
    std::string text;
    STRATA_ASSIGN(text, readUtf8TextFile(file));
    if (isBlank(text)) return badInput(file + ": the file is empty (or only blank space): there is no text to score");
    const std::vector<int32_t> ids = tokenizer.encode(text, true);
    if (models.size() > 1) {
        std::unique_ptr<Tokenizer> other;
        STRATA_ASSIGN(other, loadTokenizer(models[1]));
        const std::vector<int32_t> otherIds = other->encode(text, true);
        size_t same = 0;
        while (same < ids.size() && same < otherIds.size() && ids[same] == otherIds[same]) ++same;
        if (same < ids.size() || same < otherIds.size())
            return badInput("the tokenizers of " + models[0] + " and " + models[1] + " give different ids for " +
                            file + " (" + groupDigits(int64_t(ids.size())) + " and " +
                            groupDigits(int64_t(otherIds.size())) + " tokens, first different at token " +
                            groupDigits(int64_t(same)) + "): the models cannot be compared on the same tokens");
    }
    return ids;
}

// The vocabulary of the model at path, read from its config without loading weights.
Result<int64_t> vocabularyOf(const std::string& path) {
    std::unique_ptr<Checkpoint> checkpoint;
    STRATA_ASSIGN(checkpoint, Checkpoint::open(path));
    ModelConfig config;
    STRATA_ASSIGN(config, loadModelConfig(*checkpoint));
    return config.vocabSize;
}

// A figure of at most a few units, readable whether it is 2.5 or 3e-7.
std::string smallFigure(double x) {
    if (x != 0 && std::abs(x) < 1e-3) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3e", x);
        return buf;
    }
    return groupDigits(x, 6);
}

// The KL divergence at the scored positions: its 99th percentile (nearest rank) and its largest.
struct KlSpread {
    double p99 = 0;
    double max = 0;
    int64_t maxPosition = -1;
};

KlSpread klSpread(const ScoringResult& r) {
    KlSpread out;
    if (!r.compared || r.positions.empty()) return out;
    std::vector<double> kl;
    kl.reserve(r.positions.size());
    for (const ScoredPosition& p : r.positions) {
        kl.push_back(p.kl);
        if (p.kl > out.max || out.maxPosition < 0) out.max = p.kl, out.maxPosition = p.position;
    }
    const size_t rank = size_t(std::ceil(0.99 * double(kl.size()))) - 1;
    std::nth_element(kl.begin(), kl.begin() + std::ptrdiff_t(rank), kl.end());
    out.p99 = kl[rank];
    return out;
}

void printResult(const ScoringResult& r, const std::vector<std::string>& models, int64_t tokens, int64_t context,
                 int64_t stride) {
    for (size_t i = 0; i < models.size(); ++i)
        std::printf("model %zu            %s\n", i + 1, models[i].c_str());
    std::printf("scored             %s of %s tokens, in %s window%s of %s tokens, stride %s\n",
                groupDigits(int64_t(r.positions.size())).c_str(), groupDigits(tokens).c_str(),
                groupDigits(r.windows).c_str(), r.windows == 1 ? "" : "s", groupDigits(context).c_str(),
                groupDigits(stride).c_str());
    std::printf("perplexity         %s%s\n", groupDigits(r.perplexity, 4).c_str(),
                r.compared ? (" (model 1), " + groupDigits(r.secondPerplexity, 4) + " (model 2)").c_str() : "");
    std::printf("mean -log p        %s%s nats per token\n", smallFigure(r.meanNegLogProb).c_str(),
                r.compared ? (" (model 1), " + smallFigure(r.secondMeanNegLogProb) + " (model 2)").c_str() : "");
    if (r.compared) {
        const KlSpread spread = klSpread(r);
        std::printf("KL(P1||P2)         %s nats per token (mean); 99th percentile %s, largest %s (token %s)\n",
                    smallFigure(r.meanKl).c_str(), smallFigure(spread.p99).c_str(), smallFigure(spread.max).c_str(),
                    groupDigits(spread.maxPosition).c_str());
        std::printf("top-1 agreement    %s%% (%s of %s tokens)\n", groupDigits(100 * r.top1Agreement, 2).c_str(),
                    groupDigits(r.top1Agreements).c_str(), groupDigits(int64_t(r.positions.size())).c_str());
    }
    std::fflush(stdout);
}

// tokenizer: the first model's, for each token's text; null when it has none (the texts are left out).
nlohmann::json resultJson(const ScoringResult& r, const std::vector<std::string>& models,
                          const std::vector<int32_t>& tokens, const CliArguments& args, int64_t context,
                          int64_t stride, const Tokenizer* tokenizer) {
    nlohmann::json j;
    j["models"] = models;
    if (auto f = args.get("text-file")) j["text_file"] = *f;
    if (auto f = args.get("tokens-file")) j["tokens_file"] = *f;
    j["token_ids"] = tokens;
    j["context"] = context;
    j["stride"] = stride;
    j["windows"] = r.windows;
    j["piece_tokens"] = r.pieceTokens;
    j["scored"] = r.positions.size();
    j["mean_nll"] = r.meanNegLogProb;
    j["perplexity"] = r.perplexity;
    if (r.compared) {
        j["second_mean_nll"] = r.secondMeanNegLogProb;
        j["second_perplexity"] = r.secondPerplexity;
        j["mean_kl"] = r.meanKl;
        j["top1_agreements"] = r.top1Agreements;
        j["top1_agreement"] = r.top1Agreement;
        const KlSpread spread = klSpread(r);
        j["p99_kl"] = spread.p99;
        j["max_kl"] = spread.max;
        j["max_kl_position"] = spread.maxPosition;
    }
    j["seconds"] = r.seconds;
    // A token's text as the tokenizer decodes it alone (a byte piece of a longer character is not
    // valid UTF-8 alone: the JSON shows U+FFFD for it).
    auto text = [tokenizer](int32_t id) {
        const int32_t one[] = {id};
        return tokenizer->decode(one);
    };
    nlohmann::json positions = nlohmann::json::array();
    for (const ScoredPosition& p : r.positions) {
        nlohmann::json e = {{"position", p.position}, {"token", p.token}, {"logprob", p.first.logProb},
                            {"top1", p.first.top1}};
        if (tokenizer) {
            e["text"] = text(p.token);
            e["top1_text"] = text(p.first.top1);
        }
        if (r.compared) {
            e["second_logprob"] = p.second.logProb;
            e["second_top1"] = p.second.top1;
            e["kl"] = p.kl;
        }
        positions.push_back(std::move(e));
    }
    j["positions"] = std::move(positions);
    return j;
}

}  // namespace

Status perplexityCommand(const std::vector<std::string>& argv) {
    auto args = parseCommand("perplexity", argv);
    STRATA_TRY(args);
    std::vector<std::string> models = args->all("model");
    if (models.size() > 2) return badInput("give --model at most twice: the model, and a second to compare with it");
    if (args->has("text-file") == args->has("tokens-file"))
        return badInput("give one of --text-file and --tokens-file: the text to score");
    int64_t context = 0, stride = 0;
    STRATA_ASSIGN(context, args->integer("context", 0, std::numeric_limits<int64_t>::min(), 1 << 24));
    if (args->has("context") && context < 2)
        return badInput("--context " + std::to_string(context) +
                        ": a window needs at least 2 tokens, one to predict from and one to score");
    STRATA_ASSIGN(stride, args->integer("stride", 0, 1, 1 << 24));
    if (context > 0 && stride > context)
        return badInput("--stride " + groupDigits(stride) + " is longer than --context " + groupDigits(context) +
                        ": the tokens between windows would never be scored");
    if (models.empty()) {
        std::string path;
        STRATA_ASSIGN(path, modelPath(*args));
        models.push_back(path);
    }
    for (const std::string& m : models) STRATA_TRY(givenModelPath(m));
    // Checked before the scoring, which may take hours, rather than when its result is written.
    if (auto out = args->get("json")) {
        const std::filesystem::path folder = std::filesystem::path(*out).parent_path();
        std::error_code ec;
        if (!folder.empty() && !std::filesystem::is_directory(folder, ec))
            return badInput("--json " + *out + ": the folder " + folder.string() + " does not exist");
    }

    // The first model's tokenizer: it turns --text-file into ids, and names each token in --json
    // (where a model without one leaves the names out).
    std::unique_ptr<Tokenizer> tokenizer;
    if (args->has("text-file") || args->has("json")) {
        auto loadedTokenizer = loadTokenizer(models[0]);
        if (args->has("text-file")) STRATA_TRY(loadedTokenizer);
        if (loadedTokenizer.ok()) tokenizer = std::move(loadedTokenizer.value());
    }
    std::vector<int32_t> tokens;
    if (auto file = args->get("tokens-file")) {
        STRATA_ASSIGN(tokens, readTokensFile(*file));
        for (const std::string& m : models) {
            int64_t vocab = 0;
            STRATA_ASSIGN(vocab, vocabularyOf(m));
            STRATA_TRY(checkVocabulary(tokens, vocab, *file, m));
        }
    } else {
        STRATA_ASSIGN(tokens, textTokens(*args->get("text-file"), models, *tokenizer));
    }
    if (tokens.size() < 2)
        return badInput(args->get("text-file").value_or(args->get("tokens-file").value_or("")) + " gives " +
                        std::to_string(tokens.size()) +
                        " token(s): nothing to score (a token is scored after the tokens before it)");
    if (models.size() > 1) {
        int64_t first = 0, second = 0;
        STRATA_ASSIGN(first, vocabularyOf(models[0]));
        STRATA_ASSIGN(second, vocabularyOf(models[1]));
        if (first != second)
            return badInput("the vocabularies of " + models[0] + " (" + groupDigits(first) + " ids) and " + models[1] +
                            " (" + groupDigits(second) + " ids) differ: their predictions cannot be compared");
    }

    ModelOptions options;
    STRATA_ASSIGN(options, modelOptions(*args, context > 0 ? context : kDefaultWindow));
    options.logitBytes = kScoringLogitBytes;
    ProgressLine progress;
    std::vector<CliModel> loaded;
    for (const std::string& m : models) {
        progress.status("loading " + m);
        auto model = loadCliModel(*args, m, options);
        progress.finish();
        STRATA_TRY(model);
        loaded.push_back(std::move(model.value()));
    }
    if (context == 0) {
        context = kDefaultWindow;
        for (const CliModel& m : loaded)
            if (m.model->config().maxPositions > 0) context = std::min(context, m.model->config().maxPositions);
    }
    for (const CliModel& m : loaded)
        if (m.model->config().maxPositions > 0 && context > m.model->config().maxPositions)
            return badInput("--context " + groupDigits(context) + " is longer than the context of " + m.path + " (" +
                            groupDigits(m.model->config().maxPositions) + " tokens)");
    if (stride == 0) stride = context;
    if (stride > context)
        return badInput("--stride " + groupDigits(stride) + " is longer than the window of " + groupDigits(context) +
                        " tokens: the tokens between windows would never be scored");

    watchStopSignals(kScoringStopNote);
    ScoringOptions scoring;
    scoring.context = context;
    scoring.stride = stride;
    scoring.logitBytes = options.logitBytes;
    scoring.cancelRequested = stopSignalled;
    scoring.onProgress = [&progress](const ScoringProgress& p) {
        progress.tokens("score", p.scored, p.total, p.tokensPerSecond, p.etaSeconds);
    };
    auto result = scoreTokens(*loaded[0].model, loaded.size() > 1 ? loaded[1].model.get() : nullptr, tokens, scoring);
    progress.finish();
    STRATA_TRY(result);

    printResult(*result, models, int64_t(tokens.size()), context, stride);
    uint64_t streamed = 0;
    int64_t forwarded = 0;
    for (const CliModel& m : loaded) {
        streamed += m.model->streamer().stats().bytesRead;
        forwarded += m.model->tokensForwarded();
    }
    const int64_t scored = int64_t(result->positions.size());
    std::fprintf(stderr,
                 "scored %s tokens in %.2f s (%s tok/s), %s tokens per piece; engine forwarded %s tokens; weights "
                 "streamed %s; peak RSS %s bytes (%s)\n",
                 groupDigits(scored).c_str(), result->seconds,
                 groupDigits(result->seconds > 0 ? double(scored) / result->seconds : 0.0, 1).c_str(),
                 groupDigits(result->pieceTokens).c_str(), groupDigits(forwarded).c_str(),
                 formatBytes(streamed).c_str(), groupDigits(int64_t(peakResidentBytes())).c_str(),
                 formatBytes(peakResidentBytes()).c_str());
    if (auto out = args->get("json")) {
        const nlohmann::json j = resultJson(*result, models, tokens, *args, context, stride,
                                            tokenizer.get());
        STRATA_TRY(writeFileAtomically(*out, j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"));
        std::fprintf(stderr, "wrote %s\n", out->c_str());
    }
    return {};
}

}  // namespace strata::cli
