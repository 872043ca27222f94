// `acgan summary`: both networks' layer tables in the layout of torchsummary, which the original
// README printed (Layer (type) / Output Shape / Param #, totals, sizes in MB), so the two can be
// compared line by line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "acgan/models/models.h"

namespace acgan {

// The table for `rows`, with `input_elements` the number of floats in one input example.
std::string format_summary(const std::vector<LayerRecord>& rows, int64_t input_elements);

// Both tables for a given nz, Generator first, each under a title line.
std::string model_summary(const GeneratorOptions& g_options, const DiscriminatorOptions& d_options);

}  // namespace acgan
