// A generator from a bare state dict (gen.pt as acgan exports it or the family's Python script
// saves it): which family, and every size, read from its keys and shapes, as llm.c reads sizes
// from a checkpoint's header. See include/acgan/training/checkpoint.h.
#include <fmt/format.h>

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

// A layer's weight key: `layer`.weight, or `layer`.weight_orig where the dict is spectrally
// normalised (PyTorch's spectral_norm names), told by the first layer's key `first`.
bool spectrally_normalised(const Dict& dict, const std::string& first) {
  return !dict.contains(first + ".weight") && dict.contains(first + ".weight_orig");
}
std::string weight_key(const std::string& layer, bool spectral_norm) {
  return layer + (spectral_norm ? ".weight_orig" : ".weight");
}

// mlp: label_emb.weight (K, K), model.0.weight (128, K + nz), model.11.weight (C * S * S, 1024)
// (weight_orig spectrally normalised). C * S * S is a square for one channel and never for three
// (3 S^2 is not a square).
GeneratorOptions mlp_options(const Dict& dict, const std::string& path) {
  const auto emb = matrix(dict, "label_emb.weight");
  const bool sn = spectrally_normalised(dict, "model.0");
  const auto first = matrix(dict, weight_key("model.0", sn));
  const auto last = matrix(dict, weight_key("model.11", sn));
  if (!first || !last) {
    throw Error(
        path +
        ": has label_emb.weight but no model.0.weight / model.11.weight (or weight_orig) of 2 "
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
      .image_side(grey != 0 ? grey : rgb)
      .spectral_norm(sn);
}

// The one-hot families' fc1.weight (width, nz), fc1.weight_orig when spectrally normalised (as
// PyTorch names it); nz must hold the one-hot class (10, the original's, for a bare state dict).
torch::Tensor first_layer(const Dict& dict, const std::string& path, bool* spectral_norm) {
  *spectral_norm = spectrally_normalised(dict, "fc1");
  const auto fc1 = matrix(dict, weight_key("fc1", *spectral_norm));
  if (!fc1) {
    throw Error(path +
                ": neither an acgan checkpoint nor a generator state dict (no fc1.weight; "
                "is it disc.pt?)");
  }
  const int64_t nz = fc1->size(1), classes = kOriginalClasses;
  if (nz <= classes || nz > kMaxNz) {
    throw Error(fmt::format(
        "{}: fc1.weight takes noise {} wide; acgan's G needs {}..{} (the first {} entries hold "
        "the one-hot class)",
        path, nz, classes + 1, kMaxNz, classes));
  }
  return *fc1;
}

// The output channels of G's last transposed convolution, (in, C, kH, kW), or the original's 3.
int64_t out_channels(const Dict& dict, const std::string& key) {
  const auto last = dict.find(key);
  if (last != dict.end() && last->value().isTensor() && last->value().toTensor().dim() == 4)
    return last->value().toTensor().size(1);
  return kOriginalChannels;
}

// cifar: fc1.weight (384, nz), conv4.0.weight (48, C, 4, 4). imagenet128: fc1.weight (768, nz),
// tconv6.0.weight (64, C, 8, 8); told apart by tconv2.0.weight.
GeneratorOptions convolutional_options(const Dict& dict, const std::string& path) {
  bool sn = false;
  const auto fc1 = first_layer(dict, path, &sn);
  if (dict.contains(weight_key("tconv2.0", sn))) {
    return GeneratorOptions()
        .arch(Arch::kImagenet128)
        .nz(fc1.size(1))
        .channels(out_channels(dict, weight_key("tconv6.0", sn)))
        .image_side(native_side(Arch::kImagenet128))
        .spectral_norm(sn);
  }
  return GeneratorOptions()
      .nz(fc1.size(1))
      .channels(out_channels(dict, weight_key("conv4.0", sn)))
      .spectral_norm(sn);
}

}  // namespace

GeneratorOptions generator_options_from_state_dict(const Dict& dict, const std::string& path) {
  return dict.contains("label_emb.weight") ? mlp_options(dict, path)
                                           : convolutional_options(dict, path);
}

DataSpec bare_generator_spec(const GeneratorOptions& g) {
  DataSpec spec = cifar10_spec();
  spec.class_names.resize(static_cast<size_t>(g.num_classes()));
  if (g.num_classes() != kOriginalClasses || g.channels() != kOriginalChannels) {
    for (size_t k = 0; k < spec.class_names.size(); ++k) spec.class_names[k] = std::to_string(k);
  }
  spec.channels = g.channels();
  spec.height = spec.width = g.image_side();
  return spec;
}

Generator generator_from_state_dict(const Dict& dict, const std::string& path, DataSpec* spec) {
  const auto options = generator_options_from_state_dict(dict, path);
  Generator g(options);
  load_state_dict(*g, dict, path);
  if (spec) *spec = bare_generator_spec(options);
  return g;
}

}  // namespace acgan
