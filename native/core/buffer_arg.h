// The argument of filter methods that move a variable amount of bytes
// between JS and a filter (ArgKind::Buffer in method_table.h): the addon
// points it at the JS Buffer for the length of the call, on the JS thread.
// A filter reading it (a write from JS) takes up to `size` bytes from
// `data` and sets `used` to how many it took; a filter filling it (a read by
// JS) writes up to `size` bytes and sets `used` to how many it wrote.
#pragma once
#include <cstdint>

namespace rms {

struct BufferArg {
  uint8_t* data;
  uint32_t size;
  uint32_t used;
};

}  // namespace rms
