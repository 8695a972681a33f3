#include "vision/VisionTensors.h"

#include "format/Checkpoint.h"

namespace strata {

namespace {

std::string shapeText(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

}  // namespace

Result<std::string> findTensorPrefix(const Checkpoint& checkpoint, const std::vector<std::string>& prefixes,
                                     const std::string& probe, const std::string& what) {
    std::string tried;
    for (const std::string& p : prefixes) {
        if (checkpoint.find(p + probe)) return p;
        tried += (tried.empty() ? "" : ", ") + p + probe;
    }
    return badInput("no " + what + " in " + checkpoint.dir().string() + ": none of the tensors " + tried +
                    " exists");
}

Result<std::vector<float>> readTensorAsFloat(const Checkpoint& checkpoint, const std::string& name,
                                             const std::vector<int64_t>& shape) {
    const TensorInfo* info = checkpoint.find(name);
    if (!info) return badInput("missing tensor " + name + " in " + checkpoint.dir().string());
    if (info->shape != shape)
        return badInput("tensor " + name + " in " + checkpoint.dir().string() + " has shape " +
                        shapeText(info->shape) + " but the config gives " + shapeText(shape));
    std::vector<char> raw(info->nbytes);
    STRATA_TRY(checkpoint.read(*info, raw.data()));
    std::vector<float> out(size_t(info->numel()));
    widenToFloat(raw.data(), info->dtype, out.size(), out.data());
    return out;
}

}  // namespace strata
