// The acgan executable: all logic lives in the acgan_core library (see
// include/acgan/commands/cli.h).
#include "acgan/commands/cli.h"

int main(int argc, char** argv) { return acgan::run_cli(argc, argv); }
