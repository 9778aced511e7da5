#include "ms_init.h"

#include <cstdlib>
#include <mutex>

#include "ms_includes.h"

namespace rms {

void SetLibraryLogLevel(int level) {
  unsigned int mask = ORTP_FATAL;
  if (level >= 0) mask |= ORTP_ERROR;
  if (level >= 1) mask |= ORTP_WARNING;
  if (level >= 2) mask |= ORTP_MESSAGE;
  if (level >= 3) mask |= ORTP_DEBUG | ORTP_TRACE;
  ortp_set_log_level_mask(ORTP_LOG_DOMAIN, mask);
  ortp_set_log_level_mask("mediastreamer", mask);
  ortp_set_log_level_mask(nullptr, mask);
}

void EnsureLibrariesInitialised() {
  static std::once_flag once;
  std::call_once(once, [] {
    ortp_init();
    const char* env = std::getenv("RMS_NATIVE_LOG");
    SetLibraryLogLevel(env ? std::atoi(env) : 0);
  });
}

}  // namespace rms
