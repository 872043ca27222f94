// How D learns the class. See include/acgan/models/conditioning.h.
#include "acgan/models/conditioning.h"

#include "acgan/error.h"

namespace acgan {

Conditioning parse_conditioning(const std::string& name) {
  if (name == "tac") return Conditioning::kTac;
  if (name == "adc") return Conditioning::kAdc;
  require_flag(name == "ac", "cond", "ac, tac or adc", name);
  return Conditioning::kAc;
}

std::string conditioning_name(Conditioning cond) {
  switch (cond) {
    case Conditioning::kTac:
      return "tac";
    case Conditioning::kAdc:
      return "adc";
    case Conditioning::kAc:
      break;
  }
  return "ac";
}

int64_t class_head_width(Conditioning cond, int64_t num_classes) {
  return cond == Conditioning::kAdc ? 2 * num_classes : num_classes;
}

bool has_twin_head(Conditioning cond) { return cond == Conditioning::kTac; }

}  // namespace acgan
