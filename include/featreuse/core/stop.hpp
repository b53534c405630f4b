#pragma once
// Cooperative stop: SIGTERM, SIGUSR1 (Slurm's pre-emption warning) and SIGINT
// set a flag; long loops poll it at step boundaries and raise Interrupted.
namespace featreuse::stop {

void install_handlers();
bool requested();
void request();             // for tests and programmatic stops
void throw_if_requested();  // throws featreuse::Interrupted
int signal_number();        // the signal that asked, 0 if none

}  // namespace featreuse::stop
