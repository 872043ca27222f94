// Reading and validating IDX files (MNIST, Fashion-MNIST). See include/acgan/data/idx_files.h.
#include "acgan/data/idx_files.h"

#include <fmt/format.h>
#include <torch/torch.h>
#include <zlib.h>

#include <array>
#include <filesystem>
#include <memory>

#include "acgan/error.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

constexpr const char* kHowToGet =
    "install Debian's dataset-fashion-mnist (files in /usr/share/datasets/fashion-mnist) or point "
    "--root_dir at a folder holding train-images-idx3-ubyte[.gz] and the other three IDX files";
constexpr uint32_t kImagesMagic = 0x803, kLabelsMagic = 0x801;  // ubyte data, 3 or 1 dimensions
constexpr int64_t kClasses = 10;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// The file `stem` (or stem.gz) in `dir`, or empty.
std::string existing(const fs::path& dir, const std::string& stem) {
  std::error_code ec;
  for (const auto& name : {stem, stem + ".gz"}) {
    if (fs::is_regular_file(dir / name, ec)) return (dir / name).string();
  }
  return "";
}

std::string stem_of(Split split, bool images) {
  return std::string(split == Split::kTrain ? "train" : "t10k") +
         (images ? "-images-idx3-ubyte" : "-labels-idx1-ubyte");
}

// Reads exactly `bytes` from `file`: a short or damaged stream is an Error naming `path`.
void read_exactly(gzFile_s* file, void* out, int64_t bytes, const std::string& path) {
  auto* dst = static_cast<char*>(out);
  while (bytes > 0) {
    const auto chunk = static_cast<unsigned>(std::min<int64_t>(bytes, 1 << 30));
    const int got = gzread(file, dst, chunk);
    if (got < 0) {
      int code = 0;
      throw Error(path + ": damaged gzip stream (" + gzerror(file, &code) + ")");
    }
    if (got == 0) throw Error(path + ": truncated: the file ends before its header's size");
    dst += got;
    bytes -= got;
  }
}

uint32_t big_endian(const std::array<unsigned char, 4>& b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

// The dimensions an IDX file's header gives, checked against `magic`.
std::vector<int64_t> read_header(gzFile_s* file, uint32_t magic, const std::string& path) {
  std::array<unsigned char, 4> word{};
  read_exactly(file, word.data(), 4, path);
  if (big_endian(word) != magic) {
    throw Error(fmt::format("{}: bad magic number 0x{:08x}, expected 0x{:08x} (an IDX {} file)",
                            path, big_endian(word), magic,
                            magic == kImagesMagic ? "image" : "label"));
  }
  std::vector<int64_t> dims(magic & 0xff);
  for (auto& d : dims) {
    read_exactly(file, word.data(), 4, path);
    d = big_endian(word);
  }
  return dims;
}

GzFile open_idx(const std::string& path) {
  if (path.empty()) throw Error("missing IDX file; " + std::string(kHowToGet));
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) throw Error(path + ": cannot open for reading");
  return file;
}

torch::Tensor read_idx_file(const std::string& path, uint32_t magic) {
  auto file = open_idx(path);
  const auto dims = read_header(file.get(), magic, path);
  int64_t count = 1;
  for (const auto d : dims) count *= d;
  if (count > (int64_t{1} << 34)) throw Error(path + ": header gives an implausible size");
  auto data = torch::empty(dims, torch::kUInt8);
  read_exactly(file.get(), data.data_ptr(), count, path);
  char extra = 0;
  if (gzread(file.get(), &extra, 1) != 0) {
    throw Error(path + ": more bytes than its header's size; the file is damaged");
  }
  return data;
}

}  // namespace

DataSpec idx_spec(DatasetKind kind, int64_t side) {
  DataSpec spec;
  spec.kind = kind;
  spec.channels = 1;
  spec.height = spec.width = side;
  if (kind == DatasetKind::kFashionMnist) {
    spec.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  } else {
    for (int64_t k = 0; k < kClasses; ++k) spec.class_names.push_back(std::to_string(k));
  }
  return spec;
}

std::string find_idx_dir(const std::string& root) {
  const fs::path base(root.empty() ? "." : root);
  for (const auto& dir : {base, base / "fashion-mnist", base / "FashionMNIST" / "raw",
                          base / "mnist", base / "MNIST" / "raw"}) {
    if (!existing(dir, stem_of(Split::kTrain, true)).empty() ||
        !existing(dir, stem_of(Split::kTest, true)).empty()) {
      return dir.string();
    }
  }
  return "";
}

std::vector<std::string> idx_input_files(const std::string& root) {
  const auto dir = find_idx_dir(root);
  std::vector<std::string> files;
  if (dir.empty()) return files;
  for (const auto split : {Split::kTrain, Split::kTest}) {
    for (const bool images : {true, false}) {
      const auto file = existing(dir, stem_of(split, images));
      if (!file.empty()) files.push_back(file);
    }
  }
  return files;
}

int64_t idx_train_size(const std::string& root) {
  try {
    const auto path = existing(find_idx_dir(root), stem_of(Split::kTrain, false));
    auto file = open_idx(path);
    return read_header(file.get(), kLabelsMagic, path).at(0);
  } catch (const Error&) {
    return 0;  // the reader names the problem
  }
}

ImageDataset read_idx(const std::string& root, Split split, DatasetKind kind, int64_t side) {
  const auto dir = find_idx_dir(root);
  if (dir.empty()) {
    throw Error("--root_dir " + root + ": no IDX files (train-images-idx3-ubyte[.gz], ...); " +
                kHowToGet);
  }
  const auto images_path = existing(dir, stem_of(split, true));
  const auto labels_path = existing(dir, stem_of(split, false));
  const auto missing = (fs::path(dir) / stem_of(split, images_path.empty())).string();
  if (images_path.empty() || labels_path.empty()) {
    throw Error(missing + "[.gz]: missing IDX file; " + kHowToGet);
  }
  const auto images = read_idx_file(images_path, kImagesMagic);
  const auto labels = read_idx_file(labels_path, kLabelsMagic);
  if (labels.size(0) != images.size(0)) {
    throw Error(fmt::format("{}: holds {} labels, but {} holds {} images", labels_path,
                            labels.size(0), images_path, images.size(0)));
  }
  const auto bad = (labels >= kClasses).nonzero();
  if (bad.numel() > 0) {
    const int64_t i = bad[0][0].item<int64_t>();
    throw Error(fmt::format("{}: label {} is {}, expected 0..{}", labels_path, i,
                            labels[i].item<int>(), kClasses - 1));
  }
  const ImageDataset stored(images.unsqueeze(1).contiguous(), labels.to(torch::kLong),
                            idx_spec(kind, images.size(1)));  // 28: the side the files hold
  return side > 0 ? stored.with_side(side) : stored;
}

void write_idx_file(const std::string& path, const torch::Tensor& data) {
  const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  GzFile file(gzopen(path.c_str(), gz ? "wb" : "wbT"));  // T: plain, no gzip
  if (!file) throw Error(path + ": cannot open for writing");
  const auto t = data.to(torch::kUInt8).contiguous();
  std::vector<unsigned char> header = {0, 0, 8, static_cast<unsigned char>(t.dim())};
  for (const auto d : t.sizes()) {
    for (const int shift : {24, 16, 8, 0}) header.push_back(static_cast<unsigned char>(d >> shift));
  }
  if (gzwrite(file.get(), header.data(), static_cast<unsigned>(header.size())) <= 0 ||
      (t.numel() > 0 && gzwrite(file.get(), t.data_ptr(), static_cast<unsigned>(t.numel())) <= 0)) {
    throw Error(path + ": write failed");
  }
}

}  // namespace acgan
