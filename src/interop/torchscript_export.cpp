// G as TorchScript. See include/acgan/interop/torchscript_export.h.
#include "acgan/interop/torchscript_export.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "acgan/models/spectral_norm.h"

namespace nn = torch::nn;

namespace acgan {
namespace {

struct Layer {
  torch::Tensor weight, bias;
  int64_t stride = 1, padding = 0;
};

// The weights G computes with in eval mode, from a plain or spectrally normalised layer.
Layer transposed_convolution(nn::Module& m) {
  if (auto* plain = m.as<nn::ConvTranspose2d>()) {
    return {plain->weight, plain->bias, (*plain->options.stride())[0],
            (*explicit_padding(plain->options.padding()))->at(0)};
  }
  auto* sn = m.as<SNConvTranspose2d>();
  TORCH_CHECK(sn, "generator_torchscript: unexpected layer ", m.name());
  return {sn->eval_weight(), sn->bias, (*sn->options.stride())[0],
          (*explicit_padding(sn->options.padding()))->at(0)};
}

Layer linear(nn::Module& m) {
  if (auto* plain = m.as<nn::Linear>()) return {plain->weight, plain->bias};
  auto* sn = m.as<SNLinear>();
  TORCH_CHECK(sn, "generator_torchscript: unexpected layer ", m.name());
  return {sn->eval_weight(), sn->bias};
}

}  // namespace

torch::jit::Module generator_torchscript(GeneratorImpl& g, const DataSpec& spec) {
  torch::NoGradGuard no_grad;
  torch::jit::Module module("acgan.Generator");
  const auto keep = [&](const std::string& name, const torch::Tensor& t) {
    module.register_buffer(name, t.detach().to(torch::kCPU, torch::kFloat).contiguous().clone());
  };
  module.register_attribute("nz", c10::IntType::get(), g.nz());
  module.register_attribute("num_classes", c10::IntType::get(), g.num_classes());
  module.register_attribute("channels", c10::IntType::get(), spec.channels);
  module.register_attribute("height", c10::IntType::get(), spec.height);
  module.register_attribute("width", c10::IntType::get(), spec.width);
  module.register_attribute("class_names", c10::ListType::ofStrings(),
                            c10::List<std::string>(spec.class_names));
  module.register_attribute("dataset", c10::StringType::get(), dataset_kind_name(spec.kind));
  const auto fc1 = linear(*g.fc1.ptr());
  keep("fc1_weight", fc1.weight);
  keep("fc1_bias", fc1.bias);
  std::string body = fmt::format(
      "def forward(self, z: Tensor) -> Tensor:\n"
      "    x = torch.linear(z.view(-1, {}), self.fc1_weight, self.fc1_bias).view(-1, {}, 1, 1)\n",
      g.nz(), fc1.weight.size(0));
  int index = 1;
  for (auto* block : {&g.conv1, &g.conv2, &g.conv3, &g.conv4}) {
    const std::string name = fmt::format("conv{}", index++);
    const auto conv = transposed_convolution(*(*block)->ptr(0));
    keep(name + "_weight", conv.weight);
    keep(name + "_bias", conv.bias);
    body += fmt::format(
        "    x = torch.conv_transpose2d(x, self.{0}_weight, self.{0}_bias, [{1}, {1}], [{2}, "
        "{2}])\n",
        name, conv.stride, conv.padding);
    if (auto* bn = (*block)->ptr(1)->as<nn::BatchNorm2d>()) {
      keep(name + "_bn_weight", bn->weight);
      keep(name + "_bn_bias", bn->bias);
      keep(name + "_bn_mean", bn->running_mean);
      keep(name + "_bn_var", bn->running_var);
      body += fmt::format(
          "    x = torch.relu(torch.batch_norm(x, self.{0}_bn_weight, self.{0}_bn_bias, "
          "self.{0}_bn_mean, self.{0}_bn_var, False, 0.0, {1}, False))\n",
          name, bn->options.eps());
    }
  }
  body += "    return torch.tanh(x)\n";
  module.define(body);
  module.eval();
  return module;
}

}  // namespace acgan
