// Image files for the image-folder tests, written here: PNG (RGB, grey, RGBA and, by hand,
// palette), JPEG and BMP through stb_image_write, each a flat colour unless said otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace acgan::testing {

// A w x h image of `channels` (1 grey, 3 RGB, 4 RGBA) all of `value` (one byte per channel), as
// PNG, JPEG (quality 100) or BMP by the file's extension.
void write_flat_image(const std::string& path, int w, int h, const std::vector<uint8_t>& value);

// A w x h grey PNG of the given pixels (row-major).
void write_grey_png(const std::string& path, int w, int h, const std::vector<uint8_t>& pixels);

// A w x h 8-bit palette PNG (colour type 3) of one palette entry, `rgb`.
void write_palette_png(const std::string& path, int w, int h, const std::vector<uint8_t>& rgb);

// ROOT/train/{bird,cat,dog} and ROOT/val/{bird,cat,dog}: PNG RGB, grey, RGBA and palette, and JPEG,
// of mixed sizes, `per_class` images a class in train (2 in val). Class k's images are flat with
// red value 40 + 80 k (grey ones: that value).
void write_image_folder(const std::string& root, int per_class);

}  // namespace acgan::testing
