#include "sampling/StopStringMatcher.h"

#include <algorithm>

namespace strata {

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
    // An empty stop string would match before any output; it cannot be what the user meant.
    stops_.erase(std::remove_if(stops_.begin(), stops_.end(),
                                [](const std::string& s) { return s.empty(); }),
                 stops_.end());
}

std::string StopStringMatcher::push(std::string_view text) {
    if (stopped_)
        return {};
    pending_.append(text);

    // Everything before pending_ was released only because no stop string could start there,
    // so the earliest match, if any, lies wholly inside pending_.
    size_t earliest = std::string::npos;
    for (const std::string& stop : stops_)
        earliest = std::min(earliest, pending_.find(stop));
    if (earliest != std::string::npos) {
        stopped_ = true;
        std::string out = pending_.substr(0, earliest);
        pending_.clear();
        return out;
    }

    // Hold back the longest tail that is the start of some stop string: the next push may
    // complete it. Only the longest such tail matters: it contains every shorter one.
    size_t hold = 0;
    for (const std::string& stop : stops_) {
        const size_t longest = std::min(stop.size() - 1, pending_.size());
        for (size_t len = longest; len > hold; --len) {
            if (pending_.compare(pending_.size() - len, len, stop, 0, len) == 0) {
                hold = len;
                break;
            }
        }
    }
    std::string out = pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return out;
}

std::string StopStringMatcher::flush() {
    std::string out;
    if (!stopped_)
        out.swap(pending_);
    pending_.clear();
    return out;
}

}  // namespace strata
