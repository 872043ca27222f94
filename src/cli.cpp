// Flag definitions and dispatch. See include/acgan/cli.h.
#include "acgan/cli.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <new>
#include <system_error>

#include "acgan/error.h"
#include "acgan/generate.h"
#include "acgan/summary.h"
#include "acgan/trainer.h"

namespace acgan {
namespace {

// The original script's flags, with its help texts, then acgan's additions.
void add_training_flags(CLI::App& app, TrainOptions& o) {
  app.add_option("--root_dir", o.root_dir, "path to dataset")->capture_default_str();
  app.add_option("--num_workers", o.num_workers, "number of data loading workers")
      ->capture_default_str();
  app.add_option("--batch_size", o.batch_size, "input batch size")->capture_default_str();
  app.add_option("--nz", o.nz, "size of the latent z vector")->capture_default_str();
  app.add_option("--num_epochs", o.num_epochs, "number of epochs to train for")
      ->capture_default_str();
  app.add_option("--lr", o.lr, "learning rate, default=0.0002")->capture_default_str();
  app.add_option("--beta1", o.beta1, "beta1 for adam. default=0.5")->capture_default_str();
  app.add_option("--outdir", o.outdir, "folder to output images and model checkpoints")
      ->capture_default_str();

  const std::string more = "acgan additions";
  app.add_option("--seed", o.seed, "random seed; -1 draws one (logged and kept in the checkpoint)")
      ->capture_default_str()
      ->group(more);
  app.add_option("--device", o.device, "auto | cpu | cuda | cuda:N (auto: CUDA when available)")
      ->capture_default_str()
      ->group(more);
  app.add_option("--resume", o.resume_path,
                 "continue a run: from outdir/checkpoint.pt, or from the checkpoint given")
      ->expected(0, 1)
      ->group(more);
  app.add_flag("--overwrite", o.overwrite, "start a new run in an outdir that holds one")
      ->group(more);
  app.add_option("--sample_every", o.sample_every, "epochs between sample grids")
      ->capture_default_str()
      ->group(more);
  app.add_option("--checkpoint_every", o.checkpoint_every,
                 "epochs between kept checkpoints/epoch_NNN.pt")
      ->capture_default_str()
      ->group(more);
  app.add_option("--log_every", o.log_every, "iterations between log lines")
      ->capture_default_str()
      ->group(more);
  app.add_option("--subset", o.subset, "train on the first N images only (0: all)")
      ->capture_default_str()
      ->group(more);
  app.add_option("--threads", o.threads, "CPU threads (0: one per core)")
      ->capture_default_str()
      ->group(more);
  app.add_option("--dropout", o.dropout, "dropout probability in D (the original's 0.5)")
      ->capture_default_str()
      ->group(more);
  app.add_option("--precision", o.precision,
                 "fp32 | bf16 (autocast; CPU and CUDA) | fp16 (autocast + loss scaling; CUDA)")
      ->capture_default_str()
      ->group(more);
  app.add_flag("--deterministic", o.deterministic,
               "CUDA runs repeat bit for bit: no cuDNN autotuning, no TF32, deterministic kernels "
               "(slower); CPU runs always do")
      ->group(more);
}

void record_given_flags(const CLI::App& app, TrainOptions& o) {
  for (const char* name : {"nz", "batch_size", "lr", "beta1", "seed", "subset", "dropout",
                           "num_epochs", "precision", "deterministic", "threads"}) {
    if (app.count(std::string("--") + name) > 0) o.given.insert(name);
  }
  o.resume = app.count("--resume") > 0;
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

}  // namespace

int run_cli(int argc, char** argv) {
  // Past a file size limit (ulimit -f) write() should fail with EFBIG, which we report with the
  // path, instead of the default SIGXFSZ killing the process mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  // Output piped to a reader that quits (| head) must not kill a run: writes then fail with EPIPE,
  // which the log ignores.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "acgan: train an Auxiliary Classifier GAN (Odena, Olah, Shlens 2017) on CIFAR-10\n"
      "and generate class-conditioned images. Without a subcommand it trains.",
      "acgan"};
  // As argparse, which the original script used: a flag given twice takes its last value.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", std::string("acgan ") + ACGAN_VERSION);
  app.require_subcommand(0, 1);
  TrainOptions train_options;
  add_training_flags(app, train_options);

  auto* summary =
      app.add_subcommand("summary", "print both networks' layer tables (torchsummary layout)");
  int64_t summary_nz = 110;
  summary->add_option("--nz", summary_nz, "size of the latent z vector")->capture_default_str();

  auto* gen = app.add_subcommand("generate", "sample a class-by-row grid from a checkpoint");
  GenerateOptions gen_options;
  gen->add_option("--checkpoint", gen_options.checkpoint,
                  "checkpoint.pt, checkpoints/epoch_NNN.pt or gen.pt")
      ->required();
  auto* classes = gen->add_option("--classes", gen_options.classes,
                                  "comma-separated classes, numbers or names (default: all ten)");
  gen->add_option("--class", gen_options.classes, "one class, number or name")->excludes(classes);
  gen->add_option("--n", gen_options.n, "samples per class")->capture_default_str();
  gen->add_option("--seed", gen_options.seed, "noise seed")->capture_default_str();
  gen->add_option("--out", gen_options.out, "grid PNG to write")->capture_default_str();
  gen->add_option("--individual", gen_options.individual_dir, "also write one PNG per sample here");
  gen->add_option("--device", gen_options.device, "auto | cpu | cuda | cuda:N")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  try {
    if (summary->parsed()) {
      check_nz(summary_nz);
      std::cout << model_summary(summary_nz);
      return kExitOk;
    }
    if (gen->parsed()) {
      generate(gen_options);
      return kExitOk;
    }
    record_given_flags(app, train_options);
    return train(train_options);
  } catch (...) {
    return report_current_exception();
  }
}

}  // namespace acgan
