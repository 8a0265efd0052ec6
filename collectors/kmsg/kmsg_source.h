// The seam between the kmsg collector's reader thread and one kernel-log source: /dev/kmsg,
// journald or a syslog file. The reader opens it (backlog → timestamps only), then alternates
// Wait() and Pump(). A source is used by that one thread only.
#pragma once

#include <poll.h>

#include <string>
#include <vector>

#include "collectors/collector.h"
#include "collectors/kmsg/kmsg_tally.h"

namespace nfct {

// What to poll before the next Pump: `fd` for `events` (-1: none), at most `timeout_ms` (-1: no
// limit). A source with nothing to poll (a plain file) gives fd -1 and a timeout.
struct WaitSpec {
  int fd = -1;
  short events = POLLIN;
  int timeout_ms = -1;
};

class LogSource {
 public:
  virtual ~LogSource() = default;

  // Opens the source and reads its backlog: backlog lines only set last-seen timestamps.
  // Unavailable when the source is not here or not permitted.
  virtual Status Open(KmsgTally& tally) = 0;

  // Consumes what is available now (bounded, so a flood cannot starve the publisher); every line
  // counts. A non-Ok status closes the source; the reader opens it again later.
  virtual Status Pump(KmsgTally& tally) = 0;

  virtual WaitSpec Wait() const = 0;
  virtual void Close() = 0;
  // The capabilities Open may raise (the collector's Capabilities()).
  virtual std::vector<Capability> Capabilities() const { return {}; }
};

}  // namespace nfct
