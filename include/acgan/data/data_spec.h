// What a run's images are: their shape, their classes and the data set they came from. Every
// consumer (the networks, training and resume, grids, generate, export, summary) reads the class
// count and image shape from here, never from a constant, and every checkpoint records it
// (as_fields / from_fields), so a checkpoint says what its networks were trained on.
//
// Does not read any data: the readers (datasets.h) make a spec from what they find.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace acgan {

// The data sets acgan reads. kAuto is a request only (decided from what --root_dir holds).
enum class DatasetKind { kAuto, kCifar10, kCifar100, kFashionMnist, kMnist, kFolder };

// "cifar10", ... and back; parse throws UsageError naming --dataset.
std::string dataset_kind_name(DatasetKind kind);
DatasetKind parse_dataset_kind(const std::string& text);

// CIFAR-100's two label sets (20 coarse or 100 fine classes).
enum class Cifar100Labels { kFine, kCoarse };
Cifar100Labels parse_cifar100_labels(const std::string& text);

struct DataSpec {
  DatasetKind kind = DatasetKind::kCifar10;
  int64_t channels = 3;
  int64_t height = 32;
  int64_t width = 32;
  std::vector<std::string> class_names;

  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
  // "cifar10: 10 classes of 3x32x32 images"
  std::string describe() const;
  // The fields a checkpoint's configuration records, by key ("data_kind", "data_channels", ...).
  std::map<std::string, std::string> as_fields() const;
  bool operator==(const DataSpec& other) const;
  bool operator!=(const DataSpec& other) const { return !(*this == other); }
};

// The spec recorded in `fields` (a checkpoint's configuration). A checkpoint written before specs
// were recorded holds none of the keys: it is CIFAR-10's. Throws Error naming `path` where the
// fields are incomplete or do not parse.
DataSpec data_spec_from_fields(const std::map<std::string, std::string>& fields,
                               const std::string& path);

// CIFAR-10's spec: what every checkpoint before recorded specs was trained on.
DataSpec cifar10_spec();

// The class named `name` or numbered `name` (0..K-1) of `spec`, or -1.
int64_t find_class(const DataSpec& spec, const std::string& name);

}  // namespace acgan
