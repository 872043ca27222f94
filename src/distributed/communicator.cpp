// c10d behind acgan's Communicator. See include/acgan/distributed/communicator.h.
#include "acgan/distributed/communicator.h"

#include <fmt/format.h>
#include <torch/version.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>

#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <vector>

#include "acgan/distributed/connect_guard.h"
#include "acgan/distributed/failure_diagnosis.h"
#include "acgan/error.h"

#if defined(USE_C10D_GLOO) && __has_include(<gloo/config.h>)
#define ACGAN_HAS_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#else
#define ACGAN_HAS_GLOO 0
#endif
#if defined(USE_C10D_NCCL)
#define ACGAN_HAS_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#else
#define ACGAN_HAS_NCCL 0
#endif

namespace acgan {
namespace {

// The collectives' common base: ProcessGroup in LibTorch 1.x, Backend since 2.0.
#if TORCH_VERSION_MAJOR >= 2
using CollectiveBase = c10d::Backend;
#else
using CollectiveBase = c10d::ProcessGroup;
#endif

// How long past --dist_timeout joining may take before the join deadline ends the process: c10d's
// own timeouts come first wherever it has them.
constexpr auto kJoinGrace = std::chrono::seconds(5);

std::vector<uint8_t> to_bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string to_string(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

// Turns off TCPStoreOptions::useLibUV where the field exists (LibTorch 2.2+); false elsewhere.
template <typename Options>
auto without_libuv(Options& options, int) -> decltype(options.useLibUV = false, bool()) {
  options.useLibUV = false;
  return true;
}
template <typename Options>
bool without_libuv(Options&, long) {
  return false;
}

}  // namespace

bool gloo_available() { return ACGAN_HAS_GLOO != 0; }
bool nccl_available() { return ACGAN_HAS_NCCL != 0; }

std::string resolve_backend(const std::string& backend, const torch::Device& device) {
  if (backend == "auto") {
    if (device.is_cuda() && nccl_available()) return "nccl";
    if (gloo_available()) return "gloo";
    throw UsageError(std::string("--backend auto: this acgan was built without Gloo") +
                     (device.is_cuda() ? " and NCCL" : "") +
                     " (install libgloo-dev and rebuild: scripts/setup.sh does)");
  }
  if (backend == "gloo") {
    if (!gloo_available())
      throw UsageError(
          "--backend gloo: this acgan was built without Gloo (install libgloo-dev "
          "and rebuild)");
    return backend;
  }
  if (backend == "nccl") {
    if (!device.is_cuda())
      throw UsageError("--backend nccl: NCCL needs a CUDA device, the run is on " + device.str() +
                       "; use --backend gloo or auto");
    if (!nccl_available())
      throw UsageError("--backend nccl: this acgan was built against a LibTorch without NCCL");
    return backend;
  }
  throw UsageError("--backend: expected auto, gloo or nccl, got " + backend);
}

struct Communicator::Impl {
  LaunchEnv env;
  std::string backend;
  torch::Device device{torch::kCPU};
  std::chrono::milliseconds timeout{};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<CollectiveBase> group;
  int64_t bytes_shared = 0;

  std::string rendezvous() const { return env.master_addr + ":" + std::to_string(env.port); }

  std::string host;  // this machine's name, to tell which ranks share it

  // The store's keys, for the failure diagnosis.
  struct Keys : RendezvousStore {
    c10d::Store* store = nullptr;
    bool has(const std::string& key) override { return store->check({key}); }
    std::string get(const std::string& key) override { return to_string(store->get(key)); }
    void set(const std::string& key, const std::string& value) override {
      store->set(key, to_bytes(value));
    }
  } keys;
  FailureDiagnosis diagnosis() {
    keys.store = store.get();
    return FailureDiagnosis(keys, env.rank, env.world_size, host, timeout);
  }
  [[noreturn]] void fail(const char* operation, const std::string& cause);
  void run(const char* operation, std::vector<at::Tensor>& tensors, bool reduce, int64_t root);
};

void Communicator::Impl::fail(const char* operation, const std::string& cause) {
  std::string diagnosis;
  try {
    diagnosis = this->diagnosis().diagnose([&] { group.reset(); });
  } catch (const std::exception&) {
    throw Error(fmt::format(
        "rank {}: {} failed: rank 0, which holds the rendezvous at {}, is gone (it failed or was "
        "killed; its log says why) [{}]",
        env.rank, operation, rendezvous(), cause));
  }
  throw Error(fmt::format("rank {}: {} failed: {} [{}]", env.rank, operation, diagnosis, cause));
}

void Communicator::Impl::run(const char* operation, std::vector<at::Tensor>& tensors, bool reduce,
                             int64_t root) {
  if (!group)
    throw Error("rank " + std::to_string(env.rank) + ": " + operation + " after the job failed");
  // NCCL reduces CUDA tensors only: a host tensor makes the trip.
  const bool moved = backend == "nccl" && !tensors.front().is_cuda();
  std::vector<at::Tensor> host;
  if (moved) {
    host = tensors;
    tensors = {host.front().to(device)};
  }
  try {
    if (reduce) {
      c10d::AllreduceOptions options;
      options.reduceOp = c10d::ReduceOp::SUM;  // Gloo has no AVG: callers divide
      group->allreduce(tensors, options)->wait();
    } else {
      c10d::BroadcastOptions options;
      options.rootRank = root;
      group->broadcast(tensors, options)->wait();
    }
  } catch (const c10::Error& e) {
    fail(operation, first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    fail(operation, first_line(e.what()));
  }
  if (moved) host.front().copy_(tensors.front());
}

Communicator::Communicator(const LaunchEnv& env, const std::string& backend,
                           const torch::Device& device, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.env = env;
  m.backend = resolve_backend(backend, device);
  m.device = device;
  m.timeout = timeout;
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(env.port);
  options.isServer = env.rank == 0;
  options.numWorkers = static_cast<std::size_t>(env.world_size);
  options.waitWorkers = true;
  options.timeout = timeout;
  check_world_size_fits_file_limit(env.world_size, env.rank == 0, m.backend == "gloo");
  check_master_addr_resolves(env.master_addr);
  const auto limit = fmt::format("within --dist_timeout {} (and {} s of grace)",
                                 seconds_text(timeout), kJoinGrace.count());
  JoinDeadline deadline(
      timeout + kJoinGrace,
      env.rank == 0
          ? fmt::format("rank 0: not every one of the {} ranks joined the rendezvous at {} {}",
                        env.world_size, m.rendezvous(), limit)
          : fmt::format("rank {}: no answer from the rendezvous at MASTER_ADDR:MASTER_PORT {} {} "
                        "(is rank 0 there, or something else listening on that port?)",
                        env.rank, m.rendezvous(), limit));
  try {
    try {
      m.store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    } catch (const std::exception& e) {
      // LibTorch 2.4+ asks for libuv's TCPStore by default, which Debian's build lacks.
      if (std::string(e.what()).find("libuv") == std::string::npos || !without_libuv(options, 0))
        throw;
      m.store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    }
  } catch (const std::exception& e) {
    const std::string what = first_line(e.what());
    if (env.rank == 0 && what.find("ddress already in use") != std::string::npos) {
      throw Error(fmt::format(
          "rank 0: cannot hold the rendezvous at MASTER_ADDR:MASTER_PORT {}: the port is in use "
          "by another process; choose a free MASTER_PORT",
          m.rendezvous()));
    }
    throw Error(fmt::format(
        "rank {}: {} the rendezvous at MASTER_ADDR:MASTER_PORT {} within --dist_timeout {}: {}",
        env.rank,
        env.rank == 0 ? "could not hold (or was not joined by every rank at)" : "could not reach",
        m.rendezvous(), seconds_text(timeout), what));
  }
  // Two processes given the same RANK both reach the store; the second is told at once.
  if (m.store->add(store_key("joined", env.rank), 1) > 1) {
    throw Error(fmt::format(
        "rank {}: another process has already joined this job as rank {} (RANK given twice?); "
        "each process needs its own RANK",
        env.rank, env.rank));
  }
  deadline.waiting_for(
      fmt::format("rank {}: connecting the {} ranks' {} process group did not finish {}", env.rank,
                  env.world_size, m.backend, limit));
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  m.host = name;
  try {
    m.store->set(store_key("process", env.rank), to_bytes(m.host + "/" + std::to_string(getpid())));
#if ACGAN_HAS_NCCL
    if (m.backend == "nccl") {
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = timeout;
      m.group =
          c10::make_intrusive<c10d::ProcessGroupNCCL>(m.store, env.rank, env.world_size, nccl);
    }
#endif
#if ACGAN_HAS_GLOO
    if (m.backend == "gloo") {
      auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
      const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
      gloo->devices.push_back(
          interface ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                    : c10d::ProcessGroupGloo::createDefaultDevice());
      m.group =
          c10::make_intrusive<c10d::ProcessGroupGloo>(m.store, env.rank, env.world_size, gloo);
    }
#endif
  } catch (const std::exception& e) {
    m.fail("connecting the ranks", first_line(e.what()));
  }
  if (!m.group) throw Error("--backend " + m.backend + ": not in this build");
}

Communicator::~Communicator() = default;

int64_t Communicator::rank() const { return impl_->env.rank; }
int64_t Communicator::world_size() const { return impl_->env.world_size; }
const std::string& Communicator::backend() const { return impl_->backend; }

void Communicator::all_reduce_sum(torch::Tensor& tensor) {
  std::vector<at::Tensor> tensors{tensor};
  impl_->run("an all-reduce", tensors, /*reduce=*/true, 0);
}

void Communicator::broadcast(torch::Tensor& tensor, int64_t root) {
  std::vector<at::Tensor> tensors{tensor};
  impl_->run("a broadcast", tensors, /*reduce=*/false, root);
}

std::string Communicator::broadcast_bytes(const std::string& bytes) {
  auto& m = *impl_;
  const auto key = store_key("bytes", m.bytes_shared++);
  try {
    if (m.env.rank == 0) {
      m.store->set(key, to_bytes(bytes));
      return bytes;
    }
    return to_string(m.store->get(key));  // waits for rank 0, up to the timeout
  } catch (const std::exception& e) {
    m.fail("receiving rank 0's data", first_line(e.what()));
  }
}

void Communicator::post_failure(const std::exception_ptr& failure) noexcept {
  try {
    impl_->store->set(store_key("failed", impl_->env.rank), to_bytes(posted_failure_text(failure)));
  } catch (...) {
    // The store is gone: the others learn it from their own failed collective.
  }
}

void Communicator::agree(const std::exception_ptr& local_failure) {
  auto& m = *impl_;
  if (local_failure) post_failure(local_failure);
  auto failed = torch::tensor({local_failure ? 1.0f : 0.0f});
  all_reduce_sum(failed);
  if (failed.item<float>() == 0) return;
  const auto first = m.diagnosis().first_posted_failure();
  auto read = torch::tensor({1.0f});
  all_reduce_sum(read);  // every rank has read before rank 0 (the store) may exit
  if (local_failure) std::rethrow_exception(local_failure);
  if (!first) throw Error("another rank failed without saying why");
  const std::string text = fmt::format("rank {} stopped the job: {}", first->rank, first->line);
  const bool usage = first->usage;
  // acgan --nproc's workers share one terminal, where the failed rank has said it already.
  if (std::getenv("ACGAN_NPROC_LAUNCHER"))
    throw ReportedElsewhere(text, usage ? kExitUsage : kExitFailure);
  if (usage) throw UsageError(text);
  throw Error(text);
}

}  // namespace acgan
