#include "collectors/stat/stat_collector.h"

#include <array>
#include <variant>

#include "collectors/stat/stat_parser.h"

namespace nfct {
namespace {

using prometheus::MetricType;

struct Counter {
  std::string_view name;  // StatCounterName() of the kernel column
  FamilyDesc desc;
};

#define NFCT_STAT(name, help)                                           \
  Counter {                                                             \
    name, FamilyDesc {                                                  \
      "nf_conntrack_stat_" name "_total", MetricType::Counter, help, {} \
    }                                                                   \
  }

const std::array<Counter, 18> kCounters = {{
    NFCT_STAT("found", "Lookups that found an existing conntrack entry, summed over CPUs."),
    NFCT_STAT("invalid",
              "Packets that conntrack could not track (malformed or out of window), "
              "summed over CPUs."),
    NFCT_STAT("insert",
              "Entries inserted into the table through netlink, summed over CPUs; "
              "packet-created entries do not count here."),
    NFCT_STAT("insert_failed",
              "Entries that could not be inserted because an equal entry was "
              "already present (a clash), summed over CPUs."),
    NFCT_STAT("drop",
              "Packets dropped because no conntrack entry could be made (table full "
              "among others), summed over CPUs; never rate limited."),
    NFCT_STAT("early_drop",
              "Entries evicted to make room for a new one because the table was "
              "at its limit, summed over CPUs."),
    NFCT_STAT("icmp_error",
              "Packets that were ICMP errors related to a tracked flow and could "
              "not be matched, summed over CPUs."),
    NFCT_STAT("search_restart",
              "Hash table lookups restarted because of a concurrent resize or "
              "deletion, summed over CPUs."),
    NFCT_STAT("clash_resolve",
              "Insert clashes the kernel resolved by reusing the other entry "
              "(kernel 5.10 and later), summed over CPUs."),
    NFCT_STAT("chaintoolong",
              "Inserts refused because a hash chain was longer than the kernel "
              "allows: too few buckets (kernel 5.15 and later), summed over CPUs."),
    NFCT_STAT("expect_new", "Expectations added (helpers such as FTP and SIP), summed over CPUs."),
    NFCT_STAT("expect_create", "Expectations created, summed over CPUs."),
    NFCT_STAT("expect_delete", "Expectations deleted, summed over CPUs."),
    NFCT_STAT("searched", "Hash table entries searched (kernels before 5.10), summed over CPUs."),
    NFCT_STAT("new", "Entries created (old kernels; 0 on current ones), summed over CPUs."),
    NFCT_STAT("ignore", "Packets that were already tracked or need no tracking, summed over CPUs."),
    NFCT_STAT("delete", "Entries deleted (old kernels; 0 on current ones), summed over CPUs."),
    NFCT_STAT("delete_list",
              "Entries removed from the unconfirmed list (kernels before 5.15), "
              "summed over CPUs."),
}};
#undef NFCT_STAT

constexpr std::string_view kStatPath = "net/stat/nf_conntrack";

}  // namespace

const std::vector<FamilyDesc>& StatCollector::Families() const {
  static const std::vector<FamilyDesc> kFamilies = [] {
    std::vector<FamilyDesc> families;
    for (const auto& counter : kCounters) families.push_back(counter.desc);
    return families;
  }();
  return kFamilies;
}

std::vector<std::string> StatCollector::Sources() const {
  return {env_.Proc(kStatPath).string(), "netlink IPCTNL_MSG_CT_GET_STATS_CPU (fallback)"};
}

std::vector<Capability> StatCollector::Capabilities() const {
  if (std::filesystem::exists(env_.Proc(kStatPath))) return {};
  return {Capability::kNetAdmin};
}

StatRead StatCollector::ReadTable() {
  const auto path = env_.Proc(kStatPath);
  FileRead file = ReadFile(path);
  if (file.ok()) {
    auto parsed = ParseStatTable(file.data);
    if (auto* error = std::get_if<StatParseError>(&parsed)) {
      return {{}, Status::Error("malformed " + path.string() + ": " + error->message)};
    }
    return {std::get<StatTable>(std::move(parsed)), Status::Ok()};
  }
  if (file.error != ENOENT) {
    return {{}, StatusFromErrno(file.error, path, "nf_conntrack is not loaded", "root")};
  }
  // No procfs stats: either the module is absent, or the kernel lacks CONFIG_NF_CONNTRACK_PROCFS.
  // A netlink request would autoload the module, so check that it is loaded first.
  const auto max_path = env_.Proc("sys/net/netfilter/nf_conntrack_max");
  if (!std::filesystem::exists(max_path)) {
    return {{},
            Status::Unavailable("nf_conntrack is not loaded (" + max_path.string() +
                                " does not exist)")};
  }
  StatRead read = netlink_->Read();
  if (!read.status.ok()) {
    std::string why = path.string() + " does not exist; " + read.status.reason();
    read.status = read.status.code() == Status::Code::kUnavailable ? Status::Unavailable(why)
                                                                   : Status::Error(why);
  }
  return read;
}

Status StatCollector::Collect(MetricSink& sink) {
  // Read and fold under one lock: two scrapes folding readings out of order would look like a
  // 32-bit wrap and add nearly 2^32 to a counter.
  std::lock_guard lock(mutex_);
  StatRead read = ReadTable();
  if (!read.status.ok()) return read.status;
  const auto& totals = accumulator_.Update(read.table);
  for (const auto& counter : kCounters) {
    for (const auto& [column, total] : totals) {
      if (StatCounterName(column) == counter.name) {
        sink.Add(counter.desc, {}, static_cast<double>(total));
      }
    }
  }
  return Status::Ok();
}

MadeCollector MakeStatCollector(const Env& env, const OptionValues&) {
  return {std::make_unique<StatCollector>(env, MakeNetlinkCpuStatsSource(env.netns)), ""};
}

}  // namespace nfct
