// Flag definitions and dispatch. See include/acgan/commands/cli.h.
#include "acgan/commands/cli.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <new>
#include <system_error>
#include <type_traits>
#include <variant>

#include "acgan/commands/generate.h"
#include "acgan/commands/train.h"
#include "acgan/distributed/launch_env.h"
#include "acgan/distributed/local_launcher.h"
#include "acgan/error.h"
#include "acgan/eval/classifier_training.h"
#include "acgan/eval/eval_command.h"
#include "acgan/interop/import_export.h"
#include "acgan/models/summary.h"
#include "acgan/runtime.h"
#include "acgan/training/checkpoint.h"

namespace acgan {
namespace {

// Every row of the training flags' table (train_options.h): the original script's flags with its
// help texts, then acgan's additions; and --resume [PATH].
void add_training_flags(CLI::App& app, TrainOptions& o) {
  const std::string additions = "acgan additions";
  for (const auto& spec : train_option_table()) {
    const std::string flag = std::string("--") + spec.name;
    CLI::Option* option = std::visit(
        [&](auto member) -> CLI::Option* {
          auto& value = o.*member;
          if constexpr (std::is_same_v<std::decay_t<decltype(value)>, bool>)
            return app.add_flag(flag, value, spec.help);
          else
            return app.add_option(flag, value, spec.help)->capture_default_str();
        },
        spec.member);
    if (!spec.original) option->group(additions);
  }
  app.add_option("--resume", o.resume_path,
                 "continue a run: from outdir/checkpoint.pt, or from the checkpoint given")
      ->expected(0, 1)
      ->group(additions);
}

// The flags a resume weighs against the checkpoint, when given; and whether --resume was.
void record_given_flags(const CLI::App& app, TrainOptions& o) {
  for (const auto& spec : train_option_table()) {
    if (spec.on_resume != OnResume::kNotKept && app.count(std::string("--") + spec.name) > 0)
      o.given.insert(spec.name);
  }
  o.resume = app.count("--resume") > 0;
}

void add_classifier_train_flags(CLI::App& app, ClassifierTrainOptions& o) {
  app.add_option("--root_dir", o.root_dir, "path to dataset")->capture_default_str();
  app.add_option("--dataset", o.dataset,
                 "auto | cifar10 | cifar100 | fashion_mnist | mnist (as acgan's --dataset)")
      ->capture_default_str();
  app.add_option("--labels", o.labels, "CIFAR-100's labels: fine | coarse")->capture_default_str();
  app.add_option("--channels", o.channels,
                 "1 (grey) | 3 (RGB), as acgan's --channels; 0: the data's")
      ->capture_default_str();
  app.add_option("--out", o.out, "classifier file to write")->capture_default_str();
  app.add_option("--num_epochs", o.num_epochs, "epochs")->capture_default_str();
  app.add_option("--batch_size", o.batch_size, "batch size")->capture_default_str();
  app.add_option("--width", o.width, "the ResNet-9's base width (Page's network: 64)")
      ->capture_default_str();
  app.add_option("--lr", o.lr, "peak learning rate of the one-cycle schedule")
      ->capture_default_str();
  app.add_option("--subset", o.subset, "train on the first N images; 0: all")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "random seed")->capture_default_str();
  app.add_option("--threads", o.threads, "intra-op threads; 0: one per core")
      ->capture_default_str();
  app.add_option("--device", o.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  app.add_flag("--overwrite", o.overwrite, "replace an existing --out (never an input)");
}

void add_eval_flags(CLI::App& app, EvalCommandOptions& o, std::string& ref) {
  auto& s = o.settings;
  auto* checkpoint = app.add_option("--checkpoint", o.checkpoint,
                                    "judge samples of this checkpoint.pt, epoch_NNN.pt or gen.pt");
  app.add_option("--images", o.images,
                 "or judge the PNG files under this folder (class: subfolder or '<class>_' prefix)")
      ->excludes(checkpoint);
  app.add_option("--n", o.n, "samples drawn from --checkpoint, classes balanced")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the samples' noise, KID's subsets, MS-SSIM's pairs")
      ->capture_default_str();
  app.add_option("--root_dir", s.root_dir,
                 "the data set the checkpoint trained on (its spec says which; --images: CIFAR-10)")
      ->capture_default_str();
  app.add_option("--ref", ref, "the real images compared with: train | test")
      ->check(CLI::IsMember({"train", "test"}))
      ->capture_default_str();
  app.add_option("--inception", s.inception,
                 "TorchScript Inception-v3 (inception-2015-12-05.pt): FID, IS, KID, iFID, PR");
  app.add_option("--classifier", s.classifier,
                 "classifier from `acgan classifier train`: accuracy, classifier FD");
  app.add_option("--metrics", s.metrics,
                 "comma-separated, from fid,is,kid,ifid,pr,accuracy,classifier_fd,ms_ssim "
                 "(default: all the networks given allow)");
  app.add_option("--batch_size", s.batch_size, "images per network call")->capture_default_str();
  app.add_option("--device", s.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  app.add_option("--threads", o.threads, "intra-op threads; 0: one per core")
      ->capture_default_str();
  app.add_option("--json", o.json, "also write the results as JSON here");
  app.add_flag("--overwrite", o.overwrite, "replace an existing --json file (never an input)");
  app.add_option("--cache", o.cache,
                 "folder for the real images' features (default: $XDG_CACHE_HOME/acgan or "
                 "~/.cache/acgan); none: no cache")
      ->capture_default_str();
  app.add_option("--kid_subsets", s.kid_subsets, "KID's subsets")->capture_default_str();
  app.add_option("--kid_subset_size", s.kid_subset_size, "KID's subset size")
      ->capture_default_str();
  app.add_option("--pairs", s.ms_ssim_pairs, "MS-SSIM pairs per class")->capture_default_str();
}

int report(const std::string& message, int code) {
  std::fflush(stdout);
  fmt::print(stderr, "acgan: error: {}\n", message);
  return code;
}

// The exception being handled as one line and an exit code: ours as they are, the system's in its
// words, anything else as an internal error.
int report_current_exception() {
  try {
    throw;
  } catch (const ReportedElsewhere& e) {
    return e.code();
  } catch (const UsageError& e) {
    return report(e.what(), kExitUsage);
  } catch (const Error& e) {
    return report(e.what(), kExitFailure);
  } catch (const std::bad_alloc&) {
    return report("out of memory (a batch size, --nz or --n too large for this machine?)",
                  kExitFailure);
  } catch (const std::system_error& e) {
    // Threads that cannot start (a process limit), a file system that refuses: the OS's words.
    return report(std::string("the system refused: ") + e.what() + " (" + e.code().message() + ")",
                  kExitFailure);
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    return report("internal error: " + what.substr(0, what.find('\n')), kExitFailure);
  } catch (const std::exception& e) {
    return report(std::string("internal error: ") + e.what(), kExitFailure);
  } catch (...) {
    return report("internal error: an exception of unknown type", kExitFailure);
  }
}

// Every subcommand's options, filled by CLI11, and its parser.
struct Commands {
  TrainOptions train;
  int64_t summary_nz = 0;  // the family's default for the classes
  int64_t summary_classes = kOriginalClasses;
  int64_t summary_channels = kOriginalChannels;
  std::string summary_arch = "cifar";
  int64_t summary_image_size = 0;
  std::string summary_checkpoint;
  GenerateOptions generate;
  ClassifierTrainOptions classifier_train;
  EvalCommandOptions eval;
  std::string eval_ref = "train";
  ImportOptions import_options;
  ExportOptions export_options;
  CLI::App *summary_app = nullptr, *generate_app = nullptr, *classifier_train_app = nullptr,
           *eval_app = nullptr, *import_app = nullptr, *export_app = nullptr;
};

void add_interop_subcommands(CLI::App& app, Commands& c) {
  auto& i = c.import_options;
  c.import_app = app.add_subcommand(
      "import", "the original script's gen.pt [and disc.pt] (Python's torch.save) -> a checkpoint");
  c.import_app->add_option("--gen", i.gen, "the original's gen.pt")->required();
  c.import_app->add_option("--disc", i.disc, "its disc.pt (default: D freshly initialised)");
  c.import_app->add_option("--out", i.out, "the checkpoint to write")->required();
  c.import_app->add_flag("--overwrite", i.overwrite, "replace an existing --out (never an input)");
  c.import_app->add_flag("--allow_nonfinite", i.allow_nonfinite,
                         "import weights that hold NaN or Inf (refused otherwise)");
  c.import_app->add_option("--seed", i.seed, "the checkpoint's seed")->capture_default_str();
  auto& e = c.export_options;
  c.export_app = app.add_subcommand(
      "export", "a checkpoint -> gen.pt, disc.pt and metadata.json for Python's torch.load");
  c.export_app
      ->add_option("--checkpoint", e.checkpoint, "checkpoint.pt or checkpoints/epoch_NNN.pt")
      ->required();
  c.export_app->add_option("--out", e.out, "folder to write (created if missing)")->required();
  c.export_app->add_flag("--overwrite", e.overwrite,
                         "replace files of the same names in --out (never the --checkpoint)");
  c.export_app->add_flag("--torchscript", e.torchscript,
                         "also generator.pt: G as TorchScript (torch.jit.load, torch::jit::load)");
}

void add_generate_flags(CLI::App& gen, GenerateOptions& o) {
  gen.add_option("--checkpoint", o.checkpoint, "checkpoint.pt, checkpoints/epoch_NNN.pt or gen.pt")
      ->required();
  auto* classes = gen.add_option("--classes", o.classes,
                                 "comma-separated classes, numbers or names (default: all ten)");
  gen.add_option("--class", o.classes, "one class, number or name")->excludes(classes);
  gen.add_option("--n", o.n, "samples per class")->capture_default_str();
  gen.add_option("--seed", o.seed, "noise seed")->capture_default_str();
  gen.add_option("--out", o.out, "grid PNG to write")->capture_default_str();
  gen.add_option("--individual", o.individual_dir, "also write one PNG per sample here");
  gen.add_flag("--overwrite", o.overwrite,
               "replace existing --out and --individual files (never the --checkpoint)");
  gen.add_option("--device", o.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  gen.add_flag("--same_noise", o.same_noise,
               "one noise vector per column, shared by every class row");
  gen.add_flag(
      "--interpolate", o.interpolate,
      "each row a linear walk between two noise vectors (with --same_noise: the same walk)");
}

void add_subcommands(CLI::App& app, Commands& c) {
  c.summary_app =
      app.add_subcommand("summary", "print both networks' layer tables (torchsummary layout)");
  c.summary_app->add_option("--arch", c.summary_arch, "cifar | mlp: the network family")
      ->capture_default_str();
  c.summary_app
      ->add_option("--nz", c.summary_nz,
                   "size of the latent z vector (0: 100 + classes for cifar, 100 for mlp)")
      ->capture_default_str();
  c.summary_app
      ->add_option("--image_size", c.summary_image_size, "the images' side (0: the family's, 32)")
      ->capture_default_str();
  c.summary_app->add_option("--classes", c.summary_classes, "class count of the data")
      ->capture_default_str();
  c.summary_app->add_option("--channels", c.summary_channels, "channels of the data's images")
      ->capture_default_str();
  c.summary_app->add_option("--checkpoint", c.summary_checkpoint,
                            "the networks a checkpoint holds (its nz, classes and channels)");
  c.generate_app = app.add_subcommand("generate", "sample a class-by-row grid from a checkpoint");
  add_generate_flags(*c.generate_app, c.generate);
  auto* classifier = app.add_subcommand(
      "classifier", "acgan's own classifier of a data set, for `acgan eval --classifier`");
  classifier->require_subcommand(1);
  c.classifier_train_app =
      classifier->add_subcommand("train", "train the classifier and write it with its accuracy");
  add_classifier_train_flags(*c.classifier_train_app, c.classifier_train);
  c.eval_app = app.add_subcommand("eval",
                                  "judge a checkpoint's samples or a folder of PNGs: FID, IS, KID, "
                                  "iFID, PR, classifier accuracy and FD, MS-SSIM");
  add_eval_flags(*c.eval_app, c.eval, c.eval_ref);
  add_interop_subcommands(app, c);
}

// --nproc N: the command line checked once here, then N workers run it (local_launcher.h).
int launch_workers(TrainOptions options, int argc, char** argv) {
  apply_recipe(options);
  validate(options);
  if (const auto launch = read_launch_env()) {
    throw UsageError("--nproc: this process was started by " + launch->launcher + " as rank " +
                     std::to_string(launch->rank) + "; leave --nproc out");
  }
  // A worker per CPU (or GPU) at most: more only queue for the cores and slow every rank.
  const int64_t cpus = usable_cpus(), gpus = cuda_device_count();
  if (options.nproc > std::max(cpus, gpus) && !options.oversubscribe) {
    throw UsageError(fmt::format(
        "--nproc {}: more workers than this machine's {} CPUs{} (each rank wants one); start at "
        "most {}, or pass --oversubscribe to start them anyway",
        options.nproc, cpus, gpus > 0 ? fmt::format(" and {} GPUs", gpus) : "",
        std::max(cpus, gpus)));
  }
  return launch_local_workers(worker_arguments(argc, argv), options.nproc);
}

// `acgan summary`: the networks the flags, or a checkpoint, build.
void print_summary(const Commands& c) {
  TrainOptions options;
  if (!c.summary_checkpoint.empty()) {
    options =
        options_from_config(read_checkpoint_config(c.summary_checkpoint), c.summary_checkpoint);
  } else {
    require_flag(c.summary_classes >= 2 && c.summary_classes <= kMaxNz, "classes", "2 or more",
                 c.summary_classes);
    require_flag(c.summary_channels >= 1 && c.summary_channels <= 4, "channels", "1..4",
                 c.summary_channels);
    const Arch arch = parse_arch(c.summary_arch);
    const int64_t side = c.summary_image_size != 0 ? c.summary_image_size : native_side(arch);
    check_image_side(arch, side);
    options.arch = c.summary_arch;
    options.nz = c.summary_nz != 0 ? c.summary_nz : default_nz(arch, c.summary_classes);
    options.data_spec.channels = c.summary_channels;
    options.data_spec.height = options.data_spec.width = side;
    options.data_spec.class_names.resize(static_cast<size_t>(c.summary_classes));
  }
  check_nz(parse_arch(options.arch), options.nz, options.data_spec.num_classes());
  std::cout << model_summary(generator_options(options), discriminator_options(options));
}

// Runs the parsed command; throws what it throws.
int dispatch(const CLI::App& app, Commands& c, int argc, char** argv) {
  if (c.summary_app->parsed()) {
    print_summary(c);
    return kExitOk;
  }
  if (c.classifier_train_app->parsed()) {
    train_classifier(c.classifier_train);
    return kExitOk;
  }
  if (c.eval_app->parsed()) {
    c.eval.settings.ref = c.eval_ref == "test" ? Split::kTest : Split::kTrain;
    run_eval(c.eval);
    return kExitOk;
  }
  if (c.import_app->parsed()) return run_import(c.import_options);
  if (c.export_app->parsed()) return run_export(c.export_options);
  if (c.generate_app->parsed()) {
    generate(c.generate);
    return kExitOk;
  }
  record_given_flags(app, c.train);
  if (c.train.nproc > 0) return launch_workers(c.train, argc, argv);
  return train(c.train);
}

}  // namespace

int run_cli(int argc, char** argv) {
  // Past a file size limit (ulimit -f) write() should fail with EFBIG, which we report with the
  // path, instead of the default SIGXFSZ killing the process mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  // Output piped to a reader that quits (| head) must not kill a run: writes then fail with EPIPE,
  // which the log ignores.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "acgan: train an Auxiliary Classifier GAN (Odena, Olah, Shlens 2017) on CIFAR-10,\n"
      "generate class-conditioned images and evaluate them. Without a subcommand it trains.",
      "acgan"};
  // As argparse, which the original script used: a flag given twice takes its last value.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", std::string("acgan ") + ACGAN_VERSION);
  app.require_subcommand(0, 1);
  Commands commands;
  add_training_flags(app, commands.train);
  add_subcommands(app, commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  try {
    return dispatch(app, commands, argc, argv);
  } catch (...) {
    return report_current_exception();
  }
}

}  // namespace acgan
