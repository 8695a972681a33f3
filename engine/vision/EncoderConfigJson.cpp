#include "vision/EncoderConfigJson.h"

#include "format/JsonText.h"

namespace strata::encoder {

using nlohmann::json;

Result<json> parseConfigObject(const std::string& jsonText, const std::string& source) {
    json root;
    try {
        root = json::parse(jsonText);
    } catch (const json::exception& e) {
        return badInput(source + " is not valid JSON: " + jsonErrorText(e));
    }
    if (!root.is_object()) return badInput(source + " does not hold a JSON object");
    return root;
}

Result<const json*> configSection(const json& root, const std::string& name, const std::string& source,
                                  const std::string& hint) {
    const auto it = root.find(name);
    if (it == root.end() || !it->is_object()) return badInput(source + " has no \"" + name + "\" object" + hint);
    return &*it;
}

Result<int64_t> positiveInt(const json& object, const std::string& objectName, const std::vector<std::string>& keys,
                            const std::string& source, std::optional<int64_t> fallback) {
    for (const std::string& key : keys) {
        const auto it = object.find(key);
        if (it == object.end() || it->is_null()) continue;
        if (!it->is_number_integer() || it->get<int64_t>() <= 0)
            return badInput(source + ": " + objectName + "." + key + " must be a positive integer, not " + it->dump());
        return it->get<int64_t>();
    }
    if (fallback) return *fallback;
    return badInput(source + ": " + objectName + " has no \"" + keys.front() + "\"");
}

}  // namespace strata::encoder
