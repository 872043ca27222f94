// Elapsed wall time for logs, progress and reports, on the steady clock (immune to clock changes).
#pragma once

#include <chrono>

namespace acgan {

using SteadyClock = std::chrono::steady_clock;

inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace acgan
