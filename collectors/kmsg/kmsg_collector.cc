#include "collectors/kmsg/kmsg_collector.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collectors/kmsg/kmsg_device.h"
#include "collectors/kmsg/kmsg_journald.h"
#include "collectors/kmsg/kmsg_syslog.h"

namespace nfct {
namespace {

using prometheus::MetricType;

const FamilyDesc kMessages{
    "nf_conntrack_kernel_log_messages_total",
    MetricType::Counter,
    "Conntrack lines logged by the kernel since the exporter started, by message and network "
    "namespace; the kernel rate-limits them, so a line says it happened and "
    "nf_conntrack_stat_drop_total says how often.",
    {"message", "netns"}};
const FamilyDesc kSuppressed{
    "nf_conntrack_kernel_log_suppressed_total",
    MetricType::Counter,
    "Kernel messages suppressed by the kernel's rate limit since the exporter started, for all "
    "network messages of every network namespace, not only conntrack.",
    {}};
const FamilyDesc kLastSeen{
    "nf_conntrack_kernel_log_last_message_timestamp_seconds",
    MetricType::Gauge,
    "Wall-clock time of the latest conntrack line of each message in the kernel log, lines "
    "logged before the exporter started included.",
    {"message"}};
const FamilyDesc kLost{
    "nf_conntrack_kernel_log_records_lost_total",
    MetricType::Counter,
    "Kernel log records the exporter could not read since it started (ring buffer overrun, "
    "records journald missed, over-long syslog lines).",
    {}};
const FamilyDesc kSourceInfo{"nf_conntrack_kernel_log_source_info",
                             MetricType::Gauge,
                             "The kernel log source the kmsg collector reads; always 1.",
                             {"source"}};

std::function<double()> BootTime(const Clock& clock) {
  // libstdc++'s steady_clock is CLOCK_MONOTONIC, the clock of /dev/kmsg timestamps.
  return [clock] {
    return std::chrono::duration<double>(clock.wall().time_since_epoch()).count() -
           std::chrono::duration<double>(clock.steady().time_since_epoch()).count();
  };
}

std::function<double()> WallNow(const Clock& clock) {
  return [clock] { return std::chrono::duration<double>(clock.wall().time_since_epoch()).count(); };
}

}  // namespace

KmsgCollector::KmsgCollector(Env env, std::string source_label, std::unique_ptr<LogSource> source,
                             Options options)
    : env_(std::move(env)),
      source_label_(std::move(source_label)),
      source_(std::move(source)),
      options_(options),
      status_(Status::Unavailable("the kernel log reader has not started")) {}

KmsgCollector::~KmsgCollector() { Stop(); }

const std::vector<FamilyDesc>& KmsgCollector::Families() const {
  static const std::vector<FamilyDesc> kFamilies = {kMessages, kSuppressed, kLastSeen, kLost,
                                                    kSourceInfo};
  return kFamilies;
}

Status KmsgCollector::Collect(MetricSink& sink) {
  std::lock_guard lock(mutex_);
  sink.Add(kSourceInfo, {source_label_}, 1);
  // Zeros from a log we never read would claim "no table-full lines": emit nothing instead.
  if (!opened_) return status_;
  for (const auto& [key, lines] : snapshot_.messages) {
    sink.Add(kMessages, {key.first, key.second}, static_cast<double>(lines));
  }
  sink.Add(kSuppressed, {}, static_cast<double>(snapshot_.suppressed));
  for (const auto& [message, seconds] : snapshot_.last_seen)
    sink.Add(kLastSeen, {message}, seconds);
  sink.Add(kLost, {}, static_cast<double>(snapshot_.lost));
  return status_;
}

void KmsgCollector::Start() {
  if (thread_.joinable()) return;
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void KmsgCollector::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof one) < 0) {
    // The eventfd cannot be full after one write; the reader also polls with a timeout.
  }
  thread_.join();
  close(stop_fd_);
  stop_fd_ = -1;
}

void KmsgCollector::Publish(const KmsgTally& tally, const Status& status, bool opened) {
  std::lock_guard lock(mutex_);
  snapshot_ = tally.snapshot();
  status_ = status;
  opened_ = opened_ || opened;
}

void KmsgCollector::WaitFor(const WaitSpec& wait) {
  pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {wait.fd, wait.events, 0}};
  poll(fds, wait.fd >= 0 ? 2 : 1, wait.timeout_ms);
}

void KmsgCollector::Run() {
  FileRead release = ReadFile(env_.Proc("sys/kernel/osrelease"));
  KmsgTally tally(
      KernelNamesNonInitNetns(release.ok() ? ParseKernelRelease(release.data) : std::nullopt));
  const WaitSpec retry{-1, POLLIN, static_cast<int>(options_.retry.count())};
  bool open = false;
  while (!stopping_) {
    if (!open) {
      Status status = source_->Open(tally);
      open = status.ok();
      Publish(tally, status, open);
      // Once open, read what arrived during the backlog scan straight away.
      if (!open) WaitFor(retry);
      continue;
    }
    Status status = source_->Pump(tally);
    Publish(tally, status, true);
    if (!status.ok()) {
      source_->Close();
      open = false;
      WaitFor(retry);
      continue;
    }
    WaitFor(source_->Wait());
  }
  source_->Close();
}

const std::vector<CollectorOption>& KmsgCollectorOptions() {
  static const std::vector<CollectorOption> kOptions = {
      {"source", "/dev/kmsg",
       "Kernel log to read: /dev/kmsg, journald, journald:<directory>, or the path of a "
       "syslog file such as /var/log/kern.log."}};
  return kOptions;
}

MadeLogSource MakeLogSource(const Env& env, const std::string& source) {
  if (source == "journald" || source.starts_with("journald:")) {
    std::filesystem::path directory = source.size() > 9 ? source.substr(9) : "";
    return {MakeJournaldSource(directory, BootTime(env.clock)), ""};
  }
  if (source.empty() || source.front() != '/') {
    return {nullptr,
            "--collector.kmsg.source: must be /dev/kmsg, journald, journald:<directory> "
            "or the absolute path of a syslog file, not \"" +
                source + "\""};
  }
  struct stat st {};
  if (source == "/dev/kmsg" || (stat(source.c_str(), &st) == 0 && S_ISCHR(st.st_mode))) {
    return {std::make_unique<KmsgDeviceSource>(source, RealKmsgOpener(source), BootTime(env.clock)),
            ""};
  }
  return {
      std::make_unique<SyslogFileSource>(source, WallNow(env.clock), SyslogFileSource::Options{}),
      ""};
}

MadeCollector MakeKmsgCollector(const Env& env, const CollectorOptions& options) {
  const std::string& source = options.Text("source");
  MadeLogSource made = MakeLogSource(env, source);
  if (!made.source) return {nullptr, made.error};
  return {std::make_unique<KmsgCollector>(env, source, std::move(made.source),
                                          KmsgCollector::Options{}),
          ""};
}

}  // namespace nfct
