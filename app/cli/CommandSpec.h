#pragma once
// Every strata-cli command with the flags it takes: one table that the parser reads and that
// `strata-cli COMMAND --help` and `strata-cli --help` print, so the two cannot drift apart.
#include <string>
#include <string_view>
#include <vector>

#include "CliArguments.h"
#include "core/Result.h"

namespace strata::cli {

struct FlagSpec {
    std::string name;   // without the dashes: "max-tokens"
    std::string value;  // what the value is, as help shows it ("N", "SIZE"); empty: a switch
    std::string help;   // what it does, in a line or two
    bool repeatable = false;
};

struct CommandSpec {
    std::string name;        // "run", "sessions list"
    std::string positional;  // the bare words it takes ("FILE...", "ID"); empty: none
    std::string summary;     // what the command does
    std::vector<FlagSpec> flags;
};

// In the order `strata-cli --help` lists them.
const std::vector<CommandSpec>& commandSpecs();
// The spec of "run", "sessions list", ...; null when there is none.
const CommandSpec* findCommandSpec(std::string_view name);

// `strata-cli COMMAND --help`: the synopsis, what it does, and every flag with its help.
std::string commandHelp(const CommandSpec& spec);
// `strata-cli --help`: every command's synopsis and summary, then what the common values mean.
std::string overallHelp();

// Parses a command's arguments with exactly the flags of its spec; bare words are refused unless
// the spec takes them. An unknown flag names the command's --help.
Result<CliArguments> parseCommand(const CommandSpec& spec, const std::vector<std::string>& args);
// The same by name (the name must have a spec).
Result<CliArguments> parseCommand(std::string_view name, const std::vector<std::string>& args);

// Whether the arguments ask for help (--help or -h anywhere).
bool asksForHelp(const std::vector<std::string>& args);

}  // namespace strata::cli
