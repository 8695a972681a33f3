#include "backend/Ops.h"

#include "runtime/WeightStreamer.h"

namespace strata {

Result<std::unique_ptr<WeightSource>> Ops::makeWeightSource(const Checkpoint& checkpoint, const WeightLayout& layout,
                                                            const ResidencyPlan& plan) {
    if (plan.deviceTier)
        return badInput("a VRAM budget was given, but models run on the " + std::string(name()) +
                        " backend, which has no device memory to place weights in");
    auto streamer = std::make_unique<WeightStreamer>(checkpoint, layout, plan);
    STRATA_TRY(streamer->start());
    return std::unique_ptr<WeightSource>(std::move(streamer));
}

}  // namespace strata
