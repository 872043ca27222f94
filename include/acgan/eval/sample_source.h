// The images an evaluation judges: samples drawn from a generator, or PNG files from a folder
// (written by `acgan generate --individual` or by another tool), each with its class where one is
// known. Everything comes out as uint8 pixels, the form a PNG holds: samples are quantised
// exactly as the sample grids are (image_grid.h), so a metric sees what a user would save.
#pragma once

#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

#include "acgan/error.h"
#include "acgan/models/models.h"

namespace acgan {

// An evaluation abandoned because its caller asked (a training run's stop signal): nothing of it
// is reported.
class EvaluationStopped : public Error {
 public:
  EvaluationStopped() : Error("the evaluation was stopped") {}
};

struct LabelledImages {
  torch::Tensor images;  // (N, 3, H, W) uint8 on the CPU
  torch::Tensor labels;  // (N) int64; undefined when the images have no classes
  std::vector<std::string> not_read;  // read_image_folder: paths it would not read, with why
  bool has_labels() const { return labels.defined(); }
};

// n samples of `g`, class i % num_classes for sample i (so every run of consecutive samples is
// balanced, which IS's splits need), the noise drawn at once from a generator seeded with `seed`,
// never from the training streams; G runs in eval mode in batches of `batch_size` on its device
// and is put back in the mode it was in. `stop`, when set, is asked before each batch: true throws
// EvaluationStopped.
LabelledImages sample_generator(GeneratorImpl& g, int64_t n, int64_t num_classes, int64_t seed,
                                int64_t batch_size, const std::function<bool()>& stop = {});

// Every .png under `dir` (recursively, through symbolic links to files and folders, each folder
// once), in sorted path order; a .png that is not a regular file (a FIFO, a device, a folder, a
// broken link) and a link loop are listed in `not_read`, never opened. A file's class comes from its
// first-level subfolder's name or else from the part of its name before the first '_'; either a
// class name (`class_names`) or a number. Either every file has a class or none has. All files
// must be the same size. Throws acgan::Error naming `--images` and the file otherwise.
LabelledImages read_image_folder(const std::string& dir,
                                 const std::vector<std::string>& class_names);

}  // namespace acgan
