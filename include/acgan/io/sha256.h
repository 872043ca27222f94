// SHA-256 (FIPS 180-4), to name a network file in evaluation settings and reference caches by its
// content. Small and dependency-free; not for anything secret.
#pragma once

#include <string>
#include <string_view>

namespace acgan {

// Lower-case hex digest of `bytes`.
std::string sha256_hex(std::string_view bytes);

}  // namespace acgan
