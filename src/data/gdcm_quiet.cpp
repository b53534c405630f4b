#include "gdcm_quiet.hpp"

#include <gdcmTrace.h>

#include <mutex>

namespace featreuse::data {

void quiet_gdcm() {
  static std::once_flag once;
  std::call_once(once, [] {
    gdcm::Trace::WarningOff();
    gdcm::Trace::ErrorOff();
    gdcm::Trace::DebugOff();
  });
}

}  // namespace featreuse::data
