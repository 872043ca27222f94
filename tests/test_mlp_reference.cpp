// The mlp family (--arch mlp) against the script it comes from: ../shared/golden/mlp_models.py run
// by python3-torch at test time (tests/data/mlp_reference.py writes its numbers). Ten training
// steps in float64 from the script's own initial weights and inputs must give its losses and
// weights: that proves the layers, their order, BatchNorm1d's eps of 0.8, the class embedding in
// front of z, the loss weights (D's terms 1/4 each, G's 1/2) and Adam. Skips with a message where
// python3-torch is absent.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>

#include "acgan/error.h"
#include "acgan/interop/import_export.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/state_dict.h"
#include "acgan/models/networks.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/train_step.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

constexpr int kSteps = 10;
constexpr double kLr = 2e-4;

// mlp_reference.py's files, written once for the suite.
class MlpReferenceTest : public testing::PythonWrittenTest<MlpReferenceTest> {
 public:
  static std::string script() {
    return std::string(ACGAN_SOURCE_DIR) + "/tests/data/mlp_reference.py";
  }
  static std::string models() {
    return std::string(ACGAN_SOURCE_DIR) + "/../shared/golden/mlp_models.py";
  }
};

// Both networks in float64 with the script's initial weights (converted before loading: the file
// is float64, and loading into float32 first would round it), dropout off as in its __main__.
struct MlpNetworks {
  Generator g{GeneratorOptions().arch(Arch::kMlp).nz(100).channels(1)};
  Discriminator d{DiscriminatorOptions().arch(Arch::kMlp).channels(1).dropout(0.0)};

  explicit MlpNetworks(const std::string& dir) {
    for (auto* net :
         {static_cast<torch::nn::Module*>(g.get()), static_cast<torch::nn::Module*>(d.get())}) {
      for (auto& t : net->parameters()) t.set_data(t.to(torch::kDouble));
      for (auto& t : net->buffers())
        if (t.is_floating_point()) t.set_data(t.to(torch::kDouble));
    }
    load_state_dict(*g, load_tensor_dict_file(dir + "/init_gen.pt"), "init_gen.pt");
    load_state_dict(*d, load_tensor_dict_file(dir + "/init_disc.pt"), "init_disc.pt");
  }
};

TEST_F(MlpReferenceTest, NetworksHaveTheScriptsKeysAndCounts) {
  MlpNetworks nets(path(""));
  EXPECT_EQ(count_parameters(*nets.g), 1757412);  // mlp_models.py's __main__ prints these
  EXPECT_EQ(count_parameters(*nets.d), 690443);
  const auto keys = [](const torch::nn::Module& m) {
    std::vector<std::string> names;
    for (const auto& item : state_dict(m)) names.push_back(item.key());
    return names;
  };
  const auto init = load_tensor_dict_file(path("init_gen.pt"));
  EXPECT_EQ(keys(*nets.g).size(), init.size());
  EXPECT_EQ(keys(*nets.d).size(), load_tensor_dict_file(path("init_disc.pt")).size());
  EXPECT_TRUE(init.contains("model.3.running_var"));  // BatchNorm1d at the script's index
  EXPECT_EQ(nets.g->as<MlpGeneratorImpl>()->model[3]->as<torch::nn::BatchNorm1d>()->options.eps(),
            0.8);
}

TEST_F(MlpReferenceTest, TenFloat64StepsMatchTheScriptsTrainStep) {
  MlpNetworks nets(path(""));
  const auto at = [traj = load_tensor_dict_file(path("trajectory.pt"))](const std::string& key) {
    return traj.at(key).toTensor();
  };
  const auto adam = torch::optim::AdamOptions(kLr).betas({0.5, 0.999});
  torch::optim::Adam opt_g(nets.g->parameters(), adam), opt_d(nets.d->parameters(), adam);
  StepOptions options;
  options.weights = loss_weights_for(Arch::kMlp);
  std::vector<torch::Tensor> losses;
  for (int t = 0; t < kSteps; ++t) {
    const auto s = train_step(*nets.g, *nets.d, opt_g, opt_d, at("in.real")[t], at("in.labels")[t],
                              Noise{at("in.z")[t], at("in.gen_labels")[t]}, options);
    losses.push_back(torch::stack({s[kLossDReal] + s[kLossDFake], s[kLossG]}));
  }
  // float64 after ten steps: rounding is ~1e-15 relative (the order of D's two backward passes
  // and of the heads differs from the script's); 1e-10 fails on any difference in the mathematics.
  const auto ours = torch::stack(losses), ref = at("losses");
  EXPECT_TRUE(torch::allclose(ours, ref, 1e-10, 0)) << "ours " << ours << "\nthe script's " << ref;
  for (const auto& [name, net] :
       {std::pair<std::string, torch::nn::Module*>{"G", nets.g.get()}, {"D", nets.d.get()}}) {
    for (const auto& item : state_dict(*net)) {
      const auto ref_weight = at("after." + name + "." + item.key());
      if (!item.value().is_floating_point()) {
        EXPECT_TRUE(torch::equal(item.value(), ref_weight)) << item.key();
        continue;
      }
      // 1e-7 is 0.05 % of one Adam step of lr (test_golden.cpp measures the same bound).
      EXPECT_LE((item.value() - ref_weight).abs().max().item<double>(), 1e-7)
          << name << "." << item.key();
    }
  }
}

TEST_F(MlpReferenceTest, EvalModeImagesMatchTheScriptsGenerator) {
  Generator g{GeneratorOptions().arch(Arch::kMlp).nz(100).channels(1)};
  load_state_dict(*g, load_tensor_dict_file(path("gen.pt")), "gen.pt");
  g->eval();
  torch::NoGradGuard no_grad;
  const auto outputs = load_tensor_dict_file(path("outputs.pt"));
  const auto images = g->forward(outputs.at("z").toTensor(), outputs.at("c").toTensor());
  // float32 through other kernels: a few ulps of outputs of magnitude ~1.
  EXPECT_LT((images - outputs.at("images").toTensor()).abs().max().item<double>(), 1e-5);
}

// The script's gen.pt and disc.pt -> import (the family and sizes read from the keys) -> export
// -> the script's networks with strict=True, every tensor bit for bit; the exported gen.pt reads
// back as a generator, and generator.pt (TorchScript) draws the script's images in LibTorch and in
// Python.
TEST_F(MlpReferenceTest, ImportExportLoadsBackIntoTheScriptsNetworksBitForBit) {
  ImportOptions import;
  import.gen = path("gen.pt");
  import.disc = path("disc.pt");
  import.out = path("imported.pt");
  ASSERT_EQ(run_import(import), 0);
  EXPECT_EQ(read_checkpoint_config(import.out).at("arch"), "mlp");
  ExportOptions exported;
  exported.checkpoint = import.out;
  exported.out = path("export");
  exported.torchscript = true;
  ASSERT_EQ(run_export(exported), 0);
  EXPECT_NE(read_file(path("export/metadata.json")).find("\"arch\": \"mlp\""), std::string::npos);
  const auto checked = testing::run_program(
      testing::python_with_torch(), {script(), models(), "check", path("export") + ":" + path("")});
  EXPECT_EQ(checked.exit_code, 0) << checked.output;
  DataSpec spec;
  auto g = load_generator(path("export/gen.pt"), &spec);
  EXPECT_EQ(spec.channels, 1);
  EXPECT_EQ(spec.height, 32);
  g->eval();
  torch::NoGradGuard no_grad;
  const auto outputs = load_tensor_dict_file(path("outputs.pt"));
  const auto z = outputs.at("z").toTensor(), c = outputs.at("c").toTensor();
  const auto expected = outputs.at("images").toTensor();
  EXPECT_LT((g->forward(z, c) - expected).abs().max().item<double>(), 1e-5);
  auto script = torch::jit::load(path("export/generator.pt"));
  EXPECT_EQ(script.attr("arch").toStringRef(), "mlp");
  EXPECT_LT((script.forward({z, c}).toTensor() - expected).abs().max().item<double>(), 1e-5);
  // The scripts a user runs on an export pass the classes to this G.
  const std::string scripts = std::string(ACGAN_SOURCE_DIR) + "/scripts/";
  const auto onnx = testing::run_program(testing::python_with_torch(),
                                         {scripts + "export_onnx.py", path("export")});
  EXPECT_EQ(onnx.exit_code, 0) << onnx.output;
  EXPECT_TRUE(fs::exists(path("export/generator.onnx"))) << onnx.output;
  const auto drawn = testing::run_program(
      testing::python_with_torch(),
      {scripts + "load_in_python.py", path("export"), "--n", "2", "--out", path("grid.png")});
  EXPECT_EQ(drawn.exit_code, 0) << drawn.output;
  EXPECT_TRUE(fs::exists(path("grid.png"))) << drawn.output;
}

}  // namespace
}  // namespace acgan
