/*
 * SRTP load generator for bench/secure-cost.ts (built there with gcc; not
 * part of the package). It plays both ends of N relayed PCMU calls: leg "a"
 * secured with SDES (AES_CM_128_HMAC_SHA1_80, libsrtp2) or plain, leg "b"
 * plain; every 20 ms each leg sends one 160-byte packet to the server under
 * test. What comes back is counted per leg, and on a secured leg it must
 * authenticate under the server's key (so a server that skipped the work
 * would show as "bad").
 *
 * Two sockets: one for every a leg, one for every b leg (the servers latch
 * onto them; streams are told apart by the server's source port).
 *
 * First prints {"ports":{"a":PORT,"b":PORT}} (where the servers must send),
 * then reads its config on stdin, one per line, up to "go":
 *   duration_ms 12000 | warmup_ms 3000
 *   call <server_port_a> <a_send_key_b64|-> <a_recv_key_b64|-> <server_port_b>
 * and at the end prints {"a":{"expected":..,"received":..,"bad":..},"b":{...}}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <srtp2/srtp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define MAX_CALLS 4096

typedef struct {
  int port_a, port_b;
  int secure;
  srtp_t tx, rx;
  uint16_t seq_a, seq_b;
  uint32_t ts, ssrc_a, ssrc_b;
} call_t;

static call_t calls[MAX_CALLS];
static int ncalls;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * NS + t.tv_nsec;
}

static int b64(const char *in, unsigned char *out, int cap) {
  static const char *A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int n = 0, bits = 0, acc = 0;
  for (const char *p = in; *p && *p != '='; p++) {
    const char *c = strchr(A, *p);
    if (!c) return -1;
    acc = (acc << 6) | (int)(c - A);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n >= cap) return -1;
      out[n++] = (unsigned char)(acc >> bits);
    }
  }
  return n;
}

static srtp_t make(const char *key_b64, int inbound) {
  unsigned char key[64];
  if (b64(key_b64, key, sizeof key) != 30) {
    fprintf(stderr, "srtpgen: a key must be 30 octets (AES_CM_128)\n");
    exit(2);
  }
  srtp_policy_t p;
  memset(&p, 0, sizeof p);
  srtp_crypto_policy_set_rtp_default(&p.rtp);
  srtp_crypto_policy_set_rtcp_default(&p.rtcp);
  p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
  p.key = key;
  p.window_size = 1024;
  srtp_t s;
  if (srtp_create(&s, &p) != srtp_err_status_ok) {
    fprintf(stderr, "srtpgen: srtp_create failed\n");
    exit(2);
  }
  return s;
}

static int udp(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  bind(fd, (struct sockaddr *)&a, sizeof a);
  return fd;
}

static int port_of(int fd) {
  struct sockaddr_in a;
  socklen_t l = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &l);
  return ntohs(a.sin_port);
}

static void send_rtp(int fd, int port, uint16_t seq, uint32_t ts, uint32_t ssrc, srtp_t tx) {
  unsigned char p[12 + 160 + SRTP_MAX_TRAILER_LEN];
  p[0] = 0x80;
  p[1] = 0;
  p[2] = seq >> 8;
  p[3] = seq & 0xff;
  uint32_t t = htonl(ts), s = htonl(ssrc);
  memcpy(p + 4, &t, 4);
  memcpy(p + 8, &s, 4);
  memset(p + 12, 0xff, 160); /* mu-law silence */
  int len = 172;
  if (tx && srtp_protect(tx, p, &len) != srtp_err_status_ok) return;
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(port)};
  sendto(fd, p, len, 0, (struct sockaddr *)&to, sizeof to);
}

/* index of the call whose a (or b) port is `port` */
static int find(int port, int is_a) {
  for (int i = 0; i < ncalls; i++)
    if ((is_a ? calls[i].port_a : calls[i].port_b) == port) return i;
  return -1;
}

typedef struct {
  long expected, received, bad;
} counts_t;

static void drain(int fd, int is_a, int counting, counts_t *c) {
  unsigned char buf[2048];
  for (;;) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    int n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (n <= 0) return;
    if (n < 12 || (buf[0] & 0xc0) != 0x80 || (buf[1] >= 192 && buf[1] <= 223)) continue; /* RTCP */
    int i = find(ntohs(from.sin_port), is_a);
    if (i < 0) continue;
    if (is_a && calls[i].secure) {
      int len = n;
      if (srtp_unprotect(calls[i].rx, buf, &len) != srtp_err_status_ok) {
        if (counting) c->bad++;
        continue;
      }
    }
    if (counting) c->received++;
  }
}

int main(void) {
  long duration_ms = 12000, warmup_ms = 3000;
  char line[512];
  srtp_init();
  int fa = udp(), fb = udp();
  /* where the server must send: printed first, the calls come after */
  fprintf(stdout, "{\"ports\":{\"a\":%d,\"b\":%d}}\n", port_of(fa), port_of(fb));
  fflush(stdout);
  while (fgets(line, sizeof line, stdin)) {
    if (strncmp(line, "go", 2) == 0) break;
    char k1[128], k2[128];
    int pa, pb;
    if (sscanf(line, "duration_ms %ld", &duration_ms) == 1) continue;
    if (sscanf(line, "warmup_ms %ld", &warmup_ms) == 1) continue;
    if (sscanf(line, "call %d %127s %127s %d", &pa, k1, k2, &pb) == 4 && ncalls < MAX_CALLS) {
      call_t *c = &calls[ncalls++];
      c->port_a = pa;
      c->port_b = pb;
      c->secure = strcmp(k1, "-") != 0;
      if (c->secure) {
        c->tx = make(k1, 0);
        c->rx = make(k2, 1);
      }
      c->ssrc_a = 0x10000000u + ncalls;
      c->ssrc_b = 0x20000000u + ncalls;
    }
  }
  counts_t ca = {0}, cb = {0};
  const int64_t start = now_ns(), period = 20000000LL;
  const int64_t count_from = start + warmup_ms * 1000000LL, end = start + duration_ms * 1000000LL;
  for (int64_t tick = 0;; tick++) {
    int64_t due = start + tick * period;
    if (due >= end) break;
    for (;;) {
      int64_t t = now_ns();
      drain(fa, 1, t >= count_from, &ca);
      drain(fb, 0, t >= count_from, &cb);
      if (t >= due) break;
      struct timespec s = {0, 500000};
      nanosleep(&s, NULL);
    }
    int counting = due >= count_from;
    for (int i = 0; i < ncalls; i++) {
      call_t *c = &calls[i];
      send_rtp(fa, c->port_a, ++c->seq_a, c->ts, c->ssrc_a, c->secure ? c->tx : NULL);
      send_rtp(fb, c->port_b, ++c->seq_b, c->ts, c->ssrc_b, NULL);
      c->ts += 160;
      if (counting) {
        ca.expected++;
        cb.expected++;
      }
    }
  }
  printf("{\"a\":{\"expected\":%ld,\"received\":%ld,\"bad\":%ld},\"b\":{\"expected\":%ld,\"received\":%ld,\"bad\":%ld}}\n",
         ca.expected, ca.received, ca.bad, cb.expected, cb.received, cb.bad);
  return 0;
}
