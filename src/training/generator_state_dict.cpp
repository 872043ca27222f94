// A generator from a bare state dict (gen.pt as acgan exports it or the family's Python script
// saves it): which family, and every size, read from its keys and shapes, as llm.c reads sizes
// from a checkpoint's header. See include/acgan/training/checkpoint.h.
#include <cmath>
#include <optional>

#include "acgan/error.h"
#include "acgan/io/state_dict.h"
#include "acgan/training/checkpoint.h"

namespace acgan {
namespace {

using Dict = c10::impl::GenericDict;

// The 2-D tensor under `key`, or none.
std::optional<torch::Tensor> matrix(const Dict& dict, const std::string& key) {
  const auto it = dict.find(key);
  if (it == dict.end() || !it->value().isTensor() || it->value().toTensor().dim() != 2) return {};
  return it->value().toTensor();
}

// CIFAR-10's names for 10 classes of 3 channels (the original's), numbers otherwise.
DataSpec spec_for(int64_t classes, int64_t channels, int64_t side) {
  DataSpec spec = cifar10_spec();
  spec.class_names.resize(static_cast<size_t>(classes));
  if (classes != kOriginalClasses || channels != kOriginalChannels) {
    for (size_t k = 0; k < spec.class_names.size(); ++k) spec.class_names[k] = std::to_string(k);
  }
  spec.channels = channels;
  spec.height = spec.width = side;
  return spec;
}

// mlp: label_emb.weight (K, K), model.0.weight (128, K + nz), model.11.weight (C * S * S, 1024).
// C * S * S is a square for one channel and never for three (3 S^2 is not a square).
GeneratorOptions mlp_options(const Dict& dict, const std::string& path) {
  const auto emb = matrix(dict, "label_emb.weight");
  const auto first = matrix(dict, "model.0.weight"), last = matrix(dict, "model.11.weight");
  if (!first || !last) {
    throw Error(path +
                ": has label_emb.weight but no model.0.weight / model.11.weight of 2 "
                "dimensions; not a gen.pt of the fully connected ACGAN (--arch mlp)");
  }
  const int64_t k = emb->size(0), n = last->size(0);
  const auto side_of = [](int64_t area) {
    const auto s = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(area))));
    return s * s == area ? s : 0;
  };
  const int64_t grey = side_of(n), rgb = n % 3 == 0 ? side_of(n / 3) : 0;
  if (grey == 0 && rgb == 0) {
    throw Error(path + ": model.11.weight makes " + std::to_string(n) +
                " values an image, neither S*S nor 3*S*S; not an image generator");
  }
  return GeneratorOptions()
      .arch(Arch::kMlp)
      .nz(first->size(1) - k)
      .num_classes(k)
      .channels(grey != 0 ? 1 : 3)
      .image_side(grey != 0 ? grey : rgb);
}

// cifar: fc1.weight (384, nz) (fc1.weight_orig when spectrally normalised, as PyTorch names it),
// conv4.0.weight (48, C, 4, 4).
GeneratorOptions cifar_options(const Dict& dict, const std::string& path) {
  auto fc1 = matrix(dict, "fc1.weight");
  const bool sn = !fc1 && matrix(dict, "fc1.weight_orig");
  if (sn) fc1 = matrix(dict, "fc1.weight_orig");
  if (!fc1) {
    throw Error(path +
                ": neither an acgan checkpoint nor a generator state dict (no fc1.weight; "
                "is it disc.pt?)");
  }
  int64_t channels = kOriginalChannels;
  const auto last = dict.find(sn ? "conv4.0.weight_orig" : "conv4.0.weight");
  if (last != dict.end() && last->value().isTensor() && last->value().toTensor().dim() == 4) {
    channels = last->value().toTensor().size(1);  // ConvTranspose2d: (in, out, kH, kW)
  }
  return GeneratorOptions().nz(fc1->size(1)).channels(channels).spectral_norm(sn);
}

}  // namespace

Generator generator_from_state_dict(const Dict& dict, const std::string& path, DataSpec* spec) {
  const auto options =
      dict.contains("label_emb.weight") ? mlp_options(dict, path) : cifar_options(dict, path);
  Generator g(options);
  load_state_dict(*g, dict, path);
  if (spec) *spec = spec_for(options.num_classes(), options.channels(), options.image_side());
  return g;
}

}  // namespace acgan
