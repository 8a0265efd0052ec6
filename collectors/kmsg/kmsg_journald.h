// Source "journald" (or "journald:<directory>"): kernel entries of the systemd journal through
// libsystemd's sd-journal (loaded at the first Open, kmsg_journald_api.h), entries with
// _TRANSPORT=kernel and SYSLOG_FACILITY=0 only, plus journald's own "Missed N kernel messages"
// notes, which count as lost records. Opening scans back from the tail for last-seen timestamps,
// then follows new entries. Used by one thread.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "collectors/kmsg/kmsg_source.h"

namespace nfct {

// False when the exporter was built without libsystemd-dev; the source then reports Unavailable.
bool JournaldSupported();

// `directory` empty: the local system journal (/run/log/journal, /var/log/journal).
// `boot_time`: wall-clock boot time in seconds since the epoch, for entries of this boot.
std::unique_ptr<LogSource> MakeJournaldSource(std::filesystem::path directory,
                                              std::function<double()> boot_time);

}  // namespace nfct
