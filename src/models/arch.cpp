// The network families' names, sides and noise widths. See include/acgan/models/arch.h.
#include "acgan/models/arch.h"

#include "acgan/error.h"

namespace acgan {
namespace {

// mlp's largest side: G's last layer is then Linear(1024, 3 x 128 x 128), 50 M weights.
constexpr int64_t kMlpMaxSide = 128;
constexpr int64_t kMlpMinSide = 4;
// The original's noise entries besides the class (110 = 100 + 10 for CIFAR-10).
constexpr int64_t kNoiseEntries = 100;

}  // namespace

Arch parse_arch(const std::string& name) {
  require_flag(name == "cifar" || name == "mlp", "arch", "cifar or mlp", name);
  return name == "cifar" ? Arch::kCifar : Arch::kMlp;
}

std::string arch_name(Arch arch) { return arch == Arch::kCifar ? "cifar" : "mlp"; }

int64_t native_side(Arch) { return 32; }

bool side_is_supported(Arch arch, int64_t side) {
  if (arch == Arch::kCifar) return side == native_side(arch);
  return side >= kMlpMinSide && side <= kMlpMaxSide;
}

int64_t default_nz(Arch arch, int64_t num_classes) {
  return arch == Arch::kCifar ? kNoiseEntries + num_classes : kNoiseEntries;
}

}  // namespace acgan
