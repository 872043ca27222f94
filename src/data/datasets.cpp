// Detecting and reading the data sets. See include/acgan/data/datasets.h.
#include "acgan/data/datasets.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "acgan/data/cifar10.h"
#include "acgan/data/cifar100.h"
#include "acgan/data/idx_files.h"
#include "acgan/data/image_folder.h"
#include "acgan/error.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

ImageFolderOptions folder_options(const DatasetRequest& request) {
  ImageFolderOptions options;
  options.side = request.side;
  options.channels = request.channels;
  options.skip_bad = request.skip_bad_images;
  return options;
}

bool names_fashion(const std::string& dir) {
  std::error_code ec;
  auto text = fs::weakly_canonical(dir, ec).string();
  if (ec) text = dir;
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text.find("fashion") != std::string::npos;
}

}  // namespace

void check_channels_flag(int64_t channels) {
  require_flag(channels == 0 || channels == 1 || channels == 3, "channels",
               "1 (grey) or 3 (RGB), or 0 for the data's", channels);
}

DatasetRequest request_for(const DataSpec& spec, const std::string& root) {
  DatasetRequest request;
  request.root = root;
  request.kind = spec.kind;
  request.labels = spec.num_classes() == kCifar100CoarseClasses ? Cifar100Labels::kCoarse
                                                                : Cifar100Labels::kFine;
  request.side = spec.height;
  request.channels = spec.channels;
  return request;
}

DetectedDataset detect_dataset(const DatasetRequest& request) {
  if (request.kind != DatasetKind::kAuto) return {request.kind, "--dataset"};
  const auto& root = request.root;
  std::error_code ec;
  if (!fs::is_directory(root.empty() ? "." : root, ec)) {
    throw Error("--root_dir " + root + ": no such directory");
  }
  if (!cifar10_input_files(root).empty()) {
    return {DatasetKind::kCifar10,
            "found CIFAR-10's data_batch_*.bin in " + find_cifar10_dir(root)};
  }
  if (const auto dir = find_cifar100_dir(root); !dir.empty()) {
    return {DatasetKind::kCifar100, "found CIFAR-100's train.bin/test.bin in " + dir};
  }
  if (const auto dir = find_idx_dir(root); !dir.empty()) {
    if (names_fashion(dir)) {
      return {DatasetKind::kFashionMnist, "found IDX files in " + dir + ", a path naming fashion"};
    }
    return {DatasetKind::kMnist, "found IDX files in " + dir +
                                     " (MNIST; --dataset fashion_mnist for Fashion-MNIST's names)"};
  }
  std::error_code exists_ec;
  if (fs::exists(fs::path(root) / "cifar-10-batches-py", exists_ec) ||
      fs::exists(fs::path(root) / "data_batch_1", exists_ec)) {
    find_cifar10_dir(root);  // throws the hint about the Python version
  }
  if (is_image_folder(root)) {
    return {DatasetKind::kFolder, "found class folders of images in " + root};
  }
  throw Error("--root_dir " + root +
              ": found no data set there: looked for CIFAR-10 (data_batch_1.bin ...), CIFAR-100 "
              "(train.bin, test.bin), MNIST/Fashion-MNIST (train-images-idx3-ubyte[.gz]) and "
              "class folders of images (ROOT/<class>/<image>), also "
              "in cifar-10-batches-bin/, cifar-100-binary/, fashion-mnist/ and MNIST/raw/; see "
              "docs/datasets.md");
}

namespace {

DataSpec stored_spec(const DatasetRequest& request) {
  switch (const auto kind = detect_dataset(request).kind) {
    case DatasetKind::kCifar10:
      return cifar10_spec();
    case DatasetKind::kCifar100:
      return cifar100_spec(request.root, request.labels);
    case DatasetKind::kFashionMnist:
    case DatasetKind::kMnist:
      return idx_spec(kind, request.side);
    case DatasetKind::kFolder:
      return image_folder_spec(request.root, folder_options(request));
    case DatasetKind::kAuto:
      break;
  }
  throw std::logic_error("dataset_spec: unresolved kind");
}

ImageDataset stored_data(const DatasetRequest& request, Split split) {
  const auto kind = detect_dataset(request).kind;
  switch (kind) {
    case DatasetKind::kCifar10:
      return read_cifar10(request.root, split);
    case DatasetKind::kCifar100:
      return read_cifar100(request.root, split, request.labels);
    case DatasetKind::kFashionMnist:
    case DatasetKind::kMnist:
      return read_idx(request.root, split, kind, request.side);
    case DatasetKind::kFolder:
      return read_image_folder_split(request.root, split, folder_options(request));
    case DatasetKind::kAuto:
      break;
  }
  throw std::logic_error("load_dataset: unresolved kind");
}

}  // namespace

DataSpec dataset_spec(const DatasetRequest& request) {
  auto spec = stored_spec(request);
  if (request.channels != 0) spec.channels = request.channels;
  if (request.side != 0) spec.height = spec.width = request.side;
  return spec;
}

ImageDataset load_dataset(const DatasetRequest& request, Split split) {
  auto data = stored_data(request, split);
  if (request.side != 0) data = data.with_side(request.side);
  return request.channels == 0 ? data : data.with_channels(request.channels);
}

int64_t training_set_size(const DatasetRequest& request) {
  switch (detect_dataset(request).kind) {
    case DatasetKind::kCifar10: {
      int64_t records = 0;
      for (const auto& file : cifar10_files(find_cifar10_dir(request.root), Split::kTrain)) {
        std::error_code ec;
        const auto size = fs::file_size(file, ec);
        if (!ec) records += static_cast<int64_t>(size) / Cifar10Layout::kRecordBytes;
      }
      return records;
    }
    case DatasetKind::kCifar100:
      return cifar100_train_size(request.root);
    case DatasetKind::kFashionMnist:
    case DatasetKind::kMnist:
      return idx_train_size(request.root);
    case DatasetKind::kFolder:
      return image_folder_train_size(request.root, folder_options(request));
    case DatasetKind::kAuto:
      break;
  }
  return 0;
}

std::vector<std::string> dataset_input_files(const std::string& root) {
  auto files = cifar10_input_files(root);
  for (const auto& more : {cifar100_input_files(root), idx_input_files(root)}) {
    files.insert(files.end(), more.begin(), more.end());
  }
  return files;
}

}  // namespace acgan
