#pragma once
// What every model command shares: --model, --ram-budget, --threads, --chunk, and the loading.
#include <memory>
#include <set>
#include <string>

#include "CliArguments.h"
#include "backend/cpu/CpuOps.h"
#include "model/TransformerModel.h"

namespace strata::cli {

extern const std::set<std::string> kModelFlags;

struct CliModel {
    std::unique_ptr<CpuOps> ops;
    std::unique_ptr<TransformerModel> model;
    double loadSeconds = 0;
};

Result<CliModel> loadCliModel(const CliArguments& args);

}  // namespace strata::cli
