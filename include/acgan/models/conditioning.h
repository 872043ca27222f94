// How D learns the class (--cond): which class heads D has and what they output. The loss terms
// each one trains with are the training step's (training/class_losses.h).
//
//   ac   the original's auxiliary classifier: one K-way head on real and generated images
//        (Odena et al. 2017)
//   tac  twin auxiliary classifiers (Gong et al., NeurIPS 2019): the K-way head sees real images
//        only, a twin K-way head (fc_twin) learns the classes of generated ones, and G is pushed
//        toward the first and away from the twin (batmanlab/twin-auxiliary-classifiers-gan)
//   adc  auxiliary discriminative classifier (Hou et al., ICML 2022): one 2K-way head, column 2k
//        "real image of class k", 2k+1 "generated image of class k" (liang-hou/adcgan)
//
// Not here: the losses, and which images each head sees (class_losses.h).
#pragma once

#include <cstdint>
#include <string>

namespace acgan {

enum class Conditioning { kAc, kTac, kAdc };

// "ac" | "tac" | "adc" -> Conditioning; throws acgan::UsageError naming --cond otherwise.
Conditioning parse_conditioning(const std::string& name);
std::string conditioning_name(Conditioning cond);

// The width of D's class head: K, or 2K for adc (a real and a generated column per class).
int64_t class_head_width(Conditioning cond, int64_t num_classes);
// Whether D has the twin K-way head of generated images (tac).
bool has_twin_head(Conditioning cond);

}  // namespace acgan
