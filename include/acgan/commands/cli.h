// The command line: `acgan [training flags]`, `acgan summary`, `acgan generate`. Parses with CLI11,
// dispatches, and turns every acgan::Error into one line on stderr and an exit code
// (error.h): 0 done, 1 failure, 2 usage, 130 / 143 stopped by SIGINT / SIGTERM.
#pragma once

namespace acgan {

int run_cli(int argc, char** argv);

}  // namespace acgan
