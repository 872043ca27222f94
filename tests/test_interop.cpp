// Python interop (interop/): the original script's files written by python3-torch are imported and
// reproduce Python's outputs; an export loads back into the original Python networks with
// strict=True, every tensor bit for bit; foreign and damaged files get one line each. The tests
// that need python3-torch skip with a message where it is absent.
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>

#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/python_state_dict.h"
#include "acgan/io/state_dict.h"
#include "acgan/models/fast_ops.h"
#include "acgan/training/checkpoint.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

using testing::expect_error;

// python_networks.py's files, written once for the suite.
class PythonInteropTest : public testing::PythonWrittenTest<PythonInteropTest> {
 public:
  static std::string script() {
    return std::string(ACGAN_SOURCE_DIR) + "/tests/data/python_networks.py";
  }
  static std::string models() {
    return std::string(ACGAN_SOURCE_DIR) + "/../shared/golden/original_models.py";
  }

 protected:
  static torch::Tensor output(const std::string& key) {
    return load_tensor_dict_file(path("outputs.pt")).at(key).toTensor();
  }
};

// The same inputs through Python's networks and the imported ones, both in eval mode: float32
// kernels that sum in other orders (oneDNN's transposed convolution here), so within 1e-5 of
// outputs of magnitude ~1.
TEST_F(PythonInteropTest, ImportedNetworksReproducePythonsOutputs) {
  const auto out = path("imported.pt");
  const auto r = testing::run_acgan(
      {"import", "--gen", path("gen.pt"), "--disc", path("disc.pt"), "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("fresh Adam states, step 0"), std::string::npos) << r.output;
  TrainOptions options;
  TrainingState state(options, torch::kCPU);
  load_checkpoint(out, state);
  state.g->eval();
  state.d->eval();
  torch::NoGradGuard no_grad;
  const auto images = state.g->forward(output("z"), output("c"));
  EXPECT_LT((images - output("images")).abs().max().item<double>(), 1e-5);
  const auto judged = state.d->forward(output("x"));
  EXPECT_LT((source_probability(judged) - output("source")).abs().max().item<double>(), 1e-5);
  EXPECT_LT((judged.class_logits - output("classes")).abs().max().item<double>(), 1e-5);
  // Saved on a GPU box (storages on cuda:0): imported and sampled as torch.load(map_location="cpu")
  // reads it, the same weights.
  const auto gpu = testing::run_acgan({"import", "--gen", path("gen_cuda.pt"), "--disc",
                                       path("disc.pt"), "--out", path("imported_cuda.pt")});
  ASSERT_EQ(gpu.exit_code, 0) << gpu.output;
  TrainingState from_gpu(options, torch::kCPU);
  load_checkpoint(path("imported_cuda.pt"), from_gpu);
  for (const auto& item : state.g->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), from_gpu.g->named_parameters()[item.key()]))
        << item.key();
  const auto drawn = testing::run_acgan(
      {"generate", "--checkpoint", path("gen_cuda.pt"), "--out", path("from_cuda.png")});
  EXPECT_EQ(drawn.exit_code, 0) << drawn.output;
  // Pickle protocol 4 (STACK_GLOBAL, MEMOIZE, FRAME) reads as protocol 2 does.
  const auto p2 = load_tensor_dict_file(path("gen.pt")),
             p4 = load_tensor_dict_file(path("gen_protocol4.pt"));
  ASSERT_EQ(p2.size(), p4.size());
  for (const auto& item : p2)
    EXPECT_TRUE(torch::equal(item.value().toTensor(), p4.at(item.key()).toTensor()));
  // generate takes the Python gen.pt directly, as it takes the imported checkpoint.
  const auto direct =
      testing::run_acgan({"generate", "--checkpoint", path("gen.pt"), "--out", path("direct.png")});
  const auto via = testing::run_acgan({"generate", "--checkpoint", out, "--out", path("via.png")});
  ASSERT_EQ(direct.exit_code, 0) << direct.output;
  ASSERT_EQ(via.exit_code, 0) << via.output;
  EXPECT_EQ(read_file(path("direct.png")), read_file(path("via.png")));
}

// Python -> acgan import -> acgan export -> Python: strict loads, every tensor bit for bit.
TEST_F(PythonInteropTest, ExportLoadsBackIntoTheOriginalNetworksBitForBit) {
  const auto checkpoint = path("round.pt");
  ASSERT_EQ(testing::run_acgan(
                {"import", "--gen", path("gen.pt"), "--disc", path("disc.pt"), "--out", checkpoint})
                .exit_code,
            0);
  const auto exported = testing::run_acgan(
      {"export", "--checkpoint", checkpoint, "--out", path("export"), "--torchscript"});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  // The TorchScript generator in LibTorch: Python's images from Python's noise, within float32
  // rounding of other kernels. Both on LibTorch's own transposed convolution where oneDNN's is
  // inexact (LibTorch 2.6 on Zen 5: 0.006 off), as acgan's networks run (python_networks.py too).
  guard_against_inexact_onednn();
  auto generator = torch::jit::load(path("export/generator.pt"));
  const auto images = generator.forward({output("z"), output("c")}).toTensor();
  EXPECT_LT((images - output("images")).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(generator.attr("nz").toInt(), 110);
  const auto checked = testing::run_program(
      testing::python_with_torch(), {script(), models(), "check", path("export") + ":" + path("")});
  EXPECT_EQ(checked.exit_code, 0) << checked.output;
  const auto metadata = read_file(path("export/metadata.json"));
  EXPECT_NE(metadata.find("\"nz\": 110"), std::string::npos) << metadata;
  // ONNX through python3-torch, checked by onnx.checker where python3-onnx is installed.
  const auto onnx = testing::run_program(
      testing::python_with_torch(),
      {std::string(ACGAN_SOURCE_DIR) + "/scripts/export_onnx.py", path("export")});
  EXPECT_EQ(onnx.exit_code, 0) << onnx.output;
  ASSERT_TRUE(fs::exists(path("export/generator.onnx"))) << onnx.output;
  EXPECT_GT(fs::file_size(path("export/generator.onnx")), 1000000u) << onnx.output;
  // The README's Python example draws its grid from the export.
  const auto drawn = testing::run_program(
      testing::python_with_torch(), {std::string(ACGAN_SOURCE_DIR) + "/scripts/load_in_python.py",
                                     path("export"), "--out", path("grid.png")});
  EXPECT_EQ(drawn.exit_code, 0) << drawn.output;
  EXPECT_TRUE(fs::exists(path("grid.png"))) << drawn.output;
  // A second export into the same folder refuses to replace the files.
  testing::expect_one_line_error(
      testing::run_acgan({"export", "--checkpoint", checkpoint, "--out", path("export")}),
      kExitUsage, "exists; acgan does not replace it", "second export");
}

// A zip archive as torch.save writes it, holding `pickle` as data.pkl.
std::string archive_with(const std::string& pickle) {
  std::string bytes;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t n) {
    bytes.append(static_cast<const char*>(data), n);
    return n;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeEndOfFile();
  return bytes;
}

TEST(PythonStateDictTest, ForeignPicklesAreRefusedNotRun) {
  // os.system("ls"): GLOBAL, a string, TUPLE1, REDUCE.
  const std::string call(
      "\x80\x02"
      "cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85R.",
      27);
  expect_error([&] { read_python_state_dict(archive_with(call), "evil.pt"); },
               {"evil.pt: data.pkl: a call of os.system"});
  // A list instead of a dict.
  expect_error(
      [&] { read_python_state_dict(archive_with(std::string("\x80\x02]q\x00.", 6)), "l.pt"); },
      {"l.pt: holds a pickled value that is not a dict"});
  // An opcode torch.save never writes (INST).
  expect_error([&] { read_python_state_dict(archive_with(std::string("\x80\x02i", 3)), "i.pt"); },
               {"pickle opcode 0x69"});
}

// Pickle bytes by opcode, without escape sequences to miscount.
std::string op(int code) { return std::string(1, static_cast<char>(code)); }
std::string little_endian(uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
std::string unicode(const std::string& text) { return "X" + little_endian(text.size(), 4) + text; }
std::string global(const std::string& module, const std::string& name) {
  return "c" + module + "\n" + name + "\n";
}
const std::string kProto2 = op(0x80) + op(2);

// How tensor_archive's storage is described: its location and the element count it claims.
struct StorageId {
  std::string location = "cpu";
  std::string numel = "K" + op(1);  // BININT1 1: what the record holds
};

// {key: _rebuild_tensor_v2(<FloatStorage "0">, offset, (size,), (1,), False, ())} for each key
// (one SETITEMS), the storage holding one float.
std::string tensor_archive(const std::string& offset, const std::string& size,
                           const StorageId& id = {}, const std::vector<std::string>& keys = {"w"}) {
  std::string items;
  for (const auto& key : keys) {
    items += unicode(key) + global("torch._utils", "_rebuild_tensor_v2") + "((" +
             unicode("storage") + global("torch", "FloatStorage") + unicode("0") +
             unicode(id.location) + id.numel + "tQ" + offset + size + op(0x85) + "K" + op(1) +
             op(0x85) + op(0x89) + ")tR";
  }
  const std::string pickle = kProto2 + "}(" + items + "u.";
  std::string bytes;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t n) {
    bytes.append(static_cast<const char*>(data), n);
    return n;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  const float one = 1;
  writer.writeRecord("data/0", &one, sizeof(one));
  writer.writeEndOfFile();
  return bytes;
}

// Malformed pickles a crafted file could use to crash or exhaust the reader: each one line.
TEST(PythonStateDictTest, MalformedPicklesGetOneLineNotACrash) {
  const auto refused = [](const std::string& bytes, const std::string& why) {
    expect_error([&] { read_python_state_dict(bytes, "bad.pt"); }, {"bad.pt", why});
  };
  // APPEND with nothing to append to.
  refused(archive_with(kProto2 + "K" + op(1) + "a."), "APPEND on the wrong type");
  // 5,000 nested empty lists: past the stack bound.
  refused(archive_with(kProto2 + std::string(5000, ']') + "."), "a stack deeper");
  const auto int1 = [](int v) { return "K" + op(v); };
  const auto w = read_python_state_dict(tensor_archive(int1(0), int1(1)), "good.pt").at("w");
  EXPECT_TRUE(torch::equal(w, torch::ones({1}))) << "the well-formed one";
  // A negative offset (BININT -1), a size of 2 over a 1-element storage, and a size of 2^62
  // (LONG1): each refused before any view is made.
  refused(tensor_archive("J" + little_endian(0xffffffff, 4), int1(1)), "negative storage offset");
  refused(tensor_archive(int1(0), int1(2)), "past its storage");
  const auto huge = op(0x8a) + op(8) + little_endian(uint64_t{1} << 62, 8);
  refused(tensor_archive(int1(0), huge), "past its storage");
}

// A storage must hold what its id claims, checked before a tensor is made of it (a claim of 2^30
// elements over 4 bytes); a name may appear once.
TEST(PythonStateDictTest, ClaimsBeyondTheArchiveAndRepeatedKeysAreRefused) {
  const auto int1 = [](int v) { return "K" + op(v); };
  StorageId huge;
  huge.numel = "J" + little_endian(uint64_t{1} << 30, 4);
  expect_error([&] { read_python_state_dict(tensor_archive(int1(0), int1(1), huge), "c.pt"); },
               {"c.pt", "claims 1073741824 elements, but data/0 holds 1"});
  expect_error(
      [&] {
        read_python_state_dict(tensor_archive(int1(0), int1(1), {}, {"w", "b", "w"}), "d.pt");
      },
      {"d.pt", "the key 'w' appears twice"});
}

// What torch.save writes on a GPU box (storages located on cuda:0) loads as
// torch.load(map_location="cpu") does, whatever this build or machine has.
TEST(PythonStateDictTest, StoragesSavedOnAGpuLoadOnTheCpu) {
  const auto int1 = [](int v) { return "K" + op(v); };
  StorageId cuda;
  cuda.location = "cuda:0";
  const auto dict = parse_tensor_dict(tensor_archive(int1(0), int1(1), cuda), "gpu.pt");
  const auto w = dict.at("w").toTensor();
  EXPECT_TRUE(w.device().is_cpu());
  EXPECT_TRUE(torch::equal(w, torch::ones({1})));
}

// Weights that hold NaN (a diverged run's gen.pt) are refused unless asked for; a noise width acgan
// cannot sample is the file's fault, not a flag's (import has no --nz).
TEST(ImportTest, NonFiniteWeightsAndUnusableWidthsAreTheFilesFault) {
  testing::TempDir dir;
  Generator g(110);
  {
    torch::NoGradGuard no_grad;
    auto weight = g->named_parameters()["fc1.weight"];
    weight[0][0] = std::nan("");
  }
  save_state_dict_file(*g, dir / "nan.pt");
  testing::expect_one_line_error(
      testing::run_acgan({"import", "--gen", dir / "nan.pt", "--out", dir / "c.pt"}), kExitFailure,
      "nan.pt: holds NaN or Inf weights", "NaN weights");
  EXPECT_FALSE(fs::exists(dir / "c.pt"));
  EXPECT_EQ(testing::run_acgan(
                {"import", "--gen", dir / "nan.pt", "--out", dir / "c.pt", "--allow_nonfinite"})
                .exit_code,
            0);
  c10::Dict<std::string, torch::Tensor> narrow;
  for (const auto& item : state_dict(*g)) narrow.insert(item.key(), item.value());
  narrow.insert_or_assign("fc1.weight", torch::zeros({384, 10}));
  const auto bytes = torch::pickle_save(c10::IValue(narrow));
  write_file_atomic(dir / "narrow.pt", std::string(bytes.begin(), bytes.end()));
  const auto r = testing::run_acgan({"import", "--gen", dir / "narrow.pt", "--out", dir / "n.pt"});
  testing::expect_one_line_error(r, kExitFailure, "narrow.pt: fc1.weight takes noise 10 wide",
                                 "width 10");
  EXPECT_EQ(testing::error_line(r.output).find("--nz"), std::string::npos) << r.output;
}

// A spectrally normalised G (fc1.weight_orig, as a --spectral_norm both run exports it) imports
// into a --spectral_norm both checkpoint, its weights unchanged.
TEST(ImportTest, SpectrallyNormalisedGeneratorsImportAsSuch) {
  testing::TempDir dir;
  Generator g(GeneratorOptions().spectral_norm(true));
  save_state_dict_file(*g, dir / "gen.pt");
  ASSERT_EQ(
      testing::run_acgan({"import", "--gen", dir / "gen.pt", "--out", dir / "c.pt"}).exit_code, 0);
  EXPECT_EQ(read_checkpoint_config(dir / "c.pt").at("spectral_norm"), "both");
  auto back = load_generator(dir / "c.pt");
  for (const auto& item : g->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), back->named_parameters()[item.key()])) << item.key();
}

TEST(PythonStateDictTest, TheFormatBeforePyTorch16GetsTheConversionCommand) {
  testing::TempDir dir;
  const std::string legacy("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
  write_file_atomic(dir / "old.pt", legacy);
  const auto r = testing::run_acgan({"import", "--gen", dir / "old.pt", "--out", dir / "c.pt"});
  testing::expect_one_line_error(r, kExitFailure, "format before PyTorch 1.6", "legacy");
  EXPECT_NE(r.output.find("torch.save(torch.load("), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "c.pt"));
}

}  // namespace
}  // namespace acgan
