// The class terms of D's and G's losses for each --cond (models/conditioning.h), on D's outputs
// (logits, at least float32), as the reference implementations compute them. y: the real batch's
// labels; c: the classes G was asked for. CE is cross-entropy, mean over the batch.
//
//   cond  D, real images  D, generated images      G
//   ac    CE(C(x), y)     CE(C(G(z)), c)            CE(C(G(z)), c)
//                         (none with --d_class_loss_on_fakes off: ACGAN-Mod)
//   tac   CE(C(x), y)     CE(T(G(z)), c)            CE(C(G(z)), c) - CE(T(G(z)), c)
//   adc   CE(A(x), 2y)    CE(A(G(z)), 2c + 1)       CE(A(G(z)), 2c) - CE(A(G(z)), 2c + 1)
//
// C the class head, T tac's twin head, A adc's 2K-way head (column 2k: real of class k, 2k + 1:
// generated of class k). TAC as batmanlab/twin-auxiliary-classifiers-gan TAC-BigGAN/train_fns.py
// (C never learns from generated images; the twin does, and G plays against it); ADC as
// liang-hou/adcgan BigGAN-PyTorch/train_fns.py. The step adds the terms weighted by
// class_weight() to the source loss (train_step.h). Not here: the source loss, the networks.
#pragma once

#include <torch/types.h>

#include "acgan/models/conditioning.h"
#include "acgan/models/models.h"

namespace acgan {

torch::Tensor d_real_class_loss(const DiscriminatorOutput& out, const torch::Tensor& labels,
                                Conditioning cond);
// Undefined where D has no class term on generated images (ac with ac_on_fakes false).
torch::Tensor d_fake_class_loss(const DiscriminatorOutput& out, const torch::Tensor& classes,
                                Conditioning cond, bool ac_on_fakes);
torch::Tensor g_class_loss(const DiscriminatorOutput& out, const torch::Tensor& classes,
                           Conditioning cond);

// The class D sees in each image (N) int64: the class head's argmax; for adc the class whose two
// columns (real, generated) hold the most probability, argmax_k logsumexp(A_2k, A_2k+1).
torch::Tensor class_choice(const torch::Tensor& class_logits, Conditioning cond);

// The class terms' weight: --cond_lambda, where 0 means the references' weight (1 for each).
double class_weight(Conditioning cond, double cond_lambda);

}  // namespace acgan
