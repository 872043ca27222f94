// outdir/eval.csv: the evaluations of a training run (--eval_every), one row per evaluation:
//   step,epoch,<each value of the report, in report order: fid,is_mean,...>
// Each append rewrites the file atomically (it holds one row per evaluation). On resume, rows past
// the checkpoint's step are dropped: the resumed run computes them again, bit for bit. A resume
// that evaluates other values (other networks) keeps the old file aside as
// eval.csv.before-step-N (N: the first step it resumes at), as metrics.csv does with rows it
// cannot read, and starts a new one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "acgan/eval/evaluator.h"

namespace acgan {

class EvalLog {
 public:
  // Reads `path` if it exists, keeping the rows up to `resume_step`; a line that is not a row
  // is dropped with a warning.
  EvalLog(std::string path, int64_t resume_step);
  void append(int64_t step, int64_t epoch, const EvalReport& report);

 private:
  std::string path_;
  int64_t resume_step_;
  std::string header_;             // "" until the file has one
  std::vector<std::string> rows_;  // without the header
};

}  // namespace acgan
