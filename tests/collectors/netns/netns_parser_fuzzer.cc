// libFuzzer target for the netns collector's parsers: any bytes as a cgroup file, a mountinfo
// file and an ns/net link. Checks they never crash and only return well-formed identities.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collectors/netns/netns_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nfct::ContainerRef ref = nfct::ParseCgroup(text);
  if (!ref.container_id.empty() && ref.container_id.size() != 64) std::abort();
  if (!ref.pod_uid.empty() && ref.pod_uid.size() != 32 && ref.pod_uid.size() != 36) std::abort();
  for (const auto& mount : nfct::ParseNetnsMounts(text)) {
    if (mount.name.find('/') != std::string::npos) std::abort();
    if (!mount.name.empty() && !mount.path.ends_with(mount.name)) std::abort();
  }
  (void)nfct::ParseNetnsLink(text);
  return 0;
}
