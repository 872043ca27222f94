// Crash-safe file writing: the bytes go to `path.tmp.<pid>`, are flushed to disk (fsync), and the
// temporary is renamed over `path`, so a reader sees either the old file whole or the new one
// whole, whatever moment the process dies at. A failed write (disk full, file size limit,
// permissions) removes the temporary, leaves `path` untouched and throws acgan::Error naming the
// path.
#pragma once

#include <string>
#include <string_view>

namespace acgan {

void write_file_atomic(const std::string& path, std::string_view bytes);

// Reads a whole file; throws acgan::Error naming it when it cannot be read.
std::string read_file(const std::string& path);

// Creates `dir` (and parents) if missing and checks it is a writable directory; throws
// acgan::Error naming `what` (e.g. "--outdir DIR") otherwise.
void ensure_writable_dir(const std::string& dir, const std::string& what);

}  // namespace acgan
