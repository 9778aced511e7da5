#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/graph_check.h"
#include "core/buffer_arg.h"
#include "core/method_table.h"
#include "errors.h"
#include "instance.h"
#include "wrappers.h"

namespace rms {

namespace {
// Events waiting for the JS thread per filter; past this the ticker drops new
// ones (and counts them) rather than growing memory while JS is stalled.
constexpr size_t kMaxPendingEvents = 1024;

void DeliverEvent(Napi::Env env, Napi::Function cb, const FilterEvent& e, uint64_t droppedBefore) {
  auto payload = Napi::Buffer<uint8_t>::Copy(env, e.data, e.size);
  cb.Call({Napi::Number::New(env, static_cast<double>(e.id)), payload,
           Napi::Number::New(env, static_cast<double>(droppedBefore))});
}
}  // namespace

Napi::Function Filter::Define(Napi::Env env) {
  return DefineClass(env, "NativeFilter",
                     {
                         InstanceMethod<&Filter::Link>("link"),
                         InstanceMethod<&Filter::Unlink>("unlink"),
                         InstanceMethod<&Filter::Links>("links"),
                         InstanceMethod<&Filter::Call>("call"),
                         InstanceMethod<&Filter::Implements>("implements"),
                         InstanceMethod<&Filter::HasMethod>("hasMethod"),
                         InstanceMethod<&Filter::OnNotify>("onNotify"),
                         InstanceMethod<&Filter::Info>("info"),
                         InstanceMethod<&Filter::IsAttached>("isAttached"),
                         InstanceMethod<&Filter::CloseJs>("close"),
                     });
}

Filter::Filter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Filter>(info) {}

void Filter::Init(Napi::Env env, MSFilter* f, Napi::Object factory) {
  f_ = f;
  factory_ = Napi::Persistent(factory);
  factoryWrap_ = Factory::Unwrap(factory);
  Instance* inst = Instance::Get(env);
  inst->filters.insert(this);
  inst->filterByHandle[f] = this;
}

Filter::~Filter() {
  // A filter that is linked or attached is pinned (strongly referenced) and
  // never reaches its finalizer; an unpinned one can be freed right here.
  if (f_ != nullptr) Close(Env(), true);
  Instance* inst = Instance::Get(Env());
  if (inst) inst->filters.erase(this);
}

Filter* Filter::FromValue(Napi::Env env, Napi::Value v, const char* what) {
  Instance* inst = Instance::Get(env);
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(inst->filterCtor.Value()))
    Throw(env, code::kInvalidArgument, std::string("Expected a Filter for ") + what);
  Filter* f = Filter::Unwrap(v.As<Napi::Object>());
  if (f->closed()) Throw(env, code::kInvalidState, std::string("The Filter given for ") + what + " is closed");
  return f;
}

Filter* Filter::Lookup(Napi::Env env, MSFilter* f) {
  Instance* inst = Instance::Get(env);
  if (inst == nullptr || f == nullptr) return nullptr;
  auto it = inst->filterByHandle.find(f);
  return it == inst->filterByHandle.end() ? nullptr : it->second;
}

void Filter::CheckOpen(Napi::Env env) const {
  if (f_ == nullptr) Throw(env, code::kInvalidState, "Filter is closed");
}

void Filter::SetAttachedRoot(bool v) {
  attachedRoot_ = v;
  UpdatePin();
}

void Filter::UpdatePin() {
  bool want = f_ != nullptr && (attachedRoot_ || LinkCount(f_) > 0);
  if (want && !pinned_) {
    Ref();
    pinned_ = true;
  } else if (!want && pinned_) {
    pinned_ = false;
    Unref();
  }
}

static int PinArg(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) Throw(env, code::kInvalidArgument, std::string("Expected a pin number for ") + what);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < 0 || d > 255 || d != std::floor(d))
    Throw(env, code::kInvalidArgument, std::string("Expected an integer pin 0..255 for ") + what);
  return static_cast<int>(d);
}

// link(outPin, dst, inPin)
Napi::Value Filter::Link(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  int outPin = PinArg(env, info[0], "the output pin");
  Filter* dst = FromValue(env, info[1], "the link destination");
  int inPin = PinArg(env, info[2], "the input pin");
  MSFilter* a = f_;
  MSFilter* b = dst->f_;
  if (a->ticker || b->ticker)
    Throw(env, code::kInvalidState,
          std::string("Cannot link ") + a->desc->name + " -> " + b->desc->name +
              " while their graph is attached to a ticker; detach it first");
  if (outPin >= a->desc->noutputs)
    Throw(env, code::kLink,
          std::string(a->desc->name) + " has " + std::to_string(a->desc->noutputs) + " output pin(s); pin " +
              std::to_string(outPin) + " does not exist");
  if (inPin >= b->desc->ninputs)
    Throw(env, code::kLink,
          std::string(b->desc->name) + " has " + std::to_string(b->desc->ninputs) + " input pin(s); pin " +
              std::to_string(inPin) + " does not exist");
  if (a->outputs[outPin] != nullptr)
    Throw(env, code::kLink,
          std::string("Output pin ") + std::to_string(outPin) + " of " + a->desc->name + " is already linked to " +
              a->outputs[outPin]->next.filter->desc->name);
  if (b->inputs[inPin] != nullptr)
    Throw(env, code::kLink,
          std::string("Input pin ") + std::to_string(inPin) + " of " + b->desc->name + " is already linked from " +
              b->inputs[inPin]->prev.filter->desc->name);
  if (ms_filter_link(a, outPin, b, inPin) != 0)
    Throw(env, code::kLink, std::string("ms_filter_link failed for ") + a->desc->name + " -> " + b->desc->name);
  UpdatePin();
  dst->UpdatePin();
  return env.Undefined();
}

// unlink(outPin, dst, inPin)
Napi::Value Filter::Unlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  int outPin = PinArg(env, info[0], "the output pin");
  Filter* dst = FromValue(env, info[1], "the unlink destination");
  int inPin = PinArg(env, info[2], "the input pin");
  MSFilter* a = f_;
  MSFilter* b = dst->f_;
  if (a->ticker || b->ticker)
    Throw(env, code::kInvalidState, "Cannot unlink filters while their graph is attached to a ticker; detach it first");
  if (outPin >= a->desc->noutputs || inPin >= b->desc->ninputs || a->outputs[outPin] == nullptr ||
      a->outputs[outPin]->next.filter != b || a->outputs[outPin]->next.pin != inPin)
    Throw(env, code::kLink,
          std::string("No link ") + a->desc->name + ":" + std::to_string(outPin) + " -> " + b->desc->name + ":" +
              std::to_string(inPin));
  ms_filter_unlink(a, outPin, b, inPin);
  UpdatePin();
  dst->UpdatePin();
  return env.Undefined();
}

// links(): [{dir: 'in'|'out', pin, peer: Filter|null, peerPin}]
Napi::Value Filter::Links(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  auto add = [&](const char* dir, int pin, MSFilter* peer, int peerPin) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("dir", dir);
    o.Set("pin", pin);
    Filter* w = Lookup(env, peer);
    o.Set("peer", w ? w->Value() : env.Null());
    o.Set("peerPin", peerPin);
    out.Set(n++, o);
  };
  for (int p = 0; p < f_->desc->ninputs; ++p)
    if (f_->inputs[p]) add("in", p, f_->inputs[p]->prev.filter, f_->inputs[p]->prev.pin);
  for (int p = 0; p < f_->desc->noutputs; ++p)
    if (f_->outputs[p]) add("out", p, f_->outputs[p]->next.filter, f_->outputs[p]->next.pin);
  return out;
}

// call(methodId, arg?) -> number | undefined
Napi::Value Filter::Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsNumber()) Throw(env, code::kInvalidArgument, "Expected a method id (number)");
  unsigned int id = info[0].As<Napi::Number>().Uint32Value();
  const MethodInfo* m = FindMethod(id);
  if (m == nullptr) Throw(env, code::kMethod, "Method id " + std::to_string(id) + " is not bridged");
  if (!ms_filter_has_method(f_, id))
    Throw(env, code::kMethod, std::string(f_->desc->name) + " does not implement " + m->name);
  const std::string what = std::string(m->name) + " on " + f_->desc->name;
  int ret = 0;
  switch (m->kind) {
    case ArgKind::None:
      ret = ms_filter_call_method_noarg(f_, id);
      break;
    case ArgKind::IntIn: {
      if (!info[1].IsNumber()) Throw(env, code::kInvalidArgument, "Expected a number for " + what);
      int v = info[1].As<Napi::Number>().Int32Value();
      ret = ms_filter_call_method(f_, id, &v);
      break;
    }
    case ArgKind::FloatIn: {
      if (!info[1].IsNumber()) Throw(env, code::kInvalidArgument, "Expected a number for " + what);
      float v = info[1].As<Napi::Number>().FloatValue();
      ret = ms_filter_call_method(f_, id, &v);
      break;
    }
    case ArgKind::BoolIn: {
      if (!info[1].IsBoolean()) Throw(env, code::kInvalidArgument, "Expected a boolean for " + what);
      bool_t v = info[1].As<Napi::Boolean>().Value() ? TRUE : FALSE;
      ret = ms_filter_call_method(f_, id, &v);
      break;
    }
    case ArgKind::IntOut: {
      int v = 0;
      ret = ms_filter_call_method(f_, id, &v);
      if (ret == 0) return Napi::Number::New(env, v);
      break;
    }
    case ArgKind::FloatOut: {
      float v = 0;
      ret = ms_filter_call_method(f_, id, &v);
      if (ret == 0) return Napi::Number::New(env, v);
      break;
    }
    case ArgKind::BoolOut: {
      bool_t v = 0;
      ret = ms_filter_call_method(f_, id, &v);
      if (ret == 0) return Napi::Boolean::New(env, v != 0);
      break;
    }
    case ArgKind::String: {
      if (!info[1].IsString()) Throw(env, code::kInvalidArgument, "Expected a string for " + what);
      std::string s = info[1].As<Napi::String>().Utf8Value();
      if (s.find('\0') != std::string::npos) Throw(env, code::kInvalidArgument, "NUL byte in the string for " + what);
      ret = ms_filter_call_method(f_, id, const_cast<char*>(s.c_str()));
      break;
    }
    case ArgKind::Char: {
      if (!info[1].IsString()) Throw(env, code::kInvalidArgument, "Expected a one-character string for " + what);
      std::string s = info[1].As<Napi::String>().Utf8Value();
      if (s.size() != 1) Throw(env, code::kInvalidArgument, "Expected exactly one character for " + what);
      char c = s[0];
      ret = ms_filter_call_method(f_, id, &c);
      break;
    }
    case ArgKind::Bytes: {
      if (!info[1].IsBuffer()) Throw(env, code::kInvalidArgument, "Expected a Buffer for " + what);
      auto buf = info[1].As<Napi::Buffer<uint8_t>>();
      if (buf.Length() != m->bytes)
        Throw(env, code::kInvalidArgument,
              "Expected a Buffer of " + std::to_string(m->bytes) + " bytes for " + what + ", got " +
                  std::to_string(buf.Length()));
      std::vector<uint8_t> copy(buf.Data(), buf.Data() + buf.Length());
      ret = ms_filter_call_method(f_, id, copy.data());
      break;
    }
    case ArgKind::BytesOut: {
      std::vector<uint8_t> out(m->bytes, 0);
      ret = ms_filter_call_method(f_, id, out.data());
      if (ret == 0) return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
      break;
    }
    case ArgKind::Buffer: {
      // the filter reads or fills the JS Buffer in place, synchronously, on this thread
      if (!info[1].IsBuffer()) Throw(env, code::kInvalidArgument, "Expected a Buffer for " + what);
      auto buf = info[1].As<Napi::Buffer<uint8_t>>();
      if (buf.Length() > UINT32_MAX) Throw(env, code::kInvalidArgument, "Buffer too large for " + what);
      BufferArg b{buf.Data(), static_cast<uint32_t>(buf.Length()), 0};
      ret = ms_filter_call_method(f_, id, &b);
      if (ret == 0) return Napi::Number::New(env, std::min(b.used, b.size));
      break;
    }
    case ArgKind::RtpSession: {
      RtpSessionWrap* s = RtpSessionWrap::FromValue(env, info[1]);
      if (f_->ticker) Throw(env, code::kInvalidState, "Cannot change the RTP session of an attached filter");
      RtpSession* h = s->handle();
      ret = ms_filter_call_method(f_, id, h);
      if (ret == 0) {
        if (rtpSession_) rtpSession_->RemoveUser(this);
        rtpSessionRef_.Reset();
        rtpSession_ = s;
        rtpSessionRef_ = Napi::Persistent(info[1].As<Napi::Object>());
        s->AddUser(this);
      }
      break;
    }
  }
  if (ret != 0) Throw(env, code::kMethod, what + " failed (returned " + std::to_string(ret) + ")");
  return env.Undefined();
}

Napi::Value Filter::Implements(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsNumber()) Throw(env, code::kInvalidArgument, "Expected an interface id (number)");
  auto id = static_cast<MSFilterInterfaceId>(info[0].As<Napi::Number>().Int32Value());
  return Napi::Boolean::New(env, ms_filter_implements_interface(f_, id));
}

Napi::Value Filter::HasMethod(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsNumber()) Throw(env, code::kInvalidArgument, "Expected a method id (number)");
  return Napi::Boolean::New(env, ms_filter_has_method(f_, info[0].As<Napi::Number>().Uint32Value()));
}

Napi::Value Filter::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", f_->desc->name);
  o.Set("id", static_cast<double>(f_->desc->id));
  o.Set("inputs", f_->desc->ninputs);
  o.Set("outputs", f_->desc->noutputs);
  if (f_->desc->enc_fmt) o.Set("encFmt", f_->desc->enc_fmt);
  o.Set("category", static_cast<int>(f_->desc->category));
  // notifications refused because JS had kMaxPendingEvents still to take
  o.Set("eventsDropped", static_cast<double>(sink_ ? sink_->dropped() : 0));
  return o;
}

Napi::Value Filter::IsAttached(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  return Napi::Boolean::New(info.Env(), f_->ticker != nullptr);
}

void Filter::NotifyFromTicker(void* userData, MSFilter*, unsigned int id, void* arg) {
  // Runs on the ticker thread: copy, queue, return. Never touches JS.
  FilterEvent ev{id, MethodArgSize(id), {}};
  if (arg != nullptr && ev.size > 0 && ev.size <= sizeof(ev.data))
    std::memcpy(ev.data, arg, ev.size);
  else
    ev.size = 0;
  static_cast<FilterEventChannel*>(userData)->Push(ev);
}

// onNotify(callback(id, payload, droppedBefore))
Napi::Value Filter::OnNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsFunction()) Throw(env, code::kInvalidArgument, "Expected a function for onNotify()");
  if (sink_ != nullptr) Throw(env, code::kInvalidState, "onNotify() was already called on this filter");
  if (f_->ticker) Throw(env, code::kInvalidState, "Register for events before attaching the filter to a ticker");
  sink_ = FilterEventChannel::Open(env, info[0].As<Napi::Function>(), "rms-filter-events", kMaxPendingEvents,
                                   &DeliverEvent);
  ms_filter_add_notify_callback(f_, &Filter::NotifyFromTicker, sink_, TRUE);
  return env.Undefined();
}

void Filter::Close(Napi::Env env, bool force) {
  if (f_ == nullptr) return;
  if (f_->ticker != nullptr) {
    if (!force)
      Throw(env, code::kInvalidState,
            std::string("Filter ") + f_->desc->name + " is attached to a ticker; detach its graph first");
    Ticker* t = Ticker::Owning(env, f_->ticker);
    if (t)
      t->DetachGraphOf(f_);
    else
      ms_ticker_detach(f_->ticker, f_);
  }
  // Unlink every pin so no neighbour keeps a queue that points at us.
  std::vector<Filter*> neighbours;
  for (int p = 0; p < f_->desc->ninputs; ++p) {
    if (MSQueue* q = f_->inputs[p]) {
      MSFilter* prev = q->prev.filter;
      ms_filter_unlink(prev, q->prev.pin, f_, p);
      if (Filter* w = Lookup(env, prev)) neighbours.push_back(w);
    }
  }
  for (int p = 0; p < f_->desc->noutputs; ++p) {
    if (MSQueue* q = f_->outputs[p]) {
      MSFilter* next = q->next.filter;
      ms_filter_unlink(f_, p, next, q->next.pin);
      if (Filter* w = Lookup(env, next)) neighbours.push_back(w);
    }
  }
  MSFilter* f = f_;
  f_ = nullptr;
  if (Instance* inst = Instance::Get(env)) inst->filterByHandle.erase(f);
  // MSGenericPLC creates its concealment context in preprocess and frees it
  // unconditionally in uninit: destroying one that never ran dereferences
  // NULL. Give it the run it expects (preprocess + postprocess, no process).
  if (!ran_ && f->desc->id == MS_GENERIC_PLC_ID) {
    if (f->desc->preprocess) f->desc->preprocess(f);
    if (f->desc->postprocess) f->desc->postprocess(f);
  }
  ms_filter_destroy(f);  // also drops the notify callbacks
  if (sink_ != nullptr) {
    // No ticker can call the sink any more (the filter is destroyed); what
    // is queued is still delivered, then the channel frees itself.
    sink_->Close();
    sink_ = nullptr;
  }
  if (rtpSession_) rtpSession_->RemoveUser(this);
  rtpSession_ = nullptr;
  rtpSessionRef_.Reset();
  for (Filter* w : neighbours) w->UpdatePin();
  attachedRoot_ = false;
  UpdatePin();
  factory_.Reset();
  factoryWrap_ = nullptr;
}

Napi::Value Filter::CloseJs(const Napi::CallbackInfo& info) {
  Close(info.Env(), false);
  return info.Env().Undefined();
}

}  // namespace rms
