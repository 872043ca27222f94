// G as a TorchScript module that needs nothing but PyTorch or LibTorch to run: its weights as
// buffers (G in eval mode: BatchNorm's running statistics; spectral normalisation folded into the
// weights with its stored vectors, as eval mode computes it) and forward written in TorchScript:
//   forward(z: (N, nz) float32, classes: (N) int64) -> images (N, C, H, W), every family (cifar
//   and imagenet128 write the one-hot class into z[:, :num_classes] themselves; a z that already
//   holds it gives the same images)
// plus the family and the data spec as attributes: arch (str), nz, num_classes, channels, height,
// width (int), class_names (List[str]) and dataset (str). Python's torch.jit.load and LibTorch's
// torch::jit::load both run it; the same inputs give acgan's eval-mode images within float32
// rounding (other kernels may sum in another order).
#pragma once

#include <torch/csrc/jit/api/module.h>

#include "acgan/data/data_spec.h"
#include "acgan/models/models.h"

namespace acgan {

torch::jit::Module generator_torchscript(GeneratorImpl& g, const DataSpec& spec);

}  // namespace acgan
