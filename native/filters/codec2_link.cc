#include "codec2_link.h"

#include <map>
#include <mutex>

namespace rms {

std::shared_ptr<Codec2Link> Codec2LinkFor(int id) {
  static std::mutex lock;
  static std::map<int, std::weak_ptr<Codec2Link>> links;
  std::lock_guard<std::mutex> guard(lock);
  for (auto it = links.begin(); it != links.end();) it = it->second.expired() ? links.erase(it) : std::next(it);
  std::shared_ptr<Codec2Link> link = links[id].lock();
  if (!link) {
    link = std::make_shared<Codec2Link>();
    links[id] = link;
  }
  return link;
}

}  // namespace rms
