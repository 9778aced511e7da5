// Process-wide library set-up. oRTP keeps global state (its scheduler, log
// handler) that is shared by every addon instance and worker thread, so it is
// initialised once, and never torn down while another instance may use it.
#pragma once
namespace rms {
void EnsureLibrariesInitialised();
// -1 = fatal only, 0 = errors (default) ... 3 = debug. Applies to ms2, oRTP and bctoolbox.
void SetLibraryLogLevel(int level);
}  // namespace rms
