#include "exporter/doctor/doctor_render.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "collectors/log.h"
#include "collectors/text.h"

namespace nfct::doctor {
namespace {

// The counters a person needs first; the JSON report has every one.
constexpr std::string_view kShownCounters[] = {"drop", "early_drop", "insert_failed",
                                               "chaintoolong"};

std::string FormatTime(double seconds, const char* format) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, format, &tm);
  return buffer;
}

std::string Utc(double seconds) { return FormatTime(seconds, "%Y-%m-%d %H:%M:%S UTC"); }
std::string Rfc3339(double seconds) { return FormatTime(seconds, "%Y-%m-%dT%H:%M:%SZ"); }

std::string Ago(double seconds) {
  char buffer[32];
  if (seconds < 120) {
    std::snprintf(buffer, sizeof buffer, "%.0f s ago", seconds < 0 ? 0 : seconds);
  } else if (seconds < 7200) {
    std::snprintf(buffer, sizeof buffer, "%.0f min ago", seconds / 60);
  } else if (seconds < 2 * 86400) {
    std::snprintf(buffer, sizeof buffer, "%.0f h ago", seconds / 3600);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.0f days ago", seconds / 86400);
  }
  return buffer;
}

std::string Fixed(double value, int decimals) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// Appends `text` wrapped at kTextColumns: the first line after `first`, the rest after `indent`.
void Wrap(std::string& out, std::string_view first, std::string_view indent,
          std::string_view text) {
  std::string line(first);
  bool empty = true;
  for (auto word : SplitFields(text)) {
    if (!empty && line.size() + 1 + word.size() > kTextColumns) {
      out += line + "\n";
      line = std::string(indent);
      empty = true;
    }
    if (!empty) line += ' ';
    line += word;
    empty = false;
  }
  out += line + "\n";
}

std::string Pad(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string PadLeft(std::string text, size_t width) {
  if (text.size() < width) text.insert(0, width - text.size(), ' ');
  return text;
}

std::string Plural(uint64_t n, std::string_view one, std::string_view many) {
  return Thousands(n) + " " + std::string(n == 1 ? one : many);
}

std::string NetnsName(const Facts& facts) {
  std::string name = facts.netns_inode ? "netns " + std::to_string(*facts.netns_inode) : "netns";
  return name + (facts.initial_netns ? " (the initial netns, the host's)" : " (not the host's)");
}

std::string LineNetns(const Facts& facts, const TableFullLine& line) {
  std::string who =
      line.netns ? "netns " + std::to_string(*line.netns)
      : facts.kernel_major > 6 || (facts.kernel_major == 6 && facts.kernel_minor >= 17)
          ? "the initial netns"
          : "netns not named (kernel < 6.17)";
  if (InodeReused(facts, line)) return who + ", not this one (it has dropped nothing)";
  return who + (OwnLine(facts, line) ? ", this one" : "");
}

void TextHeader(const Facts& facts, const Diagnosis& d, std::string& out) {
  out += "nf_conntrack doctor: " + std::string(VerdictName(d.verdict)) + " (exit " +
         std::to_string(ExitCode(d.verdict)) + ")\n";
  Wrap(out, "", "  ",
       "Decided by rule " + std::string(d.rule) + ": " + std::string(RuleById(d.rule).text));
  out += "\n";
  Wrap(out, "", "", "This " + NetnsName(facts) + ": " + std::string(VerdictName(d.here)));
  for (const auto& reason : d.reasons) Wrap(out, "  - ", "    ", reason.text);
  if (d.worst && d.worst->verdict != Verdict::kOk) {
    const auto& w = *d.worst;
    std::string who = w.usage.name.empty()
                          ? "netns " + std::to_string(w.usage.inode)
                          : w.usage.name + " (netns " + std::to_string(w.usage.inode) + ")";
    Wrap(out, "", "  ",
         "Worst other namespace: " + who + ": " + std::string(VerdictName(w.verdict)) +
             (w.why.empty() ? "" : ", " + w.why) + ".");
  }
}

void TextTable(const Facts& facts, const Diagnosis& d, std::string& out) {
  out += "\nTable\n";
  std::string entries = facts.entries ? Thousands(*facts.entries) : "?";
  if (facts.max) {
    entries += *facts.max == 0
                   ? " (no limit: nf_conntrack_max = 0)"
                   : " of " + Thousands(*facts.max) + " (" + Percent(*Usage(facts)) + ")";
  }
  if (facts.peak_entries) entries += ", peak " + Thousands(*facts.peak_entries);
  Wrap(out, "  entries   ", "            ", entries);
  if (facts.buckets) {
    std::string buckets = Thousands(*facts.buckets);
    if (facts.entries && *facts.buckets > 0) {
      buckets +=
          " (" +
          Fixed(static_cast<double>(*facts.entries) / static_cast<double>(*facts.buckets), 2) +
          " entries per bucket)";
    }
    Wrap(out, "  buckets   ", "            ", buckets);
  }
  std::string kernel = facts.kernel_release.empty() ? "?" : facts.kernel_release;
  const Sizing& s = d.sizing;
  if (s.default_buckets && facts.mem_total_bytes) {
    kernel += "; its defaults for " + Bytes(static_cast<double>(*facts.mem_total_bytes)) +
              " RAM: " + Thousands(*s.default_buckets) + " buckets, max " +
              Thousands(*s.default_max) +
              (s.max_equals_buckets ? " (= buckets since 5.15)" : " (4 x buckets before 5.15)");
  }
  Wrap(out, "  kernel    ", "            ", kernel);
  Wrap(out, "  memory    ", "            ",
       Bytes(static_cast<double>(s.entry_bytes)) +
           " per entry: " + Bytes(static_cast<double>(s.slab_bytes)) + " nf_conn slab object (" +
           (s.measured ? "/proc/slabinfo" : "estimate, /proc/slabinfo unreadable") +
           ") + 128 B extension area (NAT, event listeners, accounting); " +
           (facts.max && *facts.max > 0
                ? Bytes(static_cast<double>(*facts.max * s.entry_bytes)) + " when full"
                : std::string("no limit")) +
           (facts.buckets ? ", hash " + Bytes(static_cast<double>(*facts.buckets * 8)) : ""));
}

void TextCounters(const Facts& facts, std::string& out) {
  if (facts.since_boot.empty()) return;
  std::string window =
      "last " + Fixed(facts.window_seconds, facts.window_seconds < 10 ? 1 : 0) + " s";
  out += "\nCounters          since netns start  " + PadLeft(window, 10) + "\n";
  for (auto name : kShownCounters) {
    if (!facts.since_boot.count(std::string(name))) continue;
    out += "  " + Pad(std::string(name), 16) +
           PadLeft(Thousands(Counter(facts.since_boot, name)), 18) +
           PadLeft(Thousands(Counter(facts.in_window, name)), 12) + "\n";
  }
}

void TextLog(const Facts& facts, std::string& out) {
  if (!facts.log_read) {
    if (facts.log_refused.empty()) return;
    out += "\nKernel log: not read\n";
    for (const auto& attempt : facts.log_refused) {
      Wrap(out, "  ", "    ", attempt.source + ": " + attempt.why);
    }
    return;
  }
  std::string refused;
  for (const auto& attempt : facts.log_refused) {
    refused += (refused.empty() ? "" : ", ") + attempt.source;
  }
  out += "\n";
  Wrap(out, "", "  ",
       "Kernel log (" + facts.log_source + (refused.empty() ? "" : "; not readable: " + refused) +
           "): " +
           (facts.table_full_total == 0
                ? std::string("no \"table full\" line.")
                : Thousands(facts.table_full_total) + " \"table full\" " +
                      (facts.table_full_total == 1 ? "line" : "lines") + "; latest by netns:"));
  if (facts.table_full_total == 0) return;
  for (const auto& line : facts.table_full) {
    std::string when = line.wall_seconds ? Utc(*line.wall_seconds) + " (" +
                                               Ago(facts.now_seconds - *line.wall_seconds) + ")"
                                         : "time unknown";
    Wrap(out, "  ", "    ",
         when + " " + LineNetns(facts, line) + ": " + Plural(line.lines, "line", "lines"));
  }
}

void TextScrapePort(const Diagnosis& d, std::string& out) {
  out += "\nScrape port: " + std::string(TrackingName(d.scrape_port.tracking)) + "\n";
  Wrap(out, "  ", "  ", d.scrape_port.text);
}

void TextBreakdown(const Facts& facts, std::string& out) {
  if (!facts.table_read) return;
  out += "\nTCP states (dump of " + Thousands(facts.table_entries) + " entries)\n";
  std::vector<std::pair<std::string, uint64_t>> states(facts.tcp_states.begin(),
                                                       facts.tcp_states.end());
  std::stable_sort(states.begin(), states.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (states.empty()) out += "  none\n";
  for (const auto& [state, n] : states) {
    double share = facts.table_entries ? static_cast<double>(n) / facts.table_entries : 0;
    std::string line =
        "  " + Pad(state, 14) + PadLeft(Thousands(n), 12) + "  " + PadLeft(Percent(share), 7);
    if (state == "time_wait" && facts.time_wait_timeout) {
      line += "  timeout " + std::to_string(*facts.time_wait_timeout) + " s";
    }
    out += line + "\n";
  }
  if (!facts.tcp_states.count("time_wait") && facts.time_wait_timeout) {
    out += "  (no TIME_WAIT; its timeout is " + std::to_string(*facts.time_wait_timeout) + " s)\n";
  }
  out += "Top destination ports\n";
  if (facts.top_ports.empty()) out += "  none\n";
  for (const auto& p : facts.top_ports) {
    double share = facts.table_entries ? static_cast<double>(p.entries) / facts.table_entries : 0;
    out += "  " + Pad(p.protocol + "/" + std::to_string(p.port), 14) +
           PadLeft(Thousands(p.entries), 12) + "  " + PadLeft(Percent(share), 7) + "\n";
  }
}

void TextNamespaces(const Facts& facts, std::string& out) {
  if (!facts.namespaces_read) return;
  out += "\nFullest namespaces (" + Thousands(facts.namespaces.size()) + " seen)\n";
  size_t shown = 0;
  for (const auto& ns : facts.namespaces) {
    if (shown++ == 5) break;
    std::string line =
        "  " + Pad(std::to_string(ns.inode), 12) + PadLeft(Thousands(ns.entries), 12);
    if (facts.max && *facts.max > 0) {
      line += "  " + PadLeft(Percent(static_cast<double>(ns.entries) / *facts.max), 7);
    }
    if (ns.drops) line += "  drops " + Thousands(*ns.drops);
    // A cut pod UID or netns name identifies nothing: too long, it gets a line of its own.
    if (!ns.name.empty() && line.size() + 2 + ns.name.size() <= kTextColumns) {
      line += "  " + ns.name;
    } else if (!ns.name.empty()) {
      line += "\n    " + ns.name;
    }
    out += line + "\n";
  }
}

void TextRefused(const Facts& facts, std::string& out) {
  if (!facts.refused_watched) return;  // off, or its "Not seen" line says why
  if (facts.refused.empty()) {
    out += "\nRefused for a full table during the window (BPF): none\n";
    return;
  }
  out += "\nRefused for a full table during the window (BPF): " +
         Plural(facts.refused_total, "packet", "packets") + ", " +
         Plural(facts.refused_keys, "key", "keys") + "\n";
  for (const auto& flow : facts.refused) {
    std::string line = "  " + Pad(RefusedKeyName(flow), 14) + PadLeft(Thousands(flow.packets), 12) +
                       "  netns " + flow.netns;
    if (!flow.netns_name.empty() && line.size() + 2 + flow.netns_name.size() <= kTextColumns) {
      line += "  " + flow.netns_name;
    } else if (!flow.netns_name.empty()) {
      line += "\n    " + flow.netns_name;
    }
    out += line + "\n";
  }
}

void TextRecommendations(const Diagnosis& d, std::string& out) {
  out += "\nRecommendations (nothing was changed; doctor only reads)\n";
  if (d.recommendations.empty()) {
    out += "  None needed now.\n";
    return;
  }
  int n = 0;
  for (const auto& r : d.recommendations) {
    std::string number = std::to_string(++n) + ". ";
    Wrap(out, number, "   ", r.title);
    Wrap(out, "   Why: ", "   ", r.reason);
    if (!r.commands.empty()) out += "   Now:\n";
    for (const auto& command : r.commands) out += "     " + command + "\n";
    for (const auto& p : r.persist) {
      out += "   Persist in " + p.file + ":\n     " + p.line + "\n";
    }
    for (const auto& warning : r.warnings) Wrap(out, "   Caution: ", "   ", warning);
  }
}

void TextUnseen(const Facts& facts, std::string& out) {
  if (facts.unseen.empty()) return;
  std::string line = "Not seen: ";
  for (size_t i = 0; i < facts.unseen.size(); ++i) {
    line += (i ? ", " : "") + facts.unseen[i].what + " (needs " + facts.unseen[i].need + ")";
  }
  out += "\n";
  Wrap(out, "", "  ", line + ".");
}

// ---- JSON ----

class Json {
 public:
  std::string Take() { return std::move(out_) + "\n"; }
  Json& Open(char bracket) {
    Separate();
    out_ += bracket;
    ++depth_;
    first_ = true;
    return *this;
  }
  Json& Close(char bracket) {
    --depth_;
    if (!first_) Newline();
    out_ += bracket;
    first_ = false;
    return *this;
  }
  Json& Key(std::string_view key) {
    Separate();
    AppendQuoted(out_, key);
    out_ += ": ";
    keyed_ = true;
    return *this;
  }
  Json& String(std::string_view value) {
    Separate();
    AppendQuoted(out_, value);
    return *this;
  }
  Json& Raw(std::string_view value) {
    Separate();
    out_ += value;
    return *this;
  }
  Json& Number(uint64_t value) { return Raw(std::to_string(value)); }
  Json& Real(double value) { return Raw(Fixed(value, 4)); }
  Json& Bool(bool value) { return Raw(value ? "true" : "false"); }
  Json& Null() { return Raw("null"); }
  template <typename T>
  Json& Optional(const std::optional<T>& value) {
    return value ? Number(*value) : Null();
  }

 private:
  void Separate() {
    if (keyed_) {
      keyed_ = false;
      return;
    }
    if (depth_ > 0) {
      if (!first_) out_ += ',';
      Newline();
    }
    first_ = false;
  }
  void Newline() {
    out_ += '\n';
    out_.append(2 * depth_, ' ');
  }
  std::string out_;
  int depth_ = 0;
  bool first_ = true;
  bool keyed_ = false;
};

void JsonCounters(Json& j, const std::map<std::string, uint64_t>& counters) {
  j.Open('{');
  for (const auto& [name, value] : counters) j.Key(name).Number(value);
  j.Close('}');
}

void JsonStrings(Json& j, const std::vector<std::string>& strings) {
  j.Open('[');
  for (const auto& s : strings) j.String(s);
  j.Close(']');
}

void JsonFacts(Json& j, const Facts& facts, const Diagnosis& d) {
  const Sizing& s = d.sizing;
  j.Key("kernel").Open('{');
  j.Key("release").String(facts.kernel_release);
  j.Key("mem_total_bytes").Optional(facts.mem_total_bytes);
  j.Key("default_buckets").Optional(s.default_buckets);
  j.Key("default_max").Optional(s.default_max);
  j.Key("default_max_equals_buckets").Bool(s.max_equals_buckets);
  j.Key("nf_conntrack_builtin");
  facts.module_builtin ? j.Bool(*facts.module_builtin) : j.Null();
  j.Close('}');
  j.Key("table").Open('{');
  j.Key("module_loaded").Bool(facts.module_loaded);
  j.Key("entries").Optional(facts.entries);
  j.Key("peak_entries").Optional(facts.peak_entries);
  j.Key("max").Optional(facts.max);
  j.Key("buckets").Optional(facts.buckets);
  j.Key("usage_ratio");
  Usage(facts) ? j.Real(*Usage(facts)) : j.Null();
  j.Key("entry_bytes").Number(s.entry_bytes);
  j.Key("slab_object_bytes").Number(s.slab_bytes);
  j.Key("slab_object_bytes_measured").Bool(s.measured);
  j.Close('}');
  j.Key("counters").Open('{');
  j.Key("window_seconds").Real(facts.window_seconds);
  if (facts.since_boot.empty()) {
    j.Key("since_netns_start").Null();
    j.Key("in_window").Null();
  } else {
    j.Key("since_netns_start");
    JsonCounters(j, facts.since_boot);
    j.Key("in_window");
    JsonCounters(j, facts.in_window);
  }
  j.Close('}');
  j.Key("kernel_log").Open('{');
  j.Key("read").Bool(facts.log_read);
  j.Key("source");
  facts.log_read ? j.String(facts.log_source) : j.Null();
  j.Key("not_readable").Open('[');
  for (const auto& attempt : facts.log_refused) {
    j.Open('{').Key("source").String(attempt.source).Key("why").String(attempt.why).Close('}');
  }
  j.Close(']');
  j.Key("table_full_lines").Number(facts.table_full_total);
  j.Key("latest").Open('[');
  for (const auto& line : facts.table_full) {
    j.Open('{');
    j.Key("netns").Optional(line.netns);
    j.Key("this_netns").Bool(OwnLine(facts, line));
    j.Key("lines").Number(line.lines);
    j.Key("first");
    line.first_seconds ? j.String(Rfc3339(*line.first_seconds)) : j.Null();
    j.Key("latest");
    line.wall_seconds ? j.String(Rfc3339(*line.wall_seconds)) : j.Null();
    j.Close('}');
  }
  j.Close(']');
  j.Close('}');
  j.Key("dump").Open('{');
  j.Key("read").Bool(facts.table_read);
  j.Key("entries").Number(facts.table_entries);
  j.Key("tcp_states");
  JsonCounters(j, facts.tcp_states);
  j.Key("time_wait_timeout_seconds").Optional(facts.time_wait_timeout);
  j.Key("top_ports").Open('[');
  for (const auto& p : facts.top_ports) {
    j.Open('{').Key("protocol").String(p.protocol).Key("port").Number(p.port);
    j.Key("entries").Number(p.entries).Close('}');
  }
  j.Close(']');
  j.Close('}');
  const ScrapePort& port = facts.scrape_port;
  j.Key("scrape_port").Open('{');
  j.Key("port").Number(port.port);
  j.Key("tracking").String(TrackingName(d.scrape_port.tracking));
  j.Key("conntrack_entries").Optional(port.entries);
  j.Key("tracked_connections").Optional(port.tracked_connections);
  j.Key("established_connections");
  port.sockets_read ? j.Number(port.established) : j.Null();
  j.Key("listening");
  port.sockets_read ? j.Bool(port.listening) : j.Null();
  j.Key("text").String(d.scrape_port.text);
  j.Close('}');
  j.Key("namespaces");
  if (!facts.namespaces_read) {
    j.Null();
  } else {
    j.Open('[');
    for (const auto& ns : facts.namespaces) {
      j.Open('{').Key("inode").Number(ns.inode).Key("name").String(ns.name);
      j.Key("entries").Number(ns.entries).Key("drops").Optional(ns.drops).Close('}');
    }
    j.Close(']');
  }
  j.Key("refused");
  if (!facts.refused_watched) {
    j.Null();
  } else {
    j.Open('{').Key("packets").Number(facts.refused_total).Key("keys").Number(facts.refused_keys);
    j.Key("top").Open('[');
    for (const auto& flow : facts.refused) {
      j.Open('{').Key("netns").String(flow.netns).Key("netns_name").String(flow.netns_name);
      j.Key("protocol").String(flow.protocol).Key("port").String(flow.port);
      j.Key("packets").Number(flow.packets).Close('}');
    }
    j.Close(']').Close('}');
  }
}

}  // namespace

std::string RenderText(const Facts& facts, const Diagnosis& d) {
  std::string out;
  TextHeader(facts, d, out);
  if (facts.module_loaded) {
    TextTable(facts, d, out);
    TextCounters(facts, out);
    TextLog(facts, out);
    TextScrapePort(d, out);
    TextBreakdown(facts, out);
    TextNamespaces(facts, out);
    TextRefused(facts, out);
    TextRecommendations(d, out);
  }
  TextUnseen(facts, out);
  return out;
}

std::string RenderJson(const Facts& facts, const Diagnosis& d) {
  Json j;
  j.Open('{');
  j.Key("verdict").String(VerdictName(d.verdict));
  j.Key("exit_code").Number(static_cast<uint64_t>(ExitCode(d.verdict)));
  j.Key("rule").String(d.rule);
  j.Key("rule_text").String(RuleById(d.rule).text);
  j.Key("this_netns").Open('{');
  j.Key("inode").Optional(facts.netns_inode);
  j.Key("initial").Bool(facts.initial_netns);
  j.Key("verdict").String(VerdictName(d.here));
  j.Close('}');
  j.Key("reasons").Open('[');
  for (const auto& r : d.reasons) {
    j.Open('{').Key("level").String(VerdictName(r.level)).Key("rule").String(r.rule);
    j.Key("text").String(r.text).Close('}');
  }
  j.Close(']');
  j.Key("worst_other_namespace");
  if (d.worst && d.worst->verdict != Verdict::kOk) {
    j.Open('{').Key("inode").Number(d.worst->usage.inode).Key("name").String(d.worst->usage.name);
    j.Key("verdict").String(VerdictName(d.worst->verdict)).Key("why").String(d.worst->why);
    j.Close('}');
  } else {
    j.Null();
  }
  j.Key("proposed_max").Optional(d.proposed_max);
  j.Key("proposed_buckets").Optional(d.proposed_buckets);
  j.Key("time").String(Rfc3339(facts.now_seconds));
  JsonFacts(j, facts, d);
  j.Key("recommendations").Open('[');
  for (const auto& r : d.recommendations) {
    j.Open('{').Key("title").String(r.title).Key("reason").String(r.reason);
    j.Key("commands");
    JsonStrings(j, r.commands);
    j.Key("persist").Open('[');
    for (const auto& p : r.persist) {
      j.Open('{').Key("file").String(p.file).Key("line").String(p.line).Close('}');
    }
    j.Close(']');
    j.Key("warnings");
    JsonStrings(j, r.warnings);
    j.Close('}');
  }
  j.Close(']');
  j.Key("not_seen").Open('[');
  for (const auto& u : facts.unseen) {
    j.Open('{').Key("what").String(u.what).Key("needs").String(u.need).Key("why").String(u.why);
    j.Close('}');
  }
  j.Close(']');
  j.Close('}');
  return j.Take();
}

}  // namespace nfct::doctor
