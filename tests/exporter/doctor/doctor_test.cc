// The doctor's gather → Diagnose → render chain over fixture scenarios, compared with golden
// reports (tests/golden/doctor/<scenario>.{txt,json}; UPDATE_GOLDEN=1 rewrites them), and the
// pure steps' rules one at a time.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "collectors/all.h"
#include "collectors/kmsg/kmsg_device.h"
#include "collectors/kmsg/kmsg_syslog.h"
#include "collectors/table/table_counts.h"
#include "exporter/doctor/doctor_command.h"
#include "exporter/doctor/doctor_diagnose.h"
#include "exporter/doctor/doctor_gather.h"
#include "exporter/doctor/doctor_render.h"
#include "exporter/flags.h"
#include "tests/collectors/kmsg/kmsg_records.h"
#include "tests/collectors/kmsg/kmsg_test_util.h"

namespace nfct::doctor {
namespace {

namespace fs = std::filesystem;
using nfct::testing::FakeKmsgFile;
using nfct::testing::KmsgScript;
using nfct::testing::ReadText;
using nfct::testing::SplitKmsgRecords;

fs::path Source(std::string_view relative) { return fs::path(NFCT_SOURCE_DIR) / relative; }

// tests/fixtures/doctor/<scenario>/ holds:
//   base        the tests/fixtures/roots/<name> the procfs starts from
//   proc/       files laid over it; after/proc/ files laid over it when the window starts
//   kmsg.txt    /dev/kmsg records (absent: opening /dev/kmsg fails with EPERM)
//   kern.log    a syslog file tried after /dev/kmsg, as /var/log/kern.log (absent: not tried)
//   walk        present: walk proc/<pid>/ns/net as from the host; enter/<name> answers for
//               the bind mount /run/netns/<name> of proc/self/mountinfo
//   table.txt   "family protocol state dport count" per line (absent: the dump gets EPERM)
//   netns       "<inode> initial|other"
//   refused.txt the BPF listing of the window: "netns name|- protocol|- port|- packets" per
//               line ("-" for an empty label, "_" for a space; an empty file: nothing refused)
//   refused_unavailable  its content is the load's Unavailable reason (no CAP_BPF, no BTF)
//               (neither file: not watched, as with --no-refused)
class Scenario {
 public:
  explicit Scenario(const std::string& name)
      : dir_(Source("tests/fixtures/doctor/" + name)),
        root_(fs::temp_directory_path() /
              ("nfct-doctor-" + name + "-" + std::to_string(getpid()))) {
    fs::remove_all(root_);
    std::string base = Trim(ReadText(dir_ / "base"));
    fs::copy(Source("tests/fixtures/roots/" + base), root_, fs::copy_options::recursive);
    Overlay(dir_ / "proc", root_ / "proc");
  }
  ~Scenario() { fs::remove_all(root_); }

  GatherInputs Inputs() {
    GatherInputs inputs;
    inputs.env = Env{root_ / "proc", root_ / "sys", Clock()};
    // 10,000 s after boot at 2023-11-14 22:13:20 UTC.
    inputs.env.clock.wall = [] {
      return std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
    };
    inputs.env.clock.steady = [] {
      return std::chrono::steady_clock::time_point(std::chrono::seconds(10000));
    };
    inputs.window = std::chrono::seconds(5);
    inputs.sleep = [this](std::chrono::milliseconds) {
      Overlay(dir_ / "after/proc", root_ / "proc");
    };
    std::istringstream netns(ReadText(dir_ / "netns"));
    NetnsIdentity identity;
    uint64_t inode = 0;
    std::string kind;
    netns >> inode >> kind;
    identity.inode = inode;
    identity.initial = kind == "initial";
    inputs.identity = [identity] { return identity; };
    // /dev/kmsg replays kmsg.txt, or refuses as under dmesg_restrict; then kern.log, if any,
    // stands in for /var/log/kern.log.
    auto boot = [] { return 1700000000.0 - 10000; };
    KmsgOpener device = [](bool) { return KmsgOpen{nullptr, EPERM}; };
    if (fs::exists(dir_ / "kmsg.txt")) {
      device = [records = SplitKmsgRecords(ReadText(dir_ / "kmsg.txt"))](bool) {
        auto script = std::make_shared<KmsgScript>();
        script->AddRecords(records);
        return KmsgOpen{std::make_unique<FakeKmsgFile>(script), 0};
      };
    }
    inputs.logs.push_back(
        {"/dev/kmsg", std::make_unique<KmsgDeviceSource>("/dev/kmsg", device, boot)});
    if (fs::exists(dir_ / "kern.log")) {
      inputs.logs.push_back(
          {"/var/log/kern.log",
           std::make_unique<SyslogFileSource>(
               dir_ / "kern.log", [] { return 1700000000.0; }, SyslogFileSource::Options{})});
    }
    // walk: the processes under proc/ are walked as the netns collector walks them, and the
    // bind mounts of proc/self/mountinfo are "entered" by reading enter/<name>.
    if (fs::exists(dir_ / "walk")) {
      inputs.walk_namespaces = true;
      inputs.netns_enterer = std::make_unique<FixtureEnterer>(dir_ / "enter");
    }
    inputs.table = std::make_unique<FixtureTable>(dir_ / "table.txt");
    if (fs::exists(dir_ / "refused.txt") || fs::exists(dir_ / "refused_unavailable")) {
      inputs.refused = std::make_unique<FixtureRefused>(dir_);
    }
    return inputs;
  }

 private:
  // The refused collector's keys from refused.txt, in place of its BPF program; or its load
  // refused with the reason of refused_unavailable.
  class FixtureRefused : public RefusedWatch {
   public:
    explicit FixtureRefused(fs::path dir) : dir_(std::move(dir)) {}
    Status Begin() override {
      if (fs::exists(dir_ / "refused_unavailable")) {
        return Status::Unavailable(Trim(ReadText(dir_ / "refused_unavailable")));
      }
      return Status::Ok();
    }
    Result End() override {
      Result result;
      std::istringstream in(ReadText(dir_ / "refused.txt"));
      auto label = [](std::string field) {
        std::replace(field.begin(), field.end(), '_', ' ');  // "pod_<uid>" → "pod <uid>"
        return field == "-" ? "" : field;
      };
      for (std::string netns, name, protocol, port; in >> netns >> name >> protocol >> port;) {
        RefusedFlow flow{netns, label(name), label(protocol), label(port), 0};
        in >> flow.packets;
        result.flows.push_back(flow);
      }
      return result;
    }

   private:
    fs::path dir_;
  };

  // Counts from a line list, in place of a netlink dump.
  class FixtureTable : public TableSource {
   public:
    explicit FixtureTable(fs::path path) : path_(std::move(path)) {}
    DumpOutcome Dump(TableCounts& counts, const std::atomic<bool>&) override {
      counts.Reset();
      if (!fs::exists(path_)) {
        return {Status::Unavailable("the netlink conntrack dump needs CAP_NET_ADMIN"), 0, false};
      }
      std::istringstream in(ReadText(path_));
      uint64_t total = 0;
      for (std::string family, protocol, state; in >> family >> protocol >> state;) {
        unsigned port = 0;
        uint64_t count = 0;
        in >> port >> count;
        size_t p = 0;
        while (ProtocolLabel(p) != protocol) ++p;
        size_t s = 0;
        while (StateLabel(p, s) != state) ++s;
        for (uint64_t i = 0; i < count; ++i) {
          counts.Add(family == "ipv6" ? kIpv6 : kIpv4, static_cast<TableProtocol>(p),
                     static_cast<uint8_t>(s), static_cast<uint16_t>(port));
        }
        total += count;
      }
      return {Status::Ok(), total, false};
    }

   private:
    fs::path path_;
  };

  // Stands in for setns(): /run/netns/NAME reads enter/NAME of the scenario.
  class FixtureEnterer : public NetnsEnterer {
   public:
    explicit FixtureEnterer(fs::path dir) : dir_(std::move(dir)) {}
    std::vector<FileRead> ReadStat(const std::vector<std::string>& paths) override {
      std::vector<FileRead> reads;
      for (const auto& path : paths) {
        fs::path file = dir_ / fs::path(path).filename();
        reads.push_back(fs::exists(file) ? FileRead{ReadText(file), 0} : FileRead{"", ENOENT});
      }
      return reads;
    }

   private:
    fs::path dir_;
  };

  static std::string Trim(std::string text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    return text;
  }
  static void Overlay(const fs::path& from, const fs::path& to) {
    if (!fs::exists(from)) return;
    fs::copy(from, to,
             fs::copy_options::recursive | fs::copy_options::overwrite_existing |
                 fs::copy_options::copy_symlinks);
  }

  fs::path dir_;
  fs::path root_;
};

void ExpectGolden(const std::string& name, const std::string& actual) {
  fs::path path = Source("tests/golden/doctor/" + name);
  if (const char* update = std::getenv("UPDATE_GOLDEN"); update && std::string(update) == "1") {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << actual;
    return;
  }
  EXPECT_EQ(ReadText(path), actual) << "golden " << path << " differs; UPDATE_GOLDEN=1 rewrites";
}

struct Expected {
  const char* scenario;
  Verdict verdict;
};

class DoctorGolden : public ::testing::TestWithParam<Expected> {};

TEST_P(DoctorGolden, ReportsMatchTheGoldenFiles) {
  Scenario scenario(GetParam().scenario);
  Facts facts = Gather(scenario.Inputs());
  Diagnosis diagnosis = Diagnose(facts);
  EXPECT_EQ(diagnosis.verdict, GetParam().verdict) << VerdictName(diagnosis.verdict);
  std::string text = RenderText(facts, diagnosis);
  ExpectGolden(std::string(GetParam().scenario) + ".txt", text);
  ExpectGolden(std::string(GetParam().scenario) + ".json", RenderJson(facts, diagnosis));
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), kTextColumns) << line;
  }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, DoctorGolden,
                         ::testing::Values(Expected{"healthy", Verdict::kOk},
                                           Expected{"unprivileged", Verdict::kOk},
                                           Expected{"at_risk", Verdict::kAtRisk},
                                           Expected{"dropping", Verdict::kDropping},
                                           Expected{"dropping_refused", Verdict::kDropping},
                                           Expected{"no_module", Verdict::kOk},
                                           Expected{"host_namespaces", Verdict::kDropping},
                                           Expected{"full_recent_log", Verdict::kDropping},
                                           Expected{"full_old_log", Verdict::kAtRisk}),
                         [](const auto& info) { return std::string(info.param.scenario); });

// From the host, a healthy host netns and a pod's netns at the limit and dropping: the exit
// code is the pod's, the report names it, lists the fullest namespaces with their names, and
// reads the kernel log from the syslog file because /dev/kmsg refused.
TEST(DoctorHost, TheWorstNamespaceIsNamedAndTheFullestListed) {
  Scenario scenario("host_namespaces");
  Facts facts = Gather(scenario.Inputs());
  Diagnosis d = Diagnose(facts);
  EXPECT_EQ(d.here, Verdict::kOk);
  EXPECT_EQ(d.verdict, Verdict::kDropping);
  ASSERT_TRUE(d.worst);
  EXPECT_EQ(d.worst->usage.inode, 4026532301u);
  EXPECT_EQ(d.worst->usage.name, "pod 7a1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
  ASSERT_TRUE(facts.namespaces_read);
  // Host, 4 processes' namespaces, "blue" held by pid 400, and qrouter-7 entered.
  ASSERT_EQ(facts.namespaces.size(), 7u);
  EXPECT_EQ(facts.namespaces[0].inode, 4026532301u);
  EXPECT_EQ(facts.namespaces[0].drops, 5200u);
  EXPECT_EQ(facts.namespaces[1].inode, 4026532302u);
  bool blue = false, qrouter = false;
  for (const auto& ns : facts.namespaces) {
    blue = blue || (ns.inode == 4026532305 && ns.name == "/run/netns/blue");
    qrouter = qrouter || (ns.inode == 4026532307 && ns.name == "/run/netns/qrouter-7");
  }
  EXPECT_TRUE(blue);
  EXPECT_TRUE(qrouter);
  EXPECT_EQ(d.proposed_max, 524288u) << "sized from the full pod, not the host";
  EXPECT_EQ(facts.log_source, "/var/log/kern.log");
  ASSERT_EQ(facts.log_refused.size(), 1u);
  EXPECT_EQ(facts.log_refused[0].source, "/dev/kmsg");
  // The spoofed sshd line naming the host is not the kernel's: 3 lines, none for the host.
  EXPECT_EQ(facts.table_full_total, 3u);
  std::string text = RenderText(facts, d);
  EXPECT_NE(text.find("Worst other namespace: pod 7a1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d (netns"),
            std::string::npos)
      << text;
}

// Inside a pod that is fine, another namespace's fresh "table full" lines and a walk that
// would show a full namespace change nothing: doctor judges only its own netns there.
TEST(DoctorPod, OtherNamespacesNeverTurnAHealthyPodsVerdict) {
  Scenario scenario("healthy");
  GatherInputs inputs = scenario.Inputs();
  bool walked = false;
  inputs.namespaces = [&walked] {
    walked = true;
    return std::optional<std::vector<NamespaceUsage>>({{4026532999, "pod full", 262144, 5000}});
  };
  Facts facts = Gather(std::move(inputs));
  EXPECT_FALSE(walked) << "namespaces are walked only from the initial netns";
  ASSERT_FALSE(facts.table_full.empty());
  bool foreign_fresh = false;
  for (const auto& line : facts.table_full) {
    foreign_fresh = foreign_fresh || (line.netns && *line.netns != *facts.netns_inode &&
                                      facts.now_seconds - *line.wall_seconds <= 5);
  }
  EXPECT_TRUE(foreign_fresh) << "the scenario must hold a fresh line of another netns";
  Diagnosis d = Diagnose(facts);
  EXPECT_EQ(d.verdict, Verdict::kOk);
  EXPECT_FALSE(d.worst);
}

}  // namespace
}  // namespace nfct::doctor

namespace nfct::doctor {
namespace {

// A netns in trouble, as Diagnose sees it, for the rules below.
Facts FullPod() {
  Facts facts;
  facts.now_seconds = 1700000000;
  facts.window_seconds = 5;
  facts.kernel_major = 6;
  facts.kernel_minor = 18;
  facts.module_loaded = true;
  facts.netns_inode = 4026532177;
  facts.initial_netns = false;
  facts.entries = facts.peak_entries = 1000;
  facts.max = facts.buckets = 1000;
  facts.since_boot = {{"drop", 10}, {"early_drop", 0}, {"chaintoolong", 0}};
  facts.in_window = {{"drop", 10}, {"early_drop", 0}, {"chaintoolong", 0}};
  return facts;
}

TEST(Diagnose, DropsInTheWindowAreDroppingAndTheNewMaxIsAboveThePeak) {
  Diagnosis d = Diagnose(FullPod());
  EXPECT_EQ(d.verdict, Verdict::kDropping);
  EXPECT_EQ(ExitCode(d.verdict), 2);
  ASSERT_TRUE(d.proposed_max);
  EXPECT_GT(*d.proposed_max, 1000u);
  EXPECT_EQ(*d.proposed_max % 65536, 0u);
}

TEST(Diagnose, OldDropsWithoutNewOnesAreAtRisk) {
  Facts facts = FullPod();
  facts.entries = facts.peak_entries = 10;
  facts.in_window["drop"] = 0;
  EXPECT_EQ(Diagnose(facts).verdict, Verdict::kAtRisk);
}

TEST(Diagnose, UnlimitedMaxIsNeverDividedByAndNeverRaised) {
  Facts facts = FullPod();
  facts.max = 0;
  facts.in_window["drop"] = facts.since_boot["drop"] = 0;
  Diagnosis d = Diagnose(facts);
  EXPECT_EQ(d.verdict, Verdict::kOk);
  EXPECT_FALSE(d.proposed_max);
  EXPECT_FALSE(Usage(facts));
}

TEST(Diagnose, ChainTooLongInTheWindowAsksForBuckets) {
  Facts facts = FullPod();
  facts.entries = facts.peak_entries = 100;
  facts.in_window = facts.since_boot = {{"drop", 0}, {"chaintoolong", 3}};
  Diagnosis d = Diagnose(facts);
  EXPECT_EQ(d.verdict, Verdict::kDropping);
  ASSERT_TRUE(d.proposed_buckets);
  EXPECT_GT(*d.proposed_buckets, 1000u);
}

TEST(Diagnose, OtherNamespacesCountOnlyFromTheHost) {
  Facts facts = FullPod();
  facts.in_window["drop"] = facts.since_boot["drop"] = 0;
  facts.entries = facts.peak_entries = 10;
  // Another netns logged "table full" a second ago.
  facts.table_full = {{facts.now_seconds - 1, facts.now_seconds - 1, 4026532999, 3}};
  EXPECT_EQ(Diagnose(facts).verdict, Verdict::kOk) << "inside a pod";

  facts.initial_netns = true;
  facts.netns_inode = 4026531833;
  Diagnosis d = Diagnose(facts);
  EXPECT_EQ(d.here, Verdict::kOk);
  EXPECT_EQ(d.verdict, Verdict::kDropping) << "from the host";
  ASSERT_TRUE(d.worst);
  EXPECT_EQ(d.worst->usage.inode, 4026532999u);

  facts.namespaces_read = true;
  facts.table_full.clear();
  facts.namespaces = {{4026532500, "/run/netns/a", 900, 0}, {4026532501, "/run/netns/b", 5, 0}};
  d = Diagnose(facts);
  EXPECT_EQ(d.verdict, Verdict::kAtRisk);
  EXPECT_EQ(d.worst->usage.name, "/run/netns/a");
}

TEST(Diagnose, KernelDefaultsFollowTheVersion) {
  Facts facts = FullPod();
  facts.mem_total_bytes = uint64_t{16} << 30;
  EXPECT_EQ(Diagnose(facts).sizing.default_max, 262144u);
  facts.kernel_major = 5;
  facts.kernel_minor = 10;
  Sizing old = Diagnose(facts).sizing;
  EXPECT_EQ(old.default_buckets, 65536u);
  EXPECT_EQ(old.default_max, 262144u);
  facts.mem_total_bytes = uint64_t{512} << 20;  // 4096 buckets: 1/16384 of RAM in 8-byte heads
  EXPECT_EQ(Diagnose(facts).sizing.default_buckets, 4096u);
}

TEST(Gather, SlabinfoAndMeminfoParsers) {
  constexpr std::string_view kSlab =
      "slabinfo - version: 2.1\n"
      "nf_conntrack_expect      0      0    256   16    1 : tunables    0    0    0\n"
      "nf_conntrack          1248   1248    320   16    1 : tunables    0    0    0\n";
  EXPECT_EQ(SlabObjectSize(kSlab, "nf_conntrack"), 320u);
  EXPECT_EQ(SlabObjectSize(kSlab, "nf_conntrack_expect"), 256u);
  EXPECT_EQ(SlabObjectSize(kSlab, "nf_conn"), std::nullopt);
  EXPECT_EQ(SlabObjectSize("nf_conntrack 1 2 x 4\n", "nf_conntrack"), std::nullopt);
  EXPECT_EQ(SlabObjectSize("nf_conntrack 1 2 0 4\n", "nf_conntrack"), std::nullopt);
  EXPECT_EQ(MemTotalBytes("MemTotal:       1024 kB\nMemFree: 1 kB\n"), 1024u * 1024);
  EXPECT_EQ(MemTotalBytes("MemFree: 1 kB\nMemTotal: 2 kB\n"), 2048u);
  EXPECT_EQ(MemTotalBytes("XMemTotal: 2 kB\n"), std::nullopt);
  EXPECT_EQ(MemTotalBytes("MemTotal: 2 MB\n"), std::nullopt);
  EXPECT_EQ(MemTotalBytes(""), std::nullopt);
}

TEST(DoctorCommand, BadFlagsExitThreeAndHelpExitsZero) {
  std::ostringstream out, err;
  EXPECT_EQ(RunDoctor({"--window=never"}, out, err), kUsageError);
  EXPECT_NE(err.str().find("--window"), std::string::npos);
  EXPECT_EQ(RunDoctor({"--output=yaml"}, out, err), kUsageError);
  EXPECT_EQ(RunDoctor({"--bogus"}, out, err), kUsageError);
  // The kernel-log source is checked as the exporter checks --collector.kmsg.source.
  EXPECT_EQ(RunDoctor({"--collector.kmsg.source=jounald"}, out, err), kUsageError);
  EXPECT_NE(err.str().find("--collector.kmsg.source: must be"), std::string::npos) << err.str();
  EXPECT_EQ(RunDoctor({"--help"}, out, err), 0);
  EXPECT_NE(out.str().find("--window"), std::string::npos);
  EXPECT_NE(out.str().find("--no-refused"), std::string::npos);
  // A flag without a value: "--no-refused=x" is not it.
  EXPECT_EQ(RunDoctor({"--no-refused=x"}, out, err), kUsageError);
  EXPECT_EQ(RunDoctor({"--no-refused", "--help"}, out, err), 0);
}

// The refused listing's load, refused for each thing it needs: one "Not seen" entry naming it,
// nothing listed, and the rest of the report as without it.
class RefusedLoadFails : public RefusedWatch {
 public:
  explicit RefusedLoadFails(std::string reason) : reason_(std::move(reason)) {}
  Status Begin() override { return Status::Unavailable(reason_); }
  Result End() override {
    ADD_FAILURE() << "read after a failed load";
    return {};
  }

 private:
  std::string reason_;
};

TEST(DoctorRefused, WithoutBtfOrCapabilitiesTheListingNamesWhatItNeeds) {
  const std::pair<const char*, const char*> cases[] = {
      {"no kernel BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF): No such file or "
       "directory",
       "kernel BTF"},
      {"loading the BPF program needs CAP_PERFMON", "CAP_PERFMON"},
      {"the kernel refused the BPF program (EPERM) although CAP_BPF and CAP_PERFMON were held",
       "CAP_BPF and CAP_PERFMON"}};
  for (const auto& [reason, need] : cases) {
    Scenario scenario("dropping_refused");
    GatherInputs inputs = scenario.Inputs();
    inputs.refused = std::make_unique<RefusedLoadFails>(reason);
    Facts facts = Gather(std::move(inputs));
    EXPECT_FALSE(facts.refused_watched);
    EXPECT_TRUE(facts.refused.empty());
    ASSERT_FALSE(facts.unseen.empty());
    EXPECT_EQ(facts.unseen.back(), (Unseen{"who was refused", need, reason}));
    Diagnosis d = Diagnose(facts);
    EXPECT_EQ(d.verdict, Verdict::kDropping);
    EXPECT_EQ(d.reasons.front().text.find("Refused most"), std::string::npos);
    std::string text = RenderText(facts, d);
    EXPECT_EQ(text.find("Refused for a full table"), std::string::npos) << text;
    EXPECT_NE(text.find("who was refused (needs " + std::string(need) + ")"), std::string::npos)
        << text;
    EXPECT_NE(RenderJson(facts, d).find("\"refused\": null"), std::string::npos);
  }
}

}  // namespace
}  // namespace nfct::doctor

namespace nfct::doctor {
namespace {

TEST(Diagnose, ALineForThisInodeWithoutAnyDropWasAnEarlierNetns) {
  Facts facts = FullPod();
  facts.entries = facts.peak_entries = 10;
  facts.in_window["drop"] = facts.since_boot["drop"] = 0;
  facts.table_full = {{facts.now_seconds - 60, facts.now_seconds - 60, 4026532177, 2}};
  EXPECT_TRUE(InodeReused(facts, facts.table_full[0]));
  EXPECT_EQ(Diagnose(facts).verdict, Verdict::kOk);
  facts.since_boot["drop"] = 1;
  EXPECT_EQ(Diagnose(facts).verdict, Verdict::kAtRisk);
}

}  // namespace
}  // namespace nfct::doctor

namespace nfct::doctor {
namespace {

// A netns of 1,000 entries at most, 100 in use, that never dropped: each case below moves one
// fact to one side of a rule's boundary.
Facts Quiet() {
  Facts facts = FullPod();
  facts.entries = facts.peak_entries = 100;
  facts.since_boot = facts.in_window = {{"drop", 0}, {"early_drop", 0}, {"chaintoolong", 0}};
  facts.log_read = true;
  facts.log_source = "/dev/kmsg";
  return facts;
}

// A "table full" line for this netns (kernels 6.17+ name a non-initial one), `age` s old.
TableFullLine OwnLineAged(const Facts& facts, double age) {
  return {facts.now_seconds - age, facts.now_seconds - age, facts.netns_inode, 1};
}

struct RuleCase {
  const char* name;
  std::function<void(Facts&)> change;
  Verdict verdict;
  const char* rule;
};

// Every rule of the verdict at its boundary, with the verdict and the rule that decided it; the
// table is also kept as tests/golden/doctor/verdict_rules.txt, so a change of any boundary shows
// in review as one line.
TEST(DiagnoseRules, EachBoundaryGivesTheVerdictAndNamesTheRule) {
  auto full = [](Facts& f) { f.entries = f.peak_entries = 1000; };
  auto dropped_once = [](Facts& f) { f.since_boot["drop"] = 301; };
  const RuleCase kCases[] = {
      {"100 of 1000, never dropped", [](Facts&) {}, Verdict::kOk, "none"},
      {"799 of 1000 (79.9 %)", [](Facts& f) { f.entries = f.peak_entries = 799; }, Verdict::kOk,
       "none"},
      {"800 of 1000 (80 %)", [](Facts& f) { f.entries = f.peak_entries = 800; }, Verdict::kAtRisk,
       "nearly-full"},
      {"999 of 1000, dropped, own line 11 s old",
       [&](Facts& f) {
         f.entries = f.peak_entries = 999;
         dropped_once(f);
         f.table_full = {OwnLineAged(f, 11)};
       },
       Verdict::kAtRisk, "nearly-full"},
      {"1000 of 1000, never dropped, no line", full, Verdict::kAtRisk, "full"},
      {"1000 of 1000, dropped, kernel log not read",
       [&](Facts& f) {
         full(f);
         dropped_once(f);
         f.log_read = false;
       },
       Verdict::kAtRisk, "full"},
      {"1000 of 1000, dropped, own line 11 s old (issue 19)",
       [&](Facts& f) {
         full(f);
         dropped_once(f);
         f.table_full = {OwnLineAged(f, 11)};
       },
       Verdict::kDropping, "full-and-dropped-last-minute"},
      {"1000 of 1000, dropped, own line 60 s old",
       [&](Facts& f) {
         full(f);
         dropped_once(f);
         f.table_full = {OwnLineAged(f, 60)};
       },
       Verdict::kDropping, "full-and-dropped-last-minute"},
      {"1000 of 1000, dropped, own line 61 s old",
       [&](Facts& f) {
         full(f);
         dropped_once(f);
         f.table_full = {OwnLineAged(f, 61)};
       },
       Verdict::kAtRisk, "full"},
      {"1000 of 1000, 120 s window, dropped, own line 100 s old",
       [&](Facts& f) {
         full(f);
         dropped_once(f);
         f.window_seconds = 120;
         f.table_full = {OwnLineAged(f, 100)};
       },
       Verdict::kDropping, "full-and-dropped-last-minute"},
      {"1000 of 1000, never dropped, own inode's line 11 s old (reused)",
       [&](Facts& f) {
         full(f);
         f.table_full = {OwnLineAged(f, 11)};
       },
       Verdict::kAtRisk, "full"},
      {"1000 of 1000, dropped, another netns's line 1 s old",
       [&](Facts& f) {
         full(f);
         dropped_once(f);
         f.table_full = {{f.now_seconds - 1, f.now_seconds - 1, 4026532999, 1}};
       },
       Verdict::kAtRisk, "full"},
      {"1001 of 1000 (the kernel's transient max + 1), 1 drop in the window",
       [&](Facts& f) {
         f.entries = f.peak_entries = 1001;
         f.since_boot["drop"] = f.in_window["drop"] = 1;
       },
       Verdict::kDropping, "drops-in-window"},
      {"100 of 1000, 1 drop in the window",
       [](Facts& f) { f.since_boot["drop"] = f.in_window["drop"] = 1; }, Verdict::kDropping,
       "drops-in-window"},
      {"100 of 1000, 1 drop since start, none in the window",
       [](Facts& f) { f.since_boot["drop"] = 1; }, Verdict::kAtRisk, "drops-since-start"},
      {"100 of 1000, 1 eviction in the window",
       [](Facts& f) { f.since_boot["early_drop"] = f.in_window["early_drop"] = 1; },
       Verdict::kAtRisk, "early-drop-in-window"},
      {"100 of 1000, 1 chaintoolong in the window",
       [](Facts& f) { f.since_boot["chaintoolong"] = f.in_window["chaintoolong"] = 1; },
       Verdict::kDropping, "chaintoolong-in-window"},
      {"100 of 1000, 1 chaintoolong since start",
       [](Facts& f) { f.since_boot["chaintoolong"] = 1; }, Verdict::kAtRisk,
       "chaintoolong-since-start"},
      {"401 entries in 100 buckets",
       [](Facts& f) {
         f.entries = f.peak_entries = 401;
         f.buckets = 100;
       },
       Verdict::kAtRisk, "long-chains"},
      {"counters unreadable, own line 4 s old",
       [&](Facts& f) {
         f.since_boot.clear();
         f.in_window.clear();
         f.table_full = {OwnLineAged(f, 4)};
       },
       Verdict::kDropping, "log-in-window"},
      {"counters unreadable, own line 30 min old",
       [&](Facts& f) {
         f.since_boot.clear();
         f.in_window.clear();
         f.table_full = {OwnLineAged(f, 1800)};
       },
       Verdict::kAtRisk, "log-within-hour"},
      {"from the host, another netns at its limit and dropped",
       [](Facts& f) {
         f.initial_netns = true;
         f.netns_inode = 4026531833;
         f.namespaces_read = true;
         f.namespaces = {{4026532500, "/run/netns/a", 1000, 7}};
       },
       Verdict::kDropping, "other-netns-dropping"},
      {"from the host, another netns at 90 %",
       [](Facts& f) {
         f.initial_netns = true;
         f.netns_inode = 4026531833;
         f.namespaces_read = true;
         f.namespaces = {{4026532500, "/run/netns/a", 900, 0}};
       },
       Verdict::kAtRisk, "other-netns-at-risk"},
  };
  std::string table;
  for (const auto& c : kCases) {
    Facts facts = Quiet();
    c.change(facts);
    Diagnosis d = Diagnose(facts);
    EXPECT_EQ(VerdictName(d.verdict), VerdictName(c.verdict)) << c.name;
    EXPECT_EQ(d.rule, c.rule) << c.name;
    EXPECT_EQ(RuleById(d.rule).level, d.verdict) << c.name << ": the rule is of another level";
    char line[160];
    std::snprintf(line, sizeof line, "%-66s %-9s %s\n", c.name,
                  std::string(VerdictName(d.verdict)).c_str(), std::string(d.rule).c_str());
    table += line;
  }
  ExpectGolden("verdict_rules.txt", table);
}

// The report names the deciding rule in both faces.
TEST(DiagnoseRules, TheReportSaysWhichRuleDecided) {
  Facts facts = Quiet();
  facts.entries = facts.peak_entries = 1000;
  facts.since_boot["drop"] = 301;
  facts.table_full = {OwnLineAged(facts, 11)};
  Diagnosis d = Diagnose(facts);
  EXPECT_NE(RenderText(facts, d).find("Decided by rule full-and-dropped-last-minute: the table is"),
            std::string::npos)
      << RenderText(facts, d);
  EXPECT_NE(RenderJson(facts, d).find("\"rule\": \"full-and-dropped-last-minute\""),
            std::string::npos);
  // Every rule id is unique and findable.
  for (const auto& rule : kRules) EXPECT_EQ(RuleById(rule.id).id, rule.id);
  EXPECT_EQ(RuleById("no-such-rule").id, "none");
}

TEST(ScrapePort, SocketsOnPortReadsTheProcNetTcpFormat) {
  // Lines of /proc/net/tcp on 6.18 (9725 = 0x25FD); the header has no hex port.
  constexpr std::string_view kTcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
      "inode\n"
      "   0: 00000000:25FD 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65534 0 1 1\n"
      "   1: 0A000005:25FD 0A000001:D431 01 00000000:00000000 02:00000AB5 00000000 65534 0 2 2\n"
      "   2: 0A000005:25FD 0A000002:D432 06 00000000:00000000 03:00000AB5 00000000 0 0 0 3\n"
      "   3: 0A000005:01BB 0A000009:25FD 01 00000000:00000000 00:00000000 00000000 0 0 3 1\n"
      "   4: 0A000005:25FDX 0A000001:D431 01 garbage\n";
  PortSockets sockets = SocketsOnPort(kTcp, 9725);
  EXPECT_TRUE(sockets.listening);
  EXPECT_EQ(sockets.established, 1u) << "TIME_WAIT (06), a remote 9725 and garbage do not count";
  EXPECT_FALSE(SocketsOnPort(kTcp, 443).listening);
  EXPECT_EQ(SocketsOnPort(kTcp, 443).established, 1u);
  EXPECT_EQ(SocketsOnPort("", 9725).established, 0u);
}

TEST(ScrapePort, TrackedUntrackedOrUnknownFromSocketsAndEntries) {
  Facts facts = Quiet();
  facts.scrape_port = {9725, true, true, 2, 3, std::nullopt};
  EXPECT_EQ(Diagnose(facts).scrape_port.tracking, Tracking::kTracked);
  facts.scrape_port.entries = 0;
  EXPECT_EQ(Diagnose(facts).scrape_port.tracking, Tracking::kUntracked);
  facts.scrape_port.established = 0;
  EXPECT_EQ(Diagnose(facts).scrape_port.tracking, Tracking::kUnknown) << "no connection to judge";
  facts.scrape_port = {9725, true, true, 2, std::nullopt, std::nullopt};
  Diagnosis d = Diagnose(facts);
  EXPECT_EQ(d.scrape_port.tracking, Tracking::kUnknown);
  EXPECT_NE(d.scrape_port.text.find("CAP_NET_ADMIN"), std::string::npos);

  // Tracked and in trouble: the notrack files are recommended; tracked and fine: not.
  facts.scrape_port = {9725, true, true, 1, 3, std::nullopt};
  bool recommended = false;
  for (const auto& r : Diagnose(facts).recommendations) {
    recommended = recommended || r.title.find("scrape port") != std::string::npos;
  }
  EXPECT_FALSE(recommended) << "an OK table needs no change";
  facts.entries = facts.peak_entries = 1000;
  facts.since_boot["drop"] = 301;
  facts.table_full = {OwnLineAged(facts, 11)};
  d = Diagnose(facts);
  ASSERT_EQ(d.verdict, Verdict::kDropping);
  auto it = std::find_if(d.recommendations.begin(), d.recommendations.end(), [](const auto& r) {
    return r.title == "Exempt the scrape port tcp/9725 from tracking";
  });
  ASSERT_NE(it, d.recommendations.end());
  EXPECT_EQ(it->commands.front(), "systemctl enable --now nf-conntrack-exporter-notrack");
  EXPECT_EQ(it->commands[2], "nft -f nftables/nf-conntrack-exporter-notrack.nft");
  // The names the report gives are the shipped files' (cmake/Packaging.cmake installs them).
  EXPECT_TRUE(fs::exists(Source("deploy/nftables/nf-conntrack-exporter-notrack.nft")));
  EXPECT_TRUE(fs::exists(Source("deploy/nftables/nf-conntrack-exporter-notrack.service")));
  EXPECT_TRUE(fs::exists(Source("deploy/iptables/nf-conntrack-exporter-notrack.sh")));
}

TEST(ScrapePort, ScrapeClientOfReadsTheOriginalDirection) {
  // /proc/net/nf_conntrack lines in the format of 6.18: the first src/sport/dport are the
  // original direction's (the client's), the second set the reply's.
  auto client = ScrapeClientOf(
      "ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.5 sport=54321 "
      "dport=9725 src=10.0.0.5 dst=10.0.0.1 sport=9725 dport=54321 [ASSURED] mark=0 use=2",
      9725);
  ASSERT_TRUE(client);
  EXPECT_EQ(client->port, 54321);
  const std::array<uint8_t, 16> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
  EXPECT_EQ(client->address, kMapped);
  auto v6 = ScrapeClientOf(
      "ipv6     10 tcp      6 119 TIME_WAIT src=2001:db8::2 dst=2001:db8::1 sport=40000 "
      "dport=9725 src=2001:db8::1 dst=2001:db8::2 sport=9725 dport=40000 [ASSURED] use=1",
      9725);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->address[0], 0x20);
  EXPECT_EQ(v6->address[15], 2);
  // Must reject: this host the client of a remote 9725 (the reply carries dport=9725 only),
  // another protocol, another port, garbage.
  EXPECT_FALSE(
      ScrapeClientOf("ipv4 2 tcp 6 10 ESTABLISHED src=10.0.0.5 dst=10.0.0.9 sport=9725 "
                     "dport=443 src=10.0.0.9 dst=10.0.0.5 sport=443 dport=9725",
                     9725));
  EXPECT_FALSE(
      ScrapeClientOf("ipv4 2 udp 17 10 src=10.0.0.1 dst=10.0.0.5 sport=5 dport=9725 "
                     "src=10.0.0.5 dst=10.0.0.1 sport=9725 dport=5",
                     9725));
  EXPECT_FALSE(
      ScrapeClientOf("ipv4 2 tcp 6 10 ESTABLISHED src=10.0.0.1 dst=10.0.0.5 sport=5 "
                     "dport=9726 src=10.0.0.5 dst=10.0.0.1 sport=9726 dport=5",
                     9725));
  EXPECT_FALSE(
      ScrapeClientOf("ipv4 2 tcp 6 10 ESTABLISHED src=10.0.0.300 dst=x sport=5 "
                     "dport=9725",
                     9725));
  EXPECT_FALSE(ScrapeClientOf("", 9725));

  // /proc/net/tcp prints each address word as a host-order u32: 10.0.0.1 is 0100000A.
  PortSockets sockets = SocketsOnPort(
      "   2: 0500000A:25FD 0100000A:D431 01 00000000:00000000 02:00000AB5 00000000 0 0 1 2\n",
      9725);
  ASSERT_EQ(sockets.clients.size(), 1u);
  EXPECT_EQ(sockets.clients[0], *client);
}

// An entry made before a notrack rule stays (an idle ESTABLISHED one for 5 days): counted
// per port it looks tracked, matched per connection it is not.
TEST(ScrapePort, ALingeringEntryDoesNotMakeANewConnectionTracked) {
  Facts facts = Quiet();
  facts.scrape_port = {9725, true, true, 1, 1, std::nullopt};
  EXPECT_EQ(Diagnose(facts).scrape_port.tracking, Tracking::kTracked) << "counts alone";
  facts.scrape_port.tracked_connections = 0;
  Diagnosis d = Diagnose(facts);
  EXPECT_EQ(d.scrape_port.tracking, Tracking::kUntracked);
  EXPECT_NE(d.scrape_port.text.find("its one established connection has no conntrack"),
            std::string::npos)
      << d.scrape_port.text;
  facts.scrape_port = {9725, true, true, 2, 3, 1};
  EXPECT_EQ(Diagnose(facts).scrape_port.tracking, Tracking::kUntracked) << "one of two";
  facts.scrape_port.tracked_connections = 2;
  EXPECT_EQ(Diagnose(facts).scrape_port.tracking, Tracking::kTracked);
}

TEST(DoctorCommand, ListenAddressGivesTheScrapePort) {
  std::ostringstream out, err;
  EXPECT_EQ(RunDoctor({"--web.listen-address=:http"}, out, err), kUsageError);
  EXPECT_NE(err.str().find("--web.listen-address"), std::string::npos) << err.str();
  EXPECT_EQ(RunDoctor({"--web.listen-address=:0"}, out, err), kUsageError);
  EXPECT_EQ(RunDoctor({"--web.listen-address=9725"}, out, err), kUsageError);
  EXPECT_EQ(RunDoctor({"--help"}, out, err), 0);
  EXPECT_NE(out.str().find("--web.listen-address=ADDRESS"), std::string::npos);
}

// doctor parses with the exporter's parser: the same spellings and the same "--flag: why".
TEST(DoctorCommand, ErrorsInTheExportersFormat) {
  const std::pair<std::vector<std::string>, std::string> kBad[] = {
      {{"--bogus"}, "--bogus: unknown flag (see doctor --help)"},
      {{"stray"}, "--stray: unexpected argument"},
      {{"--window"}, "--window: needs a value"},
      {{"--window", "0s"}, "--window: must be a duration from 1ms to 10m such as 5s"},
      {{"--window=11m"}, "--window: must be a duration from 1ms to 10m such as 5s"},
      {{"--output", "yaml"}, "--output: must be text or json"},
      {{"--top-ports=0"}, "--top-ports: must be a whole number from 1 to 100"},
      {{"--top-ports", "5x"}, "--top-ports: must be a whole number from 1 to 100"},
      {{"--path.procfs="}, "--path.procfs: must name a directory"},
      {{"--help=maybe"}, "--help: takes true or false"},
      {{"--web.listen-address", ":99999"},
       "--web.listen-address: must be host:port or :port with a port from 1 to 65535"},
      {{"--web.listen-address=9725"}, "--web.listen-address: must be host:port or :port"},
  };
  for (const auto& [args, message] : kBad) {
    std::ostringstream out, err;
    EXPECT_EQ(RunDoctor(args, out, err), kUsageError) << args[0];
    EXPECT_EQ(err.str(), "nf_conntrack_exporter doctor: error: " + message + "\n") << args[0];
  }
  std::ostringstream out, err;
  EXPECT_EQ(RunDoctor({"-h"}, out, err), 0);
  EXPECT_EQ(RunDoctor({"--help=true"}, out, err), 0);
}

// The usage is written from the rows: the intro and exit codes, then every flag with its
// default; a shared flag's line is the exporter's own.
TEST(DoctorCommand, UsageFromTheRows) {
  std::ostringstream out, err;
  ASSERT_EQ(RunDoctor({"--help"}, out, err), 0);
  std::string usage = out.str();
  for (const char* text :
       {"usage: nf_conntrack_exporter doctor [flags]", "Exit code: 0 OK, 1 AT RISK",
        "2 DROPPING, 3 bad usage", "--window=DURATION", "(default: 5s)", "--output=FORMAT",
        "--top-ports=N", "--collector.kmsg.source=SOURCE", "--path.sysfs=PATH", "--help"}) {
    EXPECT_NE(usage.find(text), std::string::npos) << text;
  }
  std::string exporter_usage = Usage(AllCollectors());
  auto line_of = [](const std::string& text, std::string_view flag) {
    size_t start = text.find(flag);
    return start == std::string::npos ? "" : text.substr(start, text.find('\n', start) - start);
  };
  EXPECT_EQ(line_of(usage, "--path.procfs="), line_of(exporter_usage, "--path.procfs="));
  EXPECT_NE(line_of(usage, "--path.procfs="), "");
}

}  // namespace
}  // namespace nfct::doctor
