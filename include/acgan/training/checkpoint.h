// The training checkpoint: one file with everything a run needs to continue bit for bit: G, D,
// both Adam states, progress counters, the configuration, the fixed sample noise, the RNG states
// (CPU and, when used, CUDA; the data order is derived from seed and epoch), fp16's loss scale and
// a format version. Written atomically (atomic_file.h). Loading validates the format and the
// network sizes and reports any problem as one acgan::Error line naming the file.
#pragma once

#include <torch/optim/adam.h>
#include <torch/types.h>

#include <map>
#include <memory>
#include <string>

#include "acgan/models/generator_ema.h"
#include "acgan/models/models.h"
#include "acgan/training/loss_scaler.h"
#include "acgan/training/train_options.h"

namespace acgan {

// The checkpoint format versions this acgan reads. It writes the lowest that holds the run, so
// that a release which would misread it refuses it by its version: 1 for the original's networks
// and class loss (cifar, --cond ac), 2 for another family (--arch; releases before it refuse it),
// 3 for another --cond (releases with --arch but before --cond would drop D's extra head), 4 for
// --d_steps above 1 (releases before it would go on with one D update a step).
constexpr int64_t kFirstCheckpointFormatVersion = 1;
constexpr int64_t kArchCheckpointFormatVersion = 2;
constexpr int64_t kCondCheckpointFormatVersion = 3;
constexpr int64_t kCheckpointFormatVersion = 4;

// Where a run stands.
struct Progress {
  int64_t epoch = 0;  // epochs completed
  int64_t batch = 0;  // batches completed in the current (incomplete) epoch
  int64_t step = 0;   // training steps completed in total
};

// The whole state of a run, as trained and as checkpointed.
struct TrainingState {
  TrainingState(const TrainOptions& options, const torch::Device& device);

  Generator g;
  Discriminator d;
  std::unique_ptr<GeneratorEma> ema;                 // with --g_ema
  std::unique_ptr<torch::optim::Adam> opt_g, opt_d;  // MultiTensorAdam (multi_tensor_adam.h)
  torch::Tensor grid_z;                              // (rows * 10, nz) fixed sample-grid noise
  torch::Tensor grid_c;  // (rows * 10) its classes: grid_classes(K), not saved
  LossScaler scaler;     // used by --precision fp16 only
  Progress progress;
  // With data parallelism, every rank's generator states (world size, state bytes) uint8, row r
  // rank r's (rng_cpu above is rank 0's): a resume on as many ranks continues each stream.
  // Undefined in a plain run.
  torch::Tensor rank_rng_cpu, rank_rng_cuda;
};

// The hyperparameters a checkpoint records, by flag name ("nz", "lr", ...), as text.
using ConfigMap = std::map<std::string, std::string>;
ConfigMap config_of(const TrainOptions& options);

// The serialized checkpoint (to write it to several places without serializing twice).
std::string checkpoint_bytes(const TrainingState& state, const TrainOptions& options);
// The same with a given configuration (config_of's, or an older acgan's in the tests).
std::string checkpoint_bytes(const TrainingState& state, const ConfigMap& config);
// checkpoint_bytes + write_file_atomic.
void save_checkpoint(const std::string& path, const TrainingState& state,
                     const TrainOptions& options);

// Reads the configuration only (to check flags before building networks).
ConfigMap read_checkpoint_config(const std::string& path);
// The same from the file's bytes (a data-parallel job reads the file on rank 0 only).
ConfigMap read_checkpoint_config_from(const std::string& bytes, const std::string& path);
// Sets `key` of `options` to the `value` the checkpoint `path` records; a key that is no kept flag
// (a later acgan's) is left alone. Throws Error naming the file where the value does not parse.
void set_recorded_option(TrainOptions& options, const std::string& key, const std::string& value,
                         const std::string& path);
// The options the checkpoint's run had: its recorded flags, the defaults elsewhere (a flag newer
// than the file). Throws Error where it records no G input size (nz) or a value that does not
// parse.
TrainOptions options_from_config(const ConfigMap& config, const std::string& path);

// Loads `path` into `state` (built with the checkpoint's nz), including the RNG states.
void load_checkpoint(const std::string& path, TrainingState& state);
void load_checkpoint_from(const std::string& bytes, const std::string& path, TrainingState& state);

// Puts `state` (a get_state() of the same kind) into `device`'s default generator.
void set_generator_state(const torch::Device& device, const torch::Tensor& state);

// The network a run's options build.
GeneratorOptions generator_options(const TrainOptions& options);
DiscriminatorOptions discriminator_options(const TrainOptions& options);

// A Generator from a full checkpoint or from a gen.pt / gen_ema.pt state dict (family, nz,
// channels, side and spectral normalisation taken from the file). From a checkpoint of a run with
// --g_ema it is the weight average (logged), as sample grids are. `spec` (when given) receives the
// data spec: the checkpoint's; for a bare state dict, which records no classes, the original's 10
// (CIFAR-10's names for 3 channels, numbers otherwise).
Generator load_generator(const std::string& path, DataSpec* spec = nullptr);
// The bare state dict part of load_generator (generator_state_dict.cpp): the family, nz, channels
// and side read from the keys and their shapes (mlp: label_emb.weight present; imagenet128:
// tconv2.0.weight; cifar otherwise). Throws acgan::Error naming `path` where they fit no family.
GeneratorOptions generator_options_from_state_dict(const c10::impl::GenericDict& dict,
                                                   const std::string& path);
// The data spec a bare state dict implies, which records no class names: CIFAR-10's for 10 classes
// of 3 channels (the original's), numbers otherwise.
DataSpec bare_generator_spec(const GeneratorOptions& g);
Generator generator_from_state_dict(const c10::impl::GenericDict& dict, const std::string& path,
                                    DataSpec* spec);

}  // namespace acgan
