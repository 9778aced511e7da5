// Open file descriptors of this process against its RLIMIT_NOFILE, for
// admission (a call needs 4 sockets) and to tell "out of descriptors" from
// other bind failures.
#pragma once
#include <cstdint>

namespace rms {

struct FdUsage {
  int64_t open = -1;       // -1: unknown (no /proc)
  int64_t limit = -1;      // soft limit, -1: unlimited
  int64_t hardLimit = -1;  // -1: unlimited
};

// Counts /proc/self/fd (one readdir; about a microsecond per 100 descriptors).
FdUsage GetFdUsage();

// Whether errno `err` means the process or the system is out of descriptors.
inline bool IsDescriptorExhaustion(int err) { return err == 24 /* EMFILE */ || err == 23 /* ENFILE */; }

}  // namespace rms
