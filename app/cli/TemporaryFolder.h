#pragma once
// A folder under the system's temporary directory, removed with everything in it on destruction.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/Result.h"

namespace strata::cli {

class TemporaryFolder {
public:
    TemporaryFolder() = default;
    TemporaryFolder(const TemporaryFolder&) = delete;
    TemporaryFolder& operator=(const TemporaryFolder&) = delete;
    ~TemporaryFolder() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }

    Status create(const std::string& prefix) {
        std::error_code ec;
        std::string pattern = (std::filesystem::temp_directory_path(ec) / (prefix + "-XXXXXX")).string();
        if (ec || !::mkdtemp(pattern.data()))
            return internalError("cannot create a temporary folder for " + prefix + ": " + std::strerror(errno));
        path_ = pattern;
        return {};
    }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace strata::cli
