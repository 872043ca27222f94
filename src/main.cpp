// The acgan executable: all logic lives in the acgan_core library (see include/acgan/cli.h).
#include "acgan/cli.h"

int main(int argc, char** argv) { return acgan::run_cli(argc, argv); }
