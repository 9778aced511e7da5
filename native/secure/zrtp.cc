#include "secure/zrtp.h"

#include <mediastreamer2/mediastream.h>
#include <mediastreamer2/ms_srtp.h>
#include <mediastreamer2/zrtp.h>
#include <ortp/event.h>

#include <cstring>

namespace rms::secure {

ZrtpSession::ZrtpSession(RtpSession* session) : session_(session) {
  if (!ms_zrtp_available()) return;
  sessions_ = new MSMediaStreamSessions();
  std::memset(sessions_, 0, sizeof(*sessions_));
  sessions_->rtp_session = session;
  // before ZRTP has keys nothing passes in either direction
  if (ms_media_stream_sessions_set_encryption_mandatory(sessions_, TRUE) != 0) return;
  MSZrtpParams params;
  std::memset(&params, 0, sizeof(params));
  // bzrtp's default suites; start on the peer's Hello too
  params.autoStart = TRUE;
  ctx_ = ms_zrtp_context_new(sessions_, &params);
  sessions_->zrtp_context = ctx_;
  events_ = ortp_ev_queue_new();
  rtp_session_register_event_queue(session, events_);
}

ZrtpSession::~ZrtpSession() {
  Detach();
  if (ctx_ != nullptr) ms_zrtp_context_destroy(ctx_);
  if (sessions_ != nullptr && sessions_->srtp_context != nullptr) ms_srtp_context_delete(sessions_->srtp_context);
  delete sessions_;
  if (events_ != nullptr) ortp_ev_queue_destroy(events_);
}

void ZrtpSession::Detach() {
  // not unregistered: this runs inside rtp_session_destroy(), which has
  // freed its list of queues already (without forgetting it); the queue
  // itself is ours and goes with us
  session_ = nullptr;
  if (sessions_ != nullptr) sessions_->rtp_session = nullptr;
}

void ZrtpSession::Start() {
  if (ctx_ == nullptr || status_.started) return;
  status_.started = true;
  ms_zrtp_channel_start(ctx_);
}

bool ZrtpSession::Poll() {
  if (events_ == nullptr || session_ == nullptr) return false;
  bool changed = false;
  OrtpEvent* ev;
  while ((ev = ortp_ev_queue_get(events_)) != nullptr) {
    OrtpEventType t = ortp_event_get_type(ev);
    OrtpEventData* d = ortp_event_get_data(ev);
    if (t == ORTP_EVENT_ZRTP_SAS_READY) {
      status_.sas.assign(d->info.zrtp_info.sas, strnlen(d->info.zrtp_info.sas, sizeof(d->info.zrtp_info.sas)));
      status_.verified = d->info.zrtp_info.verified;
      changed = true;
    } else if (t == ORTP_EVENT_ZRTP_ENCRYPTION_CHANGED) {
      status_.secure = d->info.zrtp_stream_encrypted;
      changed = true;
    }
    ortp_event_destroy(ev);
  }
  return changed;
}

void ZrtpSession::SetVerified(bool yes) {
  if (ctx_ == nullptr) return;
  if (yes)
    ms_zrtp_sas_verified(ctx_);
  else
    ms_zrtp_sas_reset_verified(ctx_);
  status_.verified = yes;
}

}  // namespace rms::secure
