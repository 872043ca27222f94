// Crash-safe file writing: the bytes go to `path.tmp.<pid>`, are flushed to disk (fsync), and the
// temporary is renamed over `path`, so a reader sees either the old file whole or the new one
// whole, whatever moment the process dies at. A failed write (disk full, file size limit,
// permissions) removes the temporary, leaves `path` untouched and throws acgan::Error naming the
// path.
#pragma once

#include <string>
#include <string_view>

namespace acgan {

// Refuses (acgan::Error naming the path) to replace anything but a regular file this user could
// open for writing: a FIFO, a device, a directory, a symbolic link or another user's read-only file
// at `path` stays as it is.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Throws acgan::Error unless `path` is new or a regular file (what write_file_atomic requires), for
// callers that must know before they start writing a set of files.
void check_writable_target(const std::string& path);

// The temporary write_file_atomic uses for `path` in this process, and whether `file_name` is one
// of `base_name`'s temporaries (base_name + ".tmp." + a pid) left by any process.
std::string temporary_path(const std::string& path);
bool is_temporary_of(const std::string& file_name, const std::string& base_name);

// Reads a whole regular file, its size taken before reading; a FIFO, a device or a directory is
// refused without reading (no hang on /dev/zero or a FIFO). Throws acgan::Error naming the path
// and the reason (the errno's text where there is one).
std::string read_file(const std::string& path);

// Creates `dir` (and parents) if missing and checks it is a writable directory; throws
// acgan::Error naming `what` (e.g. "--outdir DIR") otherwise.
void ensure_writable_dir(const std::string& dir, const std::string& what);

}  // namespace acgan
