// Reading fixed-size record files. See include/acgan/data/record_file.h.
#include "acgan/data/record_file.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "acgan/error.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

std::string with_commas(int64_t n) {
  auto digits = std::to_string(n);
  for (auto i = static_cast<int64_t>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

}  // namespace

torch::Tensor read_fixed_records(const std::string& path, int64_t record_bytes,
                                 const std::string& format, const std::string& how_to_get) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    throw Error(path + ": missing " + format + " file; " + how_to_get);
  }
  if (ec) throw Error(path + ": cannot stat: " + ec.message());
  if (status.type() != fs::file_type::regular) {
    throw Error(path + ": is " +
                (status.type() == fs::file_type::directory ? std::string("a directory")
                                                           : std::string("not a regular file")) +
                fmt::format(", expected a {} .bin file of {}-byte records", format,
                            with_commas(record_bytes)));
  }
  const auto bytes = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec) throw Error(path + ": cannot read its size: " + ec.message());
  if (bytes == 0 || bytes % record_bytes != 0) {
    throw Error(fmt::format(
        "{}: expected a whole number of {}-byte {} records, found {} bytes; the file is "
        "truncated or not {} binary",
        path, with_commas(record_bytes), format, bytes, format));
  }
  auto raw = torch::empty({bytes / record_bytes, record_bytes}, torch::kUInt8);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open for reading: " + std::strerror(errno));
  if (!in.read(reinterpret_cast<char*>(raw.data_ptr<uint8_t>()), bytes)) {
    throw Error(path + ": read failed after " + std::to_string(in.gcount()) + " of " +
                std::to_string(bytes) + " bytes");
  }
  return raw;
}

void write_fixed_records(const std::string& path, const std::vector<torch::Tensor>& fields) {
  std::vector<torch::Tensor> columns;
  for (const auto& field : fields) {
    columns.push_back(field.to(torch::kUInt8).reshape({field.size(0), -1}));
  }
  const auto records = torch::cat(columns, 1).contiguous();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(records.data_ptr<uint8_t>()), records.numel());
  if (!out) throw Error(path + ": write failed");
}

void check_label_bytes(const torch::Tensor& labels, int64_t classes, const std::string& path,
                       const std::string& format) {
  const auto bad = (labels >= classes).nonzero();
  if (bad.numel() == 0) return;
  const int64_t record = bad[0][0].item<int64_t>();
  throw Error(fmt::format(
      "{}: record {} has label byte {}, expected 0..{}; the file is corrupt or not {} binary", path,
      record, labels[record].item<int>(), classes - 1, format));
}

}  // namespace acgan
