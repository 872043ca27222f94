// The reference cache. See include/acgan/eval/reference_cache.h.
#include "acgan/eval/reference_cache.h"

#include <spdlog/spdlog.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <filesystem>
#include <string_view>
#include <vector>

#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/sha256.h"
#include "acgan/io/state_dict.h"

namespace acgan {
namespace {

// SHA-256 over the entry's key (both files' SHA-256s) and its numbers: an entry whose numbers were
// edited, or moved under another key, does not match. It detects edits and damage, not a forger
// who recomputes it.
std::string cache_digest(const std::string& key, const torch::Tensor& features,
                         const torch::Tensor& logits) {
  std::string text = key + "\n" + tensor_sha256(features.to(torch::kFloat32));
  if (logits.defined()) text += "\n" + tensor_sha256(logits.to(torch::kFloat32));
  return sha256_hex(text);
}

torch::Tensor text_tensor(const std::string& text) {
  return torch::tensor(std::vector<int64_t>(text.begin(), text.end()), torch::kLong)
      .to(torch::kUInt8);
}

std::string tensor_text(const torch::Tensor& t) {
  const auto bytes = t.to(torch::kUInt8).contiguous();
  return std::string(static_cast<const char*>(bytes.data_ptr()), bytes.nbytes());
}

}  // namespace

std::string reference_cache_path(const std::string& dir, const std::string& key) {
  return dir + "/" + key + ".pt";
}

std::string tensor_sha256(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return sha256_hex(std::string_view(static_cast<const char*>(c.data_ptr()), c.nbytes()));
}

std::optional<NetworkOutputs> read_reference_cache(const std::string& dir, const std::string& key,
                                                   int64_t count, bool with_logits) {
  const std::string path = reference_cache_path(dir, key);
  if (dir.empty() || !std::filesystem::exists(path)) return std::nullopt;
  try {
    const auto dict = load_tensor_dict_file(path);
    NetworkOutputs entry;
    entry.features = dict.at("features").toTensor();
    if (with_logits) entry.logits = dict.at("logits").toTensor();
    if (entry.features.size(0) != count || (with_logits && entry.logits.size(0) != count))
      throw Error(path + ": holds another image count");
    if (!dict.contains("digest") || tensor_text(dict.at("digest").toTensor()) !=
                                        cache_digest(key, entry.features, entry.logits))
      throw Error("its digest does not match its numbers: edited or damaged");
    return entry;
  } catch (const std::exception& e) {
    spdlog::warn("reference cache {} not usable ({}); recomputing it", path, first_line(e.what()));
  }
  return std::nullopt;
}

bool write_reference_cache(const std::string& dir, const std::string& key,
                           const NetworkOutputs& outputs) {
  if (dir.empty()) return false;
  const std::string path = reference_cache_path(dir, key);
  try {
    ensure_writable_dir(dir, "--cache " + dir);
    c10::Dict<std::string, torch::Tensor> dict;
    dict.insert("features", outputs.features);
    if (outputs.logits.defined()) dict.insert("logits", outputs.logits);
    dict.insert("digest", text_tensor(cache_digest(key, outputs.features, outputs.logits)));
    const auto bytes = torch::pickle_save(c10::IValue(dict));
    write_file_atomic(path, std::string_view(bytes.data(), bytes.size()));
    return true;
  } catch (const Error& e) {
    spdlog::warn("reference features not cached: {}", e.what());
  }
  return false;
}

}  // namespace acgan
