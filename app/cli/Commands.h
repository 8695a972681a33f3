#pragma once
#include <string>
#include <vector>

#include "core/Result.h"

namespace strata::cli {

// Each command returns its error (the caller prints it as one line and exits 2 or 1).
Status runCommand(const std::vector<std::string>& args);
Status infoCommand(const std::vector<std::string>& args);
Status benchCommand(const std::vector<std::string>& args);
Status convertCommand(const std::vector<std::string>& args);
Status sessionsCommand(const std::vector<std::string>& argv);
Status askCommand(const std::vector<std::string>& argv);
Status ingestCommand(const std::vector<std::string>& argv);
Status devicesCommand(const std::vector<std::string>& argv);
Status perplexityCommand(const std::vector<std::string>& argv);

}  // namespace strata::cli
