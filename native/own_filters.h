// Filter descriptors written in this project (see native/filters/). They are
// registered on a factory by name from JavaScript (Factory.registerBuiltin).
#pragma once
#include <string>

#include "core/ms_includes.h"

namespace rms {
MSFilterDesc* FindOwnFilter(const std::string& name);
std::string OwnFilterNames();
}  // namespace rms
