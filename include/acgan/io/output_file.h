// The one rule for every output file a user names on a command line (eval --json, generate --out
// and --individual's files, classifier train --out, import --out, export --out's files):
//   - an output that is one of the command's inputs (the same file, or an existing file inside an
//     input folder) is refused, always;
//   - an existing file is refused unless the command was given --overwrite;
//   - anything but a regular file, and a file the user could not open for writing, is never
//     replaced (check_writable_target, which write_file_atomic repeats).
// It decides before anything is read or written; it does not write (atomic_file.h does).
// A training run's own outdir files follow outdir.h's rule instead.
#pragma once

#include <string>
#include <vector>

namespace acgan {

// A path and the flag that named it ("--checkpoint", "--out"), for the error line.
struct NamedPath {
  std::string flag;
  std::string path;
};

// Throws acgan::UsageError naming `output`'s flag and path when the rule above refuses it.
// `inputs` with an empty path are ignored.
void check_output_file(const NamedPath& output, const std::vector<NamedPath>& inputs,
                       bool overwrite);

// Whether `output` names the same file as `input`, or a file inside the folder `input`.
bool is_same_or_inside(const std::string& output, const std::string& input);

// `dir`/`name` when nothing is there, else the first free `dir`/stem_N.ext: a path to suggest in
// a message ("make one with ... --out PATH") that never points at an existing file.
std::string unused_path(const std::string& dir, const std::string& name);

}  // namespace acgan
