#include "ModelCatalog.h"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <system_error>

namespace strata {

namespace fs = std::filesystem;

namespace {

bool isHfModelFolder(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_regular_file(dir / "config.json", ec)) return false;
    for (const auto& entry : fs::directory_iterator(dir, ec))
        if (entry.path().extension() == ".safetensors" || entry.path().filename() == "model.safetensors.index.json")
            return true;
    return false;
}

bool isGguf(const fs::path& file) {
    std::error_code ec;
    return file.extension() == ".gguf" && fs::is_regular_file(file, ec);
}

void scan(const fs::path& folder, int depth, std::vector<ModelEntry>& out) {
    std::error_code ec;
    if (isHfModelFolder(folder)) {
        out.push_back({folder, folder.filename().string()});
        return;
    }
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
        if (isGguf(entry.path())) out.push_back({entry.path(), entry.path().filename().string()});
        else if (depth > 0 && entry.is_directory(ec)) scan(entry.path(), depth - 1, out);
    }
}

}  // namespace

fs::path huggingFaceHubCache() {
    if (const char* cache = std::getenv("HF_HUB_CACHE"); cache && *cache) return cache;
    if (const char* home = std::getenv("HF_HOME"); home && *home) return fs::path(home) / "hub";
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "huggingface" / "hub";
    const char* home = std::getenv("HOME");
    return fs::path(home && *home ? home : ".") / ".cache" / "huggingface" / "hub";
}

std::vector<ModelEntry> findModels(const std::vector<fs::path>& folders, const fs::path& hubCache) {
    std::vector<ModelEntry> out;
    for (const fs::path& folder : folders) scan(folder, 1, out);
    // The hub keeps models--<org>--<name>/snapshots/<revision>/ with the files as links into blobs/.
    std::error_code ec;
    for (const auto& repo : fs::directory_iterator(hubCache, ec)) {
        const std::string name = repo.path().filename().string();
        if (name.rfind("models--", 0) != 0) continue;
        std::string id = name.substr(8);
        if (const size_t sep = id.find("--"); sep != std::string::npos) id.replace(sep, 2, "/");
        for (const auto& snapshot : fs::directory_iterator(repo.path() / "snapshots", ec)) {
            if (isHfModelFolder(snapshot.path())) out.push_back({snapshot.path(), id + " (HF cache)"});
            for (const auto& file : fs::directory_iterator(snapshot.path(), ec))
                if (isGguf(file.path())) out.push_back({file.path(), id + "/" + file.path().filename().string() + " (HF cache)"});
        }
    }
    std::sort(out.begin(), out.end(), [](const ModelEntry& a, const ModelEntry& b) {
        return a.label != b.label ? a.label < b.label : a.path < b.path;
    });
    std::set<fs::path> seen;
    std::vector<ModelEntry> unique;
    for (ModelEntry& e : out) {
        const fs::path key = fs::weakly_canonical(e.path, ec);
        if (seen.insert(ec ? e.path : key).second) unique.push_back(std::move(e));
    }
    return unique;
}

}  // namespace strata
