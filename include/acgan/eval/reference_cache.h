// The reference cache: a network's outputs on the real images, kept on disk between evaluations as
// KEY.pt in the cache folder, with a digest of the key and the numbers so that an edited or damaged
// entry is recomputed (docs/evaluation.md says what the cache trusts). Which key an evaluation asks
// for, and computing the outputs, is evaluator.h's.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "acgan/eval/feature_network.h"

namespace acgan {

// Lower-case hex SHA-256 of a tensor's bytes (contiguous).
std::string tensor_sha256(const torch::Tensor& t);

// The entry `key` in `dir` when it is there, holds `count` rows (logits too when `with_logits`) and
// its digest matches; otherwise nothing, with a warning naming the file when it exists but is not
// usable.
std::optional<NetworkOutputs> read_reference_cache(const std::string& dir, const std::string& key,
                                                   int64_t count, bool with_logits);

// DIR/KEY.pt.
std::string reference_cache_path(const std::string& dir, const std::string& key);

// Writes the entry atomically; false, with a warning, when it cannot (a cache that cannot be
// written is not an error). Nothing is written when `dir` is empty.
bool write_reference_cache(const std::string& dir, const std::string& key,
                           const NetworkOutputs& outputs);

}  // namespace acgan
