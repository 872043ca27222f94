// The network families' names, sides and noise widths. See include/acgan/models/arch.h.
#include "acgan/models/arch.h"

#include "acgan/error.h"

namespace acgan {
namespace {

// mlp's largest side: G's last layer is then Linear(1024, 3 x 128 x 128), 50 M weights.
constexpr int64_t kMlpMaxSide = 128;
constexpr int64_t kMlpMinSide = 4;
// The side clvrai's 128-pixel tables fix (G's transposed convolutions 1 -> 5 -> ... -> 128).
constexpr int64_t kImagenetSide = 128;
// The original's noise entries besides the class (110 = 100 + 10 for CIFAR-10).
constexpr int64_t kNoiseEntries = 100;

}  // namespace

Arch parse_arch(const std::string& name) {
  if (name == "mlp") return Arch::kMlp;
  if (name == "imagenet128") return Arch::kImagenet128;
  require_flag(name == "cifar", "arch", "cifar, mlp or imagenet128", name);
  return Arch::kCifar;
}

std::string arch_name(Arch arch) {
  switch (arch) {
    case Arch::kMlp:
      return "mlp";
    case Arch::kImagenet128:
      return "imagenet128";
    case Arch::kCifar:
      break;
  }
  return "cifar";
}

int64_t native_side(Arch arch) {
  return arch == Arch::kImagenet128 ? kImagenetSide : kSeedImageSide;
}

bool side_is_supported(Arch arch, int64_t side) {
  if (arch == Arch::kMlp) return side >= kMlpMinSide && side <= kMlpMaxSide;
  return side == native_side(arch);
}

std::string supported_sides(Arch arch) {
  if (arch == Arch::kMlp) {
    return std::to_string(kMlpMinSide) + ".." + std::to_string(kMlpMaxSide) + " with --arch mlp";
  }
  return std::to_string(native_side(arch)) + " with --arch " + arch_name(arch) +
         " (its layer tables fix it)";
}

void check_image_side(Arch arch, int64_t side) {
  require_flag(side_is_supported(arch, side), "image_size", supported_sides(arch), side);
}

bool class_in_noise(Arch arch) { return arch != Arch::kMlp; }

int64_t default_nz(Arch arch, int64_t num_classes) {
  return class_in_noise(arch) ? kNoiseEntries + num_classes : kNoiseEntries;
}

}  // namespace acgan
