// The filter methods that the addon lets JavaScript call, each with the one
// argument shape its C implementation reads. ms_filter_call_method() takes a
// void*, and a method id only encodes sizeof(arg): "const char" (a string or a
// single character) and every pointer look alike. Calling a method with the
// wrong shape crashes inside ms2, so anything not in this table is refused.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rms {

enum class ArgKind {
  None,        // no argument
  IntIn,       // int passed by pointer
  IntOut,      // int written by the filter
  FloatIn,     // float passed by pointer
  FloatOut,    // float written by the filter
  BoolIn,      // bool_t (unsigned char) passed by pointer
  BoolOut,     // bool_t (unsigned char) written by the filter
  String,      // NUL-terminated string
  Char,        // a single character, passed as a pointer to it
  Bytes,       // a C struct, packed by the caller; size must match
  BytesOut,    // a C struct written by the filter, returned as a Buffer
  RtpSession,  // RtpSession*, passed by pointer to the pointer
  Buffer,      // rms::BufferArg pointing at a JS Buffer (read or filled); returns the bytes used
};

struct MethodInfo {
  unsigned int id;
  const char* name;  // the C macro name, for errors and for JS constants
  ArgKind kind;
  size_t bytes;  // struct size for ArgKind::Bytes
};

const MethodInfo* FindMethod(unsigned int id);
const std::vector<MethodInfo>& AllMethods();
const char* ArgKindName(ArgKind kind);

// Size encoded in an ms2 method or event id (the low byte).
inline size_t MethodArgSize(unsigned int id) { return id & 0xFF; }

}  // namespace rms
