// Writing JSON by hand (acgan's reports and metadata are small, fixed-shape objects): quoting.
#pragma once

#include <string>

namespace acgan {

// `s` as a JSON string literal, quotes included (", \ and control characters escaped).
std::string json_quote(const std::string& s);

}  // namespace acgan
