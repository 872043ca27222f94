// Moving a run between acgan and Python's PyTorch, both ways, without Python at run time:
//   acgan import: the original script's gen.pt [and disc.pt] (torch.save(model.state_dict()), an
//                 OrderedDict: python_state_dict.h) -> an acgan checkpoint that generate, eval and
//                 --resume accept, with fresh Adam states and step 0 (logged).
//   acgan export: a checkpoint -> DIR/gen.pt and DIR/disc.pt (dicts of tensors under the original's
//                 keys, which Python's torch.load returns and the original's
//                 Generator(110).load_state_dict(...) takes with strict=True) and DIR/metadata.json
//                 (nz, classes and names, how the class enters z, step, acgan version). With a
//                 weight average (--g_ema) gen.pt holds the average, as acgan samples it, and
//                 gen_raw.pt G's own weights; metadata.json says which is which.
//                 With --torchscript, DIR/generator.pt: G as TorchScript (torchscript_export.h).
// Not here: ONNX, which scripts/export_onnx.py makes from generator.pt with python3-torch.
#pragma once

#include <cstdint>
#include <string>

#include "acgan/training/train_options.h"

namespace acgan {

struct ImportOptions {
  std::string gen;   // the original script's gen.pt (required)
  std::string disc;  // its disc.pt; empty: D starts from the original's initialisation
  std::string out;   // the checkpoint to write (output_file.h's rule)
  bool overwrite = false;
  bool allow_nonfinite = false;  // import NaN / Inf weights instead of refusing them
  int64_t seed = 0;  // the checkpoint's seed: D's fresh initialisation, later data order
};
// Returns the process exit code; throws acgan::Error / UsageError naming the file or flag.
int run_import(const ImportOptions& options);

struct ExportOptions {
  std::string checkpoint;  // a full checkpoint (checkpoint.pt, checkpoints/epoch_NNN.pt)
  std::string out;         // folder to write; its files follow output_file.h's rule
  bool overwrite = false;
  bool torchscript = false;  // also DIR/generator.pt (torchscript_export.h)
};
int run_export(const ExportOptions& options);

// metadata.json's text for a checkpoint's configuration and step.
std::string export_metadata(const TrainOptions& options, int64_t step, bool weight_average);

}  // namespace acgan
