// JS classes over the security layer: NativeSecureTransport (one per
// RtpSession that needs SRTP, DTLS-SRTP or ICE) and NativeDtlsCertificate.
// Argument checks and conversions only; policy is in lib/rtp/secure.ts.
#include <napi.h>

#include <memory>
#include <string>

#include "errors.h"
#include "secure/secure_layer.h"
#include "wrappers.h"

namespace rms {

using secure::DtlsIdentity;
using secure::SecureLayer;

namespace {

const napi_type_tag kCertificateTag = {0x8f3c2a1d5e6b4c70ull, 0x9a1b2c3d4e5f6071ull};

std::string Str(Napi::Env env, Napi::Value v, const char* what) {
  if (!v.IsString()) Throw(env, code::kInvalidArgument, std::string("Expected a string for ") + what);
  return v.As<Napi::String>().Utf8Value();
}

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

class DtlsCertificateWrap : public Napi::ObjectWrap<DtlsCertificateWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeDtlsCertificate",
                       {
                           InstanceMethod<&DtlsCertificateWrap::Fingerprint>("fingerprint"),
                           InstanceMethod<&DtlsCertificateWrap::Pem>("certificatePem"),
                       });
  }

  // new NativeDtlsCertificate(certPem, keyPem) or (the External a
  // generateDtlsIdentity() promise resolved with)
  explicit DtlsCertificateWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DtlsCertificateWrap>(info) {
    Napi::Env env = info.Env();
    if (info[0].IsExternal()) {
      auto* p = info[0].As<Napi::External<std::shared_ptr<DtlsIdentity>>>().Data();
      if (p == nullptr || !*p) Throw(env, code::kInvalidArgument, "The generated identity was already used");
      id_ = std::move(*p);
    } else {
      std::string err;
      id_ = DtlsIdentity::FromPem(Str(env, info[0], "the certificate PEM"), Str(env, info[1], "the key PEM"), &err);
      if (!id_) Throw(env, code::kInvalidArgument, err);
    }
    info.This().As<Napi::Object>().TypeTag(&kCertificateTag);
  }

  static std::shared_ptr<DtlsIdentity> FromValue(Napi::Env env, Napi::Value v) {
    if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kCertificateTag))
      Throw(env, code::kInvalidArgument, "Expected a DtlsCertificate");
    return Unwrap(v.As<Napi::Object>())->id_;
  }

 private:
  Napi::Value Fingerprint(const Napi::CallbackInfo& info) {
    std::string alg = info[0].IsUndefined() ? "sha-256" : Str(info.Env(), info[0], "the hash algorithm");
    std::string fp = id_->Fingerprint(alg);
    if (fp.empty()) Throw(info.Env(), code::kInvalidArgument, "Unknown fingerprint hash algorithm: " + alg);
    return Napi::String::New(info.Env(), fp);
  }
  Napi::Value Pem(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), id_->CertificatePem()); }

  std::shared_ptr<DtlsIdentity> id_;
};

// RSA key generation takes seconds: off the main thread.
class GenerateWorker : public Napi::AsyncWorker {
 public:
  GenerateWorker(Napi::Env env, std::string cn)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), cn_(std::move(cn)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    id_ = DtlsIdentity::Generate(cn_, &err_);
    if (!id_) SetError(err_);
  }
  void OnOK() override {
    auto* holder = new std::shared_ptr<DtlsIdentity>(std::move(id_));
    deferred_.Resolve(Napi::External<std::shared_ptr<DtlsIdentity>>::New(
        Env(), holder, [](Napi::Env, std::shared_ptr<DtlsIdentity>* p) { delete p; }));
  }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(MakeError(Env(), code::kInvalidState, e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string cn_;
  std::string err_;
  std::shared_ptr<DtlsIdentity> id_;
};

Napi::Value GenerateDtlsIdentity(const Napi::CallbackInfo& info) {
  std::string cn = info[0].IsUndefined() ? "rtp-media-server" : Str(info.Env(), info[0], "the common name");
  if (cn.empty() || cn.size() > 200)
    Throw(info.Env(), code::kInvalidArgument, "Expected a common name of 1..200 characters");
  auto* w = new GenerateWorker(info.Env(), cn);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---------------------------------------------------------------------------
// The layer
// ---------------------------------------------------------------------------

class SecureTransportWrap : public Napi::ObjectWrap<SecureTransportWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeSecureTransport",
                       {
                           InstanceMethod<&SecureTransportWrap::SetSdes>("setSdes"),
                           InstanceMethod<&SecureTransportWrap::SetDtls>("setDtls"),
                           InstanceMethod<&SecureTransportWrap::ClearProtection>("clearProtection"),
                           InstanceMethod<&SecureTransportWrap::SetZrtp>("setZrtp"),
                           InstanceMethod<&SecureTransportWrap::SetZrtpVerified>("setZrtpVerified"),
                           InstanceMethod<&SecureTransportWrap::SetIce>("setIce"),
                           InstanceMethod<&SecureTransportWrap::ClearIce>("clearIce"),
                           InstanceMethod<&SecureTransportWrap::SetRtcpMux>("setRtcpMux"),
                           InstanceMethod<&SecureTransportWrap::Stats>("stats"),
                           InstanceMethod<&SecureTransportWrap::TakeEvents>("takeEvents"),
                           InstanceMethod<&SecureTransportWrap::OnEvents>("onEvents"),
                           InstanceMethod<&SecureTransportWrap::CloseJs>("close"),
                       });
  }

  explicit SecureTransportWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SecureTransportWrap>(info) {
    Napi::Env env = info.Env();
    RtpSessionWrap* s = RtpSessionWrap::FromValue(env, info[0]);
    std::string err;
    s->WithTickerLock([&] { layer_ = SecureLayer::Install(s->handle(), &err); });
    if (!layer_) Throw(env, code::kInvalidState, err);
    session_ = Napi::Persistent(info[0].As<Napi::Object>());
  }

  ~SecureTransportWrap() override { Release(); }

 private:
  SecureLayer& L(Napi::Env env) {
    if (!layer_) Throw(env, code::kInvalidState, "The SecureTransport is closed");
    return *layer_;
  }

  static std::string KeyArg(Napi::Env env, Napi::Object o, const char* name, std::string* out) {
    Napi::Value v = o.Get(name);
    if (!v.IsBuffer()) Throw(env, code::kInvalidArgument, std::string("Expected a Buffer for ") + name);
    auto b = v.As<Napi::Buffer<uint8_t>>();
    out->assign(reinterpret_cast<const char*>(b.Data()), b.Length());
    return "";
  }

  static secure::SrtpSuite SuiteArg(Napi::Env env, Napi::Object o, const char* name) {
    std::string s = Str(env, o.Get(name), name);
    secure::SrtpSuite suite = secure::SrtpSuiteFromName(s);
    if (suite == secure::SrtpSuite::kNone) Throw(env, code::kInvalidArgument, "Unsupported SRTP crypto suite: " + s);
    return suite;
  }

  // setSdes({ sendSuite?, sendKey?, recvSuite?, recvKey? }): keys are master
  // key || salt; a direction left out keeps its current key
  Napi::Value SetSdes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) Throw(env, code::kInvalidArgument, "Expected SRTP settings");
    Napi::Object o = info[0].As<Napi::Object>();
    secure::SrtpSuite ss = secure::SrtpSuite::kNone, rs = secure::SrtpSuite::kNone;
    std::string sk, rk;
    if (!o.Get("sendSuite").IsUndefined()) {
      ss = SuiteArg(env, o, "sendSuite");
      KeyArg(env, o, "sendKey", &sk);
    }
    if (!o.Get("recvSuite").IsUndefined()) {
      rs = SuiteArg(env, o, "recvSuite");
      KeyArg(env, o, "recvKey", &rk);
    }
    std::string err = L(env).SetSdes(ss, reinterpret_cast<const uint8_t*>(sk.data()), sk.size(), rs,
                                     reinterpret_cast<const uint8_t*>(rk.data()), rk.size());
    std::fill(sk.begin(), sk.end(), '\0');
    std::fill(rk.begin(), rk.end(), '\0');
    if (!err.empty()) Throw(env, code::kInvalidArgument, err);
    return env.Undefined();
  }

  // setDtls({ certificate, role: 'client'|'server', remoteFingerprint: 'sha-256 AB:..' })
  Napi::Value SetDtls(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) Throw(env, code::kInvalidArgument, "Expected DTLS settings");
    Napi::Object o = info[0].As<Napi::Object>();
    auto id = DtlsCertificateWrap::FromValue(env, o.Get("certificate"));
    std::string role = Str(env, o.Get("role"), "role");
    if (role != "client" && role != "server")
      Throw(env, code::kInvalidArgument, "DTLS role must be 'client' or 'server', not '" + role + "'");
    std::string fp = Str(env, o.Get("remoteFingerprint"), "remoteFingerprint");
    std::string err = L(env).SetDtls(id, role == "client" ? secure::DtlsRole::kClient : secure::DtlsRole::kServer, fp);
    if (!err.empty()) Throw(env, code::kInvalidArgument, err);
    return env.Undefined();
  }

  Napi::Value SetZrtp(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    SecureLayer& layer = L(env);
    RtpSessionWrap* s = RtpSessionWrap::FromValue(env, session_.Value());
    std::string err;
    s->WithTickerLock([&] { err = layer.SetZrtp(); });
    if (!err.empty()) Throw(env, code::kInvalidState, err);
    return env.Undefined();
  }

  Napi::Value SetZrtpVerified(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    SecureLayer& layer = L(env);
    RtpSessionWrap* s = RtpSessionWrap::FromValue(env, session_.Value());
    bool yes = info[0].ToBoolean();
    s->WithTickerLock([&] { layer.SetZrtpVerified(yes); });
    return env.Undefined();
  }

  Napi::Value ClearProtection(const Napi::CallbackInfo& info) {
    L(info.Env()).ClearProtection();
    return info.Env().Undefined();
  }

  // setIce({ localUfrag, localPwd, remoteUfrag?, consentTimeoutMs? })
  Napi::Value SetIce(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) Throw(env, code::kInvalidArgument, "Expected ICE settings");
    Napi::Object o = info[0].As<Napi::Object>();
    secure::IceCredentials c;
    c.localUfrag = Str(env, o.Get("localUfrag"), "localUfrag");
    c.localPwd = Str(env, o.Get("localPwd"), "localPwd");
    if (!o.Get("remoteUfrag").IsUndefined()) c.remoteUfrag = Str(env, o.Get("remoteUfrag"), "remoteUfrag");
    // RFC 8445 5.3: ufrag 4+ characters, password 22+
    if (c.localUfrag.size() < 4 || c.localUfrag.size() > 256 || c.localPwd.size() < 22 || c.localPwd.size() > 256)
      Throw(env, code::kInvalidArgument, "ICE needs a ufrag of 4..256 and a password of 22..256 characters");
    if (c.localUfrag.find(':') != std::string::npos)
      Throw(env, code::kInvalidArgument, "The ICE ufrag cannot hold ':'");
    if (o.Get("consentTimeoutMs").IsNumber()) {
      double ms = o.Get("consentTimeoutMs").As<Napi::Number>().DoubleValue();
      if (!(ms >= 100 && ms <= 600000)) Throw(env, code::kInvalidArgument, "consentTimeoutMs must be 100..600000");
      c.consentTimeoutNs = static_cast<uint64_t>(ms * 1e6);
    }
    L(env).SetIce(c);
    return env.Undefined();
  }

  Napi::Value ClearIce(const Napi::CallbackInfo& info) {
    L(info.Env()).ClearIce();
    return info.Env().Undefined();
  }

  Napi::Value SetRtcpMux(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    bool on = info[0].ToBoolean();
    SecureLayer& layer = L(env);
    RtpSessionWrap* s = RtpSessionWrap::FromValue(env, session_.Value());
    s->WithTickerLock([&] {
      rtp_session_enable_rtcp_mux(s->handle(), on ? TRUE : FALSE);
      layer.SetRtcpMux(on);
    });
    return env.Undefined();
  }

  static Napi::Object Srtp(Napi::Env env, const secure::SrtpCounters& c) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("rtpProtected", static_cast<double>(c.rtpProtected));
    o.Set("rtcpProtected", static_cast<double>(c.rtcpProtected));
    o.Set("rtpUnprotected", static_cast<double>(c.rtpUnprotected));
    o.Set("rtcpUnprotected", static_cast<double>(c.rtcpUnprotected));
    o.Set("authFailures", static_cast<double>(c.authFailures));
    o.Set("replays", static_cast<double>(c.replays));
    o.Set("otherFailures", static_cast<double>(c.otherFailures));
    o.Set("protectFailures", static_cast<double>(c.protectFailures));
    o.Set("oldKeyUsed", static_cast<double>(c.oldKeyUsed));
    return o;
  }

  static const char* IceStateName(secure::IceState s) {
    return s == secure::IceState::kConnected      ? "connected"
           : s == secure::IceState::kDisconnected ? "disconnected"
                                                  : "new";
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    secure::LayerStats st = L(env).Stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("protection", st.protection == secure::Protection::kSdes   ? "sdes"
                        : st.protection == secure::Protection::kDtls ? "dtls"
                        : st.protection == secure::Protection::kZrtp ? "zrtp"
                                                                     : "none");
    if (st.hasZrtp) {
      Napi::Object z = Napi::Object::New(env);
      z.Set("started", st.zrtp.started);
      z.Set("secure", st.zrtp.secure);
      z.Set("verified", st.zrtp.verified);
      if (!st.zrtp.sas.empty()) z.Set("sas", st.zrtp.sas);
      o.Set("zrtp", z);
    }
    const char* ss = secure::SrtpSuiteName(st.sendSuite);
    const char* rs = secure::SrtpSuiteName(st.recvSuite);
    o.Set("sendSuite", ss ? Napi::Value(Napi::String::New(env, ss)) : env.Null());
    o.Set("recvSuite", rs ? Napi::Value(Napi::String::New(env, rs)) : env.Null());
    o.Set("rtcpMux", st.rtcpMux);
    o.Set("attached", st.attached);
    o.Set("beforeKeysIn", static_cast<double>(st.counters.beforeKeysIn));
    o.Set("beforeKeysOut", static_cast<double>(st.counters.beforeKeysOut));
    o.Set("unknownDropped", static_cast<double>(st.counters.unknownDropped));
    o.Set("rtcpInvalid", static_cast<double>(st.counters.rtcpInvalid));
    o.Set("stunIn", static_cast<double>(st.counters.stunIn));
    o.Set("dtlsIn", static_cast<double>(st.counters.dtlsIn));
    Napi::Array comps = Napi::Array::New(env, 2);
    for (uint32_t i = 0; i < 2; ++i) {
      const secure::ComponentStats& c = st.component[i];
      Napi::Object co = Napi::Object::New(env);
      co.Set("srtp", Srtp(env, c.srtp));
      if (c.hasDtls) {
        Napi::Object d = Napi::Object::New(env);
        d.Set("state", secure::DtlsStateName(c.dtlsState));
        d.Set("role", c.dtlsRole == secure::DtlsRole::kClient ? "client" : "server");
        d.Set("datagramsIn", static_cast<double>(c.dtls.datagramsIn));
        d.Set("datagramsOut", static_cast<double>(c.dtls.datagramsOut));
        d.Set("fingerprintMismatches", static_cast<double>(c.dtls.fingerprintMismatches));
        d.Set("failures", static_cast<double>(c.dtls.failures));
        if (!c.dtlsFailure.empty()) d.Set("failure", c.dtlsFailure);
        co.Set("dtls", d);
      }
      if (c.hasIce) {
        Napi::Object ice = Napi::Object::New(env);
        ice.Set("state", IceStateName(c.iceState));
        if (!c.iceSelected.empty()) ice.Set("selected", c.iceSelected);
        ice.Set("requests", static_cast<double>(c.ice.requests));
        ice.Set("answered", static_cast<double>(c.ice.answered));
        ice.Set("badAuth", static_cast<double>(c.ice.badAuth));
        ice.Set("malformed", static_cast<double>(c.ice.malformed));
        ice.Set("indications", static_cast<double>(c.ice.indications));
        ice.Set("unvalidated", static_cast<double>(c.ice.unvalidated));
        ice.Set("consentLost", static_cast<double>(c.ice.consentLost));
        ice.Set("sendsRefused", static_cast<double>(c.ice.sendsRefused));
        co.Set("ice", ice);
      }
      comps.Set(i, co);
    }
    o.Set("components", comps);
    return o;
  }

  Napi::Value TakeEvents(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<secure::LayerEvent> evs = L(env).TakeEvents();
    Napi::Array a = Napi::Array::New(env, evs.size());
    for (uint32_t i = 0; i < evs.size(); ++i) {
      const secure::LayerEvent& e = evs[i];
      Napi::Object o = Napi::Object::New(env);
      const bool dtls = e.kind == secure::LayerEvent::kDtls, ice = e.kind == secure::LayerEvent::kIce;
      o.Set("kind", dtls ? "dtls" : ice ? "ice" : "zrtp");
      o.Set("component", static_cast<double>(e.component));
      o.Set("state", dtls           ? secure::DtlsStateName(static_cast<secure::DtlsState>(e.state))
                     : ice          ? IceStateName(static_cast<secure::IceState>(e.state))
                     : e.state == 2 ? "secure"
                     : e.state == 1 ? "sas"
                                    : "started");
      if (!e.detail.empty()) o.Set("detail", e.detail);
      a.Set(i, o);
    }
    return a;
  }

  // onEvents(callback()): called when takeEvents() has something.
  Napi::Value OnEvents(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) Throw(env, code::kInvalidArgument, "Expected a function for onEvents()");
    if (tsfnSet_) Throw(env, code::kInvalidState, "onEvents() was already called");
    SecureLayer& layer = L(env);
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "rms-secure-events", 0, 1);
    tsfn_.Unref(env);
    tsfnSet_ = true;
    Napi::ThreadSafeFunction t = tsfn_;
    layer.SetNotify([t]() mutable { t.NonBlockingCall(); });
    return env.Undefined();
  }

  void Release() {
    if (layer_) {
      // the layer calls notify under its lock: once this returns, no call is in flight
      layer_->SetNotify(nullptr);
      layer_.reset();
    }
    if (tsfnSet_) {
      tsfn_.Release();
      tsfnSet_ = false;
    }
    if (!session_.IsEmpty()) session_.Reset();
  }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  std::shared_ptr<SecureLayer> layer_;
  Napi::ObjectReference session_;
  Napi::ThreadSafeFunction tsfn_;
  bool tsfnSet_ = false;
};

}  // namespace

void DefineSecureClasses(Napi::Env env, Napi::Object exports) {
  exports.Set("SecureTransport", SecureTransportWrap::Define(env));
  exports.Set("DtlsCertificate", DtlsCertificateWrap::Define(env));
  exports.Set("generateDtlsIdentity", Napi::Function::New(env, GenerateDtlsIdentity));
  Napi::Array suites = Napi::Array::New(env);
  uint32_t n = 0;
  for (auto s : {secure::SrtpSuite::kAesCm128HmacSha1_80, secure::SrtpSuite::kAesCm128HmacSha1_32,
                 secure::SrtpSuite::kAes192CmHmacSha1_80, secure::SrtpSuite::kAes192CmHmacSha1_32,
                 secure::SrtpSuite::kAes256CmHmacSha1_80, secure::SrtpSuite::kAes256CmHmacSha1_32,
                 secure::SrtpSuite::kAeadAes128Gcm, secure::SrtpSuite::kAeadAes256Gcm}) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", secure::SrtpSuiteName(s));
    o.Set("masterLength", static_cast<double>(secure::SrtpMasterLength(s)));
    suites.Set(n++, o);
  }
  exports.Set("srtpSuites", suites);
}

}  // namespace rms
