#include "featreuse/core/stop.hpp"

#include <atomic>
#include <csignal>

#include "featreuse/core/error.hpp"

namespace featreuse::stop {

namespace {
std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal.store(sig == 0 ? -1 : sig); }
}  // namespace

void install_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGTERM, SIGUSR1, SIGINT}) sigaction(sig, &action, nullptr);
}

bool requested() { return g_signal.load() != 0; }
void request() { g_signal.store(-1); }
int signal_number() { return g_signal.load() > 0 ? g_signal.load() : 0; }

void throw_if_requested() {
  if (requested()) throw Interrupted();
}

}  // namespace featreuse::stop
