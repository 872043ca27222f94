// Graceful stop on Ctrl-C / SIGTERM: the first signal only sets a flag, which the training loop
// reads after each step to write a checkpoint and exit 130 / 143; a second signal exits at once
// (checkpoints are written atomically, so the last good one survives that too).
#pragma once

namespace acgan {

void install_stop_handlers();
void restore_default_handlers();
// The signal that asked us to stop (SIGINT, SIGTERM), or 0.
int stop_requested();

}  // namespace acgan
