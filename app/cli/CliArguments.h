#pragma once
// Command-line flags of one strata-cli command: "--name value", "--name=value" or a bare switch.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/Result.h"

namespace strata::cli {

class CliArguments {
public:
    // valueFlags take a value; switches do not; repeatable value flags may appear several times.
    // Bare words are refused unless positional; then they are kept in order (positional()).
    static Result<CliArguments> parse(const std::vector<std::string>& args, const std::set<std::string>& valueFlags,
                                      const std::set<std::string>& switches,
                                      const std::set<std::string>& repeatable = {}, bool positional = false);

    bool has(const std::string& name) const { return values_.count(name) > 0; }
    std::optional<std::string> get(const std::string& name) const;
    std::vector<std::string> all(const std::string& name) const;
    Result<std::string> required(const std::string& name) const;
    Result<int64_t> integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const;
    Result<double> number(const std::string& name, double fallback) const;
    Result<uint64_t> byteSize(const std::string& name, uint64_t fallback) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::multimap<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

}  // namespace strata::cli
