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
#include <type_traits>
#include <variant>

#include "acgan/error.h"
#include "acgan/generate.h"
#include "acgan/summary.h"
#include "acgan/trainer.h"

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
