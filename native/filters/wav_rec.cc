#include "wav_rec.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace rms {
namespace {

constexpr size_t kHeaderBytes = 44;
constexpr uint64_t kHeaderEveryMs = 1000;

enum class State { kClosed, kPaused, kRunning, kFailed };

struct WavRec {
  int fd = -1;
  bool wav = true;
  int rate = 8000;
  int channels = 1;
  State state = State::kClosed;
  std::string path;
  std::vector<uint8_t> pending;
  uint64_t dataBytes = 0;  // audio bytes in the file after the header
  uint64_t lastHeaderMs = 0;
  bool headerDirty = false;
};

WavRec* Of(MSFilter* f) { return static_cast<WavRec*>(f->data); }

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

bool WriteAll(int fd, const uint8_t* p, size_t n, off_t at, size_t* done) {
  *done = 0;
  while (*done < n) {
    ssize_t w = pwrite(fd, p + *done, n - *done, at + static_cast<off_t>(*done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = ENOSPC;
      return false;
    }
    *done += static_cast<size_t>(w);
  }
  return true;
}

bool WriteHeader(WavRec* r) {
  if (!r->wav) return true;
  uint8_t h[kHeaderBytes];
  const uint32_t data = static_cast<uint32_t>(r->dataBytes > 0xFFFFFFD3u ? 0xFFFFFFD3u : r->dataBytes);
  std::memcpy(h, "RIFF", 4);
  Put32(h + 4, 36 + data);
  std::memcpy(h + 8, "WAVEfmt ", 8);
  Put32(h + 16, 16);
  Put16(h + 20, 1);  // PCM
  Put16(h + 22, static_cast<uint16_t>(r->channels));
  Put32(h + 24, static_cast<uint32_t>(r->rate));
  Put32(h + 28, static_cast<uint32_t>(r->rate * r->channels * 2));
  Put16(h + 32, static_cast<uint16_t>(r->channels * 2));
  Put16(h + 34, 16);
  std::memcpy(h + 36, "data", 4);
  Put32(h + 40, data);
  size_t done = 0;
  r->headerDirty = false;
  return WriteAll(r->fd, h, sizeof(h), 0, &done);
}

void CloseFile(WavRec* r) {
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
  r->pending.clear();
}

void Fail(MSFilter* f, WavRec* r, int err) {
  // keep whole samples only, and a header that says what is there
  const uint64_t frame = static_cast<uint64_t>(r->channels) * 2;
  r->dataBytes -= r->dataBytes % frame;
  if (ftruncate(r->fd, static_cast<off_t>((r->wav ? kHeaderBytes : 0) + r->dataBytes)) != 0) {
    // the size stays as written; the header below still bounds the audio
  }
  WriteHeader(r);
  CloseFile(r);
  r->state = State::kFailed;
  // no log line of ours: the application hears of it once, by the event
  ms_filter_notify(f, RMS_WAV_REC_FAILED, &err);
}

bool Flush(MSFilter* f, WavRec* r) {
  if (r->fd < 0 || r->pending.empty()) return true;
  size_t done = 0;
  const off_t at = static_cast<off_t>((r->wav ? kHeaderBytes : 0) + r->dataBytes);
  const bool ok = WriteAll(r->fd, r->pending.data(), r->pending.size(), at, &done);
  const int err = errno;
  r->dataBytes += done;
  r->pending.clear();
  r->headerDirty = true;
  if (!ok) Fail(f, r, err);
  return ok;
}

void Init(MSFilter* f) { f->data = new WavRec(); }

void Uninit(MSFilter* f) {
  WavRec* r = Of(f);
  if (r->fd >= 0) {
    Flush(f, r);
    if (r->fd >= 0) WriteHeader(r);
  }
  CloseFile(r);
  delete r;
}

void Record(MSFilter* f, WavRec* r) {
  const size_t halfSecond = static_cast<size_t>(r->rate * r->channels);  // 2 bytes x rate / 2
  if (r->pending.size() >= halfSecond && !Flush(f, r)) return;
  const uint64_t now = f->ticker->time;
  if (r->headerDirty && now - r->lastHeaderMs >= kHeaderEveryMs) {
    r->lastHeaderMs = now;
    if (!WriteHeader(r)) Fail(f, r, errno);
  }
}

void Process(MSFilter* f) {
  WavRec* r = Of(f);
  // the recorder methods run on the main thread
  ms_filter_lock(f);
  const bool running = r->state == State::kRunning && r->fd >= 0;
  mblk_t* m;
  while ((m = ms_queue_get(f->inputs[0])) != nullptr) {
    if (running)
      for (mblk_t* b = m; b; b = b->b_cont) r->pending.insert(r->pending.end(), b->b_rptr, b->b_wptr);
    freemsg(m);
  }
  if (running) Record(f, r);
  ms_filter_unlock(f);
}

int Open(MSFilter* f, void* arg) {
  WavRec* r = Of(f);
  const char* path = static_cast<const char*>(arg);
  ms_filter_lock(f);
  if (r->fd >= 0) {
    Flush(f, r);
    if (r->fd >= 0) WriteHeader(r);
    CloseFile(r);
  }
  r->path = path;
  const size_t n = r->path.size();
  r->wav = n >= 4 && strcasecmp(r->path.c_str() + n - 4, ".wav") == 0;
  // the file exists: the application created it (never over an existing one)
  r->fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (r->fd < 0) {
    ms_error("RmsWavRec: cannot open %s: %s", path, std::strerror(errno));
    r->state = State::kClosed;
    ms_filter_unlock(f);
    return -1;
  }
  const off_t size = lseek(r->fd, 0, SEEK_END);
  const uint64_t head = r->wav ? kHeaderBytes : 0;
  r->dataBytes = size > static_cast<off_t>(head) ? static_cast<uint64_t>(size) - head : 0;
  r->state = State::kPaused;
  r->headerDirty = true;
  ms_filter_unlock(f);
  return 0;
}

int Start(MSFilter* f, void*) {
  WavRec* r = Of(f);
  ms_filter_lock(f);
  if (r->state == State::kPaused) r->state = State::kRunning;
  ms_filter_unlock(f);
  return r->state == State::kRunning ? 0 : -1;
}

int Pause(MSFilter* f, void*) {
  WavRec* r = Of(f);
  ms_filter_lock(f);
  if (r->state == State::kRunning) {
    r->state = State::kPaused;
    if (Flush(f, r) && r->fd >= 0 && !WriteHeader(r)) Fail(f, r, errno);
  }
  ms_filter_unlock(f);
  return 0;
}

int Close(MSFilter* f, void*) {
  WavRec* r = Of(f);
  ms_filter_lock(f);
  if (r->fd >= 0 && Flush(f, r) && r->fd >= 0) WriteHeader(r);
  CloseFile(r);
  if (r->state != State::kFailed) r->state = State::kClosed;
  ms_filter_unlock(f);
  return 0;
}

int SetRate(MSFilter* f, void* arg) {
  Of(f)->rate = *static_cast<int*>(arg);
  return 0;
}

int GetRate(MSFilter* f, void* arg) {
  *static_cast<int*>(arg) = Of(f)->rate;
  return 0;
}

int SetChannels(MSFilter* f, void* arg) {
  const int n = *static_cast<int*>(arg);
  if (n < 1 || n > 2) return -1;
  Of(f)->channels = n;
  return 0;
}

int GetState(MSFilter* f, void* arg) {
  const State s = Of(f)->state;
  *static_cast<MSRecorderState*>(arg) = s == State::kRunning  ? MSRecorderRunning
                                        : s == State::kPaused ? MSRecorderPaused
                                                              : MSRecorderClosed;
  return 0;
}

MSFilterMethod kMethods[] = {
    {MS_RECORDER_OPEN, Open},
    {MS_RECORDER_START, Start},
    {MS_RECORDER_PAUSE, Pause},
    {MS_RECORDER_CLOSE, Close},
    {MS_RECORDER_GET_STATE, GetState},
    {MS_FILTER_SET_SAMPLE_RATE, SetRate},
    {MS_FILTER_GET_SAMPLE_RATE, GetRate},
    {MS_FILTER_SET_NCHANNELS, SetChannels},
    {0, nullptr},
};

}  // namespace
}  // namespace rms

extern "C" {
MSFilterDesc rms_wav_rec_desc = {
    MS_FILTER_PLUGIN_ID,
    "RmsWavRec",
    "Records 16-bit PCM into a WAV file; a write error ends the recording cleanly",
    MS_FILTER_OTHER,
    nullptr,
    1,
    0,
    rms::Init,
    nullptr,
    rms::Process,
    nullptr,
    rms::Uninit,
    rms::kMethods,
    0,
};
}
