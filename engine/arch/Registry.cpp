#include "arch/Registry.h"

#include <array>

#include "arch/ModelFamily.h"

namespace strata {

// Each defined in its family's file.
const ModelFamily& llamaFamily();
const ModelFamily& qwen2Family();
const ModelFamily& qwen3Family();
const ModelFamily& gemma3Family();
const ModelFamily& gptOssFamily();
const ModelWrapper& gemma3Wrapper();
const ModelWrapper& voxtralWrapper();

namespace {

std::array<const ModelFamily*, 5> families() {
    return {&llamaFamily(), &qwen2Family(), &qwen3Family(), &gemma3Family(), &gptOssFamily()};
}

std::array<const ModelWrapper*, 2> wrappers() { return {&gemma3Wrapper(), &voxtralWrapper()}; }

std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
    return text;
}

}  // namespace

const ModelFamily* findFamily(const std::string& modelType) {
    for (const ModelFamily* f : families())
        if (modelType == f->modelType()) return f;
    return nullptr;
}

const ModelWrapper* findWrapper(const std::string& modelType) {
    for (const ModelWrapper* w : wrappers())
        if (modelType == w->modelType) return w;
    return nullptr;
}

const ModelFamily* findGgufFamily(const std::string& architecture) {
    for (const ModelFamily* f : families())
        if (f->ggufArchitecture() && architecture == f->ggufArchitecture()) return f;
    return nullptr;
}

std::string supportedModelTypes() {
    std::vector<std::string> names;
    for (const ModelFamily* f : families()) names.push_back(f->modelType());
    for (const ModelWrapper* w : wrappers()) names.push_back(w->modelType);
    return joined(names);
}

// Declared by the GGUF reader (format/GgufTensorNames.h), which sits below the families.
const GgufConventions* ggufConventionsFor(const std::string& architecture) {
    static const auto conventions = [] {
        std::vector<std::pair<std::string, GgufConventions>> all;
        for (const ModelFamily* f : families())
            if (f->ggufArchitecture()) all.emplace_back(f->ggufArchitecture(), f->ggufConventions());
        return all;
    }();
    for (const auto& [name, c] : conventions)
        if (name == architecture) return &c;
    return nullptr;
}

std::string supportedGgufArchitectures() {
    std::vector<std::string> names;
    for (const ModelFamily* f : families())
        if (f->ggufArchitecture()) names.push_back(f->ggufArchitecture());
    return joined(names);
}

Result<ChatFormat> chatFormatForModelType(const std::string& modelType) {
    if (const ModelFamily* f = findFamily(modelType)) return f->chatFormat();
    if (const ModelWrapper* w = findWrapper(modelType); w && !w->turnsFromTokenIds)
        return findFamily(w->textModelType)->chatFormat();
    std::vector<std::string> names;
    for (const ModelFamily* f : families()) names.push_back(f->modelType());
    for (const ModelWrapper* w : wrappers())
        if (!w->turnsFromTokenIds) names.push_back(w->modelType);
    return badInput("config.json model_type '" + modelType + "' has no supported chat format (" + joined(names) + ")");
}

bool chatTurnsFromTokenIds(const std::string& modelType) {
    const ModelWrapper* w = findWrapper(modelType);
    return w && w->turnsFromTokenIds;
}

}  // namespace strata
