// acgan import and acgan export. See include/acgan/interop/import_export.h.
#include "acgan/interop/import_export.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "acgan/error.h"
#include "acgan/interop/torchscript_export.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/json_text.h"
#include "acgan/io/output_file.h"
#include "acgan/io/state_dict.h"
#include "acgan/training/checkpoint.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

// How G takes its inputs, for a user of gen.pt in Python.
std::string noise_text(const TrainOptions& options) {
  if (!class_in_noise(parse_arch(options.arch))) {
    return "z (N, nz) ~ N(0, 1); G(z, class) = model(cat(label_emb(class), z)) (mlp_models.py)";
  }
  return "z (N, nz) ~ N(0, 1) with z[:, :num_classes] = one_hot(class)";
}

// The run an imported gen.pt belongs to: its family, nz and image shape from its keys.
TrainOptions import_options(const c10::impl::GenericDict& gen, const std::string& path) {
  const auto g = generator_options_from_state_dict(gen, path);
  TrainOptions options;
  options.arch = arch_name(g.arch());
  options.nz = g.nz();
  // A spectrally normalised G (weight_orig keys) comes from a --spectral_norm both run.
  if (g.spectral_norm()) options.spectral_norm = "both";
  options.data_spec = bare_generator_spec(g);
  for (const auto& [flag, value] : arch_settings(options.arch))
    set_option_value(options, *find_train_option(flag), value);
  return options;
}

}  // namespace

int run_import(const ImportOptions& o) {
  if (o.gen.empty()) throw UsageError("--gen: expected the original script's gen.pt");
  if (o.out.empty()) throw UsageError("--out: expected the checkpoint file to write");
  if (o.seed < 0 || o.seed > kMaxSeed)
    throw UsageError("--seed: expected 0.." + std::to_string(kMaxSeed) + ", got " +
                     std::to_string(o.seed));
  check_output_file({"--out", o.out}, {{"--gen", o.gen}, {"--disc", o.disc}}, o.overwrite);
  const auto gen = load_tensor_dict_file(o.gen);
  auto options = import_options(gen, o.gen);
  options.seed = o.seed;
  torch::manual_seed(static_cast<uint64_t>(o.seed));
  TrainingState state(options, torch::kCPU);
  load_state_dict(*state.g, gen, o.gen);
  if (!o.disc.empty()) load_state_dict(*state.d, load_tensor_dict_file(o.disc), o.disc);
  if (!o.allow_nonfinite) {
    for (const auto& [module, file] :
         {std::pair<torch::nn::Module*, std::string>{state.g.get(), o.gen},
          {state.d.get(), o.disc}}) {
      if (!file.empty() && !all_finite(*module)) {
        throw Error(file +
                    ": holds NaN or Inf weights (a diverged run?); acgan does not import them "
                    "(--allow_nonfinite imports them anyway)");
      }
    }
  }
  save_checkpoint(o.out, state, options);
  spdlog::info("wrote {}: G from {} (nz {}), D {}; fresh Adam states, step 0, seed {}", o.out,
               o.gen, options.nz,
               o.disc.empty() ? "freshly initialised (no --disc)" : "from " + o.disc, o.seed);
  spdlog::info(
      "sample it: acgan generate --checkpoint {}; train on: acgan --root_dir DATA "
      "--outdir DIR --resume {}",
      o.out, o.out);
  return kExitOk;
}

std::string export_metadata(const TrainOptions& options, int64_t step, bool weight_average) {
  const auto& spec = options.data_spec;
  std::vector<std::string> names;
  for (const auto& name : spec.class_names) names.push_back(json_quote(name));
  return fmt::format(
      "{{\n"
      "  \"format\": \"acgan export 2\",\n"
      "  \"acgan_version\": \"{}\",\n"
      "  \"arch\": \"{}\",\n"
      "  \"step\": {},\n"
      "  \"nz\": {},\n"
      "  \"num_classes\": {},\n"
      "  \"class_names\": [{}],\n"
      "  \"dataset\": \"{}\",\n"
      "  \"image_shape\": [{}, {}, {}],\n"
      "  \"noise\": \"{}\",\n"
      "  \"generator_output\": \"images (N, {}, {}, {}) in [-1, 1]; G in eval mode (BatchNorm's "
      "running statistics), as acgan samples\",\n"
      "  \"spectral_norm\": \"{}\",\n"
      "  \"gen.pt\": \"{}\",\n"
      "  \"g_ema_decay\": {}\n"
      "}}\n",
      ACGAN_VERSION, options.arch, step, options.nz, spec.num_classes(), fmt::join(names, ", "),
      dataset_kind_name(spec.kind), spec.channels, spec.height, spec.width, noise_text(options),
      spec.channels, spec.height, spec.width, options.spectral_norm,
      weight_average ? "G's weight average (gen_raw.pt: G's own weights)" : "G's weights",
      options.g_ema);
}

int run_export(const ExportOptions& o) {
  if (o.checkpoint.empty()) throw UsageError("--checkpoint: expected a checkpoint file");
  if (o.out.empty()) throw UsageError("--out: expected a folder to write");
  auto options = options_from_config(read_checkpoint_config(o.checkpoint), o.checkpoint);
  TrainingState state(options, torch::kCPU);
  load_checkpoint(o.checkpoint, state);
  const fs::path dir(o.out);
  std::vector<std::string> files = {"gen.pt", "disc.pt", "metadata.json"};
  if (state.ema) files.push_back("gen_raw.pt");
  if (o.torchscript) files.push_back("generator.pt");
  for (const auto& file : files)
    check_output_file({"--out", (dir / file).string()}, {{"--checkpoint", o.checkpoint}},
                      o.overwrite);
  // The TorchScript first: a generator it cannot script is refused before any file is written.
  std::ostringstream script;
  if (o.torchscript) {
    generator_torchscript(state.ema ? *state.ema->generator() : *state.g, options.data_spec)
        .save(script);
  }
  ensure_writable_dir(o.out, "--out " + o.out);
  save_state_dict_file(state.ema ? *state.ema->generator() : *state.g, (dir / "gen.pt").string());
  if (state.ema) save_state_dict_file(*state.g, (dir / "gen_raw.pt").string());
  save_state_dict_file(*state.d, (dir / "disc.pt").string());
  if (o.torchscript) write_file_atomic((dir / "generator.pt").string(), script.str());
  write_file_atomic((dir / "metadata.json").string(),
                    export_metadata(options, state.progress.step, state.ema != nullptr));
  spdlog::info("exported {} (step {}) to {}: {}{}", o.checkpoint, state.progress.step, o.out,
               fmt::join(files, ", "), state.ema ? " (gen.pt holds G's weight average)" : "");
  spdlog::info("in Python: G.load_state_dict(torch.load('{}'))", (dir / "gen.pt").string());
  return kExitOk;
}

}  // namespace acgan
