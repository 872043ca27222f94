// Precompiled header: the LibTorch C++ API, compiled once per build instead of once per file.
#pragma once
#include <torch/torch.h>
