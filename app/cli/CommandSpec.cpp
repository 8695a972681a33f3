#include "CommandSpec.h"

#include <algorithm>
#include <set>

namespace strata::cli {

namespace {

std::vector<FlagSpec> modelFlags(const std::string& contextHelp) {
    return {
        {"model", "M", "the model: a Hugging Face folder or a GGUF file (default: the installed Gemma 3 270M)"},
        {"ram-budget", "SIZE",
         "model weights held in RAM at once; layers beyond it stream from disk with read-ahead (default: no limit)"},
        {"vram-budget", "SIZE",
         "run on the GPU with this much device memory: layers that fit stay in VRAM, the rest are copied in from "
         "pinned RAM or disk while earlier layers compute (default: the CPU)"},
        {"context", "N", contextHelp},
        {"threads", "N", "CPU threads for the products and attention (default: every core)"},
        {"chunk", "N", "prompt tokens per prefill chunk (default 256)"},
    };
}

const std::string kRunContext =
    "positions planned for in device memory: the KV cache and activations (default 8192)";

std::vector<FlagSpec> samplingFlags() {
    return {
        {"temperature", "T", "sampling temperature; 0 (the default) picks the most likely token"},
        {"top-k", "K", "sample among the K most likely tokens (default: all)"},
        {"top-p", "P", "sample among the most likely tokens whose probabilities add up to P (default 1)"},
        {"min-p", "P", "drop tokens less likely than P times the most likely one (default 0)"},
        {"repetition-penalty", "R", "divide the logits of tokens already seen by R (default 1: none)"},
        {"seed", "S", "seed of the sampler, for repeatable answers (default 0)"},
    };
}

std::vector<FlagSpec> kvBudgetFlags() {
    return {
        {"kv-budget", "SIZE",
         "KV cache held in backend memory (VRAM on the GPU); blocks beyond it live in RAM or in the session's files, "
         "and the plan keeps only this much device memory for it (default: the whole context)"},
        {"kv-ram-budget", "SIZE", "on the GPU, KV blocks beyond --kv-budget kept in RAM before they go to disk"},
    };
}

std::vector<FlagSpec> sessionFlags() {
    std::vector<FlagSpec> flags = {
        {"store", "DIR",
         "the session store (default: $STRATA_SESSIONS_DIR, else $XDG_DATA_HOME/strata/sessions, else "
         "~/.local/share/strata/sessions)"},
        {"checkpoint-tokens", "N", "save the prefill every N prompt tokens, to resume from (default 4096)"},
    };
    const std::vector<FlagSpec> kv = kvBudgetFlags();
    flags.insert(flags.begin() + 1, kv.begin(), kv.end());
    return flags;
}

// run's model flags, --model taken twice to compare two models, and --context meaning the window.
std::vector<FlagSpec> perplexityModelFlags() {
    std::vector<FlagSpec> flags =
        modelFlags("tokens per window, at least 2 (default: the model's context, at most 4,096)");
    flags.front().help =
        "the model (default: the installed Gemma 3 270M); given twice, the second is compared with the first (a "
        "quantised GGUF with its bf16 original, say): it needs the same vocabulary and, with --text-file, gives the "
        "same ids for the text. The models run in step, each within the budgets";
    flags.front().repeatable = true;
    return flags;
}

const FlagSpec kStore = {"store", "DIR", "the session store (default as for run)"};

template <typename... Groups>
std::vector<FlagSpec> join(Groups&&... groups) {
    std::vector<FlagSpec> out;
    (out.insert(out.end(), groups.begin(), groups.end()), ...);
    return out;
}

std::vector<CommandSpec> buildSpecs() {
    std::vector<CommandSpec> specs;
    specs.push_back(
        {"run", "",
         "Streams the answer to stdout and progress to stderr. Without a prompt, asks a question about the sample "
         "incident report. Every run is saved as a session (its id is printed) with its KV cache, checkpointed as "
         "it prefills. A stop signal (SIGTERM, SIGINT, SIGHUP) pauses the job with everything saved; --resume "
         "finishes it.",
         join(std::vector<FlagSpec>{
                  {"prompt", "TEXT", "the question or text to continue"},
                  {"prompt-file", "F", "the prompt, from a UTF-8 file"},
                  {"max-tokens", "N", "the longest answer, in tokens (default 256)"},
                  {"stop", "TEXT", "end the answer where this text appears", true},
                  {"system", "TEXT", "a system message, with the chat format"},
                  {"raw", "", "continue the prompt as plain text, without the chat format"},
                  {"chat", "", "use the model family's chat format even when the model ships no chat template"},
                  {"no-think", "", "turn off Qwen3's thinking"},
                  {"reasoning-effort", "LEVEL",
                   "how long a gpt-oss model reasons before it answers: low, medium (the default) or high"},
                  {"show-reasoning", "",
                   "print a gpt-oss model's reasoning (its analysis channel) to stderr, between marker lines; stdout "
                   "has the answer alone either way"},
                  {"ignore-eos", "", "go on past the model's end-of-answer token"},
                  {"session", "ID", "ask a follow-up in a saved session: only the new question is prefilled"},
                  {"resume", "ID", "finish the job of a session that was stopped, killed or paused by a full disk"},
                  {"no-save", "", "keep no session"},
                  {"attach", "FILE",
                   "put a file's text (PDF, text or log, a scan through OCR) before the question, each passage after "
                   "its source (\"[report.pdf, page 3]\"); files that do not fit are refused, never cut",
                   true},
                  {"image", "FILE", "an image for a model that takes images (Gemma 3)", true},
                  {"audio", "FILE", "a recording for a model that takes audio (Voxtral)", true},
                  {"transcribe", "", "with one --audio: the words of the recording"},
                  {"language", "xx", "with --transcribe: the recording's language (en, fr, ...)"},
                  {"password", "P", "the password of encrypted PDFs"},
                  {"collapse-repeats", "", "text and logs: runs of identical lines become one with a count"},
                  {"allow-empty-pages", "",
                   "go on without asking when attached pages yield no text, even with OCR (the model will not see "
                   "them)"},
              },
              modelFlags(kRunContext), samplingFlags(), sessionFlags())});
    specs.push_back(
        {"ask", "",
         "Answers every question in FILE (one per line) on a saved session's context, all decoded together: one "
         "pass over the weights per token serves every question.",
         join(std::vector<FlagSpec>{
                  {"session", "ID", "the saved session whose context the questions are about (required)"},
                  {"questions", "FILE", "the questions, one per line (required)"},
                  {"max-tokens", "N", "the longest answer, in tokens (default 256)"},
                  {"stop", "TEXT", "end an answer where this text appears", true},
                  {"ignore-eos", "", "go on past the model's end-of-answer token"},
                  {"show-reasoning", "", "print a gpt-oss model's reasoning for each question to stderr"},
              },
              modelFlags(kRunContext), samplingFlags(), sessionFlags())});
    specs.push_back(
        {"ingest", "FILE...",
         "What each file (PDF, text or log, compressed log, image, audio) becomes as input: pages, lines and "
         "encoding, pixels or seconds, and its tokens for the model, and whether all of it fits the context. Bad "
         "files are reported; the others still ingest.",
         {
             {"model", "M", "count tokens for this model (default: the installed Gemma 3 270M)"},
             {"context", "N", "weigh the files against this many tokens (default: the model's context)"},
             {"password", "P", "the password of encrypted PDFs"},
             {"collapse-repeats", "", "text and logs: runs of identical lines become one with a count"},
             {"json", "", "print JSON"},
             {"text", "", "print the text exactly as it goes into the prompt, each passage after its source line"},
         }});
    specs.push_back({"info", "",
                     "Architecture, parameter count, bytes per layer and the memory plan: the tier (VRAM, RAM, disk) "
                     "of every layer and the bytes each tier supplies per token. Reads no weights, so it shows a GPU "
                     "plan on any machine.",
                     join(modelFlags("positions the plan keeps device memory for (default 8192)"),
                          std::vector<FlagSpec>{kvBudgetFlags().front()})});
    specs.push_back(
        {"bench", "",
         "Prefill and decode speed, a follow-up on the saved session and batched questions, each beside this "
         "machine's raw GEMM, memory and disk figures measured in the same run; writes JSON.",
         join(std::vector<FlagSpec>{
                  {"prompt-tokens", "N", "random prompt tokens to prefill (default 512)"},
                  {"gen-tokens", "N", "tokens to decode (default 32)"},
                  {"follow-up-tokens", "N", "tokens of the follow-up on the saved session (default 32)"},
                  {"questions", "N", "questions decoded together at the end (default 8)"},
                  {"seed", "S", "seed of the random prompt (default 1)"},
                  {"json", "FILE", "where the figures go (default strata-bench.json)"},
              },
              modelFlags("positions planned for (default: the prompt and generated tokens)"), kvBudgetFlags())});
    specs.push_back(
        {"perplexity", "",
         "Scores every token of a text with the model's log-probability of it after the tokens before it, and "
         "prints the perplexity: exp of the mean negative log-probability over the scored tokens. Windows of "
         "--context tokens start every --stride tokens, each from an empty cache, as in Hugging Face's perplexity "
         "recipe: a window scores the tokens no earlier window scored, except its own first token, which has "
         "nothing before it. So the text's first token is never scored, and with the default stride (the context) "
         "neither is the first token of each later window. With a second --model both score the same tokens, and "
         "the mean KL divergence KL(P1||P2) per scored token (with its 99th percentile and largest) and the top-1 "
         "agreement (how often both models put the same token first) are printed as well. Progress goes to stderr.",
         join(std::vector<FlagSpec>{
                  {"text-file", "F",
                   "the text to score (UTF-8), tokenised by the first model's tokenizer with its BOS, as Hugging "
                   "Face's tokenizer(text) does"},
                  {"tokens-file", "F", "token ids to score instead: a JSON list of ids, or an object whose \"tokens\" is one"},
                  {"stride", "N", "tokens from one window's start to the next's, 1 to --context (default: --context)"},
                  {"json", "OUT",
                   "write every scored position's token (id and text), log-prob and top-1 token (with two models "
                   "the second's too, and the KL divergence) and the totals (with the KL's 99th percentile and "
                   "largest) as JSON"},
              },
              perplexityModelFlags())});
    specs.push_back({"convert", "",
                     "Writes a GGUF model as a Hugging Face folder (bf16 safetensors, config, tokenizer) that Strata "
                     "and transformers load.",
                     {{"gguf", "FILE", "the GGUF file (required)"}, {"out", "DIR", "the folder to write (required)"}}});
    specs.push_back({"sessions list", "",
                     "Saved sessions, most recently changed first: id, state, turns, saved context and title.",
                     {{"search", "TEXT", "only sessions whose title or text contains TEXT"},
                      kStore,
                      {"json", "", "print JSON"}}});
    specs.push_back({"sessions show", "ID", "A session's details, attachments and transcript.", {kStore}});
    specs.push_back({"sessions export", "ID",
                     "A session as Markdown or JSON: its turns and its attachments with their hashes and tokens.",
                     {{"format", "md|json", "the format (required)"},
                      {"out", "F", "write to F (default: stdout)"},
                      kStore}});
    specs.push_back({"sessions delete", "ID", "Deletes a session and its KV files.", {kStore}});
    specs.push_back({"devices", "",
                     "The CUDA devices this build can use, the runtime and driver versions and where cuBLAS was "
                     "found; fails with the reason when no device is usable.",
                     {}});
    return specs;
}

std::string synopsis(const CommandSpec& spec) {
    std::string line = "strata-cli " + spec.name;
    if (!spec.positional.empty()) line += " " + spec.positional;
    if (!spec.flags.empty()) line += " [options]";
    return line;
}

// Wraps text to width columns, every line after the first indented by indent spaces.
std::string wrapped(const std::string& text, size_t indent, size_t width) {
    std::string out, line;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find(' ', start);
        if (end == std::string::npos) end = text.size();
        const std::string word = text.substr(start, end - start);
        if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
            out += line + "\n" + std::string(indent, ' ');
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
        start = end + 1;
    }
    return out + line;
}

constexpr size_t kWidth = 100;

}  // namespace

const std::vector<CommandSpec>& commandSpecs() {
    static const std::vector<CommandSpec> specs = buildSpecs();
    return specs;
}

const CommandSpec* findCommandSpec(std::string_view name) {
    for (const CommandSpec& spec : commandSpecs())
        if (spec.name == name) return &spec;
    return nullptr;
}

std::string commandHelp(const CommandSpec& spec) {
    std::string out = "usage: " + synopsis(spec) + "\n\n" + wrapped(spec.summary, 0, kWidth) + "\n\noptions:\n";
    constexpr size_t kColumn = 28;
    for (const FlagSpec& f : spec.flags) {
        std::string left = "  --" + f.name + (f.value.empty() ? "" : " " + f.value) + (f.repeatable ? " ..." : "");
        left += left.size() + 2 <= kColumn ? std::string(kColumn - left.size(), ' ') : "\n" + std::string(kColumn, ' ');
        out += left + wrapped(f.help, kColumn, kWidth) + "\n";
    }
    out += "  --help                    this text\n";
    return out;
}

std::string overallHelp() {
    std::string out = "usage: strata-cli COMMAND [options]    (strata-cli COMMAND --help for its options)\n\ncommands:\n";
    for (const CommandSpec& spec : commandSpecs())
        out += "  " + synopsis(spec) + "\n      " + wrapped(spec.summary, 6, kWidth) + "\n";
    out += "\n" +
           wrapped("M is a Hugging Face model folder or a GGUF file (llama, qwen2, qwen3, gemma3); the default is Gemma 3 "
                   "270M as installed by packaging/install-models.sh. SIZE takes units: 512MiB, 2GiB, ...",
                   0, kWidth) +
           "\n\nexit codes: 0 done, 2 bad input (the message names the file, tensor or flag at fault), 1 internal "
           "error,\n75 paused by a full disk, 130 stopped by a signal (the session is paused: run --resume ID).\n";
    return out;
}

Result<CliArguments> parseCommand(const CommandSpec& spec, const std::vector<std::string>& args) {
    std::set<std::string> values, switches, repeatable;
    for (const FlagSpec& f : spec.flags) {
        (f.value.empty() ? switches : values).insert(f.name);
        if (f.repeatable) repeatable.insert(f.name);
    }
    auto parsed = CliArguments::parse(args, values, switches, repeatable, !spec.positional.empty());
    if (!parsed.ok()) return badInput(parsed.error().message + " (see strata-cli " + spec.name + " --help)");
    return parsed;
}

Result<CliArguments> parseCommand(std::string_view name, const std::vector<std::string>& args) {
    const CommandSpec* spec = findCommandSpec(name);
    if (!spec) return internalError("no flags are declared for strata-cli " + std::string(name));
    return parseCommand(*spec, args);
}

bool asksForHelp(const std::vector<std::string>& args) {
    return std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
}

}  // namespace strata::cli
