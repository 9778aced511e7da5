// The native tests' tiny harness, shared by core_test.cc and the files it
// links (forward_test.cc): CHECK counts and prints failures, never aborts.
#pragma once
#include <cstdio>
#include <string>

extern int g_checks;
extern int g_failed;  // failed checks in the current case

#define CHECK(cond) CHECK_MSG(cond, "%s", "")
#define CHECK_MSG(cond, ...)                                                   \
  do {                                                                         \
    ++g_checks;                                                                \
    if (!(cond)) {                                                             \
      ++g_failed;                                                              \
      std::fprintf(stdout, "    FAIL %s:%d: %s  ", __FILE__, __LINE__, #cond); \
      std::fprintf(stdout, __VA_ARGS__);                                       \
      std::fprintf(stdout, "\n");                                              \
    }                                                                          \
  } while (0)
#define CHECK_CONTAINS(str, needle) \
  CHECK_MSG(std::string(str).find(needle) != std::string::npos, "got \"%s\"", std::string(str).c_str())
