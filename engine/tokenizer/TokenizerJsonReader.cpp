#include "tokenizer/TokenizerJsonReader.h"

#include <fstream>

namespace strata {

namespace {

using nlohmann::json;

class Handler : public nlohmann::json_sax<json> {
public:
    explicit Handler(TokenizerJson& out) : out_(out) {}

    std::string error;

    bool null() override { return value(json(nullptr)); }
    bool boolean(bool v) override { return value(json(v)); }
    bool number_integer(number_integer_t v) override {
        if (mode_ == Mode::Vocab) return vocabId(v);
        return value(json(v));
    }
    bool number_unsigned(number_unsigned_t v) override {
        if (mode_ == Mode::Vocab) return vocabId(static_cast<int64_t>(v));
        return value(json(v));
    }
    bool number_float(number_float_t v, const string_t&) override { return value(json(v)); }
    bool binary(binary_t&) override { return fail("binary values are not JSON"); }

    bool string(string_t& v) override {
        if (mode_ == Mode::Merges) {
            if (mergeDepth_ == 0) {
                const auto sp = v.find(' ');
                if (sp == std::string::npos || v.find(' ', sp + 1) != std::string::npos)
                    return fail("model.merges entry '" + v + "' is not two tokens separated by a space");
                out_.merges.emplace_back(v.substr(0, sp), v.substr(sp + 1));
                return true;
            }
            if (mergeParts_ >= 2) return fail("model.merges entry has more than two tokens");
            (mergeParts_ == 0 ? pending_.first : pending_.second) = std::move(v);
            ++mergeParts_;
            return true;
        }
        if (mode_ == Mode::Vocab) return fail("model.vocab values must be integer ids");
        return value(json(std::move(v)));
    }

    bool key(string_t& k) override {
        if (mode_ == Mode::Vocab) {
            vocabKey_ = std::move(k);
            return true;
        }
        key_ = std::move(k);
        return true;
    }

    bool start_object(std::size_t) override {
        if (mode_ != Mode::Tree) return fail("unexpected object inside model.vocab or model.merges");
        if (atModelMember("vocab")) {
            mode_ = Mode::Vocab;
            out_.hasVocab = true;
            return true;
        }
        return open(json::object());
    }
    bool end_object() override {
        if (mode_ == Mode::Vocab) {
            mode_ = Mode::Tree;
            return true;
        }
        return close();
    }
    bool start_array(std::size_t) override {
        if (mode_ == Mode::Merges) {
            if (mergeDepth_ != 0) return fail("model.merges entries nest too deeply");
            mergeDepth_ = 1;
            mergeParts_ = 0;
            return true;
        }
        if (mode_ == Mode::Vocab) return fail("unexpected array inside model.vocab");
        if (atModelMember("merges")) {
            mode_ = Mode::Merges;
            mergeDepth_ = 0;
            return true;
        }
        return open(json::array());
    }
    bool end_array() override {
        if (mode_ == Mode::Merges) {
            if (mergeDepth_ == 1) {
                if (mergeParts_ != 2) return fail("model.merges entry is not a pair of tokens");
                out_.merges.push_back(std::move(pending_));
                mergeDepth_ = 0;
                return true;
            }
            mode_ = Mode::Tree;
            return true;
        }
        return close();
    }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
        error = "invalid JSON near byte " + std::to_string(position) + ": " + e.what();
        return false;
    }

private:
    enum class Mode { Tree, Vocab, Merges };

    bool fail(std::string message) {
        error = std::move(message);
        return false;
    }
    bool vocabId(int64_t id) {
        if (id < 0 || id > INT32_MAX) return fail("model.vocab id out of range for '" + vocabKey_ + "'");
        out_.vocab.emplace_back(std::move(vocabKey_), static_cast<int32_t>(id));
        return true;
    }
    // True when the container about to open is root.model.<name>.
    bool atModelMember(const char* name) const {
        return stack_.size() == 2 && stackKeys_[1] == "model" && key_ == name && stack_.back()->is_object();
    }
    json* place(json&& v) {
        if (stack_.empty()) {
            out_.rest = std::move(v);
            return &out_.rest;
        }
        json& parent = *stack_.back();
        if (parent.is_array()) {
            parent.push_back(std::move(v));
            return &parent.back();
        }
        json& slot = parent[key_];
        slot = std::move(v);
        return &slot;
    }
    bool value(json&& v) {
        if (mode_ != Mode::Tree) return fail("unexpected value inside model.vocab or model.merges");
        place(std::move(v));
        return true;
    }
    bool open(json&& container) {
        std::string k = stack_.empty() || stack_.back()->is_array() ? std::string() : key_;
        stack_.push_back(place(std::move(container)));
        stackKeys_.push_back(std::move(k));
        return true;
    }
    bool close() {
        stack_.pop_back();
        stackKeys_.pop_back();
        return true;
    }

    TokenizerJson& out_;
    Mode mode_ = Mode::Tree;
    std::vector<json*> stack_;
    std::vector<std::string> stackKeys_;
    std::string key_;
    std::string vocabKey_;
    std::pair<std::string, std::string> pending_;
    int mergeDepth_ = 0;
    int mergeParts_ = 0;
};

}  // namespace

Result<TokenizerJson> parseTokenizerJson(std::string_view text, const std::string& name) {
    TokenizerJson out;
    Handler handler(out);
    bool ok = false;
    try {
        ok = json::sax_parse(text.begin(), text.end(), &handler);
    } catch (const std::exception& e) {
        return badInput(name + ": " + e.what());
    }
    if (!ok) return badInput(name + ": " + (handler.error.empty() ? "invalid JSON" : handler.error));
    if (!out.rest.is_object()) return badInput(name + ": the top level is not a JSON object");
    return out;
}

Result<TokenizerJson> readTokenizerJson(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return badInput("cannot open " + file.string());
    std::string text;
    in.seekg(0, std::ios::end);
    const auto size = in.tellg();
    if (size < 0) return internalError("cannot read " + file.string());
    text.resize(static_cast<size_t>(size));
    in.seekg(0);
    in.read(text.data(), size);
    if (!in) return internalError("cannot read " + file.string());
    return parseTokenizerJson(text, file.string());
}

}  // namespace strata
