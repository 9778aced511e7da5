/*
 * RTP load generator for the issue-8 benchmark (bench/run.ts builds it with
 * gcc; it is not part of the package).
 *
 * It plays both ends of N calls: for each call a PCMU leg ("a") and a leg in
 * another codec ("b"), each sending real speech, pre-encoded per codec at
 * start-up, every 20 ms to the media server under test, and receiving what
 * the server sends back (a's audio transcoded onto b, and b's onto a).
 *
 * Everything runs on one thread (at real-time priority when allowed, waking
 * at most every 0.5 ms) over one UDP socket (the servers latch onto
 * it; streams are told apart by the server's source port), with sendmmsg and
 * recvmmsg batching and kernel receive timestamps (SO_TIMESTAMPNS), so that
 * the generator's own cost and scheduling disturb the figures as little as
 * possible. Send times are spread evenly over the 20 ms period.
 *
 * What it measures, per direction (a2b = PCMU in, codec out; b2a = the other
 * way), in a window after a warm-up:
 *   - delivery: packets received in the window over packets expected (one
 *     per 20 ms per stream, whatever the server does with sequence numbers);
 *   - delay spread: per packet, arrival time minus RTP timestamp (the
 *     transit), over the lowest transit of its stream in the second before
 *     (how much later than it could have been); P99.5 pooled over streams;
 *   - latency, packet in -> packet out, on a sample of calls: the decoded
 *     output is aligned with the audio we sent (envelope cross-correlation),
 *     so each output packet is matched with the input packet that carried
 *     its last sample; the codec's own algorithmic delay (our encoder and
 *     decoder, calibrated offline the same way) is reported beside it;
 *   - identity (what a relay should keep): packets that arrive exactly as
 *     the other leg sent them - its SSRC, the sequence number and timestamp
 *     it gave that packet, and the same payload bytes.
 *
 * Config (one directive per line, '#' comments):
 *   addr 127.0.0.1 | port 41000 | duration_ms 15000 | warmup_ms 4000
 *   tail_ms 500 | drain_ms 400 | ptime 20 | sample_calls 4
 *   rt_priority N (SCHED_FIFO priority while sending, 0: none; needs root)
 *   src8 FILE (s16le mono 8 kHz) | src16 FILE (s16le mono 16 kHz)
 *   out FILE (JSON result) | trace FILE (arrival and transit of call 0's packets)
 *   call <server_port_a> <codec_a> <pt_a> <server_port_b> <codec_b> <pt_b>
 * Codecs: PCMU PCMA G722 G729 opus CODEC2 (mode 2400, what the package offers).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <opus.h>
#include <codec2.h>
#include <bcg729/decoder.h>
#include <bcg729/encoder.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* G.722 from libmediastreamer (exported, no public header). States are
 * small; we hand it generously sized zeroed buffers. */
extern void *g722_encode_init(void *s, int rate, int options);
extern int g722_encode(void *s, uint8_t g722_data[], const int16_t amp[], int len);
extern void *g722_decode_init(void *s, int rate, int options);
extern int g722_decode(void *s, int16_t amp[], const uint8_t g722_data[], int len);

#define MAX_PAYLOAD 512
#define NS 1000000000LL

enum { C_PCMU, C_PCMA, C_G722, C_G729, C_OPUS, C_CODEC2, C_COUNT };
static const char *CODEC_NAMES[C_COUNT] = {"PCMU", "PCMA", "G722", "G729", "opus", "CODEC2"};
static const int CODEC_CLOCK[C_COUNT] = {8000, 8000, 8000, 8000, 48000, 8000};

static int codec_of(const char *name) {
  for (int i = 0; i < C_COUNT; i++)
    if (strcasecmp(name, CODEC_NAMES[i]) == 0) return i;
  fprintf(stderr, "loadgen: unknown codec %s\n", name);
  exit(2);
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * NS + ts.tv_nsec;
}

/* ---------------------------------------------------------------- audio */

typedef struct {
  int16_t *s;
  int n;
} Pcm;

static Pcm read_raw(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path);
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  Pcm p = {malloc(bytes), (int)(bytes / 2)};
  if (fread(p.s, 2, p.n, f) != (size_t)p.n) die("read source");
  fclose(f);
  return p;
}

static uint8_t lin2ulaw(int16_t pcm) {
  int sign = (pcm >> 8) & 0x80;
  int v = pcm;
  if (sign) v = -v;
  if (v > 32635) v = 32635;
  v += 0x84;
  int exponent = 7;
  for (int mask = 0x4000; (v & mask) == 0 && exponent > 0; mask >>= 1) exponent--;
  int mantissa = (v >> (exponent + 3)) & 0x0f;
  return (uint8_t)~(sign | (exponent << 4) | mantissa);
}

static int16_t ulaw2lin(uint8_t u) {
  u = ~u;
  int t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return (int16_t)((u & 0x80) ? (0x84 - t) : (t - 0x84));
}

static uint8_t lin2alaw(int16_t pcm) {
  int sign = (pcm >> 8) & 0x80;
  int v = pcm;
  if (sign) v = -v - 1;
  int mask = sign ? 0x55 : 0xd5;
  static const int seg_end[8] = {0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff};
  v >>= 3;
  int seg = 0;
  while (seg < 8 && v > seg_end[seg]) seg++;
  if (seg >= 8) return (uint8_t)(0x7f ^ mask);
  int aval = seg << 4;
  aval |= (seg < 2) ? (v >> 1) & 0x0f : (v >> seg) & 0x0f;
  return (uint8_t)(aval ^ mask);
}

static int16_t alaw2lin(uint8_t a) {
  a ^= 0x55;
  int t = (a & 0x0f) << 4;
  int seg = (a & 0x70) >> 4;
  if (seg == 0) t += 8;
  else if (seg == 1) t += 0x108;
  else {
    t += 0x108;
    t <<= seg - 1;
  }
  return (int16_t)((a & 0x80) ? t : -t);
}

/* One codec's frames for the whole source loop (20 ms each). */
typedef struct {
  int nframes;
  uint8_t (*data)[MAX_PAYLOAD];
  uint16_t *len;
} Encoded;

/* A decoder over any of our codecs, producing 160 samples at 8 kHz per
 * 20 ms packet (G.722 is decoded at 16 kHz and decimated). */
typedef struct {
  int codec;
  OpusDecoder *opus;
  struct CODEC2 *c2;
  bcg729DecoderChannelContextStruct *g729;
  void *g722;
} Decoder;

static Decoder dec_new(int codec) {
  Decoder d = {.codec = codec};
  int err = 0;
  switch (codec) {
    case C_OPUS: d.opus = opus_decoder_create(8000, 1, &err); break;
    case C_CODEC2: d.c2 = codec2_create(CODEC2_MODE_2400); break;
    case C_G729: d.g729 = initBcg729DecoderChannel(); break;
    case C_G722: d.g722 = g722_decode_init(calloc(1, 8192), 64000, 0); break;
  }
  return d;
}

static void dec_free(Decoder *d) {
  if (d->opus) opus_decoder_destroy(d->opus);
  if (d->c2) codec2_destroy(d->c2);
  if (d->g729) closeBcg729DecoderChannel(d->g729);
  free(d->g722);
}

/* Decodes one packet into out (160 samples at 8 kHz); returns samples written. */
static int dec_packet(Decoder *d, const uint8_t *p, int len, int16_t *out) {
  switch (d->codec) {
    case C_PCMU:
      for (int i = 0; i < len && i < 160; i++) out[i] = ulaw2lin(p[i]);
      return len < 160 ? len : 160;
    case C_PCMA:
      for (int i = 0; i < len && i < 160; i++) out[i] = alaw2lin(p[i]);
      return len < 160 ? len : 160;
    case C_G722: {
      int16_t wide[640];
      int n = g722_decode(d->g722, wide, p, len);
      if (n > 640) n = 640;
      for (int i = 0; i < n / 2; i++) out[i] = (int16_t)((wide[2 * i] + wide[2 * i + 1]) / 2);
      return n / 2;
    }
    case C_G729: {
      int n = 0;
      for (int off = 0; off + 10 <= len && n < 160; off += 10, n += 80)
        bcg729Decoder(d->g729, p + off, 10, 0, 0, 0, out + n);
      return n;
    }
    case C_OPUS: {
      int n = opus_decode(d->opus, p, len, out, 160, 0);
      return n < 0 ? 0 : n;
    }
    case C_CODEC2: {
      int n = 0;
      int fb = (codec2_bits_per_frame(d->c2) + 7) / 8;
      for (int off = 0; off + fb <= len && n < 160; off += fb, n += 160) codec2_decode(d->c2, out + n, p + off);
      return n;
    }
  }
  return 0;
}

static Encoded encode_all(int codec, const Pcm *s8, const Pcm *s16, int nframes) {
  Encoded e = {nframes, calloc(nframes, MAX_PAYLOAD), calloc(nframes, sizeof(uint16_t))};
  OpusEncoder *op = NULL;
  struct CODEC2 *c2 = NULL;
  bcg729EncoderChannelContextStruct *g729 = NULL;
  void *g722 = NULL;
  int err = 0;
  if (codec == C_OPUS) {
    /* a wideband phone: 16 kHz in, 48 kHz RTP clock */
    op = opus_encoder_create(16000, 1, OPUS_APPLICATION_VOIP, &err);
    opus_encoder_ctl(op, OPUS_SET_BITRATE(24000));
    opus_encoder_ctl(op, OPUS_SET_COMPLEXITY(10));
  } else if (codec == C_CODEC2) {
    c2 = codec2_create(CODEC2_MODE_2400);
  } else if (codec == C_G729) {
    g729 = initBcg729EncoderChannel(0);
  } else if (codec == C_G722) {
    g722 = g722_encode_init(calloc(1, 8192), 64000, 0);
  }
  for (int f = 0; f < nframes; f++) {
    const int16_t *nb = s8->s + f * 160;
    const int16_t *wb = s16->s + f * 320;
    uint8_t *out = e.data[f];
    int len = 0;
    switch (codec) {
      case C_PCMU:
        for (int i = 0; i < 160; i++) out[i] = lin2ulaw(nb[i]);
        len = 160;
        break;
      case C_PCMA:
        for (int i = 0; i < 160; i++) out[i] = lin2alaw(nb[i]);
        len = 160;
        break;
      case C_G722: len = g722_encode(g722, out, wb, 320); break;
      case C_G729: {
        uint8_t l1 = 0, l2 = 0;
        bcg729Encoder(g729, nb, out, &l1);
        bcg729Encoder(g729, nb + 80, out + l1, &l2);
        len = l1 + l2;
        break;
      }
      case C_OPUS: len = opus_encode(op, wb, 320, out, MAX_PAYLOAD); break;
      case C_CODEC2:
        codec2_encode(c2, out, (short *)nb);
        len = (codec2_bits_per_frame(c2) + 7) / 8;
        break;
    }
    if (len <= 0) {
      fprintf(stderr, "loadgen: encoding %s failed\n", CODEC_NAMES[codec]);
      exit(1);
    }
    e.len[f] = (uint16_t)len;
  }
  if (op) opus_encoder_destroy(op);
  if (c2) codec2_destroy(c2);
  if (g729) closeBcg729EncoderChannel(g729);
  free(g722);
  return e;
}

/* Log-energy envelope, one value per ms (8 samples) over a 4 ms window. */
static double *envelope(const int16_t *x, int n, int *nblocks) {
  int nb = n / 8;
  double *e = calloc(nb > 0 ? nb : 1, sizeof(double));
  for (int b = 0; b < nb; b++) {
    double acc = 0;
    for (int i = b * 8 - 12; i < b * 8 + 20; i++)
      if (i >= 0 && i < n) acc += (double)x[i] * x[i];
    e[b] = log(1.0 + acc / 32.0);
  }
  *nblocks = nb;
  return e;
}

/* Lag (in blocks) within [lo, hi] maximising the Pearson correlation of
 * out[j] with in[j + lag], and that correlation. in_at(k) gives in[k]. */
typedef double (*EnvAt)(void *ctx, long k);
static long best_lag(const double *out, int nout, EnvAt in_at, void *ctx, long lo, long hi, double *corr) {
  long best = lo;
  double bestc = -2;
  for (long lag = lo; lag <= hi; lag++) {
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    int n = 0;
    for (int j = 0; j < nout; j++) {
      double x = out[j];
      if (x != x) continue; /* NaN: no packet there */
      double y = in_at(ctx, j + lag);
      if (y != y) continue;
      sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y, n++;
    }
    if (n < 200) continue;
    double vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
    if (vx <= 0 || vy <= 0) continue;
    double c = (sxy - sx * sy / n) / sqrt(vx * vy);
    if (c > bestc) bestc = c, best = lag;
  }
  *corr = bestc;
  return best;
}

/* ---------------------------------------------------------------- legs */

typedef struct {
  int64_t arr;
  int64_t ts; /* unwrapped */
  uint16_t len;
  uint8_t payload[MAX_PAYLOAD];
} Rec;

typedef struct {
  int call;
  int side; /* 0 = a, 1 = b */
  int peer;
  int codec, pt;
  uint16_t server_port;
  struct sockaddr_in dst;
  /* sending */
  uint16_t seq, seq0;
  uint32_t ts, ts0, ssrc;
  int frame_off;
  int64_t phase_ns;
  uint32_t sent;
  int64_t *send_times; /* per packet index, sampled calls only */
  /* receiving */
  uint32_t rx_total, rx_win, rx_other_pt, rx_bad;
  uint32_t rx_ident; /* in the window: the peer's packet exactly as it sent it (relays) */
  int have_ts;
  uint32_t last_ts;
  int64_t ext_ts;
  double *transit;
  int ntransit, cap_transit;
  Rec *recs;
  int nrecs, cap_recs;
} Leg;

static Leg *legs;
static int nlegs;
static int port2leg[65536];

/* ---------------------------------------------------------------- config */

static char cfg_addr[64] = "127.0.0.1";
static int cfg_port = 41000, cfg_duration = 15000, cfg_warmup = 4000, cfg_tail = 500, cfg_drain = 400;
static int cfg_ptime = 20, cfg_sample_calls = 4, cfg_rt_priority = 0;
static char cfg_src8[512], cfg_src16[512], cfg_out[512] = "/dev/stdout", cfg_trace[512];

static void read_config(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) die(path);
  char line[1024];
  int cap = 0;
  while (fgets(line, sizeof line, f)) {
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char key[64];
    if (sscanf(line, "%63s", key) != 1) continue;
    const char *rest = line + strspn(line, " \t") + strlen(key);
    if (!strcmp(key, "addr")) sscanf(rest, "%63s", cfg_addr);
    else if (!strcmp(key, "port")) cfg_port = atoi(rest);
    else if (!strcmp(key, "duration_ms")) cfg_duration = atoi(rest);
    else if (!strcmp(key, "warmup_ms")) cfg_warmup = atoi(rest);
    else if (!strcmp(key, "tail_ms")) cfg_tail = atoi(rest);
    else if (!strcmp(key, "drain_ms")) cfg_drain = atoi(rest);
    else if (!strcmp(key, "ptime")) cfg_ptime = atoi(rest);
    else if (!strcmp(key, "sample_calls")) cfg_sample_calls = atoi(rest);
    else if (!strcmp(key, "rt_priority")) cfg_rt_priority = atoi(rest);
    else if (!strcmp(key, "src8")) sscanf(rest, "%511s", cfg_src8);
    else if (!strcmp(key, "src16")) sscanf(rest, "%511s", cfg_src16);
    else if (!strcmp(key, "out")) sscanf(rest, "%511s", cfg_out);
    else if (!strcmp(key, "trace")) sscanf(rest, "%511s", cfg_trace);
    else if (!strcmp(key, "call")) {
      int pa, pb, pta, ptb;
      char ca[32], cb[32];
      if (sscanf(rest, "%d %31s %d %d %31s %d", &pa, ca, &pta, &pb, cb, &ptb) != 6) {
        fprintf(stderr, "loadgen: bad call line: %s", line);
        exit(2);
      }
      if (nlegs + 2 > cap) {
        cap = cap ? cap * 2 : 256;
        legs = realloc(legs, cap * sizeof(Leg));
      }
      int call = nlegs / 2;
      for (int s = 0; s < 2; s++) {
        Leg *l = &legs[nlegs + s];
        memset(l, 0, sizeof *l);
        l->call = call;
        l->side = s;
        l->peer = nlegs + 1 - s;
        l->codec = codec_of(s ? cb : ca);
        l->pt = s ? ptb : pta;
        l->server_port = (uint16_t)(s ? pb : pa);
      }
      nlegs += 2;
    } else {
      fprintf(stderr, "loadgen: unknown directive %s\n", key);
      exit(2);
    }
  }
  fclose(f);
}

/* ---------------------------------------------------------------- stats */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(const double *sorted, int n, double p) {
  if (n == 0) return NAN;
  double idx = p / 100.0 * (n - 1);
  int i = (int)idx;
  if (i >= n - 1) return sorted[n - 1];
  return sorted[i] + (sorted[i + 1] - sorted[i]) * (idx - i);
}

typedef struct {
  const double *env;
  int n;
  int64_t base; /* input sample index (in blocks) of the stream start in the loop */
} LoopEnv;

static double loop_env_at(void *ctx, long k) {
  LoopEnv *le = ctx;
  if (k < 0) return NAN;
  return le->env[(le->base + k) % le->n];
}

typedef struct {
  const double *env;
  int n;
} PlainEnv;

static double plain_env_at(void *ctx, long k) {
  PlainEnv *pe = ctx;
  return (k < 0 || k >= pe->n) ? NAN : pe->env[k];
}

/* Lag of decode(encode(source)) behind the source, in ms: the codec's own
 * algorithmic delay as our encoder and decoder produce it. */
static double codec_delay_ms(int codec, const Encoded *enc, const double *srcenv, int nsrcenv) {
  Decoder d = dec_new(codec);
  int frames = enc->nframes < 300 ? enc->nframes : 300;
  int16_t *pcm = calloc(frames * 160, sizeof(int16_t));
  for (int f = 0; f < frames; f++) dec_packet(&d, enc->data[f], enc->len[f], pcm + f * 160);
  dec_free(&d);
  int nb;
  double *e = envelope(pcm, frames * 160, &nb);
  PlainEnv pe = {srcenv, nsrcenv};
  double c;
  /* out[j] = in[j + lag]: a delayed output has a negative lag */
  long lag = best_lag(e, nb, plain_env_at, &pe, -60, 5, &c);
  free(e);
  free(pcm);
  return c > 0.5 ? -(double)lag : NAN;
}

/* A JSON number, or null for NaN/inf (rotating buffers, for one printf). */
static const char *J(double v, int prec) {
  static char bufs[16][32];
  static int next;
  char *b = bufs[next++ % 16];
  if (v != v || isinf(v)) return "null";
  snprintf(b, 32, "%.*f", prec, v);
  return b;
}

/* ---------------------------------------------------------------- main */

static volatile sig_atomic_t stop_flag;
static void on_signal(int s) {
  (void)s;
  stop_flag = 1;
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* µs of CPU per 20 ms frame to encode and decode each codec, with the
 * settings the servers use (Opus: 8 kHz API rate, 16 kbit/s VBR, voice):
 * the codec-only ceiling of the benchmark. Best of 3 rounds. */
static int codec_cost(const char *src8, const char *src16, int complexity) {
  Pcm s8 = read_raw(src8), s16 = read_raw(src16);
  int nframes = s8.n / 160;
  if (s16.n / 320 < nframes) nframes = s16.n / 320;
  printf("{");
  for (int c = 0; c < C_COUNT; c++) {
    double best_enc = 1e9, best_dec = 1e9;
    Encoded e = encode_all(c, &s8, &s16, nframes);
    for (int round = 0; round < 3; round++) {
      int err;
      OpusEncoder *op = NULL;
      struct CODEC2 *c2 = NULL;
      bcg729EncoderChannelContextStruct *g729 = NULL;
      void *g722 = NULL;
      if (c == C_OPUS) {
        op = opus_encoder_create(8000, 1, OPUS_APPLICATION_VOIP, &err);
        opus_encoder_ctl(op, OPUS_SET_COMPLEXITY(complexity));
        opus_encoder_ctl(op, OPUS_SET_BITRATE(16000));
        opus_encoder_ctl(op, OPUS_SET_VBR(1));
        opus_encoder_ctl(op, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
      } else if (c == C_CODEC2) c2 = codec2_create(CODEC2_MODE_2400);
      else if (c == C_G729) g729 = initBcg729EncoderChannel(0);
      else if (c == C_G722) g722 = g722_encode_init(calloc(1, 8192), 64000, 0);
      uint8_t buf[MAX_PAYLOAD];
      volatile int sink = 0;
      double t = cpu_now();
      for (int f = 0; f < nframes; f++) {
        const int16_t *nb = s8.s + f * 160, *wb = s16.s + f * 320;
        switch (c) {
          case C_PCMU: for (int i = 0; i < 160; i++) buf[i] = lin2ulaw(nb[i]); break;
          case C_PCMA: for (int i = 0; i < 160; i++) buf[i] = lin2alaw(nb[i]); break;
          case C_G722: g722_encode(g722, buf, wb, 320); break;
          case C_G729: {
            uint8_t l;
            bcg729Encoder(g729, nb, buf, &l);
            bcg729Encoder(g729, nb + 80, buf + 10, &l);
            break;
          }
          case C_OPUS: sink += opus_encode(op, nb, 160, buf, MAX_PAYLOAD); break;
          case C_CODEC2: codec2_encode(c2, buf, (short *)nb); break;
        }
        sink += buf[0];
      }
      double enc_us = (cpu_now() - t) * 1e6 / nframes;
      if (op) opus_encoder_destroy(op);
      if (c2) codec2_destroy(c2);
      if (g729) closeBcg729EncoderChannel(g729);
      free(g722);
      Decoder d = dec_new(c);
      int16_t pcm[640];
      t = cpu_now();
      for (int f = 0; f < nframes; f++) sink += dec_packet(&d, e.data[f], e.len[f], pcm);
      double dec_us = (cpu_now() - t) * 1e6 / nframes;
      dec_free(&d);
      (void)sink;
      if (enc_us < best_enc) best_enc = enc_us;
      if (dec_us < best_dec) best_dec = dec_us;
    }
    printf("%s\"%s\": {\"encodeUs\": %.2f, \"decodeUs\": %.2f}", c ? ", " : "", CODEC_NAMES[c], best_enc, best_dec);
  }
  printf("}\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && !strcmp(argv[1], "--codec-cost")) return codec_cost(argv[2], argv[3], atoi(argv[4]));
  if (argc != 2) {
    fprintf(stderr, "usage: loadgen CONFIG | loadgen --codec-cost SRC8 SRC16 OPUS_COMPLEXITY\n");
    return 2;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  read_config(argv[1]);
  if (nlegs == 0) {
    fprintf(stderr, "loadgen: no calls\n");
    return 2;
  }
  /* a bounded run: whatever the config says, never more than 10 minutes */
  if (cfg_duration > 600000) cfg_duration = 600000;
  Pcm s8 = read_raw(cfg_src8), s16 = read_raw(cfg_src16);
  int nframes = s8.n / 160;
  if (s16.n / 320 < nframes) nframes = s16.n / 320;
  if (nframes < 100) {
    fprintf(stderr, "loadgen: source shorter than 2 s\n");
    return 2;
  }
  int ncalls = nlegs / 2;

  /* pre-encode every codec in use */
  Encoded enc[C_COUNT];
  int used[C_COUNT] = {0};
  for (int i = 0; i < nlegs; i++) used[legs[i].codec] = 1;
  int nsrcenv;
  double *srcenv = envelope(s8.s, nframes * 160, &nsrcenv);
  double codec_delay[C_COUNT];
  for (int c = 0; c < C_COUNT; c++) {
    codec_delay[c] = NAN;
    if (!used[c]) continue;
    enc[c] = encode_all(c, &s8, &s16, nframes);
    codec_delay[c] = codec_delay_ms(c, &enc[c], srcenv, nsrcenv);
  }

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  int big = 32 << 20, on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(cfg_port)};
  inet_pton(AF_INET, cfg_addr, &me.sin_addr);
  if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0) die("bind rtp");
  /* the servers' RTCP comes to port + 1: read and drop it */
  int rtcp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in me2 = me;
  me2.sin_port = htons(cfg_port + 1);
  if (bind(rtcp, (struct sockaddr *)&me2, sizeof me2) < 0) die("bind rtcp");

  for (int i = 0; i < 65536; i++) port2leg[i] = -1;
  int64_t period = (int64_t)cfg_ptime * 1000000LL;
  int64_t total_packets = ((int64_t)cfg_duration + cfg_tail) * 1000000LL / period + 2;
  srand(12345);
  for (int i = 0; i < nlegs; i++) {
    Leg *l = &legs[i];
    l->dst.sin_family = AF_INET;
    l->dst.sin_port = htons(l->server_port);
    inet_pton(AF_INET, cfg_addr, &l->dst.sin_addr);
    if (port2leg[l->server_port] >= 0) {
      fprintf(stderr, "loadgen: server port %d used twice\n", l->server_port);
      return 2;
    }
    port2leg[l->server_port] = i;
    l->seq = (uint16_t)rand();
    l->ts = (uint32_t)rand();
    l->ssrc = (uint32_t)rand() ^ ((uint32_t)i << 16);
    l->seq0 = l->seq;
    l->ts0 = l->ts;
    l->frame_off = (l->call * 37 + l->side * 211) % nframes;
    /* send phases spread over the period in 0.5 ms slots: even load on
     * the server without waking the generator for every packet */
    int slots = (int)(period / 500000);
    l->phase_ns = (int64_t)(i * (int64_t)slots / nlegs) * 500000;
    l->cap_transit = (int)((int64_t)cfg_duration * 1000000LL / period) + 64;
    l->transit = malloc(l->cap_transit * sizeof(double));
    if (l->call < cfg_sample_calls) {
      l->send_times = calloc(total_packets + 1, sizeof(int64_t));
      l->cap_recs = (int)total_packets + 16;
      l->recs = malloc(l->cap_recs * sizeof(Rec));
    }
  }

  enum { BATCH = 64, RBATCH = 64 };
  static struct mmsghdr smsg[BATCH];
  static struct iovec siov[BATCH][2];
  static uint8_t shdr[BATCH][12];
  static struct mmsghdr rmsg[RBATCH];
  static struct iovec riov[RBATCH];
  static uint8_t rbuf[RBATCH][2048];
  static char rctl[RBATCH][256];
  static struct sockaddr_in rfrom[RBATCH];

  /* The generator shares the machine with the server: real-time priority
   * keeps its send times (and so the figures) free of its own scheduling
   * delays. Its CPU use is small and bounded (one thread, bounded run). */
  int rt = 0;
  if (cfg_rt_priority > 0) {
    struct sched_param sp = {.sched_priority = cfg_rt_priority};
    rt = sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
    if (!rt) fprintf(stderr, "loadgen: no real-time priority (%s); send times may slip\n", strerror(errno));
  }
  int64_t t0 = now_ns() + 100000000LL; /* start in 100 ms */
  printf("{\"start\": %.3f}\n", t0 / 1e6);
  fflush(stdout);
  int64_t win_start = t0 + (int64_t)cfg_warmup * 1000000LL;
  int64_t win_end = t0 + (int64_t)cfg_duration * 1000000LL;
  int64_t send_end = win_end + (int64_t)cfg_tail * 1000000LL;
  int64_t run_end = send_end + (int64_t)cfg_drain * 1000000LL;
  int64_t next_event = 0; /* event g: leg g % nlegs, packet g / nlegs */
  int64_t max_late = 0, late_over_2ms = 0, events_sent = 0;
  int sending = 1;
  struct rusage ru0;
  getrusage(RUSAGE_SELF, &ru0);

  for (;;) {
    int64_t now = now_ns();
    if (now >= run_end || stop_flag) break;
    /* send everything due (within 100 µs) */
    while (sending) {
      int n = 0;
      int64_t t_send = now_ns();
      while (n < BATCH) {
        int li = (int)(next_event % nlegs);
        int64_t k = next_event / nlegs;
        int64_t due = t0 + k * period + legs[li].phase_ns;
        if (due >= send_end) {
          sending = 0;
          break;
        }
        if (due > t_send + 100000) break;
        Leg *l = &legs[li];
        int64_t late = t_send - due;
        if (late > max_late) max_late = late;
        if (late > 2000000) late_over_2ms++;
        int frame = (int)((l->frame_off + k) % nframes);
        const Encoded *e = &enc[l->codec];
        uint8_t *h = shdr[n];
        h[0] = 0x80;
        h[1] = (uint8_t)(l->pt | (k == 0 ? 0x80 : 0));
        h[2] = (uint8_t)(l->seq >> 8), h[3] = (uint8_t)l->seq;
        h[4] = (uint8_t)(l->ts >> 24), h[5] = (uint8_t)(l->ts >> 16), h[6] = (uint8_t)(l->ts >> 8),
        h[7] = (uint8_t)l->ts;
        h[8] = (uint8_t)(l->ssrc >> 24), h[9] = (uint8_t)(l->ssrc >> 16), h[10] = (uint8_t)(l->ssrc >> 8),
        h[11] = (uint8_t)l->ssrc;
        siov[n][0] = (struct iovec){h, 12};
        siov[n][1] = (struct iovec){(void *)e->data[frame], e->len[frame]};
        smsg[n].msg_hdr = (struct msghdr){.msg_name = &l->dst, .msg_namelen = sizeof l->dst, .msg_iov = siov[n],
                                          .msg_iovlen = 2};
        l->seq++;
        l->ts += (uint32_t)(CODEC_CLOCK[l->codec] * cfg_ptime / 1000);
        l->sent++;
        if (l->send_times && k <= total_packets) l->send_times[k] = t_send;
        next_event++;
        n++;
      }
      if (n == 0) break;
      for (int off = 0; off < n;) {
        int r = sendmmsg(fd, smsg + off, n - off, 0);
        if (r < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN || errno == ECONNREFUSED || errno == ENOBUFS) {
            off++; /* drop it, count as sent: the server's loss */
            continue;
          }
          die("sendmmsg");
        }
        off += r;
      }
      events_sent += n;
      if (n < BATCH) break;
    }
    /* read what arrived since the last slot: with kernel receive
     * timestamps the read time does not matter, and reading at send slots
     * only (2000 wake-ups a second at most) keeps the generator cheap */
    {
      char junk[2048];
      while (recv(rtcp, junk, sizeof junk, 0) > 0) {
      }
    }
    {
      {
        for (;;) {
          for (int i = 0; i < RBATCH; i++) {
            riov[i] = (struct iovec){rbuf[i], sizeof rbuf[i]};
            rmsg[i].msg_hdr = (struct msghdr){.msg_name = &rfrom[i], .msg_namelen = sizeof rfrom[i],
                                              .msg_iov = &riov[i], .msg_iovlen = 1, .msg_control = rctl[i],
                                              .msg_controllen = sizeof rctl[i]};
          }
          int r = recvmmsg(fd, rmsg, RBATCH, MSG_DONTWAIT, NULL);
          if (r <= 0) break;
          int64_t fallback = now_ns();
          for (int i = 0; i < r; i++) {
            int64_t arr = fallback;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&rmsg[i].msg_hdr); c; c = CMSG_NXTHDR(&rmsg[i].msg_hdr, c))
              if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(c), sizeof ts);
                arr = ts.tv_sec * NS + ts.tv_nsec;
              }
            int li = port2leg[ntohs(rfrom[i].sin_port)];
            if (li < 0) continue;
            Leg *l = &legs[li];
            const uint8_t *b = rbuf[i];
            int len = (int)rmsg[i].msg_len;
            if (len < 12 || (b[0] >> 6) != 2) {
              l->rx_bad++;
              continue;
            }
            int hl = 12 + 4 * (b[0] & 0x0f);
            if (b[0] & 0x10) {
              if (len < hl + 4) {
                l->rx_bad++;
                continue;
              }
              hl += 4 + 4 * ((b[hl + 2] << 8) | b[hl + 3]);
            }
            int plen = len - hl;
            if (b[0] & 0x20) plen -= b[len - 1];
            if (plen <= 0) {
              l->rx_bad++;
              continue;
            }
            if ((b[1] & 0x7f) != l->pt) {
              l->rx_other_pt++;
              continue;
            }
            uint32_t ts = ((uint32_t)b[4] << 24) | ((uint32_t)b[5] << 16) | ((uint32_t)b[6] << 8) | b[7];
            if (!l->have_ts) {
              l->have_ts = 1;
              l->ext_ts = 0;
            } else {
              l->ext_ts += (int32_t)(ts - l->last_ts);
            }
            l->last_ts = ts;
            l->rx_total++;
            if (arr < win_start || arr >= win_end) continue;
            l->rx_win++;
            {
              /* identity: the peer's SSRC, its sequence number and timestamp
               * for that packet, and the very payload bytes it sent */
              const Leg *src = &legs[l->peer];
              uint32_t ssrc = ((uint32_t)b[8] << 24) | ((uint32_t)b[9] << 16) | ((uint32_t)b[10] << 8) | b[11];
              uint16_t k = (uint16_t)((((uint16_t)b[2] << 8) | b[3]) - src->seq0);
              uint32_t step = (uint32_t)(CODEC_CLOCK[src->codec] * cfg_ptime / 1000);
              const Encoded *se = &enc[src->codec];
              int frame = (int)((src->frame_off + k) % nframes);
              if (ssrc == src->ssrc && src->codec == l->codec && ts == src->ts0 + (uint32_t)k * step &&
                  plen == se->len[frame] && memcmp(b + hl, se->data[frame], plen) == 0)
                l->rx_ident++;
            }
            int clock = CODEC_CLOCK[l->codec];
            double transit = arr / 1e6 - (double)l->ext_ts * 1000.0 / clock;
            if (l->ntransit < l->cap_transit) l->transit[l->ntransit++] = transit;
            if (l->recs && l->nrecs < l->cap_recs && plen <= MAX_PAYLOAD) {
              Rec *rc = &l->recs[l->nrecs++];
              rc->arr = arr;
              rc->ts = l->ext_ts;
              rc->len = (uint16_t)plen;
              memcpy(rc->payload, b + hl, plen);
            }
          }
          if (r < RBATCH) break;
        }
      }
    }
    /* sleep until the next send slot (1 ms steps once sending is over) */
    int64_t wake = now_ns() + 1000000;
    if (sending) {
      int li = (int)(next_event % nlegs);
      wake = t0 + (next_event / nlegs) * period + legs[li].phase_ns;
    }
    if (wake > run_end) wake = run_end;
    struct timespec ts = {wake / NS, wake % NS};
    clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL);
  }
  struct rusage ru1;
  getrusage(RUSAGE_SELF, &ru1);
  double gen_cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                   ((ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) / 1e6;
  double run_s = (now_ns() - t0) / 1e9;

  if (cfg_trace[0]) {
    FILE *tf = fopen(cfg_trace, "w");
    for (int s = 0; s < 2 && tf; s++)
      for (int k = 0; k < legs[s].nrecs; k++) {
        Rec *rc = &legs[s].recs[k];
        fprintf(tf, "%d %.3f %.3f\n", s, (rc->arr - t0) / 1e6,
                rc->arr / 1e6 - (double)rc->ts * 1000.0 / CODEC_CLOCK[legs[s].codec]);
      }
    if (tf) fclose(tf);
  }

  /* ---- results per direction: dir 0 = a2b (received on b legs), 1 = b2a */
  FILE *out = fopen(cfg_out, "w");
  if (!out) die(cfg_out);
  double window_ms = (win_end - win_start) / 1e6;
  double expected = window_ms / cfg_ptime;
  fprintf(out, "{\n  \"calls\": %d, \"legs\": %d, \"windowMs\": %.0f, \"expectedPerStream\": %.1f,\n", ncalls, nlegs,
          window_ms, expected);
  fprintf(out,
          "  \"generator\": {\"cpuSeconds\": %s, \"cpuShare\": %s, \"maxSendLateMs\": %s, \"sendsLateOver2ms\": "
          "%lld, \"packetsSent\": %lld, \"realtime\": %s},\n",
          J(gen_cpu, 3), J(gen_cpu / run_s, 4), J(max_late / 1e6, 3), (long long)late_over_2ms, (long long)events_sent,
          rt ? "true" : "false");
  fprintf(out, "  \"codecDelayMs\": {");
  int first = 1;
  for (int c = 0; c < C_COUNT; c++)
    if (used[c]) {
      fprintf(out, "%s\"%s\": %s", first ? "" : ", ", CODEC_NAMES[c], J(codec_delay[c], 1));
      first = 0;
    }
  fprintf(out, "},\n  \"directions\": {\n");
  int lookback = 1000 / cfg_ptime;
  for (int dir = 0; dir < 2; dir++) {
    int rside = dir == 0 ? 1 : 0; /* the side that receives */
    long long rx = 0, other = 0, bad = 0, total = 0, ident = 0;
    int streams = 0, below = 0, silent = 0;
    double min_del = 1e9;
    int npool = 0;
    for (int i = rside; i < nlegs; i += 2) npool += legs[i].ntransit;
    double *pool = malloc((npool > 0 ? npool : 1) * sizeof(double));
    int np = 0;
    for (int i = rside; i < nlegs; i += 2) {
      Leg *l = &legs[i];
      streams++;
      rx += l->rx_win;
      ident += l->rx_ident;
      other += l->rx_other_pt;
      bad += l->rx_bad;
      total += l->rx_total;
      double d = l->rx_win / expected;
      if (d < min_del) min_del = d;
      if (d < 0.995) below++;
      if (l->rx_win == 0) silent++;
      /* lateness: transit over the lowest transit of the stream's last
       * second (arrival order), so that the slow downward steps of an
       * adaptive jitter buffer converging on a quiet network are not
       * counted, while stalls, bursts and a server falling behind are */
      for (int k = 0; k < l->ntransit; k++) {
        double m = l->transit[k];
        for (int j = k - 1; j >= 0 && j >= k - lookback; j--)
          if (l->transit[j] < m) m = l->transit[j];
        pool[np++] = l->transit[k] - m;
      }
    }
    qsort(pool, np, sizeof(double), cmp_double);
    double p99_5 = pct(pool, np, 99.5), p99_9 = pct(pool, np, 99.9), p50 = pct(pool, np, 50);
    /* latency on the sampled calls */
    int cap_lat = 0;
    for (int i = rside; i < nlegs; i += 2) cap_lat += legs[i].nrecs;
    double *lat = malloc((cap_lat > 0 ? cap_lat : 1) * sizeof(double));
    int nlat = 0, aligned = 0, sampled = 0;
    double min_corr = 2;
    for (int i = rside; i < nlegs; i += 2) {
      Leg *o = &legs[i];
      if (!o->recs || o->nrecs < 100) continue;
      sampled++;
      Leg *in = &legs[o->peer];
      int clock = CODEC_CLOCK[o->codec];
      int64_t ts0 = o->recs[0].ts;
      int64_t last = o->recs[o->nrecs - 1].ts;
      long nsamp = (long)((last - ts0) * 8000 / clock) + 160;
      int16_t *pcm = calloc(nsamp, sizeof(int16_t));
      char *have = calloc(nsamp / 8 + 1, 1);
      Decoder dd = dec_new(o->codec);
      for (int k = 0; k < o->nrecs; k++) {
        long pos = (long)((o->recs[k].ts - ts0) * 8000 / clock);
        if (pos < 0 || pos + 160 > nsamp) continue;
        int n = dec_packet(&dd, o->recs[k].payload, o->recs[k].len, pcm + pos);
        for (int b = pos / 8; b < (pos + n) / 8; b++) have[b] = 1;
      }
      dec_free(&dd);
      int nb;
      double *oenv = envelope(pcm, (int)nsamp, &nb);
      for (int b = 0; b < nb; b++)
        if (!have[b]) oenv[b] = NAN;
      /* where the output starts in the input stream, roughly: sent between
       * 700 ms before and 20 ms after the first output packet arrived */
      int64_t a0 = o->recs[0].arr;
      long kmin = -1, kmax = -1;
      for (long k = 0; k <= total_packets && in->send_times[k]; k++) {
        if (in->send_times[k] <= a0 - 700000000LL) kmin = k;
        if (in->send_times[k] <= a0 + 20000000LL) kmax = k;
      }
      if (kmin < 0) kmin = 0;
      LoopEnv le = {srcenv, nsrcenv, (int64_t)in->frame_off * 20};
      int nuse = nb < 6000 ? nb : 6000;
      double c;
      long lag = best_lag(oenv, nuse, loop_env_at, &le, kmin * 20, (kmax + 1) * 20, &c);
      if (c < min_corr) min_corr = c;
      if (c >= 0.6) {
        aligned++;
        for (int k = 0; k < o->nrecs; k++) {
          long pos = (long)((o->recs[k].ts - ts0) * 8000 / clock);
          long last_sample = pos + 159 + lag * 8; /* input sample index */
          if (last_sample < 0) continue;
          long kin = last_sample / 160;
          if (kin > total_packets || in->send_times[kin] == 0) continue;
          lat[nlat++] = (o->recs[k].arr - in->send_times[kin]) / 1e6;
        }
      }
      free(oenv);
      free(pcm);
      free(have);
    }
    qsort(lat, nlat, sizeof(double), cmp_double);
    int out_codec = legs[rside].codec, in_codec = legs[1 - rside].codec;
    int xc = out_codec != C_PCMU ? out_codec : in_codec;
    double cd = codec_delay[xc];
    fprintf(out,
            "    \"%s\": {\"from\": \"%s\", \"to\": \"%s\", \"streams\": %d, \"received\": %lld, \"delivery\": %s, "
            "\"minStreamDelivery\": %s, \"streamsBelow99_5\": %d, \"silentStreams\": %d, \"receivedTotal\": %lld, "
            "\"otherPayloadTypes\": %lld, \"malformed\": %lld, \"identical\": %lld,\n",
            dir == 0 ? "a2b" : "b2a", CODEC_NAMES[in_codec], CODEC_NAMES[out_codec], streams, rx,
            J(rx / (streams * expected), 5), J(min_del, 4), below, silent, total, other, bad, ident);
    fprintf(out, "      \"spreadMs\": %s, \"spreadP50\": %s, \"spreadP99_9\": %s, \"spreadMax\": %s,\n", J(p99_5, 2),
            J(p50, 2), J(p99_9, 2), J(np ? pool[np - 1] : NAN, 2));
    fprintf(out,
            "      \"latency\": {\"sampledStreams\": %d, \"alignedStreams\": %d, \"minCorrelation\": %s, "
            "\"packets\": %d, \"p50\": %s, \"p95\": %s, \"max\": %s, \"codecDelayMs\": %s, \"netP50\": %s}}%s\n",
            sampled, aligned, J(min_corr > 1 ? NAN : min_corr, 3), nlat, J(pct(lat, nlat, 50), 2),
            J(pct(lat, nlat, 95), 2), J(nlat ? lat[nlat - 1] : NAN, 2), J(cd, 1),
            J(pct(lat, nlat, 50) - (cd == cd ? cd : 0), 2), dir == 0 ? "," : "");
    free(pool);
    free(lat);
  }
  fprintf(out, "  }\n}\n");
  fclose(out);
  return 0;
}
