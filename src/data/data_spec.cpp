// The data spec and its checkpoint fields. See include/acgan/data/data_spec.h.
#include "acgan/data/data_spec.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>

#include "acgan/error.h"

namespace acgan {
namespace {

constexpr std::pair<DatasetKind, const char*> kKindNames[] = {
    {DatasetKind::kAuto, "auto"},         {DatasetKind::kCifar10, "cifar10"},
    {DatasetKind::kCifar100, "cifar100"}, {DatasetKind::kFashionMnist, "fashion_mnist"},
    {DatasetKind::kMnist, "mnist"},       {DatasetKind::kFolder, "folder"},
};

// Class names are kept comma-separated on one line of the checkpoint's configuration, with '%',
// ',' and line breaks percent-encoded (a folder's class name may hold any of them).
std::string join_names(const std::vector<std::string>& names) {
  std::string text;
  for (size_t k = 0; k < names.size(); ++k) {
    if (k > 0) text += ',';
    for (const char c : names[k]) {
      if (c == '%' || c == ',' || c == '\n' || c == '\r') {
        text += fmt::format("%{:02X}", static_cast<unsigned char>(c));
      } else {
        text += c;
      }
    }
  }
  return text;
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names(1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ',') {
      names.emplace_back();
    } else if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(text[i + 1]) &&
               std::isxdigit(text[i + 2])) {
      names.back() += static_cast<char>(std::strtol(text.substr(i + 1, 2).c_str(), nullptr, 16));
      i += 2;
    } else {
      names.back() += text[i];
    }
  }
  return names;
}

int64_t positive_field(const std::map<std::string, std::string>& fields, const std::string& key,
                       const std::string& path) {
  const auto& text = fields.at(key);
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value <= 0) {
    throw Error(path + ": records " + key + " '" + text + "', expected a positive integer");
  }
  return value;
}

}  // namespace

std::string dataset_kind_name(DatasetKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "?";
}

DatasetKind parse_dataset_kind(const std::string& text) {
  for (const auto& [kind, name] : kKindNames) {
    if (text == name) return kind;
  }
  throw UsageError(
      "--dataset: expected auto, cifar10, cifar100, fashion_mnist, mnist or folder, got '" + text +
      "'");
}

Cifar100Labels parse_cifar100_labels(const std::string& text) {
  if (text == "fine") return Cifar100Labels::kFine;
  if (text == "coarse") return Cifar100Labels::kCoarse;
  throw UsageError("--labels: expected fine (CIFAR-100's 100 classes) or coarse (its 20), got '" +
                   text + "'");
}

std::string DataSpec::describe() const {
  return fmt::format("{}: {} classes of {}x{}x{} images", dataset_kind_name(kind), num_classes(),
                     channels, height, width);
}

std::map<std::string, std::string> DataSpec::as_fields() const {
  return {{"data_kind", dataset_kind_name(kind)},
          {"data_channels", std::to_string(channels)},
          {"data_height", std::to_string(height)},
          {"data_width", std::to_string(width)},
          {"data_classes", join_names(class_names)}};
}

bool DataSpec::operator==(const DataSpec& other) const {
  return kind == other.kind && channels == other.channels && height == other.height &&
         width == other.width && class_names == other.class_names;
}

DataSpec data_spec_from_fields(const std::map<std::string, std::string>& fields,
                               const std::string& path) {
  const auto spec_fields = cifar10_spec().as_fields();
  int present = 0;
  for (const auto& [key, value] : spec_fields) present += fields.count(key) ? 1 : 0;
  if (present == 0) return cifar10_spec();  // written before specs were recorded
  for (const auto& [key, value] : spec_fields) {
    if (!fields.count(key)) {
      throw Error(path + ": records a data spec without " + key + "; the file is damaged");
    }
  }
  DataSpec spec;
  const auto& kind = fields.at("data_kind");
  try {
    spec.kind = parse_dataset_kind(kind);
  } catch (const UsageError&) {
    throw Error(path + ": records data_kind '" + kind + "', which this acgan does not know");
  }
  spec.channels = positive_field(fields, "data_channels", path);
  spec.height = positive_field(fields, "data_height", path);
  spec.width = positive_field(fields, "data_width", path);
  spec.class_names = split_names(fields.at("data_classes"));
  if (spec.class_names.size() < 2) {
    throw Error(path + ": records " + std::to_string(spec.class_names.size()) +
                " class names, expected 2 or more");
  }
  return spec;
}

DataSpec cifar10_spec() {
  DataSpec spec;
  spec.kind = DatasetKind::kCifar10;
  spec.class_names = {"airplane", "automobile", "bird",  "cat",  "deer",
                      "dog",      "frog",       "horse", "ship", "truck"};
  return spec;
}

int64_t find_class(const DataSpec& spec, const std::string& name) {
  for (size_t k = 0; k < spec.class_names.size(); ++k) {
    if (spec.class_names[k] == name) return static_cast<int64_t>(k);
  }
  size_t used = 0;
  int64_t k = -1;
  try {
    k = std::stoll(name, &used);
  } catch (const std::exception&) {
    return -1;
  }
  return used == name.size() && k >= 0 && k < spec.num_classes() ? k : -1;
}

}  // namespace acgan
