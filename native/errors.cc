#include "errors.h"

#include "instance.h"

namespace rms {

Napi::Error MakeError(Napi::Env env, const char* code, const std::string& message) {
  Instance* inst = Instance::Get(env);
  if (inst != nullptr) {
    auto it = inst->errorClasses.find(code);
    if (it != inst->errorClasses.end() && !it->second.IsEmpty()) {
      Napi::Value v = it->second.New({Napi::String::New(env, message), Napi::String::New(env, code)});
      return Napi::Error(env, v);
    }
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

void Throw(Napi::Env env, const char* code, const std::string& message) { throw MakeError(env, code, message); }

void SetErrorClasses(Napi::Env env, Napi::Object classes) {
  Instance* inst = Instance::Get(env);
  Napi::Array keys = classes.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value v = classes.Get(key);
    if (v.IsFunction()) inst->errorClasses[key] = Napi::Persistent(v.As<Napi::Function>());
  }
}

}  // namespace rms
