#include "CliArguments.h"

#include "runtime/ResidencyPlan.h"
#include "core/ByteSize.h"

namespace strata::cli {

Result<CliArguments> CliArguments::parse(const std::vector<std::string>& args, const std::set<std::string>& valueFlags,
                                         const std::set<std::string>& switches, const std::set<std::string>& repeatable,
                                         bool positional) {
    CliArguments out;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg.rfind("--", 0) != 0) {
            if (!positional) return badInput("unexpected argument '" + arg + "'");
            out.positional_.push_back(arg);
            continue;
        }
        std::string name = arg.substr(2);
        std::optional<std::string> value;
        if (const size_t eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        if (switches.count(name)) {
            if (value) return badInput("--" + name + " takes no value");
            out.values_.emplace(name, "");
            continue;
        }
        if (!valueFlags.count(name)) return badInput("unknown option --" + name);
        if (!value) {
            if (i + 1 >= args.size()) return badInput("--" + name + " needs a value");
            value = args[++i];
        }
        if (out.values_.count(name) && !repeatable.count(name)) return badInput("--" + name + " given twice");
        out.values_.emplace(name, *value);
    }
    return out;
}

std::optional<std::string> CliArguments::get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

std::vector<std::string> CliArguments::all(const std::string& name) const {
    std::vector<std::string> out;
    auto [a, b] = values_.equal_range(name);
    for (auto it = a; it != b; ++it) out.push_back(it->second);
    return out;
}

Result<std::string> CliArguments::required(const std::string& name) const {
    if (auto v = get(name)) return *v;
    return badInput("--" + name + " is required");
}

Result<int64_t> CliArguments::integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
    auto v = get(name);
    if (!v) return fallback;
    try {
        size_t used = 0;
        const long long n = std::stoll(*v, &used);
        if (used != v->size()) throw 0;
        if (n < min || n > max)
            return badInput("--" + name + " must be between " + std::to_string(min) + " and " + std::to_string(max));
        return int64_t(n);
    } catch (...) {
        return badInput("--" + name + " needs a whole number, not '" + *v + "'");
    }
}

Result<double> CliArguments::number(const std::string& name, double fallback) const {
    auto v = get(name);
    if (!v) return fallback;
    try {
        size_t used = 0;
        const double n = std::stod(*v, &used);
        if (used != v->size()) throw 0;
        return n;
    } catch (...) {
        return badInput("--" + name + " needs a number, not '" + *v + "'");
    }
}

Result<uint64_t> CliArguments::byteSize(const std::string& name, uint64_t fallback) const {
    auto v = get(name);
    if (!v) return fallback;
    auto bytes = parseByteSize(*v);
    if (!bytes.ok()) return badInput("--" + name + ": " + bytes.error().message);
    return bytes;
}

}  // namespace strata::cli
