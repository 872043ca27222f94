// Judging a set of images against real CIFAR-10: the metrics of feature_metrics.h and ms_ssim.h
// through the networks of feature_network.h, with the real side computed once (and cached on
// disk) and the sample side per call, so that one Evaluator serves `acgan eval` and every
// evaluation of a training run.
//
// Metrics (names as --metrics takes them) and what each needs:
//   fid, is, kid, ifid, pr   --inception        (ifid: classes)
//   accuracy, classifier_fd  --classifier       (accuracy: classes)
//   ms_ssim                  nothing but classes
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "acgan/data/image_dataset.h"
#include "acgan/eval/eval_report.h"
#include "acgan/eval/feature_metrics.h"
#include "acgan/eval/feature_network.h"
#include "acgan/eval/sample_source.h"

namespace acgan {

struct EvalSettings {
  std::string root_dir = "./";
  DataSpec spec = cifar10_spec();  // what the samples are; --root_dir must hold the same data
  Split ref = Split::kTrain;       // the real images compared with
  std::string inception;           // TorchScript Inception-v3; empty: none
  std::string classifier;          // `acgan classifier train`'s file; empty: none
  std::string metrics;             // comma-separated; empty: every one the networks allow
  std::string cache_dir;           // reference features; empty: no cache
  std::string device = "auto";
  int64_t batch_size = 200;
  int64_t seed = 0;  // KID's subsets and MS-SSIM's pairs
  int64_t kid_subsets = 100;
  int64_t kid_subset_size = 1000;
  int64_t pr_k = 3;
  int64_t ms_ssim_pairs = 1000;  // per class
  // Polled between network batches and metrics: true abandons the evaluation with
  // EvaluationStopped (a training run's stop signal). Unset: never.
  std::function<bool()> stop_requested;
};

// Every metric name --metrics accepts, in report order.
const std::vector<std::string>& metric_names();

class Evaluator {
 public:
  // Loads the networks (checking their interface) and the real images; throws acgan::Error /
  // UsageError with one line before any long work. The real side's features are computed on the
  // first evaluate() (or read from the cache).
  explicit Evaluator(const EvalSettings& settings);
  ~Evaluator();
  // The metrics this evaluator computes (for images with classes).
  const std::vector<std::string>& metrics() const { return metrics_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  // Judges `samples` (labels, if any, in 0..classes-1). Deterministic for given settings.
  EvalReport evaluate(const LabelledImages& samples);

 private:
  struct Reference;  // one network's outputs on the real images
  Reference& reference(FeatureNetwork& network, Split split);
  const ImageDataset& real_images(Split split);
  // The split's images' SHA-256 (part of the cache key), hashed on first use only.
  const std::string& real_images_sha256(Split split);
  void choose_metrics();
  NetworkOutputs run_network(FeatureNetwork& network, const torch::Tensor& images, bool features,
                             bool logits, const std::string& label);
  void inception_metrics(const LabelledImages& samples, EvalReport& report);
  void classifier_metrics(const LabelledImages& samples, EvalReport& report);
  void ms_ssim_metrics(const LabelledImages& samples, EvalReport& report);
  bool wants(const std::string& metric) const;
  // Throws EvaluationStopped when settings_.stop_requested says so.
  void stop_if_requested() const;

  EvalSettings settings_;
  torch::Device device_;
  std::vector<std::string> metrics_;
  bool metrics_given_ = false;
  struct RealSplit {
    std::unique_ptr<ImageDataset> data;
    std::string sha256;  // "" until asked for
  };
  std::map<Split, RealSplit> real_;
  std::vector<std::string> class_names_;
  std::unique_ptr<FeatureNetwork> inception_, classifier_;
  std::map<std::string, std::unique_ptr<Reference>> references_;  // by cache key
  std::optional<std::vector<double>> real_ms_ssim_;
};

// $XDG_CACHE_HOME/acgan, else $HOME/.cache/acgan, else "".
std::string default_cache_dir();

}  // namespace acgan
