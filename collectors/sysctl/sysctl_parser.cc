#include "collectors/sysctl/sysctl_parser.h"

namespace nfct {

namespace {
bool IsNamePart(std::string_view part) {
  if (part.empty()) return false;
  for (char c : part) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return part.front() != '_' && part.back() != '_';
}
}  // namespace

std::optional<TimeoutName> ParseTimeoutName(std::string_view file_name) {
  constexpr std::string_view kPrefix = "nf_conntrack_";
  constexpr std::string_view kMarker = "_timeout";
  if (!file_name.starts_with(kPrefix)) return std::nullopt;
  std::string_view rest = file_name.substr(kPrefix.size());
  size_t marker = rest.find(kMarker);
  if (marker == std::string_view::npos) return std::nullopt;
  std::string_view protocol = rest.substr(0, marker);
  std::string_view after = rest.substr(marker + kMarker.size());
  if (!IsNamePart(protocol)) return std::nullopt;
  if (after.empty()) return TimeoutName{std::string(protocol), "default"};
  if (after.front() != '_' || !IsNamePart(after.substr(1))) return std::nullopt;
  return TimeoutName{std::string(protocol), std::string(after.substr(1))};
}

}  // namespace nfct
