// See include/acgan/eval/evaluator.h.
#include "acgan/eval/evaluator.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <sstream>

#include "acgan/clock.h"
#include "acgan/data/datasets.h"
#include "acgan/error.h"
#include "acgan/eval/ms_ssim.h"
#include "acgan/eval/reference_cache.h"
#include "acgan/runtime.h"
#include "acgan/training/progress_bar.h"

namespace acgan {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kInceptionScoreSplits = 10;

struct MetricSpec {
  const char* name;
  NetworkKind network;  // what it looks through (ms_ssim: neither; kind unused)
  bool needs_network;
  bool needs_classes;
};

const std::vector<MetricSpec>& metric_specs() {
  using K = NetworkKind;
  static const std::vector<MetricSpec> specs = {
      {"fid", K::kInception, true, false},
      {"is", K::kInception, true, false},
      {"kid", K::kInception, true, false},
      {"ifid", K::kInception, true, true},
      {"pr", K::kInception, true, false},
      {"accuracy", K::kClassifier, true, true},
      {"classifier_fd", K::kClassifier, true, false},
      {"ms_ssim", K::kInception, false, true},
  };
  return specs;
}

const MetricSpec* find_metric(const std::string& name) {
  for (const auto& spec : metric_specs())
    if (name == spec.name) return &spec;
  return nullptr;
}

const char* flag_of(NetworkKind kind) {
  return kind == NetworkKind::kInception ? "--inception" : "--classifier";
}

const char* split_name(Split split) { return split == Split::kTrain ? "train" : "test"; }

// Mean of the finite entries (NaN when none).
double finite_mean(const std::vector<double>& values) {
  double sum = 0;
  int64_t count = 0;
  for (double v : values) {
    if (std::isfinite(v)) {
      sum += v;
      ++count;
    }
  }
  return count > 0 ? sum / static_cast<double>(count) : kNaN;
}

}  // namespace

struct Evaluator::Reference {
  torch::Tensor features, logits, labels;  // CPU; logits only for the classifier
  std::optional<GaussianStats> stats;
  std::map<int64_t, GaussianStats> class_stats;

  const GaussianStats& all() {
    if (!stats) stats = gaussian_stats(features);
    return *stats;
  }
  const GaussianStats& of_class(int64_t k) {
    auto it = class_stats.find(k);
    if (it == class_stats.end()) {
      const auto rows = torch::nonzero(labels == k).flatten();
      it = class_stats.emplace(k, gaussian_stats(features.index_select(0, rows))).first;
    }
    return it->second;
  }
};

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& spec : metric_specs()) n.emplace_back(spec.name);
    return n;
  }();
  return names;
}

std::string default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/acgan";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/acgan";
  return "";
}

Evaluator::~Evaluator() = default;

void Evaluator::stop_if_requested() const {
  if (settings_.stop_requested && settings_.stop_requested()) throw EvaluationStopped();
}

bool Evaluator::wants(const std::string& metric) const {
  return std::find(metrics_.begin(), metrics_.end(), metric) != metrics_.end();
}

Evaluator::Evaluator(const EvalSettings& settings)
    : settings_(settings),
      device_(resolve_device(settings.device)),
      class_names_(settings.spec.class_names) {
  if (settings_.batch_size < 1)
    throw UsageError(
        fmt::format("--batch_size: expected a positive number, got {}", settings_.batch_size));
  choose_metrics();
  if (!settings_.inception.empty()) inception_ = load_inception(settings_.inception, device_);
  if (!settings_.classifier.empty()) {
    DataSpec trained_on;
    classifier_ = load_classifier_network(settings_.classifier, device_, &trained_on);
    // The same data at any side: the classifier resizes what it judges to its own.
    auto at_the_samples_side = trained_on;
    at_the_samples_side.height = settings_.spec.height;
    at_the_samples_side.width = settings_.spec.width;
    if (at_the_samples_side != settings_.spec) {
      throw UsageError(
          "--classifier " + settings_.classifier + ": trained on " + trained_on.describe() +
          ", the samples are " + settings_.spec.describe() +
          "; train one on that data: acgan classifier train --root_dir DATA (with --dataset, "
          "--labels and --channels as the run had them)");
    }
  }
  real_images(settings_.ref);  // a bad --root_dir fails here, before any sampling
}

void Evaluator::choose_metrics() {
  metrics_given_ = !settings_.metrics.empty();
  std::set<std::string> given;
  std::istringstream items(settings_.metrics);
  for (std::string item; std::getline(items, item, ',');) {
    const auto* spec = find_metric(item);
    if (!spec) {
      throw UsageError("--metrics: unknown metric '" + item + "'; expected some of " +
                       fmt::format("{}", fmt::join(metric_names(), ",")));
    }
    given.insert(item);
  }
  for (const auto& spec : metric_specs()) {
    const bool have = !spec.needs_network ||
                      !(spec.network == NetworkKind::kInception ? settings_.inception.empty()
                                                                : settings_.classifier.empty());
    if (metrics_given_ && given.count(spec.name) > 0 && !have) {
      throw UsageError(std::string("--metrics ") + spec.name + ": needs " + flag_of(spec.network) +
                       " FILE" +
                       (spec.network == NetworkKind::kInception
                            ? " (inception-2015-12-05.pt; see docs/evaluation.md)"
                            : " (make one with: acgan classifier train)"));
    }
    if (metrics_given_ ? given.count(spec.name) > 0 : have) metrics_.emplace_back(spec.name);
  }
}

const ImageDataset& Evaluator::real_images(Split split) {
  auto& slot = real_[split];
  if (slot.data) return *slot.data;
  const auto& spec = settings_.spec;
  auto data = load_dataset(request_for(spec, settings_.root_dir), split);
  if (data.spec() != spec) {
    throw UsageError("--root_dir " + settings_.root_dir + ": holds " + data.spec().describe() +
                     ", the samples are " + spec.describe() + "; point it at that data");
  }
  slot.data = std::make_unique<ImageDataset>(std::move(data));
  return *slot.data;
}

const std::string& Evaluator::real_images_sha256(Split split) {
  const auto& images = real_images(split).images();
  auto& sha256 = real_[split].sha256;
  // 150 MB for the training split: once per evaluator, not once per evaluation.
  if (sha256.empty()) sha256 = tensor_sha256(images);
  return sha256;
}

NetworkOutputs Evaluator::run_network(FeatureNetwork& network, const torch::Tensor& images,
                                      bool features, bool logits, const std::string& label) {
  NetworkOutputs all;
  std::vector<torch::Tensor> f, l;
  const int64_t n = images.size(0);
  ProgressBar bar(network.name() + ", " + label, n);
  for (int64_t i = 0; i < n; i += settings_.batch_size) {
    stop_if_requested();
    const auto out =
        network.run(images.narrow(0, i, std::min(settings_.batch_size, n - i)), features, logits);
    if (features) f.push_back(out.features);
    if (logits) l.push_back(out.logits);
    bar.advance(std::min(settings_.batch_size, n - i));
  }
  bar.finish();
  if (features) all.features = torch::cat(f);
  if (logits) all.logits = torch::cat(l);
  return all;
}

Evaluator::Reference& Evaluator::reference(FeatureNetwork& network, Split split) {
  const auto& data = real_images(split);
  const int64_t n = data.images().size(0);
  // Keyed by both SHA-256s whole: another network or other data never meets this entry.
  const std::string key = fmt::format("{}-{}-{}-{}-{}", network.name(), network.sha256(),
                                      split_name(split), n, real_images_sha256(split));
  auto& slot = references_[key];
  if (slot) return *slot;
  slot = std::make_unique<Reference>();
  slot->labels = data.labels().cpu();
  const bool logits = network.kind() == NetworkKind::kClassifier;
  if (auto cached = read_reference_cache(settings_.cache_dir, key, n, logits)) {
    slot->features = cached->features;
    slot->logits = cached->logits;
    spdlog::info("{} features of the real {} split ({} images) from the cache {}", network.name(),
                 split_name(split), n, reference_cache_path(settings_.cache_dir, key));
    return *slot;
  }
  const auto out =
      run_network(network, data.images(), true, logits, std::string("real ") + split_name(split));
  slot->features = out.features;
  slot->logits = out.logits;
  if (write_reference_cache(settings_.cache_dir, key, out)) {
    spdlog::info("cached the real {} split's {} features in {}", split_name(split), network.name(),
                 reference_cache_path(settings_.cache_dir, key));
  }
  return *slot;
}

EvalReport Evaluator::evaluate(const LabelledImages& samples) {
  const int64_t classes = static_cast<int64_t>(class_names_.size());
  EvalReport report;
  if (samples.has_labels()) {
    const int64_t top = samples.labels.max().item<int64_t>();
    TORCH_CHECK(samples.labels.min().item<int64_t>() >= 0 && top < classes, "labels out of range");
  }
  auto& s = report.settings;
  s.emplace_back("samples", std::to_string(samples.images.size(0)));
  s.emplace_back("samples_have_classes", samples.has_labels() ? "true" : "false");
  s.emplace_back("root_dir", json_quote(settings_.root_dir));
  s.emplace_back("ref", json_quote(split_name(settings_.ref)));
  s.emplace_back("ref_images", std::to_string(real_images(settings_.ref).images().size(0)));
  for (const auto* network : {inception_.get(), classifier_.get()}) {
    if (!network) continue;
    s.emplace_back(network->name(), json_quote(network->path()));
    s.emplace_back(network->name() + "_sha256", json_quote(network->sha256()));
  }
  s.emplace_back("metrics", json_quote(fmt::format("{}", fmt::join(metrics_, ","))));
  s.emplace_back("metric_seed", std::to_string(settings_.seed));
  s.emplace_back("kid_subsets", std::to_string(settings_.kid_subsets));
  s.emplace_back("kid_subset_size", std::to_string(settings_.kid_subset_size));
  s.emplace_back("pr_k", std::to_string(settings_.pr_k));
  s.emplace_back("ms_ssim_pairs_per_class", std::to_string(settings_.ms_ssim_pairs));
  s.emplace_back("device", json_quote(device_.str()));
  s.emplace_back("acgan_version", json_quote(ACGAN_VERSION));
  if (!samples.has_labels()) {
    for (const auto& spec : metric_specs()) {
      if (!spec.needs_classes || !wants(spec.name)) continue;
      if (metrics_given_) {
        throw UsageError(std::string("--metrics ") + spec.name +
                         ": needs images with classes, and these have none (put each class in "
                         "a subfolder named after it, or prefix the file names with '<class>_')");
      }
      report.notes.push_back(std::string(spec.name) + " skipped: the images have no classes");
    }
  }
  if (inception_) inception_metrics(samples, report);
  stop_if_requested();
  if (classifier_) classifier_metrics(samples, report);
  stop_if_requested();
  if (wants("ms_ssim") && samples.has_labels()) ms_ssim_metrics(samples, report);
  for (const auto& note : report.notes) spdlog::info("{}", note);
  return report;
}

void Evaluator::inception_metrics(const LabelledImages& samples, EvalReport& report) {
  const bool labelled = samples.has_labels();
  const bool features = wants("fid") || wants("kid") || wants("pr") || (wants("ifid") && labelled);
  const bool is = wants("is") && samples.images.size(0) >= kInceptionScoreSplits;
  if (wants("is") && !is) report.notes.push_back("is skipped: needs 10 images (one per split)");
  auto start = std::chrono::steady_clock::now();
  const auto out = run_network(*inception_, samples.images, features, is, "samples");
  report.seconds.emplace_back("inception_samples", seconds_since(start));
  Reference* ref = nullptr;  // IS alone needs no real images
  if (features) {
    start = std::chrono::steady_clock::now();
    ref = &reference(*inception_, settings_.ref);
    report.seconds.emplace_back("inception_real", seconds_since(start));
  }
  const auto timed = [&](const std::string& name, bool run, const auto& body) {
    if (!run) return;
    const auto t = std::chrono::steady_clock::now();
    body();
    report.seconds.emplace_back(name, seconds_since(t));
  };
  timed("fid", features && wants("fid"), [&] {
    report.values.emplace_back("fid", frechet_distance(gaussian_stats(out.features), ref->all()));
  });
  timed("is", is, [&] {
    if (labelled && samples.labels.diff().ge(0).all().item<bool>() &&
        samples.labels.min().item<int64_t>() != samples.labels.max().item<int64_t>()) {
      report.notes.push_back(
          "is: the images are in class order, so each of IS's 10 splits (taken in that order) "
          "holds about one class and IS reads low; interleave the classes (--checkpoint does)");
    }
    const auto score = inception_score(out.logits, kInceptionScoreSplits);
    report.values.emplace_back("is_mean", score.mean);
    report.values.emplace_back("is_std", score.std);
  });
  timed("kid", features && wants("kid"), [&] {
    const auto kid = kernel_inception_distance(
        out.features, ref->features, settings_.kid_subsets, settings_.kid_subset_size,
        at::detail::createCPUGenerator(static_cast<uint64_t>(settings_.seed)));
    report.values.emplace_back("kid_mean", kid.mean);
    report.values.emplace_back("kid_std", kid.std);
  });
  timed("ifid", features && wants("ifid") && labelled, [&] {
    std::vector<double> per_class;
    for (int64_t k = 0; k < static_cast<int64_t>(class_names_.size()); ++k) {
      const auto rows = torch::nonzero(samples.labels == k).flatten();
      per_class.push_back(rows.size(0) < 2
                              ? kNaN
                              : frechet_distance(gaussian_stats(out.features.index_select(0, rows)),
                                                 ref->of_class(k)));
    }
    report.values.emplace_back("ifid_mean", finite_mean(per_class));
    report.per_class.emplace_back("ifid_per_class", per_class);
  });
  timed("pr", features && wants("pr"), [&] {
    const auto pr = precision_recall(ref->features, out.features, settings_.pr_k);
    report.values.emplace_back("precision", pr.precision);
    report.values.emplace_back("recall", pr.recall);
  });
}

void Evaluator::classifier_metrics(const LabelledImages& samples, EvalReport& report) {
  const bool accuracy = wants("accuracy") && samples.has_labels();
  const bool fd = wants("classifier_fd");
  if (!accuracy && !fd) return;
  auto start = std::chrono::steady_clock::now();
  const auto out = run_network(*classifier_, samples.images, fd, accuracy, "samples");
  report.seconds.emplace_back("classifier_samples", seconds_since(start));
  if (accuracy) {
    start = std::chrono::steady_clock::now();
    const auto& test = reference(*classifier_, Split::kTest);
    const auto share_right = [&](const torch::Tensor& logits, const torch::Tensor& labels) {
      std::vector<double> per_class;
      for (int64_t k = 0; k < static_cast<int64_t>(class_names_.size()); ++k) {
        const auto rows = labels == k;
        const auto count = rows.sum().item<int64_t>();
        per_class.push_back(count == 0 ? kNaN
                                       : (logits.argmax(1).eq(k) & rows).sum().item<double>() /
                                             static_cast<double>(count));
      }
      const double all = logits.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();
      return std::make_pair(all, per_class);
    };
    const auto [fake_all, fake_per_class] = share_right(out.logits, samples.labels);
    const auto [real_all, real_per_class] = share_right(test.logits, test.labels);
    report.values.emplace_back("classifier_accuracy", fake_all);
    report.values.emplace_back("classifier_accuracy_real", real_all);
    report.per_class.emplace_back("classifier_accuracy_per_class", fake_per_class);
    report.per_class.emplace_back("classifier_accuracy_real_per_class", real_per_class);
    report.seconds.emplace_back("accuracy", seconds_since(start));
  }
  if (fd) {
    start = std::chrono::steady_clock::now();
    auto& ref = reference(*classifier_, settings_.ref);
    report.values.emplace_back("classifier_fd",
                               frechet_distance(gaussian_stats(out.features), ref.all()));
    if (settings_.ref == Split::kTrain) {
      // The floor: held-out real images (the test split) against the training split.
      auto& held_out = reference(*classifier_, Split::kTest);
      report.values.emplace_back("classifier_fd_real", frechet_distance(held_out.all(), ref.all()));
    }
    report.seconds.emplace_back("classifier_fd", seconds_since(start));
  }
}

void Evaluator::ms_ssim_metrics(const LabelledImages& samples, EvalReport& report) {
  std::vector<int64_t> classes;
  for (int64_t k = 0; k < static_cast<int64_t>(class_names_.size()); ++k) classes.push_back(k);
  auto start = std::chrono::steady_clock::now();
  const auto fake =
      class_ms_ssim(samples.images, samples.labels, classes, settings_.ms_ssim_pairs,
                    at::detail::createCPUGenerator(static_cast<uint64_t>(settings_.seed)));
  report.values.emplace_back("ms_ssim_mean", finite_mean(fake));
  report.per_class.emplace_back("ms_ssim_per_class", fake);
  report.seconds.emplace_back("ms_ssim", seconds_since(start));
  start = std::chrono::steady_clock::now();
  if (!real_ms_ssim_) {
    const auto& real = real_images(settings_.ref);
    real_ms_ssim_ =
        class_ms_ssim(real.images(), real.labels(), classes, settings_.ms_ssim_pairs,
                      at::detail::createCPUGenerator(static_cast<uint64_t>(settings_.seed)));
  }
  report.values.emplace_back("ms_ssim_real_mean", finite_mean(*real_ms_ssim_));
  report.per_class.emplace_back("ms_ssim_real_per_class", *real_ms_ssim_);
  // Class collapse: a class whose samples are more alike than its real images.
  int64_t collapsed = 0;
  for (size_t k = 0; k < fake.size(); ++k) collapsed += fake[k] > (*real_ms_ssim_)[k] ? 1 : 0;
  report.values.emplace_back("ms_ssim_collapsed_classes", static_cast<double>(collapsed));
  report.seconds.emplace_back("ms_ssim_real", seconds_since(start));
}

}  // namespace acgan
