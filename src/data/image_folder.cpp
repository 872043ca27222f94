// Reading an image folder. See include/acgan/data/image_folder.h.
#include "acgan/data/image_folder.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <stb_image.h>
#include <stb_image_resize.h>
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "acgan/error.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

constexpr double kMemoryShare = 0.8;  // of MemAvailable a folder may take

bool is_image_name(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

// The folder of a split: ROOT/train and ROOT/test (or val) when ROOT/train exists, else ROOT.
fs::path split_dir(const std::string& root, Split split) {
  const fs::path base(root.empty() ? "." : root);
  std::error_code ec;
  if (!fs::is_directory(base / "train", ec)) return base;
  if (split == Split::kTrain) return base / "train";
  for (const char* name : {"test", "val"}) {
    if (fs::is_directory(base / name, ec)) return base / name;
  }
  return base / "train";
}

// The class folders of `dir`, sorted (links to folders count).
std::vector<std::string> class_folders(const fs::path& dir) {
  std::vector<std::string> classes;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (fs::is_directory(it->path(), ec)) classes.push_back(it->path().filename().string());
  }
  std::sort(classes.begin(), classes.end());
  return classes;
}

struct Listing {
  std::vector<std::string> classes;
  std::vector<fs::path> files;
  std::vector<int64_t> labels;
  std::vector<std::string> bad;  // "path (why)"
  bool all_grey = true;
};

// Image files under `dir`, links followed to regular files and folders (each folder once).
void walk(const fs::path& dir, std::set<fs::path>& seen, std::vector<fs::path>& files,
          std::vector<std::string>& bad) {
  std::error_code ec;
  const auto canonical = fs::canonical(dir, ec);
  if (ec || !seen.insert(canonical).second) return;  // a link loop ends here
  fs::directory_iterator it(dir, ec), end;
  if (ec) throw Error(dir.string() + ": cannot read the folder (" + ec.message() + ")");
  for (; it != end; it.increment(ec)) {
    if (ec) throw Error(dir.string() + ": cannot read the folder (" + ec.message() + ")");
    const auto& path = it->path();
    const auto status = fs::status(path, ec);  // through links
    if (fs::is_directory(status)) {
      walk(path, seen, files, bad);
    } else if (is_image_name(path)) {
      if (fs::is_regular_file(status))
        files.push_back(path);
      else
        bad.push_back(path.string() + " (" + not_a_file_reason(status) + ")");
    }
  }
}

// Checks a file by its header; "" when it is a readable image.
std::string header_problem(const fs::path& path, bool& grey) {
  std::error_code ec;
  if (fs::file_size(path, ec) == 0 && !ec) return "an empty file";
  int w = 0, h = 0, comp = 0;
  if (!stbi_info(path.string().c_str(), &w, &h, &comp)) {
    const char* why = stbi_failure_reason();
    return std::string("not a readable PNG, JPEG or BMP") + (why ? std::string(": ") + why : "");
  }
  grey = comp <= 2;
  return "";
}

void check_fits_in_memory(const std::string& root, int64_t images, int64_t image_bytes) {
  std::ifstream meminfo("/proc/meminfo");
  int64_t available_kb = 0;
  for (std::string key; meminfo >> key;) {
    if (key == "MemAvailable:") {
      meminfo >> available_kb;
      break;
    }
    meminfo.ignore(256, '\n');
  }
  const double need = static_cast<double>(images * image_bytes);
  const double have = static_cast<double>(available_kb) * 1024;
  if (available_kb > 0 && need > kMemoryShare * have) {
    throw Error(fmt::format(
        "--root_dir {}: {} images would take {:.0f} MB in memory, {:.0f} MB are available; use "
        "fewer images (a smaller folder) or a machine with more memory",
        root, images, need / 1e6, have / 1e6));
  }
}

Listing list_split(const std::string& root, Split split, const ImageFolderOptions& options) {
  Listing listing;
  listing.classes = class_folders(split_dir(root, Split::kTrain));
  if (listing.classes.size() < 2) {
    throw Error("--root_dir " + root + ": found " + std::to_string(listing.classes.size()) +
                " class folders in " + split_dir(root, Split::kTrain).string() +
                ", expected 2 or more (ROOT/<class>/<image>)");
  }
  const auto dir = split_dir(root, split);
  for (const auto& name : class_folders(dir)) {
    if (!std::binary_search(listing.classes.begin(), listing.classes.end(), name)) {
      throw Error((dir / name).string() + ": a class the training split does not have");
    }
  }
  std::set<fs::path> seen;
  for (size_t k = 0; k < listing.classes.size(); ++k) {
    std::vector<fs::path> files;
    std::error_code ec;
    if (fs::is_directory(dir / listing.classes[k], ec))
      walk(dir / listing.classes[k], seen, files, listing.bad);
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      bool grey = false;
      const auto problem = header_problem(file, grey);
      if (!problem.empty()) {
        listing.bad.push_back(file.string() + " (" + problem + ")");
        continue;
      }
      listing.all_grey = listing.all_grey && grey;
      listing.files.push_back(file);
      listing.labels.push_back(static_cast<int64_t>(k));
    }
  }
  if (!listing.bad.empty() && !options.skip_bad) {
    throw Error(listing.bad.front() +
                (listing.bad.size() > 1 ? fmt::format(" (and {} more)", listing.bad.size() - 1)
                                        : std::string()) +
                "; remove it, or pass --skip_bad_images to train without it");
  }
  if (listing.files.empty()) throw Error("--root_dir " + root + ": no images in " + dir.string());
  return listing;
}

int64_t channels_of(const Listing& listing, const ImageFolderOptions& options) {
  return options.channels > 0 ? options.channels : (listing.all_grey ? 1 : 3);
}

// One image: decoded to `channels`, the shorter side resized to `side`, centre-cropped; (C, S, S).
torch::Tensor decode(const std::string& bytes, const fs::path& path, int64_t channels,
                     int64_t side) {
  int w = 0, h = 0, comp = 0;
  const int c = static_cast<int>(channels);
  unsigned char* data = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()),
                                              static_cast<int>(bytes.size()), &w, &h, &comp, c);
  if (!data) return {};
  const double scale = static_cast<double>(side) / std::min(w, h);
  const int nw = std::max<int>(static_cast<int>(side), static_cast<int>(std::lround(w * scale)));
  const int nh = std::max<int>(static_cast<int>(side), static_cast<int>(std::lround(h * scale)));
  auto resized = torch::empty({nh, nw, channels}, torch::kUInt8);
  const bool ok =
      (nw == w && nh == h)
          ? (std::copy(data, data + static_cast<int64_t>(w) * h * c, resized.data_ptr<uint8_t>()),
             true)
          : stbir_resize_uint8(data, w, h, 0, resized.data_ptr<uint8_t>(), nw, nh, 0, c) != 0;
  stbi_image_free(data);
  if (!ok) throw Error(path.string() + ": could not be resized");
  return resized.narrow(0, (nh - side) / 2, side)
      .narrow(1, (nw - side) / 2, side)
      .permute({2, 0, 1});
}

// The spec of a folder whose training split is `train`.
DataSpec spec_of(const Listing& train, const std::string& root, const ImageFolderOptions& options) {
  DataSpec spec;
  spec.kind = DatasetKind::kFolder;
  spec.channels = channels_of(train, options);
  spec.height = spec.width = options.side;
  spec.class_names = train.classes;
  for (const auto& name : spec.class_names) {
    if (name.find('\n') != std::string::npos || name.find('\r') != std::string::npos) {
      throw Error(root + "/" + name + ": a class folder whose name holds a line break");
    }
  }
  check_fits_in_memory(root, static_cast<int64_t>(train.files.size()),
                       spec.channels * options.side * options.side);
  return spec;
}

}  // namespace

std::string not_a_file_reason(const std::filesystem::file_status& status) {
  switch (status.type()) {
    case fs::file_type::fifo:
      return "a FIFO";
    case fs::file_type::character:
    case fs::file_type::block:
      return "a device";
    case fs::file_type::socket:
      return "a socket";
    case fs::file_type::not_found:
      return "a broken symbolic link";
    default:
      return "not a regular file";
  }
}

bool is_image_folder(const std::string& root) {
  for (const auto& dir : {split_dir(root, Split::kTrain)}) {
    for (const auto& name : class_folders(dir)) {
      std::error_code ec;
      for (fs::recursive_directory_iterator it(dir / name, ec), end; !ec && it != end;
           it.increment(ec)) {
        if (is_image_name(it->path())) return true;
      }
    }
  }
  return false;
}

DataSpec image_folder_spec(const std::string& root, const ImageFolderOptions& options) {
  return spec_of(list_split(root, Split::kTrain, options), root, options);
}

int64_t image_folder_train_size(const std::string& root, const ImageFolderOptions& options) {
  return static_cast<int64_t>(list_split(root, Split::kTrain, options).files.size());
}

ImageDataset read_image_folder_split(const std::string& root, Split split,
                                     const ImageFolderOptions& options) {
  // The training split's listing gives the spec; a split in the same folder is that listing.
  const auto train = list_split(root, Split::kTrain, options);
  const auto spec = spec_of(train, root, options);
  const auto listing = split_dir(root, split) == split_dir(root, Split::kTrain)
                           ? train
                           : list_split(root, split, options);
  std::vector<torch::Tensor> images;
  std::vector<int64_t> labels;
  std::vector<std::string> bad = listing.bad;
  uLong digest = crc32(0L, Z_NULL, 0);
  for (size_t i = 0; i < listing.files.size(); ++i) {
    const auto& path = listing.files[i];
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto image = decode(bytes, path, spec.channels, spec.height);
    if (!image.defined()) {
      const char* why = stbi_failure_reason();
      if (!options.skip_bad) {
        throw Error(path.string() + ": not a readable image (" + (why ? why : "?") +
                    "); remove it, or pass --skip_bad_images to train without it");
      }
      bad.push_back(path.string());
      continue;
    }
    const auto name = path.lexically_relative(root).generic_string();
    digest = crc32(digest, reinterpret_cast<const Bytef*>(name.c_str()),
                   static_cast<uInt>(name.size() + 1));
    digest = crc32(digest, reinterpret_cast<const Bytef*>(bytes.data()),
                   static_cast<uInt>(bytes.size()));
    images.push_back(image);
    labels.push_back(listing.labels[i]);
  }
  if (!bad.empty()) {
    spdlog::warn("--skip_bad_images: {} files not used, e.g. {}", bad.size(), bad.front());
  }
  if (images.empty()) throw Error("--root_dir " + root + ": no readable images");
  ImageDataset data(torch::stack(images), torch::tensor(labels, torch::kLong), spec);
  data.set_source_digest(fmt::format("{:08x}", digest));
  return data;
}

}  // namespace acgan
