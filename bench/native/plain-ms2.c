/*
 * The native ceiling for the issue-8 benchmark: the same transcoding graphs
 * as the package's gateway, in plain C over mediastreamer2 and nothing else
 * (no Node, no level meter, loss meter, quality monitor or DTMF handling):
 *
 *   rtprecv(a) -> decoder(PCMU) -> [PLC] -> [resample] -> encoder(X) -> rtpsend(b)
 *   rtprecv(b) -> decoder(X) -> [PLC] -> [resample] -> encoder(PCMU) -> rtpsend(a)
 *
 * With --plc 1 (the default, as the package) each direction conceals loss
 * like the gateway does: the decoder's own PLC where it has one, otherwise
 * MSGenericPLC after the decoder.
 *
 * or rtprecv -> rtpsend both ways when X is PCMU (relay). Calls are spread
 * round robin over the tickers (default: one per CPU this process may run
 * on). Opus is encoded by ms2's MSOpusEnc at 8 kHz (as our gateway does),
 * complexity from MS2_OPUS_COMPLEXITY, 16 kbit/s; Debian's ms2 has no Codec2
 * filter, so a minimal one over libcodec2 (mode 2400) is defined here.
 *
 *   plain-ms2 --calls N --codec X --pt PT --gen-port P --port-base B
 *             [--tickers T] [--complexity C] [--prio normal|high] [--plc 0|1]
 * Call i listens on B+4i (leg a, PCMU) and B+4i+2 (leg b, X), RTCP on +1.
 * Prints one JSON line when ready; then reads commands from stdin:
 * "stats" (ticker loads and late ticks as JSON), "quit".
 */
#define _GNU_SOURCE
#include <codec2/codec2.h>
#include <mediastreamer2/allfilters.h>
#include <mediastreamer2/mediastream.h>
#include <mediastreamer2/msfactory.h>
#include <mediastreamer2/msfilter.h>
#include <mediastreamer2/msrtp.h>
#include <mediastreamer2/msticker.h>
#include <ortp/ortp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ------------------------------------------------ a minimal Codec2 filter */

typedef struct {
  struct CODEC2 *c2;
  MSBufferizer buf;
  uint32_t ts;
} C2;

static void c2_init(MSFilter *f) {
  C2 *d = ms_new0(C2, 1);
  d->c2 = codec2_create(CODEC2_MODE_2400);
  ms_bufferizer_init(&d->buf);
  f->data = d;
}

static void c2_uninit(MSFilter *f) {
  C2 *d = f->data;
  codec2_destroy(d->c2);
  ms_bufferizer_uninit(&d->buf);
  ms_free(d);
}

static void c2_enc_process(MSFilter *f) {
  C2 *d = f->data;
  int n = codec2_samples_per_frame(d->c2), bytes = codec2_bytes_per_frame(d->c2);
  int16_t pcm[320];
  ms_bufferizer_put_from_queue(&d->buf, f->inputs[0]);
  while (ms_bufferizer_get_avail(&d->buf) >= (size_t)n * 2) {
    ms_bufferizer_read(&d->buf, (uint8_t *)pcm, n * 2);
    mblk_t *om = allocb(bytes, 0);
    codec2_encode(d->c2, om->b_wptr, pcm);
    om->b_wptr += bytes;
    mblk_set_timestamp_info(om, d->ts);
    d->ts += n;
    ms_queue_put(f->outputs[0], om);
  }
}

static void c2_dec_process(MSFilter *f) {
  C2 *d = f->data;
  int n = codec2_samples_per_frame(d->c2), bytes = codec2_bytes_per_frame(d->c2);
  mblk_t *im;
  while ((im = ms_queue_get(f->inputs[0])) != NULL) {
    for (uint8_t *p = im->b_rptr; p + bytes <= im->b_wptr; p += bytes) {
      mblk_t *om = allocb(n * 2, 0);
      codec2_decode(d->c2, (int16_t *)om->b_wptr, p);
      om->b_wptr += n * 2;
      ms_queue_put(f->outputs[0], om);
    }
    freemsg(im);
  }
}

static MSFilterDesc c2_enc_desc = {MS_FILTER_PLUGIN_ID, "BenchCodec2Enc", "codec2 2400", MS_FILTER_ENCODER,
                                   "CODEC2", 1, 1, c2_init, NULL, c2_enc_process, NULL, c2_uninit, NULL, 0};
static MSFilterDesc c2_dec_desc = {MS_FILTER_PLUGIN_ID, "BenchCodec2Dec", "codec2 2400", MS_FILTER_DECODER,
                                   "CODEC2", 1, 1, c2_init, NULL, c2_dec_process, NULL, c2_uninit, NULL, 0};

/* ------------------------------------------------ calls */

typedef struct {
  const char *name, *mime;
  PayloadType *pt;
  int audio_rate;
} Codec;

static const Codec CODECS[] = {
    {"PCMU", "pcmu", &payload_type_pcmu8000, 8000}, {"PCMA", "pcma", &payload_type_pcma8000, 8000},
    {"G722", "g722", &payload_type_g722, 16000},    {"G729", "G729", &payload_type_g729, 8000},
    {"opus", "opus", &payload_type_opus, 8000},     {"CODEC2", "CODEC2", &payload_type_codec2, 8000},
};

static const Codec *codec_named(const char *n) {
  for (size_t i = 0; i < sizeof CODECS / sizeof *CODECS; i++)
    if (!strcasecmp(CODECS[i].name, n)) return &CODECS[i];
  fprintf(stderr, "plain-ms2: unknown codec %s\n", n);
  exit(2);
}

typedef struct {
  RtpSession *sa, *sb;
  MSFilter *roots[2];
  MSFilter *all[16];
  int nall;
  MSTicker *ticker;
} Call;

static MSFactory *factory;
static int plc = 1;

static RtpSession *session(int port, int gen_port, const Codec *c, int pt, int relay) {
  RtpSession *s = ms_create_duplex_rtp_session("127.0.0.1", port, port + 1, 1500);
  RtpProfile *prof = rtp_profile_new("bench");
  rtp_profile_set_payload(prof, pt, payload_type_clone(c->pt));
  rtp_profile_set_payload(prof, 101, payload_type_clone(&payload_type_telephone_event));
  rtp_session_set_profile(s, prof);
  rtp_session_set_payload_type(s, pt);
  rtp_session_set_remote_addr_full(s, "127.0.0.1", gen_port, "127.0.0.1", gen_port + 1);
  /* the package's default jitter buffer: adaptive, 60 ms nominal; none
   * on relayed legs, as in the package */
  JBParameters jb;
  rtp_session_get_jitter_buffer_params(s, &jb);
  jb.enabled = !relay;
  jb.adaptive = TRUE;
  jb.nom_size = 60;
  jb.min_size = 20;
  jb.max_size = 300;
  jb.max_packets = 100;
  rtp_session_set_jitter_buffer_params(s, &jb);
  rtp_session_enable_jitter_buffer(s, jb.enabled);
  return s;
}

static MSFilter *add(Call *call, MSFilter *f) {
  call->all[call->nall++] = f;
  return f;
}

static void set_ptime(MSFilter *enc) {
  int ptime = 20;
  if (ms_filter_has_method(enc, MS_AUDIO_ENCODER_SET_PTIME)) ms_filter_call_method(enc, MS_AUDIO_ENCODER_SET_PTIME, &ptime);
  else ms_filter_call_method(enc, MS_FILTER_ADD_FMTP, (void *)"ptime=20");
}

/* rtprecv(from) -> dec(cf) -> [resample] -> enc(ct) -> rtpsend(to) */
static MSFilter *direction(Call *call, RtpSession *from, const Codec *cf, RtpSession *to, const Codec *ct,
                           int relay) {
  MSFilter *recv = add(call, ms_factory_create_filter(factory, MS_RTP_RECV_ID));
  ms_filter_call_method(recv, MS_RTP_RECV_SET_SESSION, from);
  MSFilter *send = add(call, ms_factory_create_filter(factory, MS_RTP_SEND_ID));
  ms_filter_call_method(send, MS_RTP_SEND_SET_SESSION, to);
  if (relay) {
    ms_filter_link(recv, 0, send, 0);
    return recv;
  }
  MSFilter *dec = add(call, ms_factory_create_decoder(factory, cf->mime));
  MSFilter *enc = add(call, ms_factory_create_encoder(factory, ct->mime));
  if (!dec || !enc) {
    fprintf(stderr, "plain-ms2: no codec for %s or %s\n", cf->mime, ct->mime);
    exit(1);
  }
  int one = 1;
  if (!strcmp(cf->name, "opus")) {
    int r = 8000;
    ms_filter_call_method(dec, MS_FILTER_SET_SAMPLE_RATE, &r);
    ms_filter_call_method(dec, MS_FILTER_SET_NCHANNELS, &one);
  }
  if (!strcmp(ct->name, "opus")) {
    int r = 8000, network = 32000; /* MSOpusEnc takes IP/UDP/RTP-inclusive bit rate: 16 kbit/s of codec */
    ms_filter_call_method(enc, MS_FILTER_SET_SAMPLE_RATE, &r);
    ms_filter_call_method(enc, MS_FILTER_SET_BITRATE, &network);
  }
  set_ptime(enc);
  MSFilter *prev = dec;
  ms_filter_link(recv, 0, dec, 0);
  if (plc) {
    int has = 0;
    if (ms_filter_has_method(dec, MS_AUDIO_DECODER_HAVE_PLC)) ms_filter_call_method(dec, MS_AUDIO_DECODER_HAVE_PLC, &has);
    if (has) {
      if (ms_filter_has_method(dec, MS_DECODER_ENABLE_PLC)) ms_filter_call_method(dec, MS_DECODER_ENABLE_PLC, &one);
    } else {
      MSFilter *p = add(call, ms_factory_create_filter(factory, MS_GENERIC_PLC_ID));
      int rate = !strcmp(cf->name, "opus") ? 8000 : cf->audio_rate;
      ms_filter_call_method(p, MS_FILTER_SET_SAMPLE_RATE, &rate);
      ms_filter_call_method(p, MS_FILTER_SET_NCHANNELS, &one);
      ms_filter_link(prev, 0, p, 0);
      prev = p;
    }
  }
  if (cf->audio_rate != ct->audio_rate) {
    MSFilter *rs = add(call, ms_factory_create_filter(factory, MS_RESAMPLE_ID));
    int in = cf->audio_rate, out = ct->audio_rate;
    ms_filter_call_method(rs, MS_FILTER_SET_SAMPLE_RATE, &in);
    ms_filter_call_method(rs, MS_FILTER_SET_OUTPUT_SAMPLE_RATE, &out);
    ms_filter_call_method(rs, MS_FILTER_SET_NCHANNELS, &one);
    ms_filter_link(prev, 0, rs, 0);
    prev = rs;
  }
  ms_filter_link(prev, 0, enc, 0);
  ms_filter_link(enc, 0, send, 0);
  return recv;
}

static int affinity_cpus(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

int main(int argc, char **argv) {
  int calls = 1, gen_port = 41000, port_base = 30000, tickers = 0, pt = -1;
  const char *codec = "PCMU", *complexity = "10", *prio = "normal";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--calls")) calls = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--codec")) codec = argv[i + 1];
    else if (!strcmp(argv[i], "--pt")) pt = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--gen-port")) gen_port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--port-base")) port_base = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--tickers")) tickers = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--complexity")) complexity = argv[i + 1];
    else if (!strcmp(argv[i], "--prio")) prio = argv[i + 1];
    else if (!strcmp(argv[i], "--plc")) plc = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "plain-ms2: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  setenv("MS2_OPUS_COMPLEXITY", complexity, 1);
  if (tickers <= 0) tickers = affinity_cpus();
  ortp_init();
  ortp_set_log_level_mask(NULL, ORTP_FATAL);
  factory = ms_factory_new_with_voip();
  ms_factory_register_filter(factory, &c2_enc_desc);
  ms_factory_register_filter(factory, &c2_dec_desc);
  const Codec *pcmu = codec_named("PCMU"), *x = codec_named(codec);
  if (pt < 0) {
    fprintf(stderr, "plain-ms2: --pt is required\n");
    return 2;
  }
  int relay = !strcmp(x->name, "PCMU");

  long rss_before = 0;
  FILE *statm = fopen("/proc/self/statm", "r");
  if (statm) {
    long size;
    if (fscanf(statm, "%ld %ld", &size, &rss_before) != 2) rss_before = 0;
    fclose(statm);
  }
  rss_before *= sysconf(_SC_PAGESIZE);
  MSTicker **tk = calloc(tickers, sizeof *tk);
  MSTickerParams params = {.name = "plain-ticker", .prio = !strcmp(prio, "high") ? MS_TICKER_PRIO_HIGH : MS_TICKER_PRIO_NORMAL};
  for (int i = 0; i < tickers; i++) tk[i] = ms_ticker_new_with_params(&params);
  Call *cs = calloc(calls, sizeof *cs);
  for (int i = 0; i < calls; i++) {
    Call *c = &cs[i];
    c->sa = session(port_base + 4 * i, gen_port, pcmu, 0, relay);
    c->sb = session(port_base + 4 * i + 2, gen_port, x, pt, relay);
    c->roots[0] = direction(c, c->sa, pcmu, c->sb, x, relay);
    c->roots[1] = direction(c, c->sb, x, c->sa, pcmu, relay);
    c->ticker = tk[i % tickers];
    ms_ticker_attach_multiple(c->ticker, c->roots[0], c->roots[1], NULL);
  }
  printf("{\"ready\": true, \"pid\": %d, \"tickers\": %d, \"relay\": %s, \"rssBefore\": %ld}\n", getpid(), tickers,
         relay ? "true" : "false", rss_before);
  fflush(stdout);

  char line[256];
  while (fgets(line, sizeof line, stdin)) {
    if (!strncmp(line, "stats", 5)) {
      printf("{\"tickers\": [");
      for (int i = 0; i < tickers; i++) {
        MSTickerLateEvent ev;
        ms_ticker_get_last_late_tick(tk[i], &ev);
        printf("%s{\"load\": %.4f, \"lastLateMs\": %d, \"currentLateMs\": %d}", i ? ", " : "",
               ms_ticker_get_average_load(tk[i]), ev.lateMs, ev.current_late_ms);
      }
      printf("]}\n");
      fflush(stdout);
    } else if (!strncmp(line, "quit", 4)) {
      break;
    }
  }
  /* the process ends here: stop the threads, let exit() free the rest */
  for (int i = 0; i < tickers; i++) ms_ticker_destroy(tk[i]);
  printf("{\"bye\": true}\n");
  return 0;
}
