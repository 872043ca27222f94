// See image_files.h.
#include "image_files.h"

#include <stb_image_write.h>
#include <zlib.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace acgan::testing {
namespace {

void put_be32(std::string& out, uint32_t v) {
  for (const int shift : {24, 16, 8, 0}) out += static_cast<char>((v >> shift) & 0xff);
}

std::string chunk(const std::string& type, const std::string& data) {
  std::string out;
  put_be32(out, static_cast<uint32_t>(data.size()));
  const std::string body = type + data;
  out += body;
  put_be32(out, static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(body.data()),
                                            static_cast<uInt>(body.size()))));
  return out;
}

}  // namespace

void write_flat_image(const std::string& path, int w, int h, const std::vector<uint8_t>& value) {
  const int c = static_cast<int>(value.size());
  std::vector<uint8_t> pixels(static_cast<size_t>(w * h * c));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = value[i % value.size()];
  auto ext = fs::path(path).extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  int ok = 0;
  if (ext == ".png") ok = stbi_write_png(path.c_str(), w, h, c, pixels.data(), w * c);
  if (ext == ".jpg") ok = stbi_write_jpg(path.c_str(), w, h, c, pixels.data(), 100);
  if (ext == ".bmp") ok = stbi_write_bmp(path.c_str(), w, h, c, pixels.data());
  if (!ok) throw std::runtime_error("write_flat_image: cannot write " + path);
}

void write_grey_png(const std::string& path, int w, int h, const std::vector<uint8_t>& pixels) {
  if (!stbi_write_png(path.c_str(), w, h, 1, pixels.data(), w)) {
    throw std::runtime_error("write_grey_png: cannot write " + path);
  }
}

void write_palette_png(const std::string& path, int w, int h, const std::vector<uint8_t>& rgb) {
  std::string header;
  put_be32(header, static_cast<uint32_t>(w));
  put_be32(header, static_cast<uint32_t>(h));
  header +=
      std::string("\x08\x03\x00\x00\x00", 5);  // depth 8, palette, deflate, no filter/interlace
  const std::string palette(rgb.begin(), rgb.end());
  std::string rows;
  for (int y = 0; y < h; ++y)
    rows += std::string(1, '\0') + std::string(static_cast<size_t>(w), '\0');
  std::vector<Bytef> packed(compressBound(static_cast<uLong>(rows.size())));
  uLongf size = static_cast<uLongf>(packed.size());
  compress(packed.data(), &size, reinterpret_cast<const Bytef*>(rows.data()),
           static_cast<uLong>(rows.size()));
  std::ofstream out(path, std::ios::binary);
  out << std::string("\x89PNG\r\n\x1a\n", 8) << chunk("IHDR", header) << chunk("PLTE", palette)
      << chunk("IDAT", std::string(packed.begin(), packed.begin() + static_cast<long>(size)))
      << chunk("IEND", "");
}

void write_image_folder(const std::string& root, int per_class) {
  const char* classes[] = {"bird", "cat", "dog"};
  for (const char* split : {"train", "val"}) {
    const int n = std::string(split) == "train" ? per_class : 2;
    for (int k = 0; k < 3; ++k) {
      const auto dir = fs::path(root) / split / classes[k];
      fs::create_directories(dir / "more");
      const auto red = static_cast<uint8_t>(40 + 80 * k);
      for (int i = 0; i < n; ++i) {
        const auto name = (dir / (std::to_string(i))).string();
        switch (i % 5) {
          case 0:
            write_flat_image(name + ".png", 40, 30, {red, 10, 200});
            break;
          case 1:
            write_flat_image(name + ".png", 32, 32, {red});
            break;  // grey
          case 2:
            write_flat_image(name + ".PNG", 50, 64, {red, 10, 200, 128});
            break;  // RGBA
          case 3:
            write_palette_png(name + ".png", 20, 20, {red, 10, 200});
            break;
          default:
            write_flat_image((dir / "more" / std::to_string(i)).string() + ".jpg", 48, 36,
                             {red, 10, 200});
        }
      }
    }
  }
}

}  // namespace acgan::testing
