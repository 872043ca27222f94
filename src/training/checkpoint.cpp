// Checkpoint writing and reading. See include/acgan/training/checkpoint.h.
#include "acgan/training/checkpoint.h"

#include <ATen/Context.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cmath>
#include <optional>
#include <sstream>

#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/state_dict.h"
#include "acgan/models/precision.h"
#include "acgan/training/multi_tensor_adam.h"
#include "acgan/training/train_step.h"

namespace acgan {
namespace {

constexpr const char* kMagic = "acgan-checkpoint";

std::string encode_config(const ConfigMap& config) {
  std::string text;
  for (const auto& [key, value] : config) text += key + "=" + value + "\n";
  return text;
}

ConfigMap decode_config(const std::string& text) {
  ConfigMap config;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) config[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return config;
}

c10::IValue cpu_state(const torch::nn::Module& module) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& item : state_dict(module)) dict.insert(item.key(), item.value().detach().cpu());
  return dict;
}

// Opens `bytes` (the file `path`) as an acgan checkpoint, mapping its tensors to `device`; throws
// a one-line Error saying what the file is when it is not one.
torch::serialize::InputArchive open_checkpoint(const std::string& bytes, const std::string& path,
                                               const torch::Device& device) {
  if (!is_complete_zip(bytes)) {
    throw Error(path +
                ": not a readable acgan checkpoint (not a complete zip archive: truncated, "
                "or another format)");
  }
  if (const auto damage = zip_damage(bytes)) throw Error(path + ": damaged: " + *damage);
  torch::serialize::InputArchive archive;
  try {
    std::istringstream stream(bytes);
    archive.load_from(stream, device);
  } catch (const std::exception& e) {
    bool is_state_dict = false;
    try {
      parse_tensor_dict(bytes, path);
      is_state_dict = true;
    } catch (const Error&) {
    }
    if (is_state_dict) {
      throw Error(path +
                  ": a bare network state dict (like gen.pt / disc.pt), not a training "
                  "checkpoint; pass outdir/checkpoint.pt or a checkpoints/epoch_NNN.pt file");
    }
    throw Error(path + ": not a readable acgan checkpoint (truncated or another format: " +
                first_line(e.what()) + ")");
  }
  c10::IValue magic;
  if (!archive.try_read("magic", magic) || !magic.isString() || magic.toStringRef() != kMagic) {
    throw Error(path + ": not an acgan checkpoint (no acgan header)");
  }
  c10::IValue version;
  if (!archive.try_read("format_version", version) || !version.isInt()) {
    throw Error(path + ": acgan checkpoint without a format version");
  }
  if (version.toInt() < kFirstCheckpointFormatVersion ||
      version.toInt() > kCheckpointFormatVersion) {
    throw Error(path + ": checkpoint format version " + std::to_string(version.toInt()) +
                ", this acgan reads versions " + std::to_string(kFirstCheckpointFormatVersion) +
                ".." + std::to_string(kCheckpointFormatVersion) +
                "; use the acgan release that wrote it");
  }
  return archive;
}

c10::impl::GenericDict read_dict(torch::serialize::InputArchive& archive, const std::string& key,
                                 const std::string& path) {
  c10::IValue value;
  if (!archive.try_read(key, value) || !value.isGenericDict()) {
    throw Error(path + ": checkpoint lacks '" + key + "'; the file is damaged");
  }
  return value.toGenericDict();
}

ConfigMap read_config(torch::serialize::InputArchive& archive, const std::string& path) {
  c10::IValue text;
  if (!archive.try_read("config", text) || !text.isString()) {
    throw Error(path + ": checkpoint lacks its configuration; the file is damaged");
  }
  return decode_config(text.toStringRef());
}

int64_t config_int(const ConfigMap& config, const std::string& key, const std::string& path) {
  const auto it = config.find(key);
  try {
    if (it != config.end()) return std::stoll(it->second);
  } catch (const std::exception&) {
  }
  throw Error(path + ": checkpoint configuration has no valid '" + key + "'");
}

}  // namespace

void set_generator_state(const torch::Device& device, const torch::Tensor& state) {
  at::Generator generator = at::globalContext().defaultGenerator(device);  // a shared handle
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state.cpu());
}

GeneratorOptions generator_options(const TrainOptions& options) {
  return GeneratorOptions()
      .nz(options.nz)
      .num_classes(options.data_spec.num_classes())
      .channels(options.data_spec.channels)
      .spectral_norm(parse_spectral_norm(options.spectral_norm) == SpectralNormOn::kBoth)
      .arch(parse_arch(options.arch))
      .image_side(options.data_spec.height);
}

DiscriminatorOptions discriminator_options(const TrainOptions& options) {
  return DiscriminatorOptions()
      .dropout(options.dropout)
      .num_classes(options.data_spec.num_classes())
      .channels(options.data_spec.channels)
      .spectral_norm(parse_spectral_norm(options.spectral_norm) != SpectralNormOn::kNone)
      .arch(parse_arch(options.arch))
      .image_side(options.data_spec.height)
      .cond(parse_conditioning(options.cond));
}

TrainingState::TrainingState(const TrainOptions& options, const torch::Device& device)
    : g(generator_options(options)), d(discriminator_options(options)) {
  dcgan_init(*g);
  dcgan_init(*d);
  g->to(device);
  d->to(device);
  if (options.g_ema > 0) ema = std::make_unique<GeneratorEma>(*g, options.g_ema);
  const auto adam = [&](double lr) {
    return torch::optim::AdamOptions(lr > 0 ? lr : options.lr)
        .betas({options.beta1, options.beta2});
  };
  opt_g = std::make_unique<MultiTensorAdam>(g->parameters(), adam(options.lr_g));
  opt_d = std::make_unique<MultiTensorAdam>(d->parameters(), adam(options.lr_d));
  const auto grid =
      make_grid_noise(kGridColumns, options.nz, options.data_spec.num_classes(), device);
  grid_z = grid.z;
  grid_c = grid.c;
}

ConfigMap config_of(const TrainOptions& options) {
  ConfigMap config;
  for (const auto& spec : train_option_table()) {
    if (spec.on_resume != OnResume::kNotKept) config[spec.name] = option_value(options, spec);
  }
  if (!options.run_id.empty()) config["run_id"] = options.run_id;
  if (!options.data_fingerprint.empty()) config["data"] = options.data_fingerprint;
  for (const auto& [key, value] : options.data_spec.as_fields()) config[key] = value;
  return config;
}

std::string checkpoint_bytes(const TrainingState& state, const TrainOptions& options) {
  return checkpoint_bytes(state, config_of(options));
}

std::string checkpoint_bytes(const TrainingState& state, const ConfigMap& config) {
  torch::serialize::OutputArchive archive;
  archive.write("magic", c10::IValue(std::string(kMagic)));
  // The lowest version that holds the run (checkpoint.h), so that a release which would misread
  // it refuses it by its version.
  const auto is = [&](const char* key, const std::string& original) {
    const auto it = config.find(key);
    return it == config.end() || it->second == original;
  };
  const int64_t version = !is("d_steps", "1")                    ? kCheckpointFormatVersion
                          : !is("cond", "ac")                    ? kCondCheckpointFormatVersion
                          : !is("arch", arch_name(Arch::kCifar)) ? kArchCheckpointFormatVersion
                                                                 : kFirstCheckpointFormatVersion;
  archive.write("format_version", c10::IValue(version));
  archive.write("config", c10::IValue(encode_config(config)));
  const auto& p = state.progress;
  archive.write("progress", torch::tensor({p.epoch, p.batch, p.step}, torch::kLong));
  archive.write("G", cpu_state(*state.g));
  archive.write("D", cpu_state(*state.d));
  if (state.ema) archive.write("G_ema", cpu_state(*state.ema->generator()));
  torch::serialize::OutputArchive opt_g, opt_d;
  state.opt_g->save(opt_g);
  state.opt_d->save(opt_d);
  archive.write("opt_G", opt_g);
  archive.write("opt_D", opt_d);
  archive.write("grid_z", state.grid_z.cpu());
  // fp16's loss scale and its count of clean steps; inert in other precisions.
  archive.write("loss_scaler", torch::tensor({state.scaler.current_scale(),
                                              static_cast<double>(state.scaler.growth_tracker())},
                                             torch::kDouble));
  archive.write("rng_cpu", at::globalContext().defaultGenerator(torch::kCPU).get_state());
  const auto device = state.grid_z.device();
  if (device.is_cuda()) {
    archive.write("rng_cuda", at::globalContext().defaultGenerator(device).get_state());
  }
  if (state.rank_rng_cpu.defined()) archive.write("rng_cpu_ranks", state.rank_rng_cpu);
  if (state.rank_rng_cuda.defined()) archive.write("rng_cuda_ranks", state.rank_rng_cuda);
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

void save_checkpoint(const std::string& path, const TrainingState& state,
                     const TrainOptions& options) {
  write_file_atomic(path, checkpoint_bytes(state, options));
}

void set_recorded_option(TrainOptions& options, const std::string& key, const std::string& value,
                         const std::string& path) {
  const auto* spec = find_train_option(key);
  if (!spec || spec->on_resume == OnResume::kNotKept) return;
  bool ok = set_option_value(options, *spec, value);
  try {  // the values the rest of the file is read by must be ones this release knows
    if (ok && key == "arch") parse_arch(value);
    if (ok && key == "precision") parse_precision(value);
    if (ok && key == "cond") parse_conditioning(value);
  } catch (const UsageError&) {
    ok = false;
  }
  if (!ok) throw Error(path + ": records " + key + " '" + value + "'; the file is damaged");
}

TrainOptions options_from_config(const ConfigMap& config, const std::string& path) {
  config_int(config, "nz", path);  // every checkpoint records it
  TrainOptions options;
  for (const auto& [key, value] : config) set_recorded_option(options, key, value, path);
  options.data_spec = data_spec_from_fields(config, path);
  return options;
}

ConfigMap read_checkpoint_config(const std::string& path) {
  return read_checkpoint_config_from(read_file(path), path);
}

ConfigMap read_checkpoint_config_from(const std::string& bytes, const std::string& path) {
  auto archive = open_checkpoint(bytes, path, torch::kCPU);
  return read_config(archive, path);
}

void load_checkpoint(const std::string& path, TrainingState& state) {
  load_checkpoint_from(read_file(path), path, state);
}

void load_checkpoint_from(const std::string& bytes, const std::string& path, TrainingState& state) {
  const auto device = state.grid_z.device();
  auto archive = open_checkpoint(bytes, path, device);
  const auto config = read_config(archive, path);
  if (config_int(config, "nz", path) != state.g->nz()) {
    throw Error(path + ": written with --nz " + config.at("nz") + ", this run has --nz " +
                std::to_string(state.g->nz()));
  }
  load_state_dict(*state.g, read_dict(archive, "G", path), path + " (generator)");
  load_state_dict(*state.d, read_dict(archive, "D", path), path + " (discriminator)");
  if (state.ema) {
    load_state_dict(*state.ema->generator(), read_dict(archive, "G_ema", path),
                    path + " (G's weight average)");
  }
  try {
    torch::serialize::InputArchive opt_g, opt_d;
    archive.read("opt_G", opt_g);
    archive.read("opt_D", opt_d);
    state.opt_g->load(opt_g);
    state.opt_d->load(opt_d);
  } catch (const c10::Error& e) {
    throw Error(path + ": optimizer state unreadable (" + first_line(e.what_without_backtrace()) +
                ")");
  }
  torch::Tensor progress, grid_z, rng_cpu;
  if (!archive.try_read("progress", progress) || progress.numel() != 3 ||
      !archive.try_read("grid_z", grid_z) || !archive.try_read("rng_cpu", rng_cpu)) {
    throw Error(path +
                ": checkpoint lacks its progress, sample noise or RNG state; the file is damaged");
  }
  progress = progress.cpu();
  state.progress = {progress[0].item<int64_t>(), progress[1].item<int64_t>(),
                    progress[2].item<int64_t>()};
  if (grid_z.dim() != 2 || grid_z.size(0) != state.grid_c.size(0)) {
    throw Error(path + ": its sample noise has " + std::to_string(grid_z.size(0)) + " rows, " +
                std::to_string(state.grid_c.size(0)) + " expected; the file is damaged");
  }
  state.grid_z = grid_z.to(device);
  // Checkpoints from before --precision have no scaler state: a fresh scaler is what they ran.
  torch::Tensor scaler;
  if (archive.try_read("loss_scaler", scaler)) {
    scaler = scaler.cpu();
    const double scale = scaler.numel() == 2 ? scaler[0].item<double>() : 0.0;
    if (!(std::isfinite(scale) && scale > 0)) {
      throw Error(path + ": checkpoint's loss scale is not a positive number; the file is damaged");
    }
    state.scaler.set_state(scale, static_cast<int64_t>(scaler[1].item<double>()));
  }
  set_generator_state(torch::kCPU, rng_cpu);
  torch::Tensor rng_cuda;
  if (device.is_cuda() && archive.try_read("rng_cuda", rng_cuda))
    set_generator_state(device, rng_cuda);
  state.rank_rng_cpu = state.rank_rng_cuda = torch::Tensor();
  if (archive.try_read("rng_cpu_ranks", state.rank_rng_cpu)) {
    state.rank_rng_cpu = state.rank_rng_cpu.cpu();
    if (archive.try_read("rng_cuda_ranks", state.rank_rng_cuda))
      state.rank_rng_cuda = state.rank_rng_cuda.cpu();
  }
}

Generator load_generator(const std::string& path, DataSpec* spec) {
  std::string checkpoint_error;
  try {
    auto archive = open_checkpoint(read_file(path), path, torch::kCPU);
    const auto options = options_from_config(read_config(archive, path), path);
    Generator g(generator_options(options));
    if (spec) *spec = options.data_spec;
    c10::IValue ema;
    if (archive.try_read("G_ema", ema) && ema.isGenericDict()) {
      load_state_dict(*g, ema.toGenericDict(), path + " (G's weight average)");
      spdlog::info("{}: using G's weight average (--g_ema {})", path, options.g_ema);
    } else {
      load_state_dict(*g, read_dict(archive, "G", path), path + " (generator)");
    }
    return g;
  } catch (const Error& e) {
    checkpoint_error = e.what();
  }
  // Not a full checkpoint: accept a generator state dict (gen.pt) instead.
  std::optional<c10::impl::GenericDict> dict;
  try {
    dict = load_tensor_dict_file(path);
  } catch (const Error& e) {
    if (std::string(e.what()).find("OrderedDict") != std::string::npos) throw;
    throw Error(checkpoint_error);
  }
  return generator_from_state_dict(*dict, path, spec);
}

}  // namespace acgan
