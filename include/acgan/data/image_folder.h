// A folder of labelled images in torchvision ImageFolder's convention: ROOT/<class>/<image>,
// classes in sorted order, PNG, JPEG and BMP files (anywhere below their class folder), decoded
// with stb_image, converted to the run's channel count, resized so the shorter side is the
// networks' (then a centre crop) and held in memory as uint8. ROOT/train/ and ROOT/test/ (or
// val/) are the splits when present; otherwise both splits are ROOT's images.
//
// Only regular files are opened: symbolic links are followed to regular files and folders (each
// folder once, so a link loop ends), FIFOs, sockets and devices are never opened. Every file is
// looked at (its header) before anything is written: an unreadable, empty or undecodable image is
// named, or with skip_bad counted in one warning.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "acgan/data/data_spec.h"
#include "acgan/data/image_dataset.h"

namespace acgan {

struct ImageFolderOptions {
  int64_t side = 0;       // the networks' image side
  int64_t channels = 0;   // 1 or 3; 0: the data's (1 when every image is grey, else 3)
  bool skip_bad = false;  // --skip_bad_images
};

// What a path that is neither a regular file nor a folder is ("a FIFO", "a device", ...), for the
// line that names it; such paths are never opened.
std::string not_a_file_reason(const std::filesystem::file_status& status);

// Whether `root` looks like an image folder (a subfolder holding an image file, directly or under
// train/), for --dataset auto.
bool is_image_folder(const std::string& root);

// The spec (classes, channels, side) from the files' headers alone; throws Error naming a bad file
// (unless skip_bad), an empty folder, or a folder that would not fit in memory.
DataSpec image_folder_spec(const std::string& root, const ImageFolderOptions& options);

// Images in the training split (after the headers' check).
int64_t image_folder_train_size(const std::string& root, const ImageFolderOptions& options);

// Decodes a split. The data set's fingerprint covers the file list and every file's bytes.
ImageDataset read_image_folder_split(const std::string& root, Split split,
                                     const ImageFolderOptions& options);

}  // namespace acgan
