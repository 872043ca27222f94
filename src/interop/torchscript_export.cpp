// G as TorchScript. See include/acgan/interop/torchscript_export.h.
#include "acgan/interop/torchscript_export.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "acgan/error.h"
#include "acgan/models/networks.h"
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

// Registers `t` as a float32 CPU buffer of `module` (the weights the script computes with).
void keep(torch::jit::Module& module, const std::string& name, const torch::Tensor& t) {
  module.register_buffer(name, t.detach().to(torch::kCPU, torch::kFloat).contiguous().clone());
}

// The lines that run one block of a convolutional G: transposed convolution (its bias where it
// has one), BatchNorm in eval mode, ReLU, Tanh.
std::string block_lines(nn::SequentialImpl& block, const std::string& name,
                        torch::jit::Module& module) {
  std::string lines;
  for (size_t i = 0; i < block.size(); ++i) {
    auto& layer = *block.ptr(i);
    if (auto* bn = layer.as<nn::BatchNorm2d>()) {
      keep(module, name + "_bn_weight", bn->weight);
      keep(module, name + "_bn_bias", bn->bias);
      keep(module, name + "_bn_mean", bn->running_mean);
      keep(module, name + "_bn_var", bn->running_var);
      lines += fmt::format(
          "    x = torch.batch_norm(x, self.{0}_bn_weight, self.{0}_bn_bias, self.{0}_bn_mean, "
          "self.{0}_bn_var, False, 0.0, {1}, False)\n",
          name, bn->options.eps());
    } else if (layer.as<nn::ReLU>()) {
      lines += "    x = torch.relu(x)\n";
    } else if (layer.as<nn::Tanh>()) {
      lines += "    x = torch.tanh(x)\n";
    } else {
      const auto conv = transposed_convolution(layer);
      keep(module, name + "_weight", conv.weight);
      std::string bias = "None";
      if (conv.bias.defined()) {
        keep(module, name + "_bias", conv.bias);
        bias = "self." + name + "_bias";
      }
      lines += fmt::format(
          "    x = torch.conv_transpose2d(x, self.{0}_weight, {1}, [{2}, {2}], [{3}, {3}])\n", name,
          bias, conv.stride, conv.padding);
    }
  }
  return lines;
}

// forward(z, classes) for a G that takes the class one-hot in z[:, :K] (cifar, imagenet128): fc1
// on that z, then the blocks. A z that already holds the one-hot gives the same images.
std::string one_hot_forward(GeneratorImpl& g, nn::Module& fc1_module,
                            const std::vector<std::pair<std::string, nn::Sequential>>& blocks,
                            torch::jit::Module& module) {
  const auto fc1 = linear(fc1_module);
  keep(module, "fc1_weight", fc1.weight);
  keep(module, "fc1_bias", fc1.bias);
  const int64_t k = g.num_classes();
  std::string body = fmt::format(
      "def forward(self, z: Tensor, classes: Tensor) -> Tensor:\n"
      "    one_hot = torch.eye({1}, dtype=z.dtype, device=z.device).index_select(0, classes)\n"
      "    x = torch.cat([one_hot, z.view(-1, {0}).narrow(1, {1}, {2})], 1)\n"
      "    x = torch.linear(x, self.fc1_weight, self.fc1_bias).view(-1, {3}, 1, 1)\n",
      g.nz(), k, g.nz() - k, fc1.weight.size(0));
  for (const auto& [name, block] : blocks) body += block_lines(*block.ptr(), name, module);
  return body + "    return x\n";
}

// forward(z, classes) for the mlp G: the class embedding in front of z, then model's layers.
std::string mlp_forward(MlpGeneratorImpl& g, torch::jit::Module& module) {
  keep(module, "label_emb", g.label_emb->weight);
  std::string body = fmt::format(
      "def forward(self, z: Tensor, classes: Tensor) -> Tensor:\n"
      "    x = torch.cat([torch.embedding(self.label_emb, classes), z.view(-1, {})], -1)\n",
      g.nz());
  for (size_t i = 0; i < g.model->size(); ++i) {
    const auto name = fmt::format("model_{}", i);
    auto& layer = *g.model->ptr(i);
    if (layer.as<nn::Linear>() || layer.as<SNLinear>()) {
      const auto fc = linear(layer);
      keep(module, name + "_weight", fc.weight);
      keep(module, name + "_bias", fc.bias);
      body += fmt::format("    x = torch.linear(x, self.{0}_weight, self.{0}_bias)\n", name);
    } else if (auto* bn = layer.as<nn::BatchNorm1d>()) {
      keep(module, name + "_weight", bn->weight);
      keep(module, name + "_bias", bn->bias);
      keep(module, name + "_mean", bn->running_mean);
      keep(module, name + "_var", bn->running_var);
      body += fmt::format(
          "    x = torch.batch_norm(x, self.{0}_weight, self.{0}_bias, self.{0}_mean, "
          "self.{0}_var, False, 0.0, {1}, False)\n",
          name, bn->options.eps());
    } else if (auto* relu = layer.as<nn::LeakyReLU>()) {
      body += fmt::format("    x = torch.leaky_relu(x, {})\n", relu->options.negative_slope());
    } else {
      TORCH_CHECK(layer.as<nn::Tanh>(), "generator_torchscript: unexpected layer ", layer.name());
      body += "    x = torch.tanh(x)\n";
    }
  }
  const auto side = g.options().image_side();
  return body +
         fmt::format("    return x.view(-1, {}, {}, {})\n", g.options().channels(), side, side);
}

}  // namespace

torch::jit::Module generator_torchscript(GeneratorImpl& g, const DataSpec& spec) {
  torch::NoGradGuard no_grad;
  torch::jit::Module module("acgan.Generator");
  module.register_attribute("arch", c10::StringType::get(), arch_name(g.options().arch()));
  module.register_attribute("nz", c10::IntType::get(), g.nz());
  module.register_attribute("num_classes", c10::IntType::get(), g.num_classes());
  module.register_attribute("channels", c10::IntType::get(), spec.channels);
  module.register_attribute("height", c10::IntType::get(), spec.height);
  module.register_attribute("width", c10::IntType::get(), spec.width);
  module.register_attribute("class_names", c10::ListType::ofStrings(),
                            c10::List<std::string>(spec.class_names));
  module.register_attribute("dataset", c10::StringType::get(), dataset_kind_name(spec.kind));
  if (auto* mlp = g.as<MlpGeneratorImpl>()) {
    module.define(mlp_forward(*mlp, module));
  } else if (auto* cifar = g.as<CifarGeneratorImpl>()) {
    module.define(one_hot_forward(g, *cifar->fc1.ptr(),
                                  {{"conv1", cifar->conv1},
                                   {"conv2", cifar->conv2},
                                   {"conv3", cifar->conv3},
                                   {"conv4", cifar->conv4}},
                                  module));
  } else {
    auto* net = g.as<Imagenet128GeneratorImpl>();
    TORCH_CHECK(net, "generator_torchscript: a generator of no known family");
    module.define(one_hot_forward(g, *net->fc1.ptr(),
                                  {{"tconv2", net->tconv2},
                                   {"tconv3", net->tconv3},
                                   {"tconv4", net->tconv4},
                                   {"tconv5", net->tconv5},
                                   {"tconv6", net->tconv6}},
                                  module));
  }
  module.eval();
  return module;
}

}  // namespace acgan
