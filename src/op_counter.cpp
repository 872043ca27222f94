// Counting dispatched operations. See include/acgan/op_counter.h.
#include "acgan/op_counter.h"

#include <ATen/record_function.h>
#include <torch/csrc/autograd/profiler_kineto.h>

#include <mutex>
#include <set>
#include <vector>

#include "acgan/error.h"

namespace acgan {
namespace {

// Views, allocations and metadata: no kernel runs for them.
const std::set<std::string>& not_compute() {
  static const std::set<std::string> names = {"aten::empty",
                                              "aten::empty_strided",
                                              "aten::empty_like",
                                              "aten::view",
                                              "aten::reshape",
                                              "aten::_reshape_alias",
                                              "aten::as_strided",
                                              "aten::select",
                                              "aten::slice",
                                              "aten::narrow",
                                              "aten::expand",
                                              "aten::expand_as",
                                              "aten::t",
                                              "aten::transpose",
                                              "aten::permute",
                                              "aten::unsqueeze",
                                              "aten::squeeze",
                                              "aten::detach",
                                              "aten::detach_",
                                              "aten::alias",
                                              "aten::resize_",
                                              "aten::unbind",
                                              "aten::split",
                                              "aten::chunk",
                                              "aten::view_as",
                                              "aten::lift_fresh",
                                              "aten::set_",
                                              "aten::unfold",
                                              "aten::resolve_conj",
                                              "aten::resolve_neg",
                                              "aten::_unsafe_view",
                                              "aten::unflatten",
                                              "aten::flatten",
                                              "aten::split_with_sizes",
                                              "aten::numpy_T",
                                              "aten::contiguous"};
  return names;
}

struct Counts {
  std::mutex mutex;
  std::map<std::string, int64_t> by_name;
};
Counts* g_counts = nullptr;

// An operation open on this thread. A multi-tensor (_foreach_) operation counts as one, as on
// CUDA, where it is one kernel launch (or a few) for all its tensors; on the CPU LibTorch runs it
// as per-tensor operations, which are not counted again.
struct Frame {
  bool had_child = false;
  bool multi_tensor = false;
  bool inside_multi_tensor = false;
};
thread_local std::vector<Frame> t_open;

bool is_multi_tensor(const std::string& name) {
  return name.rfind("aten::_foreach_", 0) == 0 || name.rfind("aten::_amp_foreach_", 0) == 0 ||
         name.rfind("aten::_fused_", 0) == 0;
}

std::unique_ptr<at::ObserverContext> on_enter(const at::RecordFunction& fn) {
  Frame frame;
  if (!t_open.empty()) {
    t_open.back().had_child = true;
    frame.inside_multi_tensor = t_open.back().multi_tensor || t_open.back().inside_multi_tensor;
  }
  frame.multi_tensor = is_multi_tensor(fn.name());
  t_open.push_back(frame);
  return nullptr;
}

void on_exit(const at::RecordFunction& fn, at::ObserverContext*) {
  if (t_open.empty()) return;  // entered before the counter existed
  const Frame frame = t_open.back();
  t_open.pop_back();
  if (!g_counts || frame.inside_multi_tensor) return;
  const std::string name = fn.name();
  if (!frame.multi_tensor && (frame.had_child || not_compute().count(name))) return;
  std::lock_guard<std::mutex> lock(g_counts->mutex);
  ++g_counts->by_name[name];
}

}  // namespace

OpCounter::OpCounter() {
  if (g_counts) throw Error("OpCounter: one counter at a time");
  g_counts = new Counts();
  t_open.clear();
  at::enableRecordFunction(true);
  handle_ = at::addGlobalCallback(
      at::RecordFunctionCallback(on_enter, on_exit).scopes({at::RecordScope::FUNCTION}));
}

OpCounter::~OpCounter() {
  at::removeCallback(handle_);
  delete g_counts;
  g_counts = nullptr;
}

int64_t OpCounter::count() const {
  int64_t total = 0;
  for (const auto& [name, n] : by_name()) total += n;
  return total;
}

std::map<std::string, int64_t> OpCounter::by_name() const {
  std::lock_guard<std::mutex> lock(g_counts->mutex);
  return g_counts->by_name;
}

int64_t count_cuda_kernels(const std::function<void()>& work) {
  namespace impl = torch::profiler::impl;
  namespace profiler = torch::autograd::profiler;
  const impl::ProfilerConfig config(impl::ProfilerState::KINETO);
  const std::set<impl::ActivityType> activities{impl::ActivityType::CUDA};
  try {
    profiler::prepareProfiler(config, activities);
    profiler::enableProfiler(config, activities);
  } catch (const std::exception&) {
    return -1;  // no Kineto, or no CUDA in it
  }
  try {
    work();
  } catch (...) {
    profiler::disableProfiler();
    throw;
  }
  const auto result = profiler::disableProfiler();
  int64_t kernels = 0;
  for (const auto& event : result->events()) {
    if (event.deviceType() == c10::DeviceType::CUDA) ++kernels;
  }
  return kernels;
}

}  // namespace acgan
