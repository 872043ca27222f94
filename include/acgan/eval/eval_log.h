// outdir/eval.csv: the evaluations of a training run (--eval_every), one row per value:
//   step,epoch,metric,value
// in long form, so that a resume with other networks or metrics appends to the same file. Each
// append rewrites the file atomically (it holds a few rows per evaluation). On resume, rows past
// the checkpoint's step are dropped: the resumed run computes them again, bit for bit.
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
  std::vector<std::string> rows_;  // without the header
};

}  // namespace acgan
