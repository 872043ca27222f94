// Data parallelism (include/acgan/distributed/): the launchers' variables, epoch shards, gradient
// averaging over real Gloo process groups (threads of this process over loopback), and whole
// jobs of two and three acgan processes: bit-identical weights, a world of one equal to a plain
// run, a bit-exact resume, a stop on one rank stopping all, and a killed or hung rank named by the
// others within the timeout. Everything runs on the CPU over loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <thread>

#include "acgan/data/epoch_batches.h"
#include "acgan/distributed/communicator.h"
#include "acgan/distributed/data_parallel.h"
#include "acgan/distributed/launch_env.h"
#include "acgan/distributed/local_launcher.h"
#include "acgan/io/atomic_file.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/train_step.h"
#include "test_support.h"

namespace fs = std::filesystem;
using acgan::testing::AcganProcess;
using acgan::testing::error_of;
using acgan::testing::expect_one_line_error;
using acgan::testing::run_acgan;
using acgan::testing::TempDir;

namespace {

std::optional<acgan::LaunchEnv> launch_env_of(const std::map<std::string, std::string>& vars) {
  return acgan::read_launch_env([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string launch_error(const std::map<std::string, std::string>& vars) {
  return error_of([&] { launch_env_of(vars); });
}

#define SKIP_WITHOUT_GLOO() \
  if (!acgan::gloo_available()) GTEST_SKIP() << "built without gloo headers (libgloo-dev)"

// `world` ranks as threads of this process, each with its own Gloo communicator over loopback;
// fn(rank, communicator) runs on each.
template <typename Fn>
void on_ranks(int64_t world, Fn fn) {
  const int port = acgan::free_local_port();
  std::vector<std::thread> threads;
  std::vector<std::string> errors(static_cast<size_t>(world));
  for (int64_t r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        acgan::LaunchEnv env;
        env.launcher = "test";
        env.rank = r;
        env.world_size = world;
        env.master_addr = "127.0.0.1";
        env.port = port;
        acgan::Communicator communicator(env, "gloo", torch::kCPU, std::chrono::seconds(60));
        fn(r, communicator);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int64_t r = 0; r < world; ++r) EXPECT_EQ(errors[static_cast<size_t>(r)], "") << "rank " << r;
}

}  // namespace

TEST(LaunchEnvTest, ReadsTorchrunSlurmAndOpenMpi) {
  EXPECT_FALSE(launch_env_of({}).has_value());
  const auto torchrun = launch_env_of({{"RANK", "3"},
                                       {"WORLD_SIZE", "8"},
                                       {"LOCAL_RANK", "1"},
                                       {"LOCAL_WORLD_SIZE", "2"},
                                       {"MASTER_ADDR", "node1"},
                                       {"MASTER_PORT", "29500"},
                                       {"TORCHELASTIC_RESTART_COUNT", "2"}});
  ASSERT_TRUE(torchrun.has_value());
  EXPECT_EQ(torchrun->launcher, "torchrun");
  EXPECT_EQ(torchrun->rank, 3);
  EXPECT_EQ(torchrun->world_size, 8);
  EXPECT_EQ(torchrun->local_rank, 1);
  EXPECT_EQ(torchrun->local_world_size, 2);
  EXPECT_EQ(torchrun->master_addr, "node1");
  EXPECT_EQ(torchrun->port, 29500);
  EXPECT_EQ(torchrun->restart_count, 2);

  const auto slurm = launch_env_of({{"SLURM_PROCID", "5"},
                                    {"SLURM_STEP_NUM_TASKS", "8"},
                                    {"SLURM_NTASKS", "8"},
                                    {"SLURM_LOCALID", "1"},
                                    {"SLURM_STEP_TASKS_PER_NODE", "4(x2)"},
                                    {"SLURM_JOB_NODELIST", "gpu[07-08,12],cpu1"},
                                    {"MASTER_PORT", "12345"}});
  ASSERT_TRUE(slurm.has_value());
  EXPECT_EQ(slurm->launcher, "slurm");
  EXPECT_EQ(slurm->rank, 5);
  EXPECT_EQ(slurm->world_size, 8);
  EXPECT_EQ(slurm->local_world_size, 4);
  EXPECT_EQ(slurm->master_addr, "gpu07");  // the first host, when MASTER_ADDR is not set

  const auto mpi = launch_env_of({{"OMPI_COMM_WORLD_RANK", "1"},
                                  {"OMPI_COMM_WORLD_SIZE", "4"},
                                  {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                                  {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                                  {"MASTER_ADDR", "10.0.0.1"},
                                  {"MASTER_PORT", "29400"}});
  ASSERT_TRUE(mpi.has_value());
  EXPECT_EQ(mpi->launcher, "mpirun");
  EXPECT_EQ(mpi->rank, 1);
  EXPECT_EQ(mpi->world_size, 4);
  EXPECT_EQ(mpi->master_addr, "10.0.0.1");

  // One task of srun or mpirun, and a batch script's own shell, are plain runs.
  EXPECT_FALSE(launch_env_of({{"SLURM_PROCID", "0"}, {"SLURM_STEP_NUM_TASKS", "1"}}).has_value());
  EXPECT_FALSE(launch_env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}}).has_value());
  EXPECT_FALSE(
      launch_env_of({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "1"}}).has_value());
  EXPECT_EQ(acgan::first_slurm_host("a1,b2"), "a1");
  EXPECT_EQ(acgan::first_slurm_host("solo"), "solo");
}

TEST(LaunchEnvTest, BadVariablesAreOneLineNamingThem) {
  const std::map<std::string, std::string> good = {
      {"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}};
  auto with = [&](const std::string& name, const std::string& value) {
    auto vars = good;
    if (value.empty())
      vars.erase(name);
    else
      vars[name] = value;
    return launch_error(vars);
  };
  EXPECT_EQ(launch_error(good), "(no error)");
  EXPECT_EQ(with("RANK", "2"), "RANK=2: expected 0..1 (WORLD_SIZE=2)");
  EXPECT_NE(with("MASTER_PORT", "").find("MASTER_PORT: not set"), std::string::npos);
  EXPECT_NE(with("MASTER_PORT", "").find("export MASTER_PORT="), std::string::npos);
  EXPECT_NE(with("MASTER_ADDR", "").find("MASTER_ADDR: not set"), std::string::npos);
  EXPECT_NE(with("MASTER_PORT", "70000").find("MASTER_PORT=70000: expected an integer in 1..65535"),
            std::string::npos);
  EXPECT_NE(with("WORLD_SIZE", "two").find("WORLD_SIZE=two: expected an integer"),
            std::string::npos);
  auto local = good;
  local["LOCAL_RANK"] = "2";
  local["LOCAL_WORLD_SIZE"] = "2";
  EXPECT_NE(launch_error(local).find("local rank 2: expected 0..1"), std::string::npos);
}

// Every image is in exactly one rank's shard, and the shards are equal; with n % world images
// left over, those (the last of the epoch's order) are the ones dropped.
TEST(DataParallelTest, EpochShardsCoverEveryImageOnce) {
  for (const int64_t n : {12, 14}) {
    const auto order = acgan::epoch_order(7, 3, n);
    std::vector<int> seen(static_cast<size_t>(n), 0);
    for (int64_t r = 0; r < 3; ++r) {
      const auto shard = acgan::epoch_shard(order, r, 3);
      EXPECT_EQ(shard.size(0), n / 3);
      for (int64_t i = 0; i < shard.size(0); ++i) ++seen[shard[i].item<int64_t>()];
    }
    for (int64_t i = 0; i < n; ++i) {
      const bool dropped = n % 3 != 0 && (order.slice(0, n - n % 3).eq(i).any().item<bool>());
      EXPECT_EQ(seen[static_cast<size_t>(i)], dropped ? 0 : 1) << "n " << n << " image " << i;
    }
  }
  const auto one = acgan::epoch_order(7, 3, 10);
  EXPECT_TRUE(torch::equal(acgan::epoch_shard(one, 0, 1), one));  // a world of one: all of it
  EXPECT_EQ(acgan::rank_seed(42, 0), 42u);
  EXPECT_NE(acgan::rank_seed(42, 1), acgan::rank_seed(43, 1));
  EXPECT_NE(acgan::rank_seed(42, 1), acgan::rank_seed(42, 2));
}

// Three ranks with their own initial weights and batches: after broadcast_state every rank has
// rank 0's weights, and after on_gradients every rank holds the same gradient, the mean of the
// three computed alone (to float32 rounding: Gloo sums in its own order).
TEST(DataParallelTest, AveragedGradientIsTheMeanOfEachRanksOwn) {
  SKIP_WITHOUT_GLOO();
  constexpr int64_t kWorld = 3;
  std::vector<acgan::Discriminator> nets;
  std::vector<torch::Tensor> inputs, labels;
  for (int64_t r = 0; r < kWorld; ++r) {
    torch::manual_seed(static_cast<uint64_t>(r));
    nets.emplace_back(acgan::DiscriminatorOptions().dropout(0));
    inputs.push_back(torch::rand({4, 3, 32, 32}) * 2 - 1);
    labels.push_back(torch::randint(0, 10, {4}, torch::kLong));
  }
  const auto initial0 = nets[0]->parameters()[0].detach().clone();
  std::vector<std::vector<torch::Tensor>> alone(kWorld), averaged(kWorld);
  on_ranks(kWorld, [&](int64_t r, acgan::Communicator& communicator) {
    acgan::DataParallel dp(communicator);
    auto& d = *nets[static_cast<size_t>(r)];
    dp.broadcast_state(d);
    const auto out = d.forward(inputs[static_cast<size_t>(r)]);
    (out.source_logit.sum() +
     torch::nn::functional::cross_entropy(out.class_logits, labels[static_cast<size_t>(r)]))
        .backward();
    for (const auto& p : d.parameters()) alone[static_cast<size_t>(r)].push_back(p.grad().clone());
    dp.on_gradients(d);
    for (const auto& p : d.parameters())
      averaged[static_cast<size_t>(r)].push_back(p.grad().clone());
  });
  for (int64_t r = 0; r < kWorld; ++r)
    EXPECT_TRUE(torch::equal(nets[static_cast<size_t>(r)]->parameters()[0], initial0)) << r;
  ASSERT_EQ(averaged[0].size(), nets[0]->parameters().size());
  float ranks_differ = 0;  // the ranks' own gradients differ: the test is not trivial
  for (size_t i = 0; i < averaged[0].size(); ++i) {
    const auto mean = (alone[0][i] + alone[1][i] + alone[2][i]) / 3;
    EXPECT_TRUE(torch::allclose(averaged[0][i], mean, /*rtol=*/1e-5, /*atol=*/1e-7)) << i;
    ranks_differ = std::max(ranks_differ, alone[0][i].sub(alone[1][i]).abs().max().item<float>());
    for (int64_t r = 1; r < kWorld; ++r)
      EXPECT_TRUE(torch::equal(averaged[static_cast<size_t>(r)][i], averaged[0][i]))
          << r << " " << i;
  }
  EXPECT_GT(ranks_differ, 1e-4);
}

// Two ranks train five whole ACGAN steps (Adam, BatchNorm, dropout) on different batches and
// noise: their weights stay bit-identical, and differ from where they started.
TEST(DataParallelTest, WeightsStayIdenticalOverSteps) {
  SKIP_WITHOUT_GLOO();
  constexpr int64_t kWorld = 2, kSteps = 5, kBatch = 6;
  acgan::TrainOptions options;
  options.nz = 20;
  std::vector<std::unique_ptr<acgan::TrainingState>> states;
  std::vector<std::vector<torch::Tensor>> reals(kWorld), classes(kWorld);
  std::vector<std::vector<acgan::Noise>> noises(kWorld);
  for (int64_t r = 0; r < kWorld; ++r) {
    torch::manual_seed(static_cast<uint64_t>(10 + r));
    states.push_back(std::make_unique<acgan::TrainingState>(options, torch::kCPU));
    for (int64_t s = 0; s < kSteps; ++s) {
      reals[r].push_back(torch::rand({kBatch, 3, 32, 32}) * 2 - 1);
      classes[r].push_back(torch::randint(0, 10, {kBatch}, torch::kLong));
      noises[r].push_back(
          acgan::make_noise(kBatch, options.nz, options.data_spec.num_classes(), torch::kCPU));
    }
  }
  const auto start = states[0]->g->parameters()[0].detach().clone();
  on_ranks(kWorld, [&](int64_t r, acgan::Communicator& communicator) {
    acgan::DataParallel dp(communicator);
    auto& state = *states[static_cast<size_t>(r)];
    dp.broadcast_state(*state.g);
    dp.broadcast_state(*state.d);
    acgan::StepOptions step;
    step.gradient_hook = &dp;
    for (int64_t s = 0; s < kSteps; ++s) {
      dp.broadcast_buffers({state.g.get(), state.d.get()});
      acgan::train_step(*state.g, *state.d, *state.opt_g, *state.opt_d, reals[r][s], classes[r][s],
                        noises[r][s], step);
    }
  });
  EXPECT_FALSE(torch::equal(states[0]->g->parameters()[0], start));
  for (auto* which : {"G", "D"}) {
    const auto a =
        std::string(which) == "G" ? states[0]->g->parameters() : states[0]->d->parameters();
    const auto b =
        std::string(which) == "G" ? states[1]->g->parameters() : states[1]->d->parameters();
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_TRUE(torch::equal(a[i], b[i])) << which << " " << i;
  }
}

// A failure on one rank, agreed: every rank throws, the others naming it and quoting it.
TEST(DataParallelTest, AgreeTurnsOneRanksErrorIntoEveryRanks) {
  SKIP_WITHOUT_GLOO();
  std::vector<std::string> messages(3);
  on_ranks(3, [&](int64_t r, acgan::Communicator& communicator) {
    communicator.agree(nullptr);  // all fine: returns everywhere
    messages[static_cast<size_t>(r)] = error_of([&] {
      std::exception_ptr failure;
      if (r == 1) failure = std::make_exception_ptr(acgan::Error("disk full on rank 1"));
      communicator.agree(failure);
    });
  });
  EXPECT_EQ(messages[1], "disk full on rank 1");
  EXPECT_EQ(messages[0], "rank 1 stopped the job: disk full on rank 1");
  EXPECT_EQ(messages[2], "rank 1 stopped the job: disk full on rank 1");
}

class DistributedTrainTest : public acgan::testing::SyntheticCifarTest<24> {  // 120 images
 protected:
  // Batch 10 a rank: 6 steps an epoch on two ranks, 4 on three.
  static std::vector<std::string> args(const std::string& outdir, int epochs) {
    return {"--root_dir",     data_dir(), "--outdir",      outdir,
            "--batch_size",   "10",       "--seed",        "5",
            "--log_every",    "1",        "--num_workers", "0",
            "--threads",      "1",        "--num_epochs",  std::to_string(epochs),
            "--dist_timeout", "20"};
  }
  // torchrun's variables for rank `rank` of `world` on `port`.
  static std::vector<std::string> rank_env(int rank, int world, int port) {
    return {"RANK=" + std::to_string(rank),
            "WORLD_SIZE=" + std::to_string(world),
            "LOCAL_RANK=" + std::to_string(rank),
            "LOCAL_WORLD_SIZE=" + std::to_string(world),
            "MASTER_ADDR=127.0.0.1",
            "MASTER_PORT=" + std::to_string(port)};
  }
  static std::vector<std::string> with(std::vector<std::string> a,
                                       const std::vector<std::string>& more) {
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  static void expect_same_networks(const std::string& a, const std::string& b) {
    for (const char* file : {"gen.pt", "disc.pt"})
      EXPECT_EQ(acgan::read_file(a + "/" + file), acgan::read_file(b + "/" + file)) << file;
  }
};

TEST_F(DistributedTrainTest, WorldOfOneEqualsThePlainRunBitForBit) {
  SKIP_WITHOUT_GLOO();
  TempDir plain, world1;
  ASSERT_EQ(run_acgan(args(plain.path(), 2)).exit_code, 0);
  const auto r = run_acgan(args(world1.path(), 2), rank_env(0, 1, acgan::free_local_port()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("data parallel: 1 ranks (torchrun launched, gloo backend)"),
            std::string::npos);
  expect_same_networks(plain.path(), world1.path());
}

// Two workers of --nproc: one checkpoint, metrics of every step once (rank 0 alone writes), the
// weights checked identical after each epoch; and a resume of the 1-epoch run is bit-exact.
TEST_F(DistributedTrainTest, TwoProcessRunResumesBitExactly) {
  SKIP_WITHOUT_GLOO();
  TempDir straight, resumed;
  const auto r = run_acgan(with(args(straight.path(), 2), {"--nproc", "2"}));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("global batch 20 (10 a rank)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("on 2 ranks, whose weights were identical after every epoch"),
            std::string::npos);
  EXPECT_EQ(acgan::testing::metric_steps(straight / "metrics.csv"),
            (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  ASSERT_EQ(run_acgan(with(args(resumed.path(), 1), {"--nproc", "2"})).exit_code, 0);
  const auto again = run_acgan(with(args(resumed.path(), 2), {"--nproc", "2", "--resume"}));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  expect_same_networks(straight.path(), resumed.path());
  // Two ranks differ from one: the same seed on one process trains other weights.
  TempDir alone;
  ASSERT_EQ(run_acgan(args(alone.path(), 2)).exit_code, 0);
  EXPECT_NE(acgan::read_file(alone / "gen.pt"), acgan::read_file(straight / "gen.pt"));
}

// SIGTERM to rank 1 alone stops both ranks at the same step with a checkpoint (exit 143), and the
// run resumed from it ends bit-identical to one never stopped.
TEST_F(DistributedTrainTest, ASignalOnOneRankStopsEveryRank) {
  SKIP_WITHOUT_GLOO();
  TempDir straight, stopped;
  ASSERT_EQ(run_acgan(with(args(straight.path(), 3), {"--nproc", "2"})).exit_code, 0);
  const int port = acgan::free_local_port();
  AcganProcess rank0(args(stopped.path(), 3), rank_env(0, 2, port));
  AcganProcess rank1(args(stopped.path(), 3), rank_env(1, 2, port));
  ASSERT_TRUE(rank0.read_until("[0/3][2/6]"));
  rank1.send_signal(SIGTERM);
  const auto r0 = rank0.wait(), r1 = rank1.wait();
  EXPECT_EQ(r0.exit_code, 143) << r0.output;
  EXPECT_EQ(r1.exit_code, 143) << r1.output;
  EXPECT_NE(r0.output.find("checkpoint written"), std::string::npos) << r0.output;
  const auto resumed = run_acgan(with(args(stopped.path(), 3), {"--nproc", "2", "--resume"}));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  expect_same_networks(straight.path(), stopped.path());
}

// A rank killed mid-run: the other two exit 1 at once, naming it.
TEST_F(DistributedTrainTest, AKilledRankIsNamedByTheOthers) {
  SKIP_WITHOUT_GLOO();
  TempDir out;
  const int port = acgan::free_local_port();
  std::vector<std::unique_ptr<AcganProcess>> ranks;
  for (int r = 0; r < 3; ++r)
    ranks.push_back(std::make_unique<AcganProcess>(args(out.path(), 50), rank_env(r, 3, port)));
  ASSERT_TRUE(ranks[0]->read_until("[0/50][1/4]"));
  ranks[1]->send_signal(SIGKILL);
  for (int r : {0, 2}) {
    const auto result = ranks[static_cast<size_t>(r)]->wait();
    expect_one_line_error(result, 1,
                          "rank 1 (pid " + std::to_string(ranks[1]->pid()) + ") has exited",
                          "rank " + std::to_string(r));
  }
}

// A rank that stops answering (SIGSTOP): the others give up after --dist_timeout and name it.
TEST_F(DistributedTrainTest, AHungRankIsNamedAfterTheTimeout) {
  SKIP_WITHOUT_GLOO();
  TempDir out;
  const int port = acgan::free_local_port();
  auto a = with(args(out.path(), 50), {"--dist_timeout", "5"});
  AcganProcess rank0(a, rank_env(0, 2, port));
  AcganProcess rank1(a, rank_env(1, 2, port));
  ASSERT_TRUE(rank0.read_until("[0/50][1/6]"));
  rank1.send_signal(SIGSTOP);
  const auto result = rank0.wait();
  expect_one_line_error(result, 1, "rank 1 (pid " + std::to_string(rank1.pid()) + ") is stopped");
  expect_one_line_error(result, 1, "Timed out");
  rank1.send_signal(SIGKILL);  // the destructor reaps it
}

TEST_F(DistributedTrainTest, BadLaunchesAreOneLine) {
  SKIP_WITHOUT_GLOO();
  TempDir out;
  // Nobody holds the rendezvous: rank 1 gives up after the timeout, naming where it looked.
  const int port = acgan::free_local_port();
  expect_one_line_error(
      run_acgan(with(args(out.path(), 1), {"--dist_timeout", "2"}), rank_env(1, 2, port)), 1,
      "rank 1: could not reach the rendezvous at MASTER_ADDR:MASTER_PORT 127.0.0.1:" +
          std::to_string(port) + " within --dist_timeout 2 s");
  expect_one_line_error(run_acgan(args(out.path(), 1), rank_env(2, 2, port)), 2,
                        "RANK=2: expected 0..1 (WORLD_SIZE=2)");
  expect_one_line_error(run_acgan(args(out.path(), 1), {"RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=x"}),
                        2, "MASTER_PORT: not set");
  expect_one_line_error(
      run_acgan(with(args(out.path(), 1), {"--nproc", "2"}), rank_env(0, 1, port)), 2,
      "--nproc: this process was started by torchrun as rank 0; leave --nproc out");
  expect_one_line_error(
      run_acgan(with(args(out.path(), 1), {"--backend", "nccl"}), rank_env(0, 1, port)), 2,
      "--backend nccl: NCCL needs a CUDA device");
  EXPECT_TRUE(fs::is_empty(out.path())) << "nothing written by a refused launch";
}

// A rank's own refusal stops the job with its words on every rank: here rank 0's outdir holds a
// run, which rank 1 cannot see for itself.
TEST_F(DistributedTrainTest, RankZerosRefusalReachesEveryRank) {
  SKIP_WITHOUT_GLOO();
  TempDir out;
  ASSERT_EQ(run_acgan(args(out.path(), 1)).exit_code, 0);
  const int port = acgan::free_local_port();
  AcganProcess rank0(args(out.path(), 1), rank_env(0, 2, port));
  AcganProcess rank1(args(out.path(), 1), rank_env(1, 2, port));
  const auto r0 = rank0.wait(), r1 = rank1.wait();
  expect_one_line_error(r0, 2, "already holds a run");
  expect_one_line_error(r1, 2, "rank 0 stopped the job: --outdir");
  // Under --nproc the workers share a terminal: the failed rank's line once, exit 2.
  const auto job = run_acgan(with(args(out.path(), 1), {"--nproc", "2"}));
  expect_one_line_error(job, 2, "already holds a run");
  size_t lines = 0;
  for (auto at = job.output.find("acgan: error:"); at != std::string::npos;
       at = job.output.find("acgan: error:", at + 1))
    ++lines;
  EXPECT_EQ(lines, 1u) << job.output;
}

// Ctrl-C reaches the workers of --nproc once, through the launcher: they stop together with a
// checkpoint and the job exits 130, as a one-process run does.
TEST_F(DistributedTrainTest, NprocForwardsCtrlCToItsWorkers) {
  SKIP_WITHOUT_GLOO();
  TempDir out;
  AcganProcess job(with(args(out.path(), 50), {"--nproc", "2"}));
  ASSERT_TRUE(job.read_until("[0/50][1/6]"));
  job.send_signal(SIGINT);
  const auto r = job.wait();
  EXPECT_EQ(r.exit_code, 130) << r.output;
  EXPECT_NE(r.output.find("checkpoint written"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--resume --nproc 2"), std::string::npos)
      << "the printed resume command must start the same job:\n"
      << r.output;
  EXPECT_TRUE(fs::exists(out / "checkpoint.pt"));
}

// A socket on 127.0.0.1 that listens (the kernel accepts into its backlog) and never answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
        listen(fd_, 64) != 0)
      throw std::runtime_error("cannot listen on 127.0.0.1");
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Joining ends within --dist_timeout plus a few seconds whatever waits at the rendezvous, with one
// line naming the cause: a listener that never speaks, a port in use, a name that does not
// resolve, more ranks than the file limit allows, more local workers than CPUs.
TEST_F(DistributedTrainTest, JoiningEndsWithinTheTimeoutNamingTheCause) {
  SKIP_WITHOUT_GLOO();
  TempDir out;
  const SilentListener silent;
  const auto port = std::to_string(silent.port());
  expect_one_line_error(
      run_acgan(with(args(out.path(), 1), {"--dist_timeout", "2"}), rank_env(1, 2, silent.port())),
      1, "rank 1: no answer from the rendezvous at MASTER_ADDR:MASTER_PORT 127.0.0.1:" + port,
      "a silent listener");
  expect_one_line_error(
      run_acgan(with(args(out.path(), 1), {"--dist_timeout", "2"}), rank_env(0, 2, silent.port())),
      1, "127.0.0.1:" + port + ": the port is in use by another process", "a busy port");
  auto unresolvable = rank_env(1, 2, silent.port());
  unresolvable[4] = "MASTER_ADDR=nonexistent.invalid";
  expect_one_line_error(run_acgan(args(out.path(), 1), unresolvable), 1,
                        "MASTER_ADDR nonexistent.invalid: the name does not resolve",
                        "an unresolvable name");
  std::string command =
      "ulimit -n 256 && exec env RANK=0 WORLD_SIZE=1000 MASTER_ADDR=127.0.0.1 "
      "MASTER_PORT=" +
      port + " " + acgan::testing::acgan_binary();
  for (const auto& a : args(out.path(), 1)) command += " " + a;
  expect_one_line_error(acgan::testing::run_program("/bin/sh", {"-c", command}), 2,
                        "WORLD_SIZE 1000: a rank holds about 2064 connections", "ulimit -n 256");
  expect_one_line_error(run_acgan(with(args(out.path(), 1), {"--nproc", "1024"})), 2,
                        "--nproc 1024: more workers than this machine's", "--nproc 1024");
  EXPECT_TRUE(fs::is_empty(out.path())) << "nothing written by a refused launch";
}

// Two processes given the same RANK: the second to arrive is told so at once, and the job of the
// others goes on.
TEST_F(DistributedTrainTest, ADuplicateRankIsNamedAsOne) {
  SKIP_WITHOUT_GLOO();
  TempDir out;
  const int port = acgan::free_local_port();
  AcganProcess rank0(args(out.path(), 1), rank_env(0, 2, port));
  AcganProcess rank1(args(out.path(), 1), rank_env(1, 2, port));
  AcganProcess again(args(out.path(), 1), rank_env(1, 2, port));
  const auto r0 = rank0.wait(), r1 = rank1.wait(), r2 = again.wait();
  EXPECT_EQ(r0.exit_code, 0) << r0.output;
  const auto& refused = r1.exit_code == 0 ? r2 : r1;
  const auto& joined = r1.exit_code == 0 ? r1 : r2;
  EXPECT_EQ(joined.exit_code, 0) << joined.output;
  expect_one_line_error(refused, 1, "another process has already joined this job as rank 1",
                        "the second rank 1");
}

// torchrun's restart of a failed job (TORCHELASTIC_RESTART_COUNT > 0) resumes by itself.
TEST_F(DistributedTrainTest, ATorchrunRestartResumes) {
  SKIP_WITHOUT_GLOO();
  TempDir out;
  ASSERT_EQ(run_acgan(args(out.path(), 1)).exit_code, 0);
  auto env = rank_env(0, 1, acgan::free_local_port());
  env.push_back("TORCHELASTIC_RESTART_COUNT=1");
  const auto r = run_acgan(args(out.path(), 2), env);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("torchrun restart 1: resuming from the latest checkpoint"),
            std::string::npos);
  EXPECT_NE(r.output.find("training epochs 2..2 from step 12"), std::string::npos) << r.output;
}

// A resume on another number of ranks continues the data order and says that the random streams
// restart: two ranks' first epoch, then one process for the second, and back.
TEST_F(DistributedTrainTest, AResumeOnAnotherWorldSizeContinues) {
  SKIP_WITHOUT_GLOO();
  TempDir out;
  ASSERT_EQ(run_acgan(with(args(out.path(), 1), {"--nproc", "2"})).exit_code, 0);
  const auto alone = run_acgan(with(args(out.path(), 2), {"--resume"}));
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  EXPECT_NE(alone.output.find("the checkpoint's run had 2 ranks, this one has 1"),
            std::string::npos)
      << alone.output;
  EXPECT_NE(alone.output.find("training epochs 2..2 from step 6 (12 iterations an epoch)"),
            std::string::npos);
  const auto two = run_acgan(with(args(out.path(), 3), {"--resume", "--nproc", "2"}));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("the checkpoint's run had 1 ranks, this one has 2"), std::string::npos)
      << two.output;
  EXPECT_EQ(acgan::testing::metric_steps(out / "metrics.csv").back(), 6 + 12 + 6);
}
