#include "rtcp_report.h"

#include <arpa/inet.h>

#include <ortp/event.h>

namespace rms {

namespace {

Napi::Object ReportBlock(Napi::Env env, const report_block_t* rb) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ssrc", static_cast<double>(report_block_get_ssrc(rb)));
  o.Set("fractionLost", static_cast<double>(report_block_get_fraction_lost(rb)) / 256.0);
  o.Set("cumulativeLost", static_cast<double>(report_block_get_cum_packet_lost(rb)));
  o.Set("highestSeq", static_cast<double>(report_block_get_high_ext_seq(rb)));
  o.Set("jitter", static_cast<double>(report_block_get_interarrival_jitter(rb)));  // RTP clock units
  o.Set("lsr", static_cast<double>(report_block_get_last_SR_time(rb)));
  o.Set("dlsr", static_cast<double>(report_block_get_last_SR_delay(rb)));  // 1/65536 s
  return o;
}

Napi::Object XrBlock(Napi::Env env, const mblk_t* m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ssrc", static_cast<double>(rtcp_XR_get_ssrc(m)));
  switch (rtcp_XR_get_block_type(m)) {
    case RTCP_XR_RCVR_RTT:
      o.Set("block", "rcvr-rtt");
      o.Set("ntp", Napi::BigInt::New(env, static_cast<uint64_t>(rtcp_XR_rcvr_rtt_get_ntp_timestamp(m))));
      break;
    case RTCP_XR_DLRR:
      o.Set("block", "dlrr");
      o.Set("dlrrSsrc", static_cast<double>(rtcp_XR_dlrr_get_ssrc(m)));
      o.Set("lrr", static_cast<double>(rtcp_XR_dlrr_get_lrr(m)));
      o.Set("dlrr", static_cast<double>(rtcp_XR_dlrr_get_dlrr(m)));
      break;
    case RTCP_XR_STAT_SUMMARY:
      o.Set("block", "stat-summary");
      o.Set("sourceSsrc", static_cast<double>(rtcp_XR_stat_summary_get_ssrc(m)));
      o.Set("flags", rtcp_XR_stat_summary_get_flags(m));
      o.Set("beginSeq", rtcp_XR_stat_summary_get_begin_seq(m));
      o.Set("endSeq", rtcp_XR_stat_summary_get_end_seq(m));
      o.Set("lost", static_cast<double>(rtcp_XR_stat_summary_get_lost_packets(m)));
      o.Set("dup", static_cast<double>(rtcp_XR_stat_summary_get_dup_packets(m)));
      o.Set("minJitter", static_cast<double>(rtcp_XR_stat_summary_get_min_jitter(m)));
      o.Set("maxJitter", static_cast<double>(rtcp_XR_stat_summary_get_max_jitter(m)));
      o.Set("meanJitter", static_cast<double>(rtcp_XR_stat_summary_get_mean_jitter(m)));
      o.Set("devJitter", static_cast<double>(rtcp_XR_stat_summary_get_dev_jitter(m)));
      break;
    case RTCP_XR_VOIP_METRICS:
      // RFC 3611 4.7 raw fields; units are converted in TypeScript
      o.Set("block", "voip-metrics");
      o.Set("sourceSsrc", static_cast<double>(rtcp_XR_voip_metrics_get_ssrc(m)));
      o.Set("lossRate", rtcp_XR_voip_metrics_get_loss_rate(m));
      o.Set("discardRate", rtcp_XR_voip_metrics_get_discard_rate(m));
      o.Set("burstDensity", rtcp_XR_voip_metrics_get_burst_density(m));
      o.Set("gapDensity", rtcp_XR_voip_metrics_get_gap_density(m));
      o.Set("burstDuration", rtcp_XR_voip_metrics_get_burst_duration(m));
      o.Set("gapDuration", rtcp_XR_voip_metrics_get_gap_duration(m));
      o.Set("roundTripDelay", rtcp_XR_voip_metrics_get_round_trip_delay(m));
      o.Set("endSystemDelay", rtcp_XR_voip_metrics_get_end_system_delay(m));
      o.Set("signalLevel", static_cast<int8_t>(rtcp_XR_voip_metrics_get_signal_level(m)));
      o.Set("noiseLevel", static_cast<int8_t>(rtcp_XR_voip_metrics_get_noise_level(m)));
      o.Set("rerl", rtcp_XR_voip_metrics_get_rerl(m));
      o.Set("gmin", rtcp_XR_voip_metrics_get_gmin(m));
      o.Set("rFactor", rtcp_XR_voip_metrics_get_r_factor(m));
      o.Set("extRFactor", rtcp_XR_voip_metrics_get_ext_r_factor(m));
      o.Set("mosLq", rtcp_XR_voip_metrics_get_mos_lq(m));
      o.Set("mosCq", rtcp_XR_voip_metrics_get_mos_cq(m));
      o.Set("rxConfig", rtcp_XR_voip_metrics_get_rx_config(m));
      o.Set("jbNominal", rtcp_XR_voip_metrics_get_jb_nominal(m));
      o.Set("jbMaximum", rtcp_XR_voip_metrics_get_jb_maximum(m));
      o.Set("jbAbsMax", rtcp_XR_voip_metrics_get_jb_abs_max(m));
      break;
    default:
      o.Set("block", static_cast<double>(rtcp_XR_get_block_type(m)));
  }
  return o;
}

}  // namespace

void AppendRtcpCompound(Napi::Env env, mblk_t* compound, bool received, double atMs, Napi::Array out) {
  if (compound == nullptr) return;
  // walk a private copy: rtcp_next_packet moves the read pointer
  mblk_t* m = dupmsg(compound);
  do {
    const rtcp_common_header_t* ch = rtcp_get_common_header(m);
    if (ch == nullptr) break;
    // oRTP's accessors trust the packet's own length field: check it against
    // what is really there before reading report blocks or XR fields
    const size_t avail = static_cast<size_t>(m->b_wptr - m->b_rptr);
    const size_t len = (static_cast<size_t>(ntohs(ch->length)) + 1) * 4;
    if (len > avail) break;
    Napi::Object o = Napi::Object::New(env);
    o.Set("direction", received ? "received" : "emitted");
    o.Set("atMs", atMs);
    int rc = rtcp_common_header_get_rc(ch);
    if (rtcp_is_SR(m) || rtcp_is_RR(m)) {
      bool sr = rtcp_is_SR(m);
      o.Set("type", sr ? "SR" : "RR");
      o.Set("ssrc", static_cast<double>(sr ? rtcp_SR_get_ssrc(m) : rtcp_RR_get_ssrc(m)));
      if (sr) {
        const sender_info_t* si = rtcp_SR_get_sender_info(m);
        Napi::Object s = Napi::Object::New(env);
        s.Set("packets", static_cast<double>(sender_info_get_packet_count(si)));
        s.Set("octets", static_cast<double>(sender_info_get_octet_count(si)));
        o.Set("sender", s);
      }
      Napi::Array blocks = Napi::Array::New(env);
      const size_t fixed = sr ? 28 : 8;  // header + SSRC (+ sender info)
      const int fits = len >= fixed ? static_cast<int>((len - fixed) / sizeof(report_block_t)) : 0;
      if (rc > fits) rc = fits;
      for (int i = 0; i < rc; ++i) {
        const report_block_t* rb = sr ? rtcp_SR_get_report_block(m, i) : rtcp_RR_get_report_block(m, i);
        if (rb) blocks.Set(blocks.Length(), ReportBlock(env, rb));
      }
      o.Set("reports", blocks);
    } else if (rtcp_is_XR(m)) {
      // the largest block we read is VoIP metrics: 8 header+SSRC, 4 block header, 32 body
      if (len < 8 + 4 + 32 && rtcp_XR_get_block_type(m) == RTCP_XR_VOIP_METRICS) continue;
      if (len < 8 + 4 + 8) continue;
      o.Set("type", "XR");
      o.Set("xr", XrBlock(env, m));
    } else {
      continue;  // SDES, BYE, APP: not quality data
    }
    out.Set(out.Length(), o);
  } while (rtcp_next_packet(m));
  freemsg(m);
}

}  // namespace rms
