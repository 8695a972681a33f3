// strata-cli: headless jobs and benchmarks. Exit codes: 0 ok, 2 bad input, 1 internal error, 75
// paused by a full disk, 130 stopped by a signal.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "CommandSpec.h"
#include "Commands.h"

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::fputs(strata::cli::overallHelp().c_str(), args.empty() ? stderr : stdout);
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version") {
        std::printf("strata-cli %s\n", STRATA_VERSION);
        return 0;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    if (strata::cli::asksForHelp(args)) {
        // "sessions list --help" is the subcommand's; "sessions --help" lists them all.
        std::string name = command;
        if (command == "sessions" && !args.empty() && args[0].rfind("-", 0) != 0) name += " " + args[0];
        bool found = false;
        for (const auto& spec : strata::cli::commandSpecs()) {
            if (spec.name != name && spec.name.rfind(name + " ", 0) != 0) continue;
            std::printf("%s%s", found ? "\n" : "", strata::cli::commandHelp(spec).c_str());
            found = true;
        }
        if (found) return 0;
    }
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
        else if (command == "perplexity") status = strata::cli::perplexityCommand(args);
        else status = strata::badInput("unknown command '" + command +
                                       "' (run, ask, ingest, info, bench, perplexity, convert, sessions, devices)");
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
