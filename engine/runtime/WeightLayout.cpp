#include "runtime/WeightLayout.h"

#include <algorithm>
#include <tuple>
#include <sstream>

namespace strata {

namespace {

uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// Tensors further apart in a file than this are read as separate extents rather than reading the gap.
constexpr uint64_t kMaxExtentGap = uint64_t(64) << 10;

// Places plain tensors in file-ordered extents, then converted (GGUF-quantised) tensors after them.
void placeTensors(WeightUnit& unit) {
    constexpr uint64_t A = UnitExtent::kAlignment;
    std::vector<size_t> plain;
    for (size_t i = 0; i < unit.tensors.size(); ++i)
        if (!unit.tensors[i].info->encoding) plain.push_back(i);
    std::sort(plain.begin(), plain.end(), [&](size_t a, size_t b) {
        const TensorInfo& x = *unit.tensors[a].info;
        const TensorInfo& y = *unit.tensors[b].info;
        return std::tie(x.fileIndex, x.offset) < std::tie(y.fileIndex, y.offset);
    });
    unit.bytes = 0;
    uint64_t end = 0;  // file offset past the current extent's last tensor
    for (size_t i : plain) {
        UnitTensor& t = unit.tensors[i];
        const TensorInfo& info = *t.info;
        const bool extend = !unit.extents.empty() && unit.extents.back().fileIndex == info.fileIndex &&
                            info.offset <= end + kMaxExtentGap;
        if (!extend) {
            unit.bytes = alignUp(unit.bytes, A);
            UnitExtent e;
            e.fileIndex = info.fileIndex;
            e.fileOffset = info.offset / A * A;
            e.bufferOffset = unit.bytes;
            unit.extents.push_back(e);
            end = info.offset;
        }
        UnitExtent& e = unit.extents.back();
        end = std::max(end, info.offset + info.nbytes);
        e.dataBytes = end - e.fileOffset;
        e.bytes = alignUp(e.dataBytes, A);
        t.bufferOffset = e.bufferOffset + (info.offset - e.fileOffset);
        t.inExtent = true;
        unit.bytes = e.bufferOffset + e.bytes;
    }
    for (UnitTensor& t : unit.tensors) {
        if (t.inExtent) continue;
        unit.bytes = alignUp(unit.bytes, 64);
        t.bufferOffset = unit.bytes;
        unit.bytes += t.info->nbytes;
    }
}

}  // namespace

std::string shapeText(const std::vector<int64_t>& shape) {
    std::ostringstream s;
    s << '[';
    for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
    s << ']';
    return s.str();
}

WeightUnitBuilder::WeightUnitBuilder(const Checkpoint& checkpoint, std::string label) : checkpoint_(checkpoint) {
    unit_.label = std::move(label);
}

Status WeightUnitBuilder::add(WeightRole role, const std::string& name, const std::vector<int64_t>& expected,
                              bool bytes) {
    const TensorInfo* info = checkpoint_.find(name);
    if (!info)
        return badInput("tensor '" + name + "' is missing from the checkpoint in " +
                        checkpoint_.files().front().parent_path().string());
    if (info->shape != expected)
        return badInput("tensor '" + name + "' has shape " + shapeText(info->shape) + " but config.json implies " +
                        shapeText(expected));
    if (bytes != (info->dtype == DType::U8))
        return badInput("tensor '" + name + "' is " + std::string(dtypeName(info->dtype)) +
                        (bytes ? " but MXFP4 blocks and scales are stored as U8 bytes"
                               : ", raw bytes where a floating-point weight is expected"));
    unit_.tensors.push_back({role, info});
    return {};
}

WeightUnit WeightUnitBuilder::finish() {
    placeTensors(unit_);
    return std::move(unit_);
}

uint64_t WeightLayout::totalBytes() const {
    uint64_t total = embedding ? embedding->nbytes : 0;
    for (const WeightUnit& u : units) total += u.bytes;
    for (const auto& layer : experts)
        for (const WeightUnit& u : layer) total += u.bytes;
    return total;
}

void splitExperts(WeightLayout& layout, int64_t numExperts) {
    layout.expertSlices = std::make_shared<std::deque<TensorInfo>>();
    for (int layer = 0; layer < layout.headUnit(); ++layer) {
        WeightUnit& unit = layout.units[size_t(layer)];
        std::vector<UnitTensor> stacked;
        std::erase_if(unit.tensors, [&](const UnitTensor& t) {
            if (isExpertMatrix(t.role)) stacked.push_back(t);
            return isExpertMatrix(t.role);
        });
        if (stacked.empty()) continue;
        layout.experts.resize(size_t(layout.headUnit()));
        for (int64_t e = 0; e < numExperts; ++e) {
            WeightUnit part;
            part.label = unit.label + " expert " + std::to_string(e);
            for (const UnitTensor& t : stacked) {
                // Expert e's slice: the same name, one expert's bytes, a first dimension of 1.
                TensorInfo slice = *t.info;
                slice.nbytes = t.info->nbytes / uint64_t(numExperts);
                slice.offset = t.info->offset + uint64_t(e) * slice.nbytes;
                slice.shape[0] = 1;
                layout.expertSlices->push_back(std::move(slice));
                part.tensors.push_back({t.role, &layout.expertSlices->back()});
            }
            placeTensors(part);
            layout.largestExpertBytes = std::max(layout.largestExpertBytes, part.bytes);
            layout.experts[size_t(layer)].push_back(std::move(part));
        }
        unit.extents.clear();
        for (UnitTensor& t : unit.tensors) t.inExtent = false;
        placeTensors(unit);
    }
}

Result<WeightUnit> buildWeightUnit(const Checkpoint& checkpoint, std::string label,
                                   const std::vector<TensorSpec>& tensors) {
    WeightUnitBuilder b(checkpoint, std::move(label));
    for (const TensorSpec& t : tensors) STRATA_TRY(b.add(t.role, t.name, t.shape));
    return b.finish();
}

std::set<std::string> WeightLayout::tensorNames() const {
    std::set<std::string> names;
    for (const WeightUnit& unit : units)
        for (const UnitTensor& t : unit.tensors) names.insert(t.info->name);
    for (const auto& layer : experts)
        for (const WeightUnit& unit : layer)
            for (const UnitTensor& t : unit.tensors) names.insert(t.info->name);
    return names;
}

Status refuseUnusedTensors(const Checkpoint& checkpoint, const std::function<bool(const std::string&)>& inScope,
                           const std::set<std::string>& used, const std::string& reader) {
    // Known to be unused: buffers some exports save beside the weights, recomputed from config.json.
    auto knownUnused = [](const std::string& name) {
        static const std::string invFreq = "rotary_emb.inv_freq";
        return name.size() >= invFreq.size() && name.compare(name.size() - invFreq.size(), invFreq.size(), invFreq) == 0;
    };
    std::vector<const TensorInfo*> unused;
    for (const auto& [name, info] : checkpoint.tensors())
        if (inScope(name) && !used.count(name) && !knownUnused(name)) unused.push_back(&info);
    if (unused.empty()) return {};
    std::string others;
    if (unused.size() > 1)
        others = " (and " + std::to_string(unused.size() - 1) + " other" + (unused.size() > 2 ? "s" : "") + ")";
    const TensorInfo& first = *unused.front();
    return badInput("tensor '" + first.name + "'" + others + " in " + checkpoint.files()[first.fileIndex].string() +
                    " is not one the " + reader +
                    " uses; it may be arithmetic Strata does not implement, so the load is refused rather than "
                    "risking wrong answers");
}

}  // namespace strata
