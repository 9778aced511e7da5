#include <string>

#include "core/audio_factory.h"
#include "errors.h"
#include "instance.h"
#include "own_filters.h"
#include "wrappers.h"

namespace rms {

Napi::Function Factory::Define(Napi::Env env) {
  return DefineClass(env, "NativeFactory",
                     {
                         InstanceMethod<&Factory::CreateFilter>("createFilter"),
                         InstanceMethod<&Factory::CreateEncoder>("createEncoder"),
                         InstanceMethod<&Factory::CreateDecoder>("createDecoder"),
                         InstanceMethod<&Factory::ListFilters>("listFilters"),
                         InstanceMethod<&Factory::RegisterBuiltinFilter>("registerBuiltinFilter"),
                         InstanceMethod<&Factory::CloseJs>("close"),
                     });
}

Factory::Factory(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Factory>(info) {
  // The audio filters, without ms2's plugin directory (the only plugin Debian
  // ships there is an OpenGL video renderer) and without probing sound cards
  // and cameras (core/audio_factory.h)
  factory_ = ms_factory_new();
  if (factory_ == nullptr) Throw(info.Env(), code::kInvalidState, "ms_factory_new() failed");
  RegisterAudioFilters(factory_);
  Instance::Get(info.Env())->factories.insert(this);
}

Factory::~Factory() {
  // Finalizer: only reached when no filter holds us (each filter keeps a strong
  // reference to its factory), so nothing can still use the handle.
  if (factory_ != nullptr) ms_factory_destroy(factory_);
  factory_ = nullptr;
  Instance* inst = Instance::Get(Env());
  if (inst) inst->factories.erase(this);
}

void Factory::CheckOpen(Napi::Env env) const {
  if (factory_ == nullptr) Throw(env, code::kInvalidState, "Factory is closed");
}

void Factory::Close() {
  if (factory_ == nullptr) return;
  Instance* inst = Instance::Get(Env());
  std::vector<Filter*> children;
  for (Filter* f : inst->filters)
    if (f->factory() == this && !f->closed()) children.push_back(f);
  for (Filter* f : children) f->Close(Env(), true);
  ms_factory_destroy(factory_);
  factory_ = nullptr;
}

Napi::Value Factory::CloseJs(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

Napi::Value Factory::Wrap(Napi::Env env, MSFilter* f) {
  Instance* inst = Instance::Get(env);
  Napi::Object obj = inst->filterCtor.New({});
  Filter* w = Filter::Unwrap(obj);
  w->Init(env, f, Value());
  return obj;
}

static std::string NamesOf(MSFactory* factory, int category) {
  std::string out;
  for (bctbx_list_t* it = factory->desc_list; it != nullptr; it = it->next) {
    auto* d = static_cast<MSFilterDesc*>(it->data);
    if (category >= 0 && (d->category != category || d->enc_fmt == nullptr)) continue;
    if (!out.empty()) out += ", ";
    out += category >= 0 ? d->enc_fmt : d->name;
  }
  return out;
}

Napi::Value Factory::CreateFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  MSFilterDesc* desc = nullptr;
  std::string what;
  if (info[0].IsString()) {
    what = info[0].As<Napi::String>().Utf8Value();
    desc = ms_factory_lookup_filter_by_name(factory_, what.c_str());
  } else if (info[0].IsNumber()) {
    int id = info[0].As<Napi::Number>().Int32Value();
    what = "id " + std::to_string(id);
    desc = ms_factory_lookup_filter_by_id(factory_, static_cast<MSFilterId>(id));
  } else {
    Throw(env, code::kInvalidArgument, "Expected a filter name (string) or id (number)");
  }
  if (desc == nullptr)
    Throw(env, code::kUnknownName, "Unknown filter " + what + "; available: " + NamesOf(factory_, -1));
  MSFilter* f = ms_factory_create_filter_from_desc(factory_, desc);
  if (f == nullptr) Throw(env, code::kInvalidState, "ms2 could not create filter " + what);
  return Wrap(env, f);
}

Napi::Value Factory::CreateCodec(const Napi::CallbackInfo& info, bool encoder) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  const char* kind = encoder ? "encoder" : "decoder";
  if (!info[0].IsString())
    Throw(env, code::kInvalidArgument, std::string("Expected a mime type (string) for the ") + kind);
  std::string mime = info[0].As<Napi::String>().Utf8Value();
  MSFilter* f =
      encoder ? ms_factory_create_encoder(factory_, mime.c_str()) : ms_factory_create_decoder(factory_, mime.c_str());
  if (f == nullptr)
    Throw(env, code::kUnknownName,
          "No " + std::string(kind) + " for " + mime + "; " + kind +
              "s available: " + NamesOf(factory_, encoder ? MS_FILTER_ENCODER : MS_FILTER_DECODER));
  return Wrap(env, f);
}

Napi::Value Factory::CreateEncoder(const Napi::CallbackInfo& info) { return CreateCodec(info, true); }
Napi::Value Factory::CreateDecoder(const Napi::CallbackInfo& info) { return CreateCodec(info, false); }

static const char* CategoryName(MSFilterCategory c) {
  switch (c) {
    case MS_FILTER_ENCODER:
      return "encoder";
    case MS_FILTER_DECODER:
      return "decoder";
    case MS_FILTER_ENCODING_CAPTURER:
      return "encoding-capturer";
    case MS_FILTER_DECODER_RENDERER:
      return "decoder-renderer";
    default:
      return "other";
  }
}

Napi::Value Factory::ListFilters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (bctbx_list_t* it = factory_->desc_list; it != nullptr; it = it->next) {
    auto* d = static_cast<MSFilterDesc*>(it->data);
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", static_cast<double>(d->id));
    o.Set("name", d->name ? d->name : "");
    o.Set("text", d->text ? d->text : "");
    o.Set("category", CategoryName(d->category));
    if (d->enc_fmt) o.Set("encFmt", d->enc_fmt);
    o.Set("inputs", d->ninputs);
    o.Set("outputs", d->noutputs);
    o.Set("enabled", static_cast<bool>(ms_factory_filter_from_name_enabled(factory_, d->name)));
    out.Set(i++, o);
  }
  return out;
}

Napi::Value Factory::RegisterBuiltinFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsString()) Throw(env, code::kInvalidArgument, "Expected the name of one of our own filters (string)");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  MSFilterDesc* desc = FindOwnFilter(name);
  if (desc == nullptr)
    Throw(env, code::kUnknownName, "No built-in filter named " + name + "; available: " + OwnFilterNames());
  if (ms_factory_lookup_filter_by_name(factory_, desc->name) == nullptr) ms_factory_register_filter(factory_, desc);
  return env.Undefined();
}

}  // namespace rms
