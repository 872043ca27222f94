// `acgan classifier train`: trains the classifier of classifier.h on a data set's training split
// (any datasets.h reads; normalised by its own channel statistics) and writes it with its test
// accuracy and the data spec. The recipe is the fast-CIFAR one: SGD with Nesterov momentum,
// a one-cycle learning rate (linear up for a quarter of the steps, linear down to 0), label
// smoothing, weight decay, random 32x32 crops of the 4-pixel reflect-padded image and horizontal
// flips; test accuracy with the flip averaged in. No resume: a run takes minutes.
#pragma once

#include <cstdint>
#include <string>

namespace acgan {

struct ClassifierTrainOptions {
  std::string root_dir = "./";
  std::string dataset = "auto";  // as training's --dataset and --labels
  std::string labels = "fine";
  int64_t channels = 0;               // as training's --channels: 1 or 3; 0: the data's
  std::string out = "classifier.pt";  // output_file.h's rule
  bool overwrite = false;             // --out may replace an existing file (never an input)
  int64_t num_epochs = 12;
  int64_t batch_size = 256;
  int64_t width = 24;  // the ResNet-9's base width (classifier.h)
  double lr = 0.2;     // the peak of the one-cycle schedule
  int64_t subset = 0;  // train on the first N images; 0: all
  int64_t seed = 0;
  int64_t threads = 0;
  std::string device = "auto";
};

// Trains, writes `out` atomically and returns the test accuracy (0..1). Throws acgan::UsageError
// for a bad option and acgan::Error for bad data or an unwritable --out, before any training.
double train_classifier(const ClassifierTrainOptions& options);

}  // namespace acgan
