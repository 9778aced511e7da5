// The native test's tiny harness, shared by its case files (core_test.cc has
// main() and the case table).
#pragma once
#include <cstdio>
#include <string>

#include "core/ms_includes.h"

namespace rms_test {

inline int g_checks = 0;
inline int g_failed = 0;  // failed checks in the current case
inline MSFactory* g_factory = nullptr;

// Cases in other files
void TestRtcpCheck();
void TestRtcpGarbageThroughOrtp();
void TestRtcpFlood();
void TestSettingsPosted();
// forward_test.cc
void TestForwardStreamStats();
void TestForwardLatch();
void TestForwardTelephoneEvents();
void TestForwardPtRules();
void TestForwardPlane();
void TestForwardStopUnderLoad();
void TestForwardHandback();
// stream_cases.cc
void TestFrameRing();
void TestInjectQueue();
void TestAudioJoin();
void TestVoiceDetect();
void TestStreamFilters();

}  // namespace rms_test

#define CHECK(cond) CHECK_MSG(cond, "%s", "")
#define CHECK_MSG(cond, ...)                                                   \
  do {                                                                         \
    ++rms_test::g_checks;                                                      \
    if (!(cond)) {                                                             \
      ++rms_test::g_failed;                                                    \
      std::fprintf(stdout, "    FAIL %s:%d: %s  ", __FILE__, __LINE__, #cond); \
      std::fprintf(stdout, __VA_ARGS__);                                       \
      std::fprintf(stdout, "\n");                                              \
    }                                                                          \
  } while (0)
#define CHECK_CONTAINS(str, needle) \
  CHECK_MSG(std::string(str).find(needle) != std::string::npos, "got \"%s\"", std::string(str).c_str())
