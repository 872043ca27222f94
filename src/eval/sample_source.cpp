// See include/acgan/eval/sample_source.h.
#include "acgan/eval/sample_source.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <new>
#include <set>

#include "acgan/data/image_folder.h"
#include "acgan/error.h"
#include "acgan/io/image_grid.h"
#include "acgan/training/progress_bar.h"

namespace acgan {
namespace fs = std::filesystem;
namespace {

// A class name or number -> its index; -1 when `text` is neither.
int64_t class_of(const std::string& text, const std::vector<std::string>& names) {
  const auto name = std::find(names.begin(), names.end(), text);
  if (name != names.end()) return name - names.begin();
  if (text.empty() || text.size() > 6 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  const int64_t k = std::stoll(text);
  return k < static_cast<int64_t>(names.size()) ? k : -1;
}

// The class a file's place says: its first-level subfolder, else its name's prefix.
int64_t class_of_file(const fs::path& relative, const std::vector<std::string>& names) {
  if (relative.has_parent_path()) {
    const int64_t k = class_of(relative.begin()->string(), names);
    if (k >= 0) return k;
  }
  const std::string stem = relative.stem().string();
  const auto underscore = stem.find('_');
  return underscore == std::string::npos ? -1 : class_of(stem.substr(0, underscore), names);
}

bool has_png_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".png";
}

// The .png files under `dir`, symbolic links followed to regular files and folders (each folder
// once, so a link loop ends); anything else named .png, and every loop, goes into `not_read`.
void walk_png_files(const fs::path& dir, const std::string& flag, std::set<fs::path>& seen,
                    std::vector<fs::path>& files, std::vector<std::string>& not_read) {
  std::error_code ec;
  const auto canonical = fs::canonical(dir, ec);
  if (ec || !seen.insert(canonical).second) {
    not_read.push_back(dir.string() + " (" +
                       (ec ? ec.message() : "a folder seen before: a link loop") + ")");
    return;
  }
  fs::directory_iterator it(dir, ec), end;
  if (ec)
    throw Error(flag + ": cannot read the folder " + dir.string() + " (" + ec.message() + ")");
  for (; it != end; it.increment(ec)) {
    if (ec)
      throw Error(flag + ": cannot read the folder " + dir.string() + " (" + ec.message() + ")");
    const auto& path = it->path();
    const auto status = fs::status(path, ec);  // through links
    if (fs::is_directory(status)) {
      walk_png_files(path, flag, seen, files, not_read);
    } else if (has_png_extension(path)) {
      if (fs::is_regular_file(status))
        files.push_back(path);
      else
        not_read.push_back(path.string() + " (" + not_a_file_reason(status) + ")");
    }
  }
}

std::vector<fs::path> png_files(const std::string& dir, std::vector<std::string>& not_read) {
  const std::string flag = "--images " + dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(flag + ": not a directory");
  std::vector<fs::path> files;
  std::set<fs::path> seen;
  walk_png_files(dir, flag, seen, files, not_read);
  if (files.empty()) throw Error(flag + ": no .png files in the folder or below it");
  std::sort(files.begin(), files.end());
  std::sort(not_read.begin(), not_read.end());
  return files;
}

[[noreturn]] void throw_out_of_memory(const std::string& dir, size_t decoded, size_t files) {
  throw Error("--images " + dir + ": out of memory after decoding " + std::to_string(decoded) +
              " of " + std::to_string(files) +
              " images; judge fewer or smaller images at a time (or a machine with more memory)");
}

}  // namespace

LabelledImages sample_generator(GeneratorImpl& g, int64_t n, int64_t num_classes, int64_t seed,
                                int64_t batch_size, const std::function<bool()>& stop) {
  torch::NoGradGuard no_grad;
  const bool was_training = g.is_training();
  g.eval();
  const auto device = g.parameters().front().device();
  auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
  auto z = torch::randn({n, g.nz()}, generator, torch::kFloat32);  // (n, nz)
  const auto labels = torch::arange(n, torch::kLong).remainder(num_classes);
  std::vector<torch::Tensor> pixels;
  for (int64_t i = 0; i < n; i += batch_size) {
    if (stop && stop()) {
      g.train(was_training);
      throw EvaluationStopped();
    }
    const auto b = std::min(batch_size, n - i);
    pixels.push_back(
        to_pixels(g.forward(z.narrow(0, i, b).to(device), labels.narrow(0, i, b).to(device))));
  }
  g.train(was_training);
  return {torch::cat(pixels), labels, {}};
}

LabelledImages read_image_folder(const std::string& dir, const std::vector<std::string>& names) {
  std::vector<std::string> not_read;
  const auto files = png_files(dir, not_read);
  std::vector<torch::Tensor> images;
  std::vector<int64_t> labels;
  bool labelled = false;
  ProgressBar bar("reading " + dir, static_cast<int64_t>(files.size()));
  for (const auto& file : files) {
    const auto relative = file.lexically_relative(dir);  // links keep their place, not target
    const int64_t k = class_of_file(relative, names);
    if (images.empty()) labelled = k >= 0;
    if ((k >= 0) != labelled) {
      throw Error("--images " + dir + ": " + relative.string() +
                  (labelled ? " has no class (a subfolder or a '<class>_' name prefix, class "
                              "names or numbers) but the files before it have one"
                            : " has a class but the files before it have none") +
                  "; give every file a class or none");
    }
    if (labelled) labels.push_back(k);
    torch::Tensor image;
    try {
      image = read_png(file.string()).permute({2, 0, 1});  // (3, H, W)
    } catch (const Error& e) {
      throw Error("--images: " + std::string(e.what()));
    } catch (const std::bad_alloc&) {
      throw_out_of_memory(dir, images.size(), files.size());
    } catch (const c10::Error&) {  // LibTorch's allocator says so this way
      throw_out_of_memory(dir, images.size(), files.size());
    }
    if (!images.empty() && image.sizes() != images.front().sizes()) {
      throw Error("--images " + dir + ": " + relative.string() + " is " +
                  std::to_string(image.size(2)) + "x" + std::to_string(image.size(1)) +
                  " but the files before it are " + std::to_string(images.front().size(2)) + "x" +
                  std::to_string(images.front().size(1)) + "; expected one size");
    }
    images.push_back(image);
    bar.advance(1);
  }
  bar.finish();
  LabelledImages result;
  try {
    result.images = torch::stack(images);
  } catch (const c10::Error&) {
    throw_out_of_memory(dir, images.size(), files.size());
  }
  if (!labels.empty()) result.labels = torch::tensor(labels, torch::kLong);
  result.not_read = std::move(not_read);
  return result;
}

}  // namespace acgan
