// torchsummary's table layout, computed from trace_layers. See include/acgan/models/summary.h.
#include "acgan/models/summary.h"

#include <fmt/format.h>

#include <cstdlib>

namespace acgan {
namespace {

// 1594227 -> "1,594,227"
std::string with_commas(int64_t n) {
  std::string digits = std::to_string(std::llabs(n));
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return (n < 0 ? "-" : "") + digits;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[-1";
  for (auto d : shape) s += ", " + std::to_string(d);
  return s + "]";
}

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kFloatBytes = 4.0;

}  // namespace

std::string format_summary(const std::vector<LayerRecord>& rows, int64_t input_elements) {
  const std::string rule(64, '-'), double_rule(64, '=');
  std::string out = rule + "\n";
  out += fmt::format("{:>20}  {:>25} {:>15}\n", "Layer (type)", "Output Shape", "Param #");
  out += double_rule + "\n";
  int64_t total_params = 0, total_outputs = 0, index = 0;
  for (const auto& row : rows) {
    const std::string name = row.type + "-" + std::to_string(++index);
    out += fmt::format("{:>20}  {:>25} {:>15}\n", name, shape_string(row.out_shape),
                       with_commas(row.params));
    total_params += row.params;
    int64_t elements = 1;
    for (auto d : row.out_shape) elements *= d;
    total_outputs += elements;
  }
  // The same size estimates as torchsummary: float32, forward activations counted twice for
  // backward.
  const double input_mb = input_elements * kFloatBytes / kMiB;
  const double activations_mb = 2.0 * total_outputs * kFloatBytes / kMiB;
  const double params_mb = total_params * kFloatBytes / kMiB;
  out += double_rule + "\n";
  out += "Total params: " + with_commas(total_params) + "\n";
  out += "Trainable params: " + with_commas(total_params) + "\n";
  out += "Non-trainable params: 0\n";
  out += rule + "\n";
  out += fmt::format("Input size (MB): {:.2f}\n", input_mb);
  out += fmt::format("Forward/backward pass size (MB): {:.2f}\n", activations_mb);
  out += fmt::format("Params size (MB): {:.2f}\n", params_mb);
  out += fmt::format("Estimated Total Size (MB): {:.2f}\n", input_mb + activations_mb + params_mb);
  out += rule + "\n";
  return out;
}

std::string model_summary(const GeneratorOptions& g_options,
                          const DiscriminatorOptions& d_options) {
  Generator g(g_options);
  Discriminator d(d_options);
  const int64_t image = d_options.channels() * d_options.image_side() * d_options.image_side();
  // The cifar title is the original README's; another family names itself.
  const std::string family =
      g_options.arch() == Arch::kCifar ? "" : ", " + arch_name(g_options.arch());
  return "Generator" + family + " (nz = " + std::to_string(g_options.nz()) + ", " +
         std::to_string(g_options.num_classes()) + " classes)\n" +
         format_summary(trace_layers(*g), g_options.nz()) + "\nDiscriminator\n" +
         format_summary(trace_layers(*d), image);
}

}  // namespace acgan
