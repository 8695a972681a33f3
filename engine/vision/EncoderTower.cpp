#include "vision/EncoderTower.h"
#include "core/ByteSize.h"

#include <new>

namespace strata {

namespace {

std::vector<TensorSpec> layerTensors(const std::string& p, const EncoderLayerNames& n, const EncoderShape& s) {
    const int64_t h = s.hidden, ff = s.intermediate;
    std::vector<TensorSpec> t = {
        {WeightRole::InputNorm, p + n.attnNorm + ".weight", {h}},
        {WeightRole::InputNormBias, p + n.attnNorm + ".bias", {h}},
        {WeightRole::QProj, p + n.q + ".weight", {h, h}},
        {WeightRole::QProjBias, p + n.q + ".bias", {h}},
        {WeightRole::KProj, p + n.k + ".weight", {h, h}},
        {WeightRole::VProj, p + n.v + ".weight", {h, h}},
        {WeightRole::VProjBias, p + n.v + ".bias", {h}},
        {WeightRole::OProj, p + n.o + ".weight", {h, h}},
        {WeightRole::OProjBias, p + n.o + ".bias", {h}},
        {WeightRole::PostAttentionNorm, p + n.mlpNorm + ".weight", {h}},
        {WeightRole::PostAttentionNormBias, p + n.mlpNorm + ".bias", {h}},
        {WeightRole::UpProj, p + n.fc1 + ".weight", {ff, h}},
        {WeightRole::UpProjBias, p + n.fc1 + ".bias", {ff}},
        {WeightRole::DownProj, p + n.fc2 + ".weight", {h, ff}},
        {WeightRole::DownProjBias, p + n.fc2 + ".bias", {h}},
    };
    if (n.keyBias) t.push_back({WeightRole::KProjBias, p + n.k + ".bias", {h}});
    return t;
}

}  // namespace

Result<std::unique_ptr<EncoderTower>> EncoderTower::create(Ops& ops, std::unique_ptr<Checkpoint> checkpoint,
                                                           const EncoderShape& shape, std::vector<TensorSpec> stem,
                                                           const std::string& layerPrefix, int64_t layers,
                                                           const EncoderLayerNames& names,
                                                           const std::string& finalNorm, const std::string& scope) {
    if (shape.rows <= 0 || shape.hidden <= 0 || shape.heads <= 0 || shape.hidden % shape.heads != 0 ||
        shape.intermediate <= 0 || layers <= 0)
        return badInput("the encoder's configuration does not describe a usable tower");
    std::unique_ptr<EncoderTower> tower(new EncoderTower(ops, std::move(checkpoint), shape));
    const Checkpoint& c = *tower->checkpoint_;
    WeightLayout& layout = tower->layout_;
    auto add = [&](Result<WeightUnit> unit) -> Status {
        STRATA_TRY(unit);
        layout.units.push_back(std::move(unit.value()));
        return {};
    };
    STRATA_TRY(add(buildWeightUnit(c, "stem", stem)));
    for (int64_t i = 0; i < layers; ++i)
        STRATA_TRY(add(buildWeightUnit(c, "layer " + std::to_string(i),
                                       layerTensors(layerPrefix + std::to_string(i) + ".", names, shape))));
    STRATA_TRY(add(buildWeightUnit(c, "final norm",
                                   {{WeightRole::FinalNorm, finalNorm + ".weight", {shape.hidden}},
                                    {WeightRole::FinalNormBias, finalNorm + ".bias", {shape.hidden}}})));
    STRATA_TRY(refuseUnusedTensors(
        c, [&](const std::string& name) { return name.rfind(scope, 0) == 0; }, layout.tensorNames(),
        "encoder at " + scope));
    return tower;
}

Result<ResidencyPlan> EncoderTower::plan() const {
    ResidencyOptions options;
    if (residency_) {
        options = *residency_;
    } else if (!ops_.memoryIsHost()) {
        options.vramBudget = ops_.deviceBytesFree();
        options.vramReserve = kDeviceWorkspaceBytes;
    }
    auto plan = planResidency(layout_, options);
    if (!plan.ok())
        return Error{plan.error().kind, "too little memory is left to run the encoder (" +
                                            formatBytes(layout_.totalBytes()) + " of weights): " +
                                            plan.error().message};
    return plan;
}

Result<std::vector<float>> EncoderTower::run(int64_t inputs, const Stem& stem) {
    if (inputs <= 0) return badInput("nothing to encode");
    const int64_t n = shape_.rows, h = shape_.hidden, ff = shape_.intermediate;
    const size_t rowsFloats = size_t(n * h);
    std::vector<float> out(size_t(inputs) * rowsFloats);
    try {
        // The activations first, so that the weights' plan gets what they leave.
        BackendBuffer x(ops_, out.size()), normed(ops_, rowsFloats), q(ops_, rowsFloats), k(ops_, rowsFloats),
            v(ops_, rowsFloats), attn(ops_, rowsFloats), proj(ops_, rowsFloats), up(ops_, size_t(n * ff));
        STRATA_ASSIGN(lastPlan_, plan());
        std::unique_ptr<WeightSource> source;
        STRATA_ASSIGN(source, ops_.makeWeightSource(*checkpoint_, layout_, lastPlan_));

        const int units = int(layout_.units.size());
        for (int unit = 0; unit < units; ++unit) {
            auto w = source->acquire(unit);
            STRATA_TRY(w);
            Status done;
            for (int64_t i = 0; i < inputs && done.ok(); ++i) {
                float* xi = x.get() + size_t(i) * rowsFloats;
                if (unit == 0) {
                    done = stem(i, w.value(), xi);
                } else if (unit == units - 1) {
                    ops_.layerNorm(xi, n, w->get(WeightRole::FinalNorm), w->get(WeightRole::FinalNormBias),
                                   shape_.eps, xi);
                } else {
                    const UnitWeights& l = w.value();
                    ops_.layerNorm(xi, n, l.get(WeightRole::InputNorm), l.get(WeightRole::InputNormBias), shape_.eps,
                                   normed.get());
                    linear(ops_, l, WeightRole::QProj, WeightRole::QProjBias, normed.get(), n, q.get());
                    linear(ops_, l, WeightRole::KProj, WeightRole::KProjBias, normed.get(), n, k.get());
                    linear(ops_, l, WeightRole::VProj, WeightRole::VProjBias, normed.get(), n, v.get());
                    ops_.bidirectionalAttention(q.get(), k.get(), v.get(), n, shape_.heads, shape_.headDim(),
                                                attn.get());
                    linear(ops_, l, WeightRole::OProj, WeightRole::OProjBias, attn.get(), n, proj.get());
                    ops_.add(xi, proj.get(), n * h);
                    ops_.layerNorm(xi, n, l.get(WeightRole::PostAttentionNorm),
                                   l.get(WeightRole::PostAttentionNormBias), shape_.eps, normed.get());
                    linear(ops_, l, WeightRole::UpProj, WeightRole::UpProjBias, normed.get(), n, up.get());
                    ops_.activate(up.get(), n * ff, shape_.activation);
                    linear(ops_, l, WeightRole::DownProj, WeightRole::DownProjBias, up.get(), n, proj.get());
                    ops_.add(xi, proj.get(), n * h);
                }
            }
            source->release(unit);
            STRATA_TRY(done);
        }
        ops_.download(out.data(), x.get(), out.size());
        lastStats_ = source->stats();
    } catch (const std::bad_alloc&) {
        Status backend = ops_.takeError();
        if (!backend.ok()) return backend.error();
        return internalError("out of memory for the encoder's activations of " + std::to_string(inputs) + " x " +
                             std::to_string(n) + " rows");
    }
    STRATA_TRY(ops_.takeError());
    return out;
}

}  // namespace strata
