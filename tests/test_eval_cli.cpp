// `acgan eval`, `acgan classifier train` and `acgan --eval_every` as a user runs them, with
// stand-in networks made here: a TorchScript module with the Inception file's interface (defined
// from C++, no Python) and classifiers written by save_classifier.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <tuple>

#include "acgan/data/cifar10.h"
#include "acgan/data/idx_files.h"
#include "acgan/error.h"
#include "acgan/eval/classifier.h"
#include "acgan/eval/eval_command.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/image_grid.h"
#include "acgan/io/state_dict.h"
#include "acgan/models/models.h"
#include "acgan/training/checkpoint.h"
#include "test_support.h"

namespace acgan {
namespace {

namespace fs = std::filesystem;
using testing::expect_one_line_error;
using testing::run_acgan;
using testing::TempDir;

// The stand-in Inception's forward body: 16 features or 10 logits from 4x4 average-pooled pixels.
const std::string kStandInForward = R"JIT(
    x = torch.adaptive_avg_pool2d(img.float() / 255.0, [4, 4]).flatten(1)
    if return_features:
        return torch.matmul(x, self.to_features)
    return torch.matmul(x, self.to_logits)
)JIT";

// forward(img, return_features, use_fp16, no_output_bias) as inception-2015-12-05.pt has it, at
// its widths (2048 features, 1008 logits): 16 features and 10 logits from 4x4 average-pooled
// pixels through fixed random maps, the rest zeros. `body` replaces the forward's code (a file
// that misbehaves).
void write_stand_in_inception(const std::string& path, uint64_t seed,
                              const std::string& body = "") {
  torch::manual_seed(seed);
  torch::jit::Module m("StandInInception");
  m.register_parameter("to_features",
                       torch::cat({torch::randn({48, 16}), torch::zeros({48, 2032})}, 1), false);
  m.register_parameter("to_logits",
                       torch::cat({torch::randn({48, 10}) * 4, torch::zeros({48, 998})}, 1), false);
  m.define(R"JIT(
def forward(self, img, return_features: bool = False, use_fp16: bool = False,
            no_output_bias: bool = False):)JIT" +
           (body.empty() ? kStandInForward : body));
  m.save(path);
}

// A classifier that calls every image class `k`: zero weights into the head, a bias on k.
void write_constant_classifier(const std::string& path, int64_t k) {
  Classifier net(ClassifierOptions().width(2));
  torch::NoGradGuard no_grad;
  net->head->weight.zero_();
  net->head->bias.zero_();
  net->head->bias[k] = 10;
  save_classifier(path, net, 0.1, cifar10_spec());
}

// The number after "key": in a JSON text, NaN when absent (null included).
double json_value(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\": (-?[0-9.e+-]+)")))
    return std::nan("");
  return std::stod(m[1]);
}

std::string read_text(const std::string& path) { return read_file(path); }

class EvalCliTest : public testing::SyntheticCifarTest<40> {
 protected:
  void SetUp() override {
    write_stand_in_inception(dir_ / "inception.pt", 1);
    Generator g(64);
    save_state_dict_file(*g, dir_ / "gen.pt");
  }
  // Runs eval with a private cache folder.
  testing::CommandResult eval(std::vector<std::string> args) {
    args.insert(args.begin(), {"eval", "--root_dir", data_dir()});
    return run_acgan(args, {"XDG_CACHE_HOME=" + (dir_ / "cache")});
  }
  TempDir dir_;
};

TEST_F(EvalCliTest, CheckpointSamplesGetEveryInceptionMetric) {
  const auto r = eval({"--checkpoint", dir_ / "gen.pt", "--n", "100", "--inception",
                       dir_ / "inception.pt", "--json", dir_ / "r.json", "--pairs", "20"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto json = read_text(dir_ / "r.json");
  for (const char* key : {"fid", "is_mean", "is_std", "kid_mean", "kid_std", "ifid_mean",
                          "precision", "recall", "ms_ssim_mean", "ms_ssim_real_mean"}) {
    EXPECT_TRUE(std::isfinite(json_value(json, key))) << key << " in\n" << json;
  }
  EXPECT_GT(json_value(json, "fid"), 0);
  EXPECT_NE(json.find("\"inception_sha256\": \""), std::string::npos);
  EXPECT_NE(json.find("\"ifid_per_class\": ["), std::string::npos);
  EXPECT_NE(r.output.find("FID"), std::string::npos) << "the terminal table";
}

TEST_F(EvalCliTest, RealImagesAgainstThemselvesScoreAsIdentical) {
  // The training split written as class folders and judged against the training split: FID 0,
  // precision = recall = 1.
  const auto data = read_cifar10(data_dir(), Split::kTrain);
  const auto& names = cifar10_spec().class_names;
  for (int64_t i = 0; i < data.images().size(0); ++i) {
    const auto dir = dir_ / ("real/" + names[data.labels()[i].item<int64_t>()]);
    fs::create_directories(dir);
    write_file_atomic(dir + "/" + std::to_string(1000 + i) + ".png",
                      encode_png(data.images()[i].permute({1, 2, 0}).contiguous()));
  }
  const auto r = eval({"--images", dir_ / "real", "--inception", dir_ / "inception.pt", "--metrics",
                       "fid,pr,ifid", "--json", dir_ / "r.json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto json = read_text(dir_ / "r.json");
  EXPECT_NEAR(json_value(json, "fid"), 0.0, 1e-6);
  EXPECT_NEAR(json_value(json, "ifid_mean"), 0.0, 1e-6);
  EXPECT_EQ(json_value(json, "precision"), 1.0);
  EXPECT_EQ(json_value(json, "recall"), 1.0);
}

TEST_F(EvalCliTest, ClassesComeFromSubfoldersOrPrefixesAlike) {
  const auto set = testing::make_synthetic(30, 5);
  const auto& names = cifar10_spec().class_names;
  for (int64_t i = 0; i < 30; ++i) {
    const auto png = encode_png(set.images[i].permute({1, 2, 0}).contiguous());
    const int64_t k = set.labels[i].item<int64_t>();
    fs::create_directories(dir_ / ("folders/" + std::to_string(k)));
    fs::create_directories(dir_ / "prefixed");
    write_file_atomic(dir_ / fmt::format("folders/{}/{:03d}.png", k, i), png);
    write_file_atomic(dir_ / fmt::format("prefixed/{}_{:03d}.png", names[k], i), png);
  }
  const std::vector<std::string> common = {
      "--inception", dir_ / "inception.pt", "--metrics", "ifid,ms_ssim", "--pairs", "10"};
  auto a = common, b = common;
  a.insert(a.end(), {"--images", dir_ / "folders", "--json", dir_ / "a.json"});
  b.insert(b.end(), {"--images", dir_ / "prefixed", "--json", dir_ / "b.json"});
  ASSERT_EQ(eval(a).exit_code, 0);
  ASSERT_EQ(eval(b).exit_code, 0);
  // Sorted by class: IS's splits would each hold one class, and the user is told.
  auto sorted = common;
  sorted[3] = "is";
  sorted.insert(sorted.end(), {"--images", dir_ / "folders"});
  const auto r = eval(sorted);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("the images are in class order"), std::string::npos) << r.output;
  const auto ja = read_text(dir_ / "a.json"), jb = read_text(dir_ / "b.json");
  EXPECT_TRUE(std::isfinite(json_value(ja, "ifid_mean")));
  EXPECT_EQ(json_value(ja, "ifid_mean"), json_value(jb, "ifid_mean"));
  EXPECT_EQ(json_value(ja, "ms_ssim_mean"), json_value(jb, "ms_ssim_mean"));
}

// Three copies of one image as class 0's samples: MS-SSIM 1, above any real class's, so exactly one
// class counts as collapsed (the classes without samples have no value and do not count).
TEST_F(EvalCliTest, IdenticalSamplesOfAClassCountAsCollapsed) {
  const auto set = testing::make_synthetic(1, 9);
  const auto png = encode_png(set.images[0].permute({1, 2, 0}).contiguous());
  fs::create_directories(dir_ / "same/0");
  for (int i = 0; i < 3; ++i) write_file_atomic(dir_ / fmt::format("same/0/{}.png", i), png);
  const auto r = eval({"--images", dir_ / "same", "--inception", dir_ / "inception.pt", "--metrics",
                       "ms_ssim", "--pairs", "10", "--json", dir_ / "c.json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto json = read_text(dir_ / "c.json");
  EXPECT_NEAR(json_value(json, "ms_ssim_mean"), 1.0, 1e-9);
  EXPECT_EQ(json_value(json, "ms_ssim_collapsed_classes"), 1.0) << json;
}

TEST_F(EvalCliTest, AFolderWithoutClassesGetsTheClassFreeMetricsAndSaysSo) {
  const auto set = testing::make_synthetic(20, 6);
  fs::create_directories(dir_ / "plain");
  for (int64_t i = 0; i < 20; ++i) {
    write_file_atomic(dir_ / fmt::format("plain/img{:03d}.png", i),
                      encode_png(set.images[i].permute({1, 2, 0}).contiguous()));
  }
  const auto r = eval({"--images", dir_ / "plain", "--inception", dir_ / "inception.pt", "--json",
                       dir_ / "r.json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto json = read_text(dir_ / "r.json");
  EXPECT_TRUE(std::isfinite(json_value(json, "fid")));
  EXPECT_EQ(json.find("ifid_mean"), std::string::npos);
  EXPECT_NE(r.output.find("ifid skipped: the images have no classes"), std::string::npos);
  expect_one_line_error(
      eval({"--images", dir_ / "plain", "--inception", dir_ / "inception.pt", "--metrics", "ifid"}),
      kExitUsage, "needs images with classes", "ifid asked of a plain folder");
}

TEST_F(EvalCliTest, TheReferenceCacheIsReusedAndKeyedByTheNetwork) {
  const std::vector<std::string> args = {"--checkpoint", dir_ / "gen.pt", "--n",        "20",
                                         "--metrics",    "fid",           "--inception"};
  auto first = args, again = args, other = args;
  first.push_back(dir_ / "inception.pt");
  again.push_back(dir_ / "inception.pt");
  write_stand_in_inception(dir_ / "other.pt", 2);
  other.push_back(dir_ / "other.pt");
  const auto r1 = eval(first);
  ASSERT_EQ(r1.exit_code, 0) << r1.output;
  EXPECT_NE(r1.output.find("cached the real train split"), std::string::npos) << r1.output;
  const auto r2 = eval(again);
  EXPECT_NE(r2.output.find("from the cache"), std::string::npos) << r2.output;
  const auto r3 = eval(other);
  EXPECT_NE(r3.output.find("cached the real train split"), std::string::npos) << r3.output;
  int64_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir_ / "cache/acgan"))
    files += entry.is_regular_file();
  EXPECT_EQ(files, 2);
  // An entry whose numbers were edited (and its zip's CRCs made right again) is recomputed.
  for (const auto& entry : fs::directory_iterator(dir_ / "cache/acgan")) {
    auto dict = load_tensor_dict_file(entry.path().string());
    c10::Dict<std::string, torch::Tensor> edited;
    for (const auto& item : dict) edited.insert(item.key().toStringRef(), item.value().toTensor());
    edited.insert_or_assign("features", edited.at("features") * 0);
    const auto bytes = torch::pickle_save(c10::IValue(edited));
    write_file_atomic(entry.path().string(), std::string(bytes.begin(), bytes.end()));
  }
  const auto edited = eval(again);
  EXPECT_EQ(edited.exit_code, 0) << edited.output;
  EXPECT_NE(edited.output.find("digest does not match"), std::string::npos) << edited.output;
  // A damaged cache file is recomputed, not trusted and not fatal.
  for (const auto& entry : fs::directory_iterator(dir_ / "cache/acgan"))
    fs::resize_file(entry.path(), fs::file_size(entry.path()) / 2);
  const auto r4 = eval(again);
  EXPECT_EQ(r4.exit_code, 0) << r4.output;
  EXPECT_NE(r4.output.find("not usable"), std::string::npos) << r4.output;
}

TEST_F(EvalCliTest, DiscriminabilityCountsTheIntendedClass) {
  // A classifier that answers class 3 for everything is right on exactly the class-3 tenth.
  write_constant_classifier(dir_ / "c3.pt", 3);
  const auto r = eval({"--checkpoint", dir_ / "gen.pt", "--n", "50", "--classifier", dir_ / "c3.pt",
                       "--metrics", "accuracy,classifier_fd", "--json", dir_ / "r.json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto json = read_text(dir_ / "r.json");
  EXPECT_DOUBLE_EQ(json_value(json, "classifier_accuracy"), 0.1);
  EXPECT_DOUBLE_EQ(json_value(json, "classifier_accuracy_real"), 0.1);
  EXPECT_NE(json.find("\"classifier_accuracy_per_class\": [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]"),
            std::string::npos)
      << json;
  EXPECT_TRUE(std::isfinite(json_value(json, "classifier_fd")));
}

TEST_F(EvalCliTest, BadInputsGetOneLineEach) {
  const auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"--checkpoint", dir_ / "gen.pt", "--n", "20"};
    args.insert(args.end(), extra.begin(), extra.end());
    return eval(args);
  };
  expect_one_line_error(with({"--inception", dir_ / "missing.pt"}), kExitFailure, "missing.pt",
                        "missing network");
  expect_one_line_error(with({"--inception", dir_ / "gen.pt"}), kExitFailure,
                        "not a TorchScript module", "a state dict as the network");
  torch::jit::Module wrong("Wrong");
  wrong.define("def forward(self, x):\n    return x\n");
  wrong.save(dir_ / "wrong.pt");
  expect_one_line_error(with({"--inception", dir_ / "wrong.pt"}), kExitFailure, "does not run as",
                        "wrong interface");
  expect_one_line_error(with({"--classifier", dir_ / "gen.pt"}), kExitFailure,
                        "not a classifier written by `acgan classifier train`",
                        "gen.pt as the classifier");
  expect_one_line_error(with({"--metrics", "fid"}), kExitUsage, "needs --inception",
                        "fid without a network");
  expect_one_line_error(with({"--metrics", "fidd"}), kExitUsage, "unknown metric 'fidd'",
                        "unknown metric");
  expect_one_line_error(eval({"--images", dir_ / "gen.pt"}), kExitFailure, "not a directory",
                        "a file as the folder");
  fs::create_directories(dir_ / "empty");
  expect_one_line_error(eval({"--images", dir_ / "empty"}), kExitFailure, "no .png files",
                        "empty folder");
  fs::create_directories(dir_ / "broken");
  write_file_atomic(dir_ / "broken/cat_1.png", "not a png");
  expect_one_line_error(eval({"--images", dir_ / "broken"}), kExitFailure, "not a readable PNG",
                        "broken PNG");
  write_file_atomic(dir_ / "cut.pt", read_text(dir_ / "gen.pt").substr(0, 100));
  expect_one_line_error(eval({"--checkpoint", dir_ / "cut.pt"}), kExitFailure, "cut.pt",
                        "truncated checkpoint");
  expect_one_line_error(eval({"--n", "5"}), kExitUsage, "--checkpoint FILE", "nothing to judge");
}

// An Inception file that misbehaves after the load check (another width, NaN) or raises is named
// with the cause in one line, never a silent FID of 0 or an internal error.
TEST_F(EvalCliTest, InceptionFilesThatMisbehaveAreNamed) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"narrow.pt",
       "\n    if img.size(0) != 2:\n        return torch.zeros([img.size(0), 5])" + kStandInForward,
       "expected features as a float (N, 2048) tensor"},
      {"nan.pt",
       "\n    if img.size(0) != 2:\n        return torch.full([img.size(0), 2048], "
       "float('nan'))" +
           kStandInForward,
       "returned NaN or Inf features"},
      {"raises.pt",
       "\n    if return_features:\n        return torch.zeros([3]).view([2, 2])" + kStandInForward,
       "raised an error when run as"},
  };
  for (const auto& [name, body, cause] : cases) {
    write_stand_in_inception(dir_ / name, 1, body);
    const auto r = eval({"--checkpoint", dir_ / "gen.pt", "--n", "20", "--metrics", "fid",
                         "--inception", dir_ / name});
    expect_one_line_error(r, kExitFailure, "--inception " + dir_ / name, name);
    EXPECT_NE(testing::error_line(r.output).find(cause), std::string::npos) << r.output;
  }
}

// A .png that is not a regular file (a link to a device, a FIFO, a broken link) is named, not
// silently skipped; links to files and class folders are followed; the count read is reported.
TEST_F(EvalCliTest, ImagesThatAreNotFilesAreNamedAndLinksAreFollowed) {
  const auto set = testing::make_synthetic(12, 7);
  const auto& names = cifar10_spec().class_names;
  for (int64_t i = 0; i < 12; ++i) {
    const auto dir = dir_ / ("store/" + names[static_cast<size_t>(i % 2)]);
    fs::create_directories(dir);
    write_file_atomic(dir + fmt::format("/{:03d}.png", i),
                      encode_png(set.images[i].permute({1, 2, 0}).contiguous()));
  }
  fs::create_directories(dir_ / "judged/airplane");
  fs::create_directory_symlink(dir_ / "store/automobile", dir_ / "judged/automobile");
  for (int64_t i = 0; i < 12; i += 2)
    fs::create_symlink(dir_ / fmt::format("store/airplane/{:03d}.png", i),
                       dir_ / fmt::format("judged/airplane/{:03d}.png", i));
  fs::create_symlink("/dev/zero", dir_ / "judged/airplane/zero.png");
  ASSERT_EQ(mkfifo((dir_ / "judged/airplane/fifo.png").c_str(), 0644), 0);
  fs::create_symlink(dir_ / "nowhere.png", dir_ / "judged/airplane/broken.png");
  fs::create_directory_symlink(dir_ / "judged", dir_ / "judged/airplane/loop");
  const auto r = eval({"--images", dir_ / "judged", "--metrics", "ms_ssim", "--pairs", "5",
                       "--json", dir_ / "r.json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* named : {"zero.png (a device)", "fifo.png (a FIFO)",
                            "broken.png (a broken symbolic link)", "a link loop"}) {
    EXPECT_NE(r.output.find(named), std::string::npos) << named << " in\n" << r.output;
  }
  const auto json = read_text(dir_ / "r.json");
  EXPECT_EQ(json_value(json, "images_read"), 12) << json;
}

// Training with --eval_every ends with the same weights, bit for bit, as training without: the
// evaluation draws its own noise and puts G back in training mode. Its rows land in eval.csv.
TEST_F(EvalCliTest, EvaluationDuringTrainingLeavesTheRunUntouched) {
  write_constant_classifier(dir_ / "c3.pt", 3);
  const auto train = [&](const std::string& outdir, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "--root_dir",    data_dir(), "--outdir",     outdir, "--batch_size", "20", "--seed", "5",
        "--num_workers", "0",        "--num_epochs", "2",    "--nz",         "64"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_acgan(args, {"XDG_CACHE_HOME=" + (dir_ / "cache")});
  };
  const auto plain = train(dir_ / "plain", {});
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  const auto judged =
      train(dir_ / "judged", {"--eval_every", "1", "--eval_n", "20", "--inception",
                              dir_ / "inception.pt", "--classifier", dir_ / "c3.pt"});
  ASSERT_EQ(judged.exit_code, 0) << judged.output;
  EXPECT_EQ(read_text(dir_ / "plain/gen.pt"), read_text(dir_ / "judged/gen.pt"));
  EXPECT_EQ(read_text(dir_ / "plain/disc.pt"), read_text(dir_ / "judged/disc.pt"));
  const auto csv = read_text(dir_ / "judged/eval.csv");
  EXPECT_EQ(csv.rfind("step,epoch,fid,is_mean,is_std,kid_mean,kid_std,ifid_mean,precision,"
                      "recall,classifier_accuracy,",
                      0),
            0u)
      << csv;
  EXPECT_NE(csv.find("\n10,1,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n20,2,"), std::string::npos) << csv;
  EXPECT_NE(judged.output.find("eval at epoch 2"), std::string::npos);
  // Stopped after epoch 1 and resumed: the same weights again, and each evaluation once.
  const std::vector<std::string> judge = {"--eval_every", "1",           "--eval_n", "20",
                                          "--classifier", dir_ / "c3.pt"};
  auto first = judge, rest = judge;
  first.insert(first.end(), {"--num_epochs", "1"});
  rest.push_back("--resume");
  ASSERT_EQ(train(dir_ / "resumed", first).exit_code, 0);
  const auto resumed = train(dir_ / "resumed", rest);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(read_text(dir_ / "plain/gen.pt"), read_text(dir_ / "resumed/gen.pt"));
  const auto rows = read_text(dir_ / "resumed/eval.csv");
  EXPECT_EQ(rows.rfind(
                "step,epoch,classifier_accuracy,classifier_accuracy_real,classifier_fd,"
                "classifier_fd_real,ms_ssim_mean,ms_ssim_real_mean,ms_ssim_collapsed_classes\n10,1,"
                "0.1,0.1,",
                0),
            0u)
      << rows;
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 3) << "a header and 2 rows:\n" << rows;
  // Resumed with another set of networks: the old file is kept aside, a new one started.
  auto more = judge;
  more.insert(more.end(), {"--resume", "--num_epochs", "3", "--inception", dir_ / "inception.pt"});
  ASSERT_EQ(train(dir_ / "resumed", more).exit_code, 0);
  EXPECT_EQ(read_text(dir_ / "resumed/eval.csv.before-step-21"), rows);
  EXPECT_NE(read_text(dir_ / "resumed/eval.csv").find("\n30,3,"), std::string::npos);
  expect_one_line_error(train(dir_ / "none", {"--eval_every", "1"}), kExitUsage,
                        "--eval_every: needs a network", "no network");
  EXPECT_FALSE(fs::exists(dir_ / "none"));
}

// A stop during an evaluation ends it (no row) and the run checkpoints the finished epoch at once:
// no step of the next epoch is taken, so the resume continues from exactly that epoch.
TEST_F(EvalCliTest, AStopDuringAnEvaluationCheckpointsAtOnce) {
  write_constant_classifier(dir_ / "c3.pt", 3);
  testing::AcganProcess run(
      {"--root_dir", data_dir(), "--outdir",      dir_ / "run",  "--batch_size", "20",
       "--seed",     "5",        "--num_workers", "0",           "--num_epochs", "3",
       "--nz",       "64",       "--threads",     "1",           "--eval_every", "1",
       "--eval_n",   "200000",   "--classifier",  dir_ / "c3.pt"},
      {"XDG_CACHE_HOME=" + (dir_ / "cache")});
  ASSERT_TRUE(run.read_until("eval at epoch 1: judging")) << "no evaluation began";
  run.send_signal(SIGTERM);
  const auto r = run.wait();
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.output;
  EXPECT_NE(r.output.find("eval at epoch 1 abandoned"), std::string::npos) << r.output;
  EXPECT_EQ(testing::metric_steps(dir_ / "run/metrics.csv").size(), 10u)
      << "a step of epoch 2 was taken after the stop";
  const auto csv = fs::exists(dir_ / "run/eval.csv") ? read_text(dir_ / "run/eval.csv") : "";
  EXPECT_EQ(csv.find("\n10,1,"), std::string::npos) << "the abandoned evaluation's row:\n" << csv;
  TrainOptions options;
  options.nz = 64;
  TrainingState state(options, torch::kCPU);
  load_checkpoint(dir_ / "run/checkpoint.pt", state);
  EXPECT_EQ(state.progress.step, 10);
  EXPECT_EQ(state.progress.epoch, 1);
}

TEST(ClassifierCliTest, TrainsWritesAndReportsItsAccuracy) {
  TempDir dir;
  testing::write_synthetic_cifar(dir / "data", 40);
  const auto r =
      run_acgan({"classifier", "train", "--root_dir", dir / "data", "--out", dir / "c.pt",
                 "--num_epochs", "2", "--width", "2", "--batch_size", "20"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("test accuracy"), std::string::npos);
  const auto file = load_classifier(dir / "c.pt", "--classifier");
  EXPECT_EQ(file.network->options().width(), 2);
  EXPECT_GE(file.test_accuracy, 0.0);
  EXPECT_LE(file.test_accuracy, 1.0);
  expect_one_line_error(
      run_acgan({"classifier", "train", "--root_dir", dir / "data", "--out", dir / "c.png"}),
      kExitUsage, "--out: expected a file name ending in .pt", "bad --out");
}

// A classifier keeps the data it learnt (spec and channel statistics); eval refuses it for the
// samples of other data, naming both.
TEST(ClassifierCliTest, RecordsItsDataAndEvalRefusesItForOtherData) {
  TempDir dir;
  const auto grey = torch::arange(40 * 28 * 28, torch::kLong).remainder(251).to(torch::kUInt8);
  fs::create_directories(dir / "fm/fashion-mnist");
  for (const char* split : {"train", "t10k"}) {
    write_idx_file(dir / "fm/fashion-mnist/" + std::string(split) + "-images-idx3-ubyte.gz",
                   grey.view({40, 28, 28}));
    write_idx_file(dir / "fm/fashion-mnist/" + std::string(split) + "-labels-idx1-ubyte.gz",
                   torch::arange(40, torch::kLong).remainder(10));
  }
  const auto r = run_acgan({"classifier", "train", "--root_dir", dir / "fm", "--out", dir / "c.pt",
                            "--num_epochs", "1", "--width", "2", "--batch_size", "20"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto file = load_classifier(dir / "c.pt", "--classifier");
  EXPECT_EQ(file.spec.kind, DatasetKind::kFashionMnist);
  EXPECT_EQ(file.network->options().channels(), 1);
  const auto pixels = read_idx(dir / "fm", Split::kTrain, DatasetKind::kFashionMnist, 32).images();
  EXPECT_NEAR(file.network->pixel_mean().item<double>(),
              pixels.to(torch::kDouble).mean().item<double>(),
              1e-3);  // kept in float32: ~1e-5 of a mean near 100
  testing::write_synthetic_cifar(dir / "c10", 4);
  EvalCommandOptions eval;
  eval.settings.root_dir = dir / "c10";
  eval.settings.classifier = dir / "c.pt";
  eval.images = dir / "c10";
  testing::expect_error<UsageError>(
      [&] { run_eval(eval); },
      {"--classifier " + dir / "c.pt", "trained on fashion_mnist: 10 classes of 1x32x32",
       "the samples are cifar10: 10 classes of 3x32x32"});
}

}  // namespace
}  // namespace acgan
