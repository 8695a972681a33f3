#pragma once
// Numbers as people read them in Strata's output: digits grouped in thousands ("12,345",
// "1,624.5"). Only for text meant to be read; JSON and files keep plain numbers.
#include <cstdint>
#include <string>

namespace strata {

// "12,345" for 12345, "-1,000" for -1000.
std::string groupDigits(int64_t n);
// x with `decimals` digits after the point and its whole part grouped: "1,624.5".
std::string groupDigits(double x, int decimals);

}  // namespace strata
