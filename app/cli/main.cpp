// strata-cli: headless jobs and benchmarks. Exit codes: 0 ok, 2 bad input, 1 internal error.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "Commands.h"

namespace {

const char* kUsage =
    "usage: strata-cli COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  run    [--model M] [--prompt TEXT | --prompt-file F] [--max-tokens N] [--ram-budget SIZE]\n"
    "         [--vram-budget SIZE] [--context N]\n"
    "         [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--repetition-penalty R] [--seed S]\n"
    "         [--stop TEXT]... [--system TEXT] [--raw | --chat] [--no-think] [--ignore-eos] [--threads N]\n"
    "         [--chunk N]\n"
    "         [--session ID | --resume ID | --no-save] [--kv-budget SIZE] [--kv-ram-budget SIZE]\n"
    "         [--checkpoint-tokens N] [--store DIR] [--attach FILE]... [--password P] [--collapse-repeats]\n"
    "         Streams the answer to stdout and progress to stderr. Without a prompt, asks a question\n"
    "         about the sample incident report. Every run is saved as a session (its id is printed)\n"
    "         with its KV cache, checkpointed every --checkpoint-tokens prompt tokens (default 4096).\n"
    "         --session ID asks a follow-up without prefilling the session's context again; --resume ID\n"
    "         finishes a job that was killed or paused by a full disk. --kv-budget bounds the KV cache\n"
    "         in memory (VRAM on the GPU); blocks beyond it are read from the session's files.\n"
    "         --attach puts a file's text (PDF, text or log) before the question, each passage after\n"
    "         its source (\"[report.pdf, page 3]\") so that answers can cite it; files that do not fit\n"
    "         the context with the question and the answer are refused, never cut.\n"
    "  ask    --session ID --questions FILE [--max-tokens N] [sampling and KV options as run]\n"
    "         Answers every question in FILE (one per line) on the saved session's context, all\n"
    "         decoded together: one pass over the weights per token serves every question.\n"
    "  ingest FILE... [--model M] [--context N] [--password P] [--collapse-repeats] [--json]\n"
    "         What each file (PDF, text or log, image, audio) becomes as input: pages, lines and\n"
    "         encoding, pixels or seconds, and its tokens for the model, and whether all of it fits\n"
    "         the context. Bad files are reported; the others still ingest.\n"
    "  info   [--model M] [--ram-budget SIZE] [--vram-budget SIZE] [--context N] [--chunk N] [--kv-budget SIZE]\n"
    "         Architecture, parameter count, bytes per layer and the memory plan: the tier (VRAM, RAM,\n"
    "         disk) of every layer and the bytes each tier supplies per token.\n"
    "  bench  [--model M] [--prompt-tokens N] [--gen-tokens N] [--ram-budget SIZE] [--vram-budget SIZE]\n"
    "         [--kv-budget SIZE] [--kv-ram-budget SIZE] [--json FILE]\n"
    "         Prefill and decode speed against this machine's raw GEMM, memory and disk figures.\n"
    "  convert --gguf FILE --out DIR\n"
    "         Writes a GGUF model as a Hugging Face folder (bf16 safetensors, config, tokenizer).\n"
    "  devices\n"
    "         The CUDA devices this build can use, the runtime and driver versions and where cuBLAS\n"
    "         was found; fails with the reason when no device is usable.\n"
    "  sessions list [--search TEXT] [--json] | show ID | export ID --format md|json [--out FILE] | delete ID\n"
    "         Saved sessions, newest first; each subcommand takes [--store DIR] (default: $STRATA_SESSIONS_DIR,\n"
    "         else $XDG_DATA_HOME/strata/sessions, else ~/.local/share/strata/sessions).\n"
    "\n"
    "M is a Hugging Face model folder or a GGUF file (llama, qwen3, gemma3); the default is Gemma 3\n"
    "270M as installed by packaging/install-models.sh.\n"
    "SIZE takes units: 512MiB, 2GiB, ... --ram-budget bounds the model weights held in RAM; layers\n"
    "beyond it are streamed from disk with read-ahead. --vram-budget runs on the GPU (CUDA backend):\n"
    "layers that fit stay in VRAM, the rest are copied in from pinned RAM or disk while earlier\n"
    "layers compute. Part of the budget is kept for the KV cache and activations of --context\n"
    "tokens (default 8192; bench uses its prompt and generated tokens), of the KV cache at most\n"
    "--kv-budget when one is given.\n";

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::fputs(kUsage, args.empty() ? stderr : stdout);
        return args.empty() ? 2 : 0;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    strata::Status status;
    try {
        if (command == "run") status = strata::cli::runCommand(args);
        else if (command == "info") status = strata::cli::infoCommand(args);
        else if (command == "bench") status = strata::cli::benchCommand(args);
        else if (command == "convert") status = strata::cli::convertCommand(args);
        else if (command == "sessions") status = strata::cli::sessionsCommand(args);
        else if (command == "ask") status = strata::cli::askCommand(args);
        else if (command == "ingest") status = strata::cli::ingestCommand(args);
        else if (command == "devices") status = strata::cli::devicesCommand(args);
        else status = strata::badInput("unknown command '" + command +
                                       "' (run, ask, ingest, info, bench, convert, sessions, devices)");
    } catch (const std::bad_alloc&) {
        status = strata::internalError("out of memory");
    } catch (const std::exception& e) {
        status = strata::internalError(std::string("internal error: ") + e.what());
    }
    if (status.ok()) return 0;
    // On a terminal, replace the progress line rather than leave it half-written before the error.
    if (isatty(STDERR_FILENO)) std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "strata-cli: error: %s\n", status.error().message.c_str());
    return strata::exitCodeFor(status.error());
}
