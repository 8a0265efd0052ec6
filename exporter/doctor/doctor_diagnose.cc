#include "exporter/doctor/doctor_diagnose.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace nfct::doctor {
namespace {

// When /proc/slabinfo cannot be read (it needs root): the nf_conntrack slab object on x86-64
// 6.x kernels, as /proc/slabinfo showed it on 6.18.
constexpr uint64_t kEstimatedSlabBytes = 256;
// An entry that carries any extension (NAT, an event listener in its netns, accounting,
// timestamps, labels, a helper) also has an extension area, allocated at least
// NF_CT_EXT_PREALLOC (128) bytes, from kmalloc-128. tests/bench/entry_bytes.sh on 6.18, 50,000
// packet-made UDP entries per case: plain 256 B per entry (nf_conntrack only); with
// `conntrack -E` running or a masquerade chain, 256 + 128 B. Sizing counts the 128 B: most
// hosts whose table fills do NAT (Kubernetes, Docker), and it errs towards enough memory.
constexpr uint64_t kExtensionBytes = 128;
// A bucket is one struct hlist_nulls_head: a pointer.
constexpr uint64_t kBucketBytes = 8;
constexpr uint64_t kMaxRounding = 65536;
constexpr uint64_t kBucketRounding = 512;  // the kernel rounds a resize up to this on x86-64

// Kernels 6.17+ name every netns but the initial one; older ones never do, and from the
// initial netns such a line may be anyone's: it counts there, and nowhere else.
bool NamesThisNetns(const Facts& facts, const TableFullLine& line) {
  if (line.netns) return facts.netns_inode && *facts.netns_inode == *line.netns;
  return facts.initial_netns;
}

uint64_t RoundUp(uint64_t value, uint64_t step) { return (value + step - 1) / step * step; }

bool AtLeast(const Facts& facts, int major, int minor) {
  return facts.kernel_major > major || (facts.kernel_major == major && facts.kernel_minor >= minor);
}

// nf_conntrack_init_start(): 1/16384 of RAM in buckets, capped by RAM size classes.
Sizing SizingOf(const Facts& facts) {
  Sizing sizing;
  sizing.measured = facts.entry_bytes_measured;
  sizing.slab_bytes = facts.entry_bytes.value_or(kEstimatedSlabBytes);
  sizing.entry_bytes = sizing.slab_bytes + kExtensionBytes;
  sizing.max_equals_buckets = facts.kernel_major == 0 || AtLeast(facts, 5, 15);
  if (!facts.mem_total_bytes || facts.kernel_major == 0) return sizing;
  const uint64_t ram = *facts.mem_total_bytes;
  constexpr uint64_t kGiB = uint64_t{1} << 30;
  uint64_t buckets = ram / 16384 / kBucketBytes;
  if (sizing.max_equals_buckets) {
    if (ram > 4 * kGiB)
      buckets = 262144;
    else if (ram > kGiB)
      buckets = 65536;
    buckets = std::max<uint64_t>(buckets, 1024);
  } else {
    if (ram > 4 * kGiB)
      buckets = 65536;
    else if (ram > kGiB)
      buckets = 16384;
    buckets = std::max<uint64_t>(buckets, 32);
  }
  sizing.default_buckets = buckets;
  sizing.default_max = sizing.max_equals_buckets ? buckets : 4 * buckets;
  return sizing;
}

std::string Plural(uint64_t n, std::string_view one, std::string_view many) {
  return Thousands(n) + " " + std::string(n == 1 ? one : many);
}

// " Refused most: udp/53 (1,200 packets), ...." (`lead`, the keys, `end`) for one netns from the
// BPF listing of the window (the listed keys only), or "" when it lists none of that netns.
std::string TopRefused(const Facts& facts, std::optional<uint64_t> netns,
                       std::string_view lead = " Refused most: ", std::string_view end = ".") {
  if (!facts.refused_watched || !netns) return "";
  std::string text;
  size_t named = 0;
  for (const auto& flow : facts.refused) {
    if (flow.netns != std::to_string(*netns) || named == kRefusedInReason) continue;
    text += std::string(named++ ? ", " : lead) + RefusedKeyName(flow) + " (" +
            Plural(flow.packets, "packet", "packets") + ")";
  }
  return text.empty() ? "" : text + std::string(end);
}

std::string Seconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g s", seconds);
  return buffer;
}

struct Judged {
  Verdict verdict = Verdict::kOk;
  std::vector<Reason> reasons;
  bool pressure = false;      // the table reached or nears its limit: raise max
  bool drop_history = false;  // the peak was censored at the limit at some point
  void Add(Verdict level, std::string text, std::string_view rule) {
    verdict = std::max(verdict, level);
    reasons.push_back({level, std::move(text), rule});
  }
};

void JudgeCounters(const Facts& facts, Judged& judged) {
  if (facts.since_boot.empty()) return;
  const std::string window = " in the last " + Seconds(facts.window_seconds);
  uint64_t drop_now = Counter(facts.in_window, "drop");
  uint64_t drop_ever = Counter(facts.since_boot, "drop");
  uint64_t long_now = Counter(facts.in_window, "chaintoolong");
  uint64_t long_ever = Counter(facts.since_boot, "chaintoolong");
  uint64_t evicted_now = Counter(facts.in_window, "early_drop");
  if (drop_now > 0) {
    judged.Add(Verdict::kDropping,
               Plural(drop_now, "packet", "packets") + " dropped" + window +
                   ": no conntrack entry could be made for them (drop counter)." +
                   TopRefused(facts, facts.netns_inode),
               "drops-in-window");
  } else if (drop_ever > 0) {
    judged.Add(Verdict::kAtRisk,
               Plural(drop_ever, "packet", "packets") + " dropped since the netns started, none" +
                   window + ".",
               "drops-since-start");
  }
  if (long_now > 0) {
    judged.Add(Verdict::kDropping,
               Plural(long_now, "insert", "inserts") + " refused" + window +
                   ": a hash chain was longer than the kernel allows "
                   "(chaintoolong), too few buckets.",
               "chaintoolong-in-window");
  } else if (long_ever > 0) {
    judged.Add(Verdict::kAtRisk,
               Plural(long_ever, "insert", "inserts") +
                   " refused since the netns started because a hash chain "
                   "was too long (chaintoolong).",
               "chaintoolong-since-start");
  }
  if (evicted_now > 0) {
    judged.Add(Verdict::kAtRisk,
               Plural(evicted_now, "entry", "entries") + " evicted" + window +
                   " to make room (early_drop): the table is at its limit.",
               "early-drop-in-window");
  }
  judged.drop_history = drop_ever > 0 || evicted_now > 0;
  judged.pressure = judged.pressure || judged.drop_history;
}

// How long ago the kernel last logged "table full" for this netns, when it did.
std::optional<double> OwnLineAge(const Facts& facts) {
  std::optional<double> age;
  for (const auto& line : facts.table_full) {
    if (!OwnLine(facts, line) || !line.wall_seconds) continue;
    double a = facts.now_seconds - *line.wall_seconds;
    if (!age || a < *age) age = a;
  }
  return age;
}

// A table at its limit (the peak reached max; the kernel shows max + 1 while it refuses one) is
// DROPPING when it dropped within the last minute — in the window, or by the kernel log — even
// if no new flow came during the window: the limit has not moved and the next flow is refused.
void JudgeFull(const Facts& facts, Judged& judged) {
  const std::string entries =
      " (" + Thousands(*facts.peak_entries) + " of " + Thousands(*facts.max) + " entries)";
  const double minute = std::max(kRecentDropSeconds, facts.window_seconds + 1);
  auto age = OwnLineAge(facts);
  if (Counter(facts.in_window, "drop") > 0) {
    judged.Add(Verdict::kDropping, "The table is at its limit" + entries + " and dropped.",
               "full-and-dropped-last-minute");
  } else if (age && *age <= minute) {
    judged.Add(Verdict::kDropping,
               "The table is at its limit" + entries + " and the kernel logged \"table full, " +
                   "dropping packet\" for this netns " + Seconds(std::round(*age)) +
                   " ago (within " + Seconds(minute) + "), though no packet was dropped in " +
                   "the window: the next new flow is refused.",
               "full-and-dropped-last-minute");
  } else {
    std::string log = !facts.log_read ? "the kernel log, which would date an earlier drop, was "
                                        "not read"
                      : age           ? "the latest \"table full\" line for this netns is " +
                                  Seconds(std::round(*age)) + " old"
                            : "no \"table full\" line for this netns in the kernel log";
    judged.Add(Verdict::kAtRisk,
               "The table is at its limit" + entries + "; no drop in the window, and " + log + ".",
               "full");
  }
  judged.pressure = judged.drop_history = true;
}

void JudgeUsage(const Facts& facts, Judged& judged) {
  if (auto usage = Usage(facts)) {
    double peak = static_cast<double>(*facts.peak_entries) / static_cast<double>(*facts.max);
    if (peak >= 1) {
      JudgeFull(facts, judged);
    } else if (peak >= kAtRiskUsage) {
      judged.Add(Verdict::kAtRisk,
                 "The table reached " + Percent(peak) + " of its limit (" +
                     Thousands(*facts.peak_entries) + " of " + Thousands(*facts.max) + " entries).",
                 "nearly-full");
      judged.pressure = true;
    }
  }
  if (facts.buckets && *facts.buckets > 0 && facts.peak_entries) {
    double per_bucket =
        static_cast<double>(*facts.peak_entries) / static_cast<double>(*facts.buckets);
    if (per_bucket > kMaxEntriesPerBucket) {
      char text[160];
      std::snprintf(text, sizeof text,
                    "%.1f entries per hash bucket: every packet's lookup walks long chains "
                    "(the kernel defaults never exceed 4).",
                    per_bucket);
      judged.Add(Verdict::kAtRisk, text, "long-chains");
    }
  }
}

void JudgeLog(const Facts& facts, Judged& judged) {
  bool recent = false, now = false;
  for (const auto& line : facts.table_full) {
    if (!OwnLine(facts, line) || !line.wall_seconds) continue;
    double age = facts.now_seconds - *line.wall_seconds;
    now = now || age <= facts.window_seconds + 1;
    recent = recent || age <= kRecentLogSeconds;
  }
  // The counters are the better witness; the log decides only when they could not be read.
  if (now && facts.since_boot.empty()) {
    judged.Add(Verdict::kDropping,
               "The kernel logged \"table full, dropping packet\" for this "
               "netns in the last " +
                   Seconds(facts.window_seconds) + ".",
               "log-in-window");
    judged.drop_history = judged.pressure = true;
  } else if (recent && judged.verdict != Verdict::kDropping) {
    judged.Add(Verdict::kAtRisk,
               "The kernel logged \"table full, dropping packet\" for this "
               "netns within the last hour.",
               "log-within-hour");
    judged.drop_history = judged.pressure = true;
  }
}

// Other namespaces are judged only from the initial netns (the host): inside a pod, another
// pod's trouble is not this one's, and its log lines are shown without a verdict.
std::vector<NamespaceVerdict> JudgeNamespaces(const Facts& facts) {
  std::vector<NamespaceVerdict> judged;
  if (!facts.initial_netns) return judged;
  for (const auto& ns : facts.namespaces) {
    if (facts.netns_inode && ns.inode == *facts.netns_inode) continue;
    NamespaceVerdict v{ns, Verdict::kOk, ""};
    if (facts.max && *facts.max > 0) {
      double usage = static_cast<double>(ns.entries) / static_cast<double>(*facts.max);
      if (usage >= 1 && ns.drops.value_or(1) > 0) {
        v = {ns, Verdict::kDropping, "at the limit with packets dropped"};
      } else if (usage >= kAtRiskUsage) {
        v = {ns, Verdict::kAtRisk, Percent(usage) + " of the limit"};
      }
    }
    if (v.verdict == Verdict::kOk && ns.drops.value_or(0) > 0) {
      v = {ns, Verdict::kAtRisk, Thousands(*ns.drops) + " packets dropped since it started"};
    }
    judged.push_back(std::move(v));
  }
  // Kernel-log lines naming another netns during the window: that netns is dropping now.
  for (const auto& line : facts.table_full) {
    if (!line.netns || OwnLine(facts, line) || !line.wall_seconds) continue;
    if (facts.now_seconds - *line.wall_seconds > facts.window_seconds + 1) continue;
    auto it = std::find_if(judged.begin(), judged.end(),
                           [&](const auto& v) { return v.usage.inode == *line.netns; });
    if (it == judged.end()) {
      judged.push_back({{*line.netns, "", 0, std::nullopt}, Verdict::kAtRisk, ""});
      it = judged.end() - 1;
    }
    it->verdict = Verdict::kDropping;
    it->why =
        "the kernel logged \"table full\" for it in the last " + Seconds(facts.window_seconds);
  }
  return judged;
}

constexpr std::string_view kSysctlFile = "/etc/sysctl.d/90-nf-conntrack.conf";

void RecommendSize(const Facts& facts, const Judged& judged, Diagnosis& d) {
  const Sizing& s = d.sizing;
  uint64_t peak = facts.peak_entries.value_or(0);
  const uint64_t max = facts.max.value_or(0);
  const uint64_t buckets = facts.buckets.value_or(0);
  bool pressure = judged.pressure, drop_history = judged.drop_history;
  std::string where;  // whose peak, when it is another namespace's
  // From the host: a namespace near or at the global limit needs the same remedy, since each
  // netns is held to nf_conntrack_max on its own.
  if (d.worst && max > 0 && d.worst->usage.entries > peak &&
      static_cast<double>(d.worst->usage.entries) / static_cast<double>(max) >= kAtRiskUsage) {
    peak = d.worst->usage.entries;
    pressure = true;
    drop_history = drop_history || (d.worst->verdict == Verdict::kDropping && peak >= max);
    where = " in netns " + std::to_string(d.worst->usage.inode);
  }
  bool chain = Counter(facts.since_boot, "chaintoolong") > 0 ||
               (buckets > 0 && static_cast<double>(peak) / buckets > kMaxEntriesPerBucket);
  if (pressure && max > 0) {
    uint64_t proposed = RoundUp(std::max<uint64_t>(2 * peak, 1), kMaxRounding);
    // A table that was full hides the real demand: at least twice the limit it hit.
    if (drop_history) proposed = std::max(proposed, RoundUp(2 * max, kMaxRounding));
    if (proposed > max) d.proposed_max = proposed;
  }
  if (d.proposed_max) {
    d.proposed_buckets = std::max(buckets, RoundUp(*d.proposed_max, kBucketRounding));
  } else if (chain) {
    d.proposed_buckets = RoundUp(std::max({peak, max, buckets * 2}), kBucketRounding);
  }
  if (d.proposed_buckets && *d.proposed_buckets <= buckets) d.proposed_buckets.reset();
  if (!d.proposed_max && !d.proposed_buckets) return;

  Recommendation r;
  if (d.proposed_max) {
    r.title = "Raise nf_conntrack_max to " + Thousands(*d.proposed_max);
    r.reason = "Twice the peak of " + Thousands(peak) + " entries" + where +
               (drop_history ? " (at least twice the limit the table hit, which hides "
                               "the real demand)"
                             : "") +
               ", rounded up to a multiple of 65,536. Memory: " + Thousands(*d.proposed_max) +
               " x " + Bytes(static_cast<double>(s.entry_bytes)) + " = " +
               Bytes(static_cast<double>(*d.proposed_max * s.entry_bytes)) +
               " if every entry is used (entries take memory only while they exist; " +
               Bytes(static_cast<double>((*d.proposed_max - max) * s.entry_bytes)) +
               " more than the current limit allows).";
    r.commands.push_back("sysctl -w net.netfilter.nf_conntrack_max=" +
                         std::to_string(*d.proposed_max));
  } else {
    r.title = "Raise nf_conntrack_buckets to " + Thousands(*d.proposed_buckets);
    r.reason =
        "Hash chains are too long for the entries (chaintoolong, or more than 4 entries "
        "per bucket).";
  }
  if (d.proposed_buckets) {
    r.reason += " Buckets " + Thousands(*d.proposed_buckets) + " (one per entry of the limit, " +
                "the kernel's own ratio since 5.15): " +
                Bytes(static_cast<double>(*d.proposed_buckets * kBucketBytes)) +
                " allocated at once; the resize rehashes the table under a short lock.";
    r.commands.push_back("sysctl -w net.netfilter.nf_conntrack_buckets=" +
                         std::to_string(*d.proposed_buckets));
  }
  if (d.proposed_max) {
    r.persist.push_back({std::string(kSysctlFile),
                         "net.netfilter.nf_conntrack_max = " + std::to_string(*d.proposed_max)});
  }
  if (d.proposed_buckets) {
    // hashsize is read when the module loads; a built-in one reads the kernel command line.
    if (facts.module_builtin.value_or(false)) {
      r.persist.push_back({"the kernel command line (nf_conntrack is built in)",
                           "nf_conntrack.hashsize=" + std::to_string(*d.proposed_buckets)});
    } else {
      r.persist.push_back({"/etc/modprobe.d/nf-conntrack.conf",
                           "options nf_conntrack hashsize=" + std::to_string(*d.proposed_buckets)});
    }
  }
  if (!facts.initial_netns) {
    r.warnings.push_back(
        "Both keys are global and read-only in this netns: run the commands "
        "on the host. Every netns may hold up to nf_conntrack_max entries.");
  }
  r.warnings.push_back(
      "Kubernetes: kube-proxy sets nf_conntrack_max at start (conntrack.maxPerCore, "
      "conntrack.min); set it there, or it overwrites the sysctl.d value.");
  d.recommendations.push_back(std::move(r));
}

void RecommendTimeWait(const Facts& facts, Diagnosis& d) {
  if (!facts.table_read || facts.table_entries == 0 || !facts.time_wait_timeout) return;
  auto it = facts.tcp_states.find("time_wait");
  uint64_t time_wait = it == facts.tcp_states.end() ? 0 : it->second;
  double share = static_cast<double>(time_wait) / static_cast<double>(facts.table_entries);
  uint64_t timeout = *facts.time_wait_timeout;
  auto usage = Usage(facts);
  if (share <= kTimeWaitDominates || timeout <= kTimeWaitLongSeconds) return;
  if (d.here == Verdict::kOk && !(usage && *usage > 0.5)) return;
  uint64_t freed = time_wait - time_wait * kShortTimeWaitSeconds / timeout;
  Recommendation r;
  r.title = "Shorten the TIME_WAIT timeout to " + std::to_string(kShortTimeWaitSeconds) + " s";
  r.reason = Percent(share) + " of the entries (" + Thousands(time_wait) +
             ") are TCP TIME_WAIT, each kept " + std::to_string(timeout) +
             " s; a Linux endpoint keeps TIME_WAIT 60 s. At the same connection rate " +
             std::to_string(kShortTimeWaitSeconds) + " s holds about " +
             Thousands(time_wait - freed) + " of them, freeing about " + Thousands(freed) +
             " entries.";
  r.commands.push_back("sysctl -w net.netfilter.nf_conntrack_tcp_timeout_time_wait=" +
                       std::to_string(kShortTimeWaitSeconds));
  r.persist.push_back(
      {std::string(kSysctlFile), "net.netfilter.nf_conntrack_tcp_timeout_time_wait = " +
                                     std::to_string(kShortTimeWaitSeconds)});
  if (!facts.initial_netns) {
    r.warnings.push_back("Timeouts are per netns: run it in this netns (a container's sysctls).");
  }
  d.recommendations.push_back(std::move(r));
}

// Ports whose traffic needs conntrack for more than a state match: NAT helpers, and services
// usually reached through DNAT.
struct PortCaution {
  std::string_view protocol;  // "" = any
  uint16_t port;
  std::string_view why;
};
constexpr PortCaution kCautions[] = {
    {"tcp", 21, "FTP: the ftp helper opens the data connections; without tracking they fail"},
    {"udp", 69, "TFTP: the tftp helper expects the transfer; without tracking it fails"},
    {"", 5060, "SIP: the sip helper opens the media streams and rewrites them for NAT"},
    {"tcp", 1723, "PPTP: the pptp helper tracks the GRE tunnel"},
    {"", 554, "RTSP: media streams are opened by a conntrack helper"},
    {"udp", 161, "SNMP: the snmp helper rewrites addresses for NAT"},
    {"", 53,
     "DNS: on Kubernetes and Docker, clients reach it through a Service or published port "
     "(DNAT); untracked queries skip that NAT and fail"},
};

void RecommendNotrack(const Facts& facts, Diagnosis& d) {
  if (!facts.table_read || facts.table_entries == 0 || d.here == Verdict::kOk) return;
  std::vector<PortEntries> ports;
  for (const auto& p : facts.top_ports) {
    double share = static_cast<double>(p.entries) / static_cast<double>(facts.table_entries);
    if (share >= kNotrackShare && ports.size() < kMaxNotrackPorts) ports.push_back(p);
  }
  if (ports.empty()) return;
  Recommendation r;
  std::string names;
  for (const auto& p : ports) {
    names += (names.empty() ? "" : ", ") + p.protocol + "/" + std::to_string(p.port);
  }
  r.title = "Stop tracking " + names + " (NOTRACK)";
  r.reason = "These ports hold the most entries: ";
  for (size_t i = 0; i < ports.size(); ++i) {
    const auto& p = ports[i];
    r.reason += (i ? ", " : "") + p.protocol + "/" + std::to_string(p.port) + " " +
                Thousands(p.entries) + " (" +
                Percent(static_cast<double>(p.entries) / facts.table_entries) + ")";
  }
  r.reason +=
      ". Untracked packets take no entry at all. Rules for both directions, whether "
      "this host is the client or the server:";
  for (const auto& p : ports) {
    std::string port = std::to_string(p.port);
    for (const char* chain : {"PREROUTING", "OUTPUT"}) {
      for (const char* dir : {"--dport", "--sport"}) {
        r.commands.push_back(std::string("iptables -t raw -A ") + chain + " -p " + p.protocol +
                             " " + dir + " " + port + " -j NOTRACK");
      }
    }
  }
  r.commands.push_back("# ip6tables the same for IPv6; or nftables, both families at once:");
  r.commands.push_back("nft -f - <<'EOF'");
  r.commands.push_back("table inet notrack {");
  for (const auto& [chain, hook] : {std::pair{"pre", "prerouting"}, std::pair{"out", "output"}}) {
    r.commands.push_back(std::string("  chain ") + chain + " {");
    r.commands.push_back(std::string("    type filter hook ") + hook + " priority raw;");
    for (const auto& p : ports) {
      for (const char* dir : {"dport", "sport"}) {
        r.commands.push_back("    " + p.protocol + " " + dir + " " + std::to_string(p.port) +
                             " notrack");
      }
    }
    r.commands.push_back("  }");
  }
  r.commands.push_back("}");
  r.commands.push_back("EOF");
  r.persist.push_back({"/etc/nftables.conf", "the table inet notrack block above"});
  r.warnings.push_back(
      "NOTRACK skips NAT and never matches `ct state established`: do not untrack traffic that "
      "is DNATed, SNATed or masqueraded (check `nft list ruleset`, `iptables -t nat -S`), and "
      "accept it explicitly where a stateful filter follows (`ct state untracked accept`, "
      "`-m conntrack --ctstate UNTRACKED -j ACCEPT`).");
  for (const auto& p : ports) {
    for (const auto& caution : kCautions) {
      if (caution.port == p.port && (caution.protocol.empty() || caution.protocol == p.protocol)) {
        r.warnings.push_back(p.protocol + "/" + std::to_string(p.port) + ": " +
                             std::string(caution.why) + ".");
      }
    }
  }
  d.recommendations.push_back(std::move(r));
}

// Whether a new scrape takes a conntrack entry, from what can be seen without writing anything,
// whatever installed a rule (nftables, iptables, a CNI). Best: each established connection's
// client against the entries' clients (/proc/net/nf_conntrack); a connection without an entry
// is untracked, and since an entry made before a notrack rule lingers (5 days for an idle
// ESTABLISHED one), any untracked connection means new ones are. Else: the count of entries to
// the port (dump) against the count of connections, which such a lingering entry can fool.
ScrapePortVerdict JudgeScrapePort(const Facts& facts) {
  const ScrapePort& p = facts.scrape_port;
  const std::string port = "tcp/" + std::to_string(p.port);
  const std::string full =
      " When the table is full, a new connection to it is refused (its SYN dropped): only an "
      "already open, kept-alive scrape is answered.";
  const std::string untracked_full = " A full table cannot refuse a scrape.";
  if (p.sockets_read && p.established > 0 && p.tracked_connections) {
    uint64_t tracked = *p.tracked_connections, untracked = p.established - tracked;
    if (tracked < p.established) {
      std::string which =
          p.established == 1 ? "its one established connection has"
          : untracked == 1 ? "1 of its " + Thousands(p.established) + " established connections has"
                           : Thousands(untracked) + " of its " + Thousands(p.established) +
                                 " established connections have";
      return {Tracking::kUntracked,
              "The scrape port " + port + " is not tracked: " + which +
                  " no conntrack entry (a notrack rule" +
                  (tracked > 0 ? "; those with one were opened before it" : "") + ")." +
                  untracked_full};
    }
    return {Tracking::kTracked,
            "The scrape port " + port + " is tracked: " +
                (p.established == 1
                     ? std::string("its one established connection has")
                     : "each of its " + Thousands(p.established) + " established connections has") +
                " a conntrack entry." + full};
  }
  const std::string connections =
      p.sockets_read ? Plural(p.established, "established connection", "established connections")
                     : "connections not readable (/proc/net/tcp)";
  if (!p.entries) {
    return {Tracking::kUnknown, "Whether the scrape port " + port +
                                    " is tracked needs the table dump (CAP_NET_ADMIN)."};
  }
  if (*p.entries > 0 && (!p.sockets_read || *p.entries >= p.established)) {
    return {Tracking::kTracked, "The scrape port " + port + " is tracked: " +
                                    Plural(*p.entries, "conntrack entry", "conntrack entries") +
                                    " to it, " + connections + "." + full};
  }
  if (p.sockets_read && p.established > *p.entries) {
    return {Tracking::kUntracked,
            "The scrape port " + port + " is not tracked: " + connections + " and " +
                (*p.entries == 0 ? std::string("no conntrack entry")
                                 : "only " + Plural(*p.entries, "entry", "entries")) +
                " to it (a notrack rule)." + untracked_full};
  }
  return {Tracking::kUnknown,
          "No connection to the scrape port " + port +
              (!p.sockets_read ? std::string(" could be seen")
               : p.listening   ? std::string(" now (something listens on it)")
                               : std::string(", and nothing listens on it in this netns")) +
              ": whether a scrape would be tracked cannot be told."};
}

// Where the table is in trouble and the exporter's own scrapes are tracked, a full table hides
// the node from Prometheus exactly then.
void RecommendScrapeNotrack(const Facts& facts, Diagnosis& d) {
  if (d.scrape_port.tracking != Tracking::kTracked || d.here == Verdict::kOk) return;
  const std::string port = std::to_string(facts.scrape_port.port);
  Recommendation r;
  r.title = "Exempt the scrape port tcp/" + port + " from tracking";
  r.reason =
      "A full table refuses every new connection, a new scrape too: after a restart or a reset "
      "the node goes dark while it drops. Untracked, a scrape needs no entry "
      "(docs/notrack.md). Shipped disabled with the package; the unit loads the rules at every "
      "boot:";
  r.commands = {"systemctl enable --now nf-conntrack-exporter-notrack",
                "# without systemd, in /usr/share/nf-conntrack-exporter:",
                "nft -f nftables/nf-conntrack-exporter-notrack.nft",
                "# or, for iptables: iptables/nf-conntrack-exporter-notrack.sh enable " + port};
  r.warnings.push_back(
      "Untracked packets skip NAT: not where the port is reached through DNAT. A stateful filter "
      "must accept them (`ct state untracked`); the file's comments say how.");
  if (port != "9725") {
    r.warnings.push_back("The nft file names port 9725: edit its define nfct_exporter_port.");
  }
  d.recommendations.push_back(std::move(r));
}

size_t RuleRank(std::string_view id) {
  for (size_t i = 0; i < std::size(kRules); ++i) {
    if (kRules[i].id == id) return i;
  }
  return std::size(kRules);
}

}  // namespace

const Rule& RuleById(std::string_view id) {
  for (const auto& rule : kRules) {
    if (rule.id == id) return rule;
  }
  return kRules[std::size(kRules) - 1];
}

std::string_view TrackingName(Tracking tracking) {
  switch (tracking) {
    case Tracking::kTracked:
      return "tracked";
    case Tracking::kUntracked:
      return "untracked";
    case Tracking::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kOk:
      return "OK";
    case Verdict::kAtRisk:
      return "AT RISK";
    case Verdict::kDropping:
      return "DROPPING";
  }
  return "DROPPING";
}

std::optional<double> Usage(const Facts& facts) {
  if (!facts.entries || !facts.max || *facts.max == 0) return std::nullopt;
  return static_cast<double>(*facts.entries) / static_cast<double>(*facts.max);
}

uint64_t Counter(const std::map<std::string, uint64_t>& counters, std::string_view name) {
  auto it = counters.find(std::string(name));
  return it == counters.end() ? 0 : it->second;
}

bool OwnLine(const Facts& facts, const TableFullLine& line) {
  return NamesThisNetns(facts, line) && !InodeReused(facts, line);
}

bool InodeReused(const Facts& facts, const TableFullLine& line) {
  // The kernel counts a drop with every "table full" line it logs. A netns whose counter is
  // still 0 logged none of them: the line is an earlier netns's that had the same inode (they
  // are reused), or, without a name, another netns's.
  return NamesThisNetns(facts, line) && !facts.since_boot.empty() &&
         Counter(facts.since_boot, "drop") == 0;
}

std::string RefusedKeyName(const RefusedFlow& flow) {
  if (flow.protocol.empty()) return "other";  // the overflow of the BPF maps
  if (flow.port.empty()) return flow.protocol;
  return flow.protocol + "/" + flow.port;
}

std::string Thousands(uint64_t value) {
  std::string digits = std::to_string(value), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Bytes(double bytes) {
  char buffer[32];
  if (bytes < 1024) {
    std::snprintf(buffer, sizeof buffer, "%.0f B", bytes);
  } else if (bytes < 1024.0 * 1024) {
    std::snprintf(buffer, sizeof buffer, "%.1f KiB", bytes / 1024);
  } else if (bytes < 1024.0 * 1024 * 1024) {
    std::snprintf(buffer, sizeof buffer, "%.1f MiB", bytes / (1024.0 * 1024));
  } else {
    std::snprintf(buffer, sizeof buffer, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  }
  return buffer;
}

std::string Percent(double ratio) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f %%", ratio * 100);
  return buffer;
}

Diagnosis Diagnose(const Facts& facts) {
  Diagnosis d;
  d.sizing = SizingOf(facts);
  d.scrape_port = JudgeScrapePort(facts);
  if (!facts.module_loaded) {
    d.scrape_port = {Tracking::kUntracked,
                     "nf_conntrack is not loaded: nothing is tracked, a scrape included."};
    d.reasons.push_back({Verdict::kOk,
                         "nf_conntrack is not loaded: nothing is tracked, so nothing can be "
                         "dropped for want of an entry."});
    return d;
  }
  Judged judged;
  JudgeCounters(facts, judged);
  JudgeUsage(facts, judged);
  JudgeLog(facts, judged);
  d.here = judged.verdict;
  d.verdict = judged.verdict;
  d.reasons = std::move(judged.reasons);
  // Worst first; within a level, in the order of kRules, so the first reason is the rule that
  // decided (a full table outranks the drops that filled it, as the rule reads).
  std::stable_sort(d.reasons.begin(), d.reasons.end(), [](const Reason& a, const Reason& b) {
    return a.level != b.level ? a.level > b.level : RuleRank(a.rule) < RuleRank(b.rule);
  });
  if (d.reasons.empty()) {
    std::string text =
        facts.since_boot.empty() ? "No drops seen" : "No drops since the netns started";
    if (auto usage = Usage(facts)) text += "; the table is " + Percent(*usage) + " full";
    text += ".";
    d.reasons.push_back({Verdict::kOk, text});
  }
  d.rule = d.reasons.front().rule;

  auto others = JudgeNamespaces(facts);
  auto worst = std::max_element(others.begin(), others.end(), [](const auto& a, const auto& b) {
    return std::tie(a.verdict, a.usage.entries) < std::tie(b.verdict, b.usage.entries);
  });
  if (worst != others.end()) {
    d.worst = *worst;
    if (worst->verdict == Verdict::kDropping) {
      d.worst->why += TopRefused(facts, worst->usage.inode, "; refused most: ", "");
    }
    if (worst->verdict > d.verdict) {
      d.verdict = worst->verdict;
      d.rule =
          worst->verdict == Verdict::kDropping ? "other-netns-dropping" : "other-netns-at-risk";
    }
  }

  RecommendSize(facts, judged, d);
  RecommendTimeWait(facts, d);
  RecommendNotrack(facts, d);
  RecommendScrapeNotrack(facts, d);
  return d;
}

}  // namespace nfct::doctor
