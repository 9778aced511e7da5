#include "fd_usage.h"

#include <dirent.h>
#include <sys/resource.h>

#include <cerrno>

static_assert(EMFILE == 24 && ENFILE == 23, "IsDescriptorExhaustion assumes Linux errno values");

namespace rms {

FdUsage GetFdUsage() {
  FdUsage u;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    u.limit = rl.rlim_cur == RLIM_INFINITY ? -1 : static_cast<int64_t>(rl.rlim_cur);
    u.hardLimit = rl.rlim_max == RLIM_INFINITY ? -1 : static_cast<int64_t>(rl.rlim_max);
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    int64_t n = 0;
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
    u.open = n - 1;  // not the directory's own descriptor
  } else if (errno == EMFILE && u.limit >= 0) {
    u.open = u.limit;  // none left to count them with
  }
  return u;
}

}  // namespace rms
