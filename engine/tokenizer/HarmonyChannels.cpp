#include "tokenizer/HarmonyChannels.h"

namespace strata {

namespace {

constexpr std::string_view kStart = "<|start|>", kEnd = "<|end|>", kMessage = "<|message|>",
                           kChannel = "<|channel|>", kConstrain = "<|constrain|>", kReturn = "<|return|>",
                           kCall = "<|call|>";
constexpr std::string_view kMarkers[] = {kStart, kEnd, kMessage, kChannel, kConstrain, kReturn, kCall};

enum class MarkerMatch { None, Partial, Full };

// Whether text starts with a marker (set into found), or is the start of one that the next piece
// may complete.
MarkerMatch matchMarker(std::string_view text, std::string_view& found) {
    bool partial = false;
    for (std::string_view m : kMarkers) {
        if (text.substr(0, m.size()) == m) {
            found = m;
            return MarkerMatch::Full;
        }
        if (text.size() < m.size() && m.substr(0, text.size()) == text) partial = true;
    }
    return partial ? MarkerMatch::Partial : MarkerMatch::None;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The word after `key` in a header, up to white space or the next marker.
std::string wordAfter(std::string_view header, std::string_view key) {
    const size_t at = header.find(key);
    if (at == std::string_view::npos) return {};
    std::string_view rest = header.substr(at + key.size());
    size_t end = 0;
    while (end < rest.size() && !isSpace(rest[end]) && rest.substr(end, 2) != "<|") ++end;
    return std::string(rest.substr(0, end));
}

}  // namespace

HarmonyText HarmonyChannels::push(std::string_view piece) {
    pending_ += piece;
    HarmonyText out;
    drain(out, false);
    return out;
}

HarmonyText HarmonyChannels::finish() {
    HarmonyText out;
    drain(out, true);
    return out;
}

void HarmonyChannels::drain(HarmonyText& out, bool atEnd) {
    const std::string_view all = pending_;
    size_t pos = 0;
    while (pos < all.size()) {
        const size_t open = all.find('<', pos);
        text(all.substr(pos, (open == std::string_view::npos ? all.size() : open) - pos), out);
        if (open == std::string_view::npos) {
            pos = all.size();
            break;
        }
        std::string_view found;
        const std::string_view rest = all.substr(open);
        const MarkerMatch match = matchMarker(rest, found);
        if (match == MarkerMatch::Full) {
            marker(found);
            pos = open + found.size();
        } else if (match == MarkerMatch::Partial && !atEnd) {
            pos = open;  // held back until the next piece completes it, or shows it is text
            break;
        } else if (match == MarkerMatch::Partial) {
            text(rest, out);
            pos = all.size();
        } else {
            text(all.substr(open, 1), out);
            pos = open + 1;
        }
    }
    pending_.erase(0, pos);
}

void HarmonyChannels::text(std::string_view piece, HarmonyText& out) {
    if (piece.empty()) return;
    if (state_ == State::Header) {
        header_ += piece;
        return;
    }
    if (sink_ == Sink::ToolCall) return;  // the call's arguments: neither reasoning nor answer
    std::string& all = sink_ == Sink::Answer ? answer_ : reasoning_;
    std::string& now = sink_ == Sink::Answer ? out.answer : out.reasoning;
    if (messageEmpty_ && !all.empty()) {
        all += "\n\n";
        now += "\n\n";
    }
    messageEmpty_ = false;
    all += piece;
    now += piece;
}

void HarmonyChannels::marker(std::string_view m) {
    if (state_ == State::Header) {
        if (m == kMessage) beginMessage();
        else if (m == kChannel || m == kConstrain) header_ += m;
        else header_.clear();  // <|start|> begins a header afresh; an end marker closes an empty message
        return;
    }
    // In a message body: the end markers close it, and a new header may follow. <|message|> and
    // <|constrain|> are never content; a <|channel|> there begins the next message's header.
    if (m == kEnd || m == kReturn || m == kCall || m == kStart || m == kChannel) {
        state_ = State::Header;
        header_.clear();
        if (m == kChannel) header_ = std::string(kChannel);
    }
}

void HarmonyChannels::beginMessage() {
    const std::string recipient = wordAfter(header_, "to=");
    const std::string channel = wordAfter(header_, kChannel);
    if (!recipient.empty()) {
        sink_ = Sink::ToolCall;
        toolCall_ = recipient;
    } else if (channel.empty() || channel == "final") {
        // A message without a channel is the answer too: the format requires one, so this is a
        // model that left it out.
        sink_ = Sink::Answer;
        answerStarted_ = true;
    } else {
        sink_ = Sink::Reasoning;
    }
    state_ = State::Body;
    messageEmpty_ = true;
    header_.clear();
}

std::string HarmonyChannels::missingAnswer(std::string_view stopReason) const {
    if (!toolCall_.empty())
        return "the model stopped to call the tool '" + toolCall_ + "', and Strata runs no tools: " +
               (answer_.empty() ? "it wrote no answer" : "its answer is unfinished");
    if (answerStarted_) return {};
    if (stopReason == "max tokens") return "the model reached the token limit while still reasoning: it wrote no answer";
    if (stopReason == "context full") return "the context filled up while the model was still reasoning: it wrote no answer";
    if (stopReason == "cancelled" || stopReason == "paused") return "stopped while the model was still reasoning, before its answer";
    return "the model ended its turn without an answer in the final channel";
}

}  // namespace strata
