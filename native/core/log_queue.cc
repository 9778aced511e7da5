#include "log_queue.h"

#include <cstring>
#include <utility>

namespace rms {

bool LogQueue::Push(int level, const char* domain, const char* message) {
  std::string text(message ? message : "", message ? strnlen(message, kMaxMessage) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::string dom(domain ? domain : "");
  std::string key = std::to_string(level) + '\0' + dom + '\0' + text;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    ++records_[it->second].count;
  } else if (records_.size() >= capacity_) {
    ++dropped_;
  } else {
    index_.emplace(std::move(key), records_.size());
    records_.push_back(LogRecord{level, std::move(dom), std::move(text), 1});
  }
  if (owed_) return false;
  owed_ = true;
  return true;
}

std::vector<LogRecord> LogQueue::Drain(uint64_t* dropped) {
  std::vector<LogRecord> out;
  std::lock_guard<std::mutex> lock(mutex_);
  out.swap(records_);
  index_.clear();
  if (dropped) *dropped = dropped_;
  dropped_ = 0;
  owed_ = false;
  return out;
}

}  // namespace rms
