// The ACGAN network families acgan trains (--arch), and what each fixes: its image sides, how the
// class enters G and its default noise width. The networks themselves are in models.h and
// networks.h; how each family weights its losses is the training step's (train_step.h).
//
//   cifar        the original script's convolutional networks (../shared/seeds), 32x32 images,
//                the class one-hot in z's first K entries
//   mlp          PyTorch-GAN's fully connected ACGAN (../shared/golden/mlp_models.py): a learnt
//                class embedding in front of z, any image side 4..128
//   imagenet128  the paper's 128x128 ImageNet networks as clvrai/ACGAN-PyTorch builds them
//                (network.py _netG, _netD), the class one-hot in z's first K entries
#pragma once

#include <cstdint>
#include <string>

namespace acgan {

enum class Arch { kCifar, kMlp, kImagenet128 };

// The image side the seed's networks produce and take (their layer tables fix it).
constexpr int64_t kSeedImageSide = 32;

// "cifar" | "mlp" | "imagenet128" -> Arch; throws acgan::UsageError naming --arch otherwise.
Arch parse_arch(const std::string& name);
std::string arch_name(Arch arch);

// The image side the family's networks are built for (--image_size 0 picks it).
int64_t native_side(Arch arch);
// The image sides --image_size accepts for the family.
bool side_is_supported(Arch arch, int64_t side);
// Throws acgan::UsageError naming --image_size unless `side` is one the family takes.
void check_image_side(Arch arch, int64_t side);
// What the family takes, for messages: "32 with --arch cifar (its layer tables fix it)".
std::string supported_sides(Arch arch);
// Whether G takes the class as a one-hot in z's first K entries (so nz > K).
bool class_in_noise(Arch arch);
// nz when --nz is not given: the original's 100 noise entries, plus the K one-hot entries where
// the class is written into z.
int64_t default_nz(Arch arch, int64_t num_classes);

}  // namespace acgan
