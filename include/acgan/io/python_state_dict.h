// Reads what Python's torch.save(module.state_dict(), f) writes, without Python: the zip archive
// (PyTorch >= 1.6) holding data.pkl, a pickle of an OrderedDict of tensors, and data/<key>, each
// tensor storage's raw little-endian bytes. LibTorch's own unpickler turns collections.OrderedDict
// into None (pytorch/pytorch#33811, #150857), so this reads data.pkl itself, with only the pickle
// opcodes torch.save emits for a dict of tensors (protocols 2 to 4): a foreign pickle is refused
// with one line naming the opcode or global it met, not executed. The OrderedDict's _metadata
// (its BUILD state) is read and dropped.
//
// Not here: the pre-1.6 non-zip format (an error with the conversion command), tensors on another
// device than the CPU's byte layout (a CUDA-saved tensor's bytes are read as CPU bytes, which is
// what torch.load(map_location="cpu") does), and anything but a dict of tensors.
#pragma once

#include <ATen/core/Dict.h>
#include <torch/types.h>

#include <string>
#include <string_view>

namespace acgan {

// The dict, keys in file order. Throws acgan::Error naming `path` when the bytes are not such a
// file.
c10::Dict<std::string, torch::Tensor> read_python_state_dict(std::string_view bytes,
                                                             const std::string& path);

}  // namespace acgan
