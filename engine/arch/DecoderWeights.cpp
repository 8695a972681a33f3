#include "arch/DecoderWeights.h"

#include "arch/ModelFamily.h"
#include "arch/Registry.h"

namespace strata {

Result<WeightLayout> buildWeightLayout(const ModelConfig& c, const Checkpoint& checkpoint) {
    if (!c.family) return internalError("buildWeightLayout: the config names no model family");
    WeightLayout layout;
    const std::string& p = c.tensorPrefix;
    const std::string embedName = p + "embed_tokens.weight";
    layout.embedding = checkpoint.find(embedName);
    if (!layout.embedding) return badInput("tensor '" + embedName + "' is missing from the checkpoint");
    if (layout.embedding->dtype == DType::U8)
        return badInput("tensor '" + embedName + "' holds raw bytes (U8), not a floating-point embedding table");
    if (layout.embedding->shape != std::vector<int64_t>{c.vocabSize, c.hiddenSize})
        return badInput("tensor '" + embedName + "' has shape " + shapeText(layout.embedding->shape) +
                        " but config.json implies " + shapeText({c.vocabSize, c.hiddenSize}));

    const int64_t h = c.hiddenSize;
    for (int64_t i = 0; i < c.numLayers; ++i) {
        WeightUnitBuilder unit(checkpoint, "layer " + std::to_string(i));
        STRATA_TRY(c.family->layerTensors(unit, c, p + "layers." + std::to_string(i) + "."));
        layout.units.push_back(unit.finish());
    }
    WeightUnitBuilder head(checkpoint, "head");
    STRATA_TRY(head.add(WeightRole::FinalNorm, p + "norm.weight", {h}));
    STRATA_TRY(head.add(WeightRole::LmHead, c.tieWordEmbeddings ? embedName : c.lmHeadName, {c.vocabSize, h}));
    layout.units.push_back(head.finish());

    std::set<std::string> used = layout.tensorNames();
    used.insert(embedName);
    if (checkpoint.gguf())
        for (const std::string& name : c.family->ggufExtraTensors()) used.insert(name);
    // A multimodal wrapper's towers and projectors check their own tensors when they load.
    const ModelWrapper* wrapper = findWrapper(c.modelType);
    auto inScope = [&](const std::string& name) {
        if (!wrapper) return true;
        for (const std::string& e : wrapper->encoderPrefixes)
            if (name.rfind(e, 0) == 0 || name.rfind("model." + e, 0) == 0) return false;
        return true;
    };
    STRATA_TRY(refuseUnusedTensors(checkpoint, inScope, used, c.modelType + " decoder"));
    return layout;
}

}  // namespace strata
