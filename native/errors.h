// Typed errors. lib/native.ts hands us its error classes at load time; every
// error thrown here is an instance of the matching TypeScript class and carries
// a stable `code`. Without them (a bare require of the .node file) we fall back
// to a plain Error with `code` set.
#pragma once
#include <napi.h>

#include <string>

namespace rms {

// Codes shared with lib/errors.ts.
namespace code {
constexpr const char* kInvalidArgument = "ERR_RMS_INVALID_ARGUMENT";
constexpr const char* kInvalidState = "ERR_RMS_INVALID_STATE";
constexpr const char* kUnknownName = "ERR_RMS_UNKNOWN_NAME";
constexpr const char* kLink = "ERR_RMS_LINK";
constexpr const char* kGraph = "ERR_RMS_GRAPH";
constexpr const char* kAddressInUse = "ERR_RMS_ADDRESS_IN_USE";
constexpr const char* kBind = "ERR_RMS_BIND";
constexpr const char* kDescriptors = "ERR_RMS_DESCRIPTORS";  // out of file descriptors (EMFILE/ENFILE)
constexpr const char* kMethod = "ERR_RMS_METHOD";
constexpr const char* kInUse = "ERR_RMS_IN_USE";
constexpr const char* kUnsupported = "ERR_RMS_UNSUPPORTED";
}  // namespace code

Napi::Error MakeError(Napi::Env env, const char* code, const std::string& message);
[[noreturn]] void Throw(Napi::Env env, const char* code, const std::string& message);

// Registers the JS classes: init({ errors: { [code]: Class } }).
void SetErrorClasses(Napi::Env env, Napi::Object classes);

}  // namespace rms
