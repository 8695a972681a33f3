#include "arch/ModelFamily.h"

#include "arch/Blocks.h"

namespace strata {

const std::set<std::string>& ModelFamily::ggufKeys() const {
    static const std::set<std::string> none;
    return none;
}

Status ModelFamily::ggufConfig(const GgufFile&, const Checkpoint&, json&) const { return {}; }

Status ModelFamily::forwardPass(LayerPass&) const { return {}; }

}  // namespace strata
