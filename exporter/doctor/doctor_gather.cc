#include "exporter/doctor/doctor_gather.h"

#include <arpa/inet.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>
#include <tuple>

#include "collectors/all.h"
#include "collectors/kmsg/kmsg_collector.h"
#include "collectors/kmsg/kmsg_match.h"
#include "collectors/kmsg/kmsg_tally.h"
#include "collectors/refused/refused_collector.h"
#include "collectors/stat/stat_counters.h"
#include "collectors/sysctl/sysctl_collector.h"
#include "collectors/table/table_counts.h"
#include "collectors/text.h"

namespace nfct::doctor {
namespace {

using Families = std::vector<prometheus::MetricFamily>;

// How many namespaces' table-full lines the report shows; the total counts every one.
constexpr size_t kLatestNamespaces = 5;
// Between two readings of the entry count inside the window, for the peak.
constexpr std::chrono::milliseconds kPeakSample{500};

// A collector from THE list, with its default options: the doctor reads exactly what the
// exporter serves.
std::unique_ptr<Collector> MakeListed(std::string_view name, const Env& env) {
  for (const auto& entry : AllCollectors()) {
    if (entry.name == name) return MakeCollector(entry, env).collector;
  }
  return nullptr;
}

struct Scrape {
  Families families;
  Status status = Status::Ok();
};

Scrape Run(Collector& collector) {
  FamilySink sink;
  Status status = collector.Collect(sink);
  return {sink.Take(), std::move(status)};
}

double SampleValue(const prometheus::MetricFamily& family, const prometheus::ClientMetric& metric) {
  return family.type == prometheus::MetricType::Counter ? metric.counter.value : metric.gauge.value;
}

// The value of a series, matching every label given.
std::optional<uint64_t> Value(
    const Families& families, std::string_view name,
    std::initializer_list<std::pair<std::string_view, std::string_view>> labels = {}) {
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      bool match = std::all_of(labels.begin(), labels.end(), [&](const auto& want) {
        return std::any_of(metric.label.begin(), metric.label.end(), [&](const auto& label) {
          return label.name == want.first && label.value == want.second;
        });
      });
      if (match) return static_cast<uint64_t>(SampleValue(family, metric));
    }
  }
  return std::nullopt;
}

// Every stat counter the scrape holds, by the <name> of its family nf_conntrack_stat_<name>_total
// as the stat collector declares it (collectors/stat/stat_counters.h).
std::map<std::string, uint64_t> StatTotals(const Families& families) {
  constexpr std::string_view kPrefix = "nf_conntrack_stat_", kSuffix = "_total";
  std::map<std::string, uint64_t> totals;
  for (const StatCounter& counter : StatCounters()) {
    std::string_view name = counter.family.name;
    auto value = Value(families, name);
    if (!value || !name.starts_with(kPrefix) || !name.ends_with(kSuffix)) continue;
    totals[std::string(
        name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size()))] = *value;
  }
  return totals;
}

// "permission denied reading X: needs CAP_NET_ADMIN" → the capability named after "needs ".
std::string NeedFrom(const Status& status, std::string_view fallback) {
  const std::string& reason = status.reason();
  auto pos = reason.find("needs ");
  if (pos == std::string::npos) return std::string(fallback);
  return reason.substr(pos + 6);
}

void ReadSizing(const Families& families, Facts& facts) {
  facts.entries = Value(families, kSysctlEntries.name);
  facts.max = Value(families, kSysctlLimit.name);
  facts.buckets = Value(families, kSysctlBuckets.name);
  facts.time_wait_timeout =
      Value(families, kSysctlTimeout.name, {{"protocol", "tcp"}, {"state", "time_wait"}});
}

void ReadMachine(const Env& env, Facts& facts) {
  FileRead release = ReadFile(env.Proc("sys/kernel/osrelease"), 4096);
  if (release.ok()) {
    facts.kernel_release = std::string(
        SplitFields(release.data).empty() ? std::string_view() : SplitFields(release.data).front());
    if (auto version = ParseKernelRelease(release.data)) {
      facts.kernel_major = version->major;
      facts.kernel_minor = version->minor;
    }
  }
  FileRead meminfo = ReadFile(env.Proc("meminfo"));
  if (meminfo.ok()) facts.mem_total_bytes = MemTotalBytes(meminfo.data);
  FileRead slabinfo = ReadFile(env.Proc("slabinfo"), 4 << 20);
  if (slabinfo.ok()) facts.entry_bytes = SlabObjectSize(slabinfo.data, "nf_conntrack");
  facts.entry_bytes_measured = facts.entry_bytes.has_value();
  if (!slabinfo.ok() && (slabinfo.error == EACCES || slabinfo.error == EPERM)) {
    facts.unseen.push_back({"the size of an entry", "root",
                            "permission denied reading " + env.Proc("slabinfo").string()});
  }
  FileRead modules = ReadFile(env.Proc("modules"));
  if (modules.ok()) {
    facts.module_builtin = modules.data.find("\nnf_conntrack ") == std::string::npos &&
                           !modules.data.starts_with("nf_conntrack ");
  }
}

// The capability a refusal names ("... needs CAP_SYSLOG (kernel.dmesg_restrict=1)" →
// "CAP_SYSLOG"), else what any source would do.
std::string LogNeed(const std::vector<LogAttempt>& refused) {
  for (const auto& attempt : refused) {
    auto pos = attempt.why.find("needs ");
    if (pos == std::string::npos) continue;
    std::string need = attempt.why.substr(pos + 6);
    return need.substr(0, need.find(" ("));
  }
  return "a readable /dev/kmsg, journal or syslog file";
}

// The backlog of the first source that opens: every table-full line reaches the tally's
// observer (backlog lines are never counted as new, so Open alone reads them all).
void ReadKernelLog(std::vector<NamedLogSource>& logs, Facts& facts) {
  std::optional<KernelVersion> kernel;
  if (facts.kernel_major > 0) kernel = KernelVersion{facts.kernel_major, facts.kernel_minor};
  for (auto& log : logs) {
    std::map<std::optional<uint64_t>, TableFullLine> by_netns;
    uint64_t total = 0;
    KmsgTally tally(KernelNamesNonInitNetns(kernel));
    tally.SetObserver([&](const LogMatch& match, std::optional<double> wall, bool) {
      if (match.event != LogEvent::kTableFull) return;
      ++total;
      auto [it, added] =
          by_netns.try_emplace(match.netns, TableFullLine{wall, wall, match.netns, 0});
      TableFullLine& line = it->second;
      ++line.lines;
      // Sources differ in order (the journal is read newest first): keep both ends.
      if (wall && (!line.wall_seconds || *wall > *line.wall_seconds)) line.wall_seconds = wall;
      if (wall && (!line.first_seconds || *wall < *line.first_seconds)) line.first_seconds = wall;
    });
    Status status = log.source->Open(tally);
    log.source->Close();
    if (!status.ok()) {
      facts.log_refused.push_back({log.name, status.reason()});
      continue;
    }
    facts.log_read = true;
    facts.log_source = log.name;
    facts.table_full_total = total;
    for (auto& [netns, line] : by_netns) facts.table_full.push_back(line);
    std::sort(facts.table_full.begin(), facts.table_full.end(),
              [](const auto& a, const auto& b) { return a.wall_seconds > b.wall_seconds; });
    if (facts.table_full.size() > kLatestNamespaces) facts.table_full.resize(kLatestNamespaces);
    return;
  }
  if (logs.empty()) return;
  std::string why;
  for (const auto& attempt : facts.log_refused) {
    why += (why.empty() ? "" : "; ") + attempt.source + ": " + attempt.why;
  }
  facts.unseen.push_back({"the kernel log", LogNeed(facts.log_refused), why});
}

void ReadTable(TableSource& source, size_t top_ports, Facts& facts) {
  auto counts = std::make_unique<TableCounts>();
  std::atomic<bool> stop{false};
  DumpOutcome outcome = source.Dump(*counts, stop);
  if (!outcome.status.ok()) {
    facts.unseen.push_back({"the table breakdown", NeedFrom(outcome.status, "CAP_NET_ADMIN"),
                            outcome.status.reason()});
    return;
  }
  facts.table_read = true;
  facts.table_entries = outcome.entries;
  for (size_t family = 0; family < kTableFamilies; ++family) {
    for (size_t state = 0; state < StateCount(kTcp); ++state) {
      if (uint64_t n = counts->Entries(family, kTcp, state))
        facts.tcp_states[std::string(StateLabel(kTcp, state))] += n;
    }
  }
  for (size_t slot = 0; slot < kPortProtocols; ++slot) {
    for (const auto& [port, count] : counts->Top(slot, top_ports).top) {
      facts.top_ports.push_back({std::string(ProtocolLabel(PortSlotProtocol(slot))), port, count});
    }
  }
  // Every TCP port with entries, to find the scrape port's (a one-shot pass over 65536 counters).
  facts.scrape_port.entries = 0;
  for (const auto& [port, count] : counts->Top(size_t(PortSlot(kTcp)), kPorts).top) {
    if (port == facts.scrape_port.port) facts.scrape_port.entries = count;
  }
  std::stable_sort(facts.top_ports.begin(), facts.top_ports.end(),
                   [](const auto& a, const auto& b) { return a.entries > b.entries; });
  if (facts.top_ports.size() > top_ports) facts.top_ports.resize(top_ports);
}

// Every namespace the netns walker could read, with its drop counter summed over CPUs; the ones
// it could not read are named as unseen.
std::optional<std::vector<NamespaceUsage>> WalkNamespaces(const Env& env, NetnsEnterer* enterer,
                                                          Facts& facts) {
  NetnsWalk walk = enterer ? WalkNetns(env, *enterer) : WalkNetns(env);
  if (!walk.status.ok()) return std::nullopt;
  std::vector<NamespaceUsage> namespaces;
  for (const auto& ns : walk.namespaces) {
    if (!ns.read) continue;
    NamespaceUsage usage{ns.inode, "", ns.entries, std::nullopt};
    if (!ns.name.empty()) {
      usage.name = "/run/netns/" + ns.name;
    } else if (!ns.pod_uid.empty()) {
      usage.name = "pod " + ns.pod_uid;
    } else if (ns.reader_pid > 0) {
      usage.name = "pid " + std::to_string(ns.reader_pid);
    }
    for (size_t c = 0; c < ns.stat.columns.size(); ++c) {
      if (ns.stat.columns[c] != "drop") continue;
      uint64_t drops = 0;
      for (const auto& row : ns.stat.rows) drops += row[c];
      usage.drops = drops;
    }
    namespaces.push_back(std::move(usage));
  }
  // Namespaces seen but unreadable need setns (CAP_SYS_ADMIN); processes whose ns/net link
  // is unreadable hide theirs behind ptrace access (CAP_SYS_PTRACE).
  for (const auto& ns : walk.namespaces) {
    if (ns.read) continue;
    facts.unseen.push_back(
        {std::to_string(walk.Unread()) + " of the namespaces", "CAP_SYS_ADMIN", ns.unread_reason});
    break;
  }
  if (walk.unreadable_processes > 0) {
    facts.unseen.push_back({"the namespaces of " + std::to_string(walk.unreadable_processes) +
                                (walk.unreadable_processes == 1 ? " process" : " processes"),
                            "CAP_SYS_PTRACE", "their /proc/<pid>/ns/net links were unreadable"});
  }
  return namespaces;
}

// The scrape port's sockets in this netns, IPv4 and IPv6 (readable by anyone), and which of
// their clients have a conntrack entry (/proc/net/nf_conntrack, read line by line: a full
// table of 262,144 entries is about 50 MB of text).
void ReadScrapePort(const Env& env, Facts& facts) {
  std::vector<Endpoint> clients;
  for (const char* file : {"net/tcp", "net/tcp6"}) {
    // A busy host lists every socket: read it whole, up to a bound far above the usual.
    FileRead read = ReadFile(env.Proc(file), 256 << 20);
    if (!read.ok()) continue;
    facts.scrape_port.sockets_read = true;
    PortSockets sockets = SocketsOnPort(read.data, facts.scrape_port.port);
    facts.scrape_port.listening = facts.scrape_port.listening || sockets.listening;
    facts.scrape_port.established += sockets.established;
    clients.insert(clients.end(), sockets.clients.begin(), sockets.clients.end());
  }
  if (!facts.scrape_port.sockets_read) return;
  std::ifstream table(env.Proc("net/nf_conntrack"));
  if (!table) return;  // root only, and absent without CONFIG_NF_CONNTRACK_PROCFS
  std::set<Endpoint> tracked;
  for (std::string line; std::getline(table, line);) {
    if (auto client = ScrapeClientOf(line, facts.scrape_port.port)) tracked.insert(*client);
  }
  if (table.bad()) return;
  uint64_t matched = 0;
  for (const auto& client : clients) matched += tracked.count(client);
  facts.scrape_port.tracked_connections = matched;
}

// A /proc/net/tcp address: IPv4 as 8 hex digits, IPv6 as 32, each 32-bit word in host order.
std::optional<std::array<uint8_t, 16>> ProcNetAddress(std::string_view hex) {
  if (hex.size() != 8 && hex.size() != 32) return std::nullopt;
  std::array<uint8_t, 16> address{};
  size_t words = hex.size() / 8, offset = hex.size() == 8 ? 12 : 0;
  if (hex.size() == 8) address[10] = address[11] = 0xff;
  for (size_t w = 0; w < words; ++w) {
    auto word = ParseHex32(hex.substr(8 * w, 8));
    if (!word) return std::nullopt;
    std::memcpy(address.data() + offset + 4 * w, &*word, 4);  // the kernel printed it as a u32
  }
  return address;
}

// Takes CAP_BPF and CAP_PERFMON out of the calling thread's effective set (they stay
// permitted): doctor raised every permitted capability at its start, and the loader's
// ScopedCapability raises these two only when they are not effective already, so without this
// they would stay effective for the whole run instead of only around the load.
void LowerBpfCapabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return;
  for (int capability : {CAP_BPF, CAP_PERFMON}) {
    data[capability / 32].effective &= ~(1u << (capability % 32));
  }
  syscall(SYS_capset, &header, data);
}

// The refused collector itself: its Load() walks the namespaces for history seeds and loads the
// program (raising CAP_BPF and CAP_PERFMON around the load only); its RunOnce() and Collect()
// read, decode and summarise the maps exactly as the exporter serves them.
class LiveRefusedWatch : public RefusedWatch {
 public:
  explicit LiveRefusedWatch(std::unique_ptr<RefusedCollector> collector)
      : collector_(std::move(collector)) {}
  Status Begin() override {
    LowerBpfCapabilities();
    return collector_->Load();
  }
  Result End() override {
    collector_->RunOnce();
    FamilySink sink;
    Result result;
    result.status = collector_->Collect(sink);
    for (const auto& family : sink.Take()) {
      if (family.name != kRefusedPackets.name) continue;
      for (const auto& metric : family.metric) {
        RefusedFlow flow;
        for (const auto& label : metric.label) {
          if (label.name == "netns") flow.netns = label.value;
          if (label.name == "netns_name" && !label.value.empty()) {
            flow.netns_name = "/run/netns/" + label.value;
          }
          if (label.name == "pod_uid" && !label.value.empty() && flow.netns_name.empty()) {
            flow.netns_name = "pod " + label.value;
          }
          if (label.name == "protocol") flow.protocol = label.value;
          if (label.name == "port") flow.port = label.value;
        }
        flow.packets = static_cast<uint64_t>(metric.counter.value);
        if (flow.packets > 0) result.flows.push_back(std::move(flow));
      }
    }
    return result;
  }

 private:
  std::unique_ptr<RefusedCollector> collector_;
};

// The need of a failed load: what its reason names, else everything it may lack.
std::string RefusedNeed(const Status& status) {
  if (status.reason().find("BTF") != std::string::npos) return "kernel BTF";
  return NeedFrom(status, "CAP_BPF and CAP_PERFMON");
}

// The watch's keys into Facts: every packet in the total, the top `top` keys listed.
void ReadRefused(RefusedWatch::Result result, size_t top, Facts& facts) {
  if (!result.status.ok()) {
    facts.unseen.push_back({"who was refused", RefusedNeed(result.status), result.status.reason()});
    return;
  }
  facts.refused_watched = true;
  facts.refused_keys = result.flows.size();
  for (const auto& flow : result.flows) facts.refused_total += flow.packets;
  std::sort(result.flows.begin(), result.flows.end(), [](const auto& a, const auto& b) {
    return std::tie(b.packets, a.netns, a.protocol, a.port) <
           std::tie(a.packets, b.netns, b.protocol, b.port);
  });
  if (result.flows.size() > top) result.flows.resize(top);
  facts.refused = std::move(result.flows);
}

double Seconds(auto duration) { return std::chrono::duration<double>(duration).count(); }

}  // namespace

std::optional<uint64_t> SlabObjectSize(std::string_view slabinfo, std::string_view cache) {
  size_t pos = 0;
  while (pos < slabinfo.size()) {
    size_t end = slabinfo.find('\n', pos);
    if (end == std::string_view::npos) end = slabinfo.size();
    auto fields = SplitFields(slabinfo.substr(pos, end - pos));
    pos = end + 1;
    // name active_objs num_objs objsize objperslab pagesperslab : tunables ...
    if (fields.size() < 4 || fields[0] != cache) continue;
    auto size = ParseInteger<uint64_t>(fields[3]);
    if (!size || *size == 0) break;
    return *size;
  }
  return std::nullopt;
}

PortSockets SocketsOnPort(std::string_view text, uint16_t port) {
  PortSockets sockets;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto fields = SplitFields(text.substr(pos, end - pos));
    pos = end + 1;
    // sl local_address rem_address st ...; the header line's "local_address" has no hex port.
    if (fields.size() < 4) continue;
    auto colon = fields[1].rfind(':');
    if (colon == std::string_view::npos) continue;
    std::string_view hex = fields[1].substr(colon + 1);
    auto local = ParseHex32(hex);
    auto state = ParseHex32(fields[3]);
    if (!local || !state || *local != port) continue;
    if (*state == 0x01) {  // TCP_ESTABLISHED
      ++sockets.established;
      auto remote_colon = fields[2].rfind(':');
      if (remote_colon == std::string_view::npos) continue;
      auto address = ProcNetAddress(fields[2].substr(0, remote_colon));
      auto remote_port = ParseHex32(fields[2].substr(remote_colon + 1));
      if (address && remote_port && *remote_port <= 0xffff) {
        sockets.clients.push_back({*address, static_cast<uint16_t>(*remote_port)});
      }
    }
    if (*state == 0x0A) sockets.listening = true;  // TCP_LISTEN
  }
  return sockets;
}

std::optional<Endpoint> ScrapeClientOf(std::string_view line, uint16_t port) {
  auto fields = SplitFields(line);
  // family number protocol number timeout [state] src= dst= sport= dport= ...
  if (fields.size() < 8 || fields[2] != "tcp") return std::nullopt;
  std::string_view src, sport, dport;
  for (auto field : fields) {
    // The first of each key is the original direction's; the reply's follow.
    if (src.empty() && field.starts_with("src=")) src = field.substr(4);
    if (sport.empty() && field.starts_with("sport=")) sport = field.substr(6);
    if (dport.empty() && field.starts_with("dport=")) dport = field.substr(6);
  }
  auto to = ParseInteger<uint16_t>(dport);
  auto from = ParseInteger<uint16_t>(sport);
  if (!to || *to != port || !from) return std::nullopt;
  Endpoint client;
  client.port = *from;
  std::string text(src);
  if (fields[0] == "ipv4") {
    client.address[10] = client.address[11] = 0xff;
    if (inet_pton(AF_INET, text.c_str(), client.address.data() + 12) != 1) return std::nullopt;
  } else if (fields[0] != "ipv6" || inet_pton(AF_INET6, text.c_str(), client.address.data()) != 1) {
    return std::nullopt;
  }
  return client;
}

std::optional<uint64_t> MemTotalBytes(std::string_view meminfo) {
  auto pos = meminfo.find("MemTotal:");
  if (pos != 0 && (pos == std::string_view::npos || meminfo[pos - 1] != '\n')) return std::nullopt;
  auto line = meminfo.substr(pos, meminfo.find('\n', pos) - pos);
  auto fields = SplitFields(line);
  if (fields.size() != 3 || fields[2] != "kB") return std::nullopt;
  auto kib = ParseInteger<uint64_t>(fields[1]);
  if (!kib) return std::nullopt;
  return *kib * 1024;
}

std::unique_ptr<RefusedWatch> LiveRefused(const Env& env) {
  auto checked = CollectorOptions::Check("refused", RefusedCollectorOptions(), {});
  RefusedOptions options = RefusedOptionsFrom(checked.options);
  std::filesystem::path sysfs = env.sysfs;
  uint32_t map_size = options.map_size;
  auto load = [sysfs, map_size](const std::vector<std::pair<uint32_t, std::string>>& seeds) {
    return RefusedProgram::Load(sysfs, map_size, seeds);
  };
  return std::make_unique<LiveRefusedWatch>(
      std::make_unique<RefusedCollector>(env, options, load, MakeSetnsEnterer(env.procfs)));
}

GatherInputs LiveInputs(Env env, std::chrono::milliseconds window, size_t top_ports,
                        const std::string& log_source, std::string& error) {
  GatherInputs inputs;
  inputs.env = env;
  inputs.window = window;
  inputs.top_ports = top_ports;
  std::vector<std::string> sources(std::begin(kDefaultLogSources), std::end(kDefaultLogSources));
  if (!log_source.empty()) sources = {log_source};
  for (const auto& name : sources) {
    MadeLogSource made = MakeLogSource(env, name);
    if (!made.source) {
      error = made.error;
      return inputs;
    }
    inputs.logs.push_back({name, std::move(made.source)});
  }
  inputs.table = MakeNetlinkTableSource(env);
  inputs.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  inputs.walk_namespaces = true;
  inputs.identity = [env] {
    NetnsIdentity identity;
    struct stat st {};
    if (stat(env.Proc("self/ns/net").c_str(), &st) == 0) identity.inode = st.st_ino;
    if (stat(env.Proc("sys/net/netfilter/nf_conntrack_buckets").c_str(), &st) == 0) {
      identity.initial = (st.st_mode & S_IWUSR) != 0;
    }
    return identity;
  };
  return inputs;
}

Facts Gather(GatherInputs inputs) {
  const Env& env = inputs.env;
  Facts facts;
  facts.window_seconds = Seconds(inputs.window);
  facts.scrape_port.port = inputs.scrape_port;
  ReadMachine(env, facts);
  if (inputs.identity) {
    NetnsIdentity identity = inputs.identity();
    facts.netns_inode = identity.inode;
    facts.initial_netns = identity.initial;
  }

  auto sysctl = MakeListed("sysctl", env);
  auto stat = MakeListed("stat", env);
  Scrape sizing = Run(*sysctl);
  ReadSizing(sizing.families, facts);
  facts.module_loaded = facts.entries.has_value();
  if (!facts.module_loaded) {
    facts.now_seconds = Seconds(env.clock.wall().time_since_epoch());
    return facts;  // nothing else can be read, and a netlink request would load the module
  }
  facts.peak_entries = facts.entries;

  // Loaded before the first reading, so the program counts the whole window.
  // Its result goes into Facts last, so a "Not seen" entry for it follows the older ones.
  std::optional<RefusedWatch::Result> refused;
  if (inputs.refused) {
    Status begun = inputs.refused->Begin();
    if (!begun.ok()) refused = RefusedWatch::Result{begun, {}};
  }

  // The first stat reading is the sum since the netns was made; the second, after the window,
  // goes through the same wrap accumulator, so the difference is what happened in between.
  Scrape first = Run(*stat);
  auto waited = std::chrono::milliseconds(0);
  while (waited < inputs.window) {
    auto step = std::min(kPeakSample, inputs.window - waited);
    inputs.sleep(step);
    waited += step;
    if (auto count = Value(Run(*sysctl).families, kSysctlEntries.name))
      facts.peak_entries = std::max(*facts.peak_entries, *count);
  }
  Scrape second = Run(*stat);
  if (first.status.ok() && second.status.ok()) {
    auto before = StatTotals(first.families);
    facts.since_boot = StatTotals(second.families);
    for (const auto& [name, total] : facts.since_boot) {
      facts.in_window[name] = total - (before.count(name) ? before[name] : total);
    }
  } else {
    const Status& failed = first.status.ok() ? second.status : first.status;
    facts.unseen.push_back(
        {"the drop counters", NeedFrom(failed, "CAP_NET_ADMIN"), failed.reason()});
  }
  if (inputs.refused && !refused) refused = inputs.refused->End();
  sizing = Run(*sysctl);
  ReadSizing(sizing.families, facts);
  if (facts.entries) facts.peak_entries = std::max(*facts.peak_entries, *facts.entries);

  ReadKernelLog(inputs.logs, facts);
  ReadScrapePort(env, facts);
  if (inputs.table) ReadTable(*inputs.table, inputs.top_ports, facts);
  if (inputs.walk_namespaces && !inputs.namespaces) {
    inputs.namespaces = [&env, &inputs, &facts] {
      return WalkNamespaces(env, inputs.netns_enterer.get(), facts);
    };
  }
  if (inputs.namespaces && facts.initial_netns) {
    if (auto namespaces = inputs.namespaces()) {
      facts.namespaces_read = true;
      facts.namespaces = std::move(*namespaces);
    }
  }
  if (refused) ReadRefused(std::move(*refused), inputs.top_ports, facts);
  facts.now_seconds = Seconds(env.clock.wall().time_since_epoch());
  return facts;
}

}  // namespace nfct::doctor
