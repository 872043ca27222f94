// Which data set --root_dir holds, and reading it: the one entry point training, evaluation and
// the classifier use, whatever the data set (data_spec.h lists the kinds). `--dataset auto`
// decides from the files found, and says what it found.
#pragma once

#include <string>
#include <vector>

#include "acgan/data/data_spec.h"
#include "acgan/data/image_dataset.h"

namespace acgan {

struct DatasetRequest {
  std::string root;
  DatasetKind kind = DatasetKind::kAuto;
  Cifar100Labels labels = Cifar100Labels::kFine;
  int64_t side = 0;      // the side the networks take; images of another size are resized to it
  int64_t channels = 0;  // 1 or 3: images converted to it (image_dataset.h); 0: the data's
  bool skip_bad_images = false;  // image folders: skip unreadable files (one warning)
};

// --channels (training's and the classifier's): 0, 1 or 3, else that flag's usage error.
void check_channels_flag(int64_t channels);

struct DetectedDataset {
  DatasetKind kind;
  std::string reason;  // "found data_batch_1.bin in data/cifar-10-batches-bin"
};

// The request that reads data of `spec` (a checkpoint's) from `root`.
DatasetRequest request_for(const DataSpec& spec, const std::string& root);

// The kind the request names, or for kAuto the one `root` holds. Throws Error naming the folder
// and what it looked for when it finds none.
DetectedDataset detect_dataset(const DatasetRequest& request);

// The spec of what load_dataset would read, from the files' names alone (cheap).
DataSpec dataset_spec(const DatasetRequest& request);

// Reads and validates a split (see the readers: cifar10.h, cifar100.h, idx_files.h).
ImageDataset load_dataset(const DatasetRequest& request, Split split);

// Images in the training split, from file sizes and headers alone (before anything is written);
// 0 when they cannot be read (the reader then names the problem). Throws as detect_dataset.
int64_t training_set_size(const DatasetRequest& request);

// Every data file under `root` of any kind: the inputs a command's outputs must not replace.
std::vector<std::string> dataset_input_files(const std::string& root);

}  // namespace acgan
