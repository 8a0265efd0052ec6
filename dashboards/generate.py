#!/usr/bin/env python3
"""Writes the Grafana dashboards of nf_conntrack_exporter:

  dashboards/nf_conntrack-node.json    one host: usage, drops, hash table, what fills it
  dashboards/nf_conntrack-fleet.json   every instance ranked, drops across the fleet

The JSON files are what users import; this script is their source, so every panel gets
the same conventions (datasource variable, unit, description, thresholds at the alert
levels, runbook links) without copy and paste. Edit here, then run
`python3 dashboards/generate.py`; tests/dashboards checks that the JSON is current.
Standard library only.
"""

import json
import os
import sys

RUNBOOKS = "https://github.com/nf-conntrack-exporter/nf_conntrack_exporter/blob/main/docs/runbooks/"
DS = {"type": "prometheus", "uid": "${datasource}"}

# Alert levels, the same numbers as alerts/nf_conntrack.rules.yml (the dashboard test
# reads both and compares).
NEARLY_FULL = 0.80
FULL = 0.95
ENTRIES_PER_BUCKET = 4

GREEN, ORANGE, RED = "green", "orange", "red"


def steps(*levels):
    """Threshold steps: green below the first level, then each (value, color)."""
    return {"mode": "absolute",
            "steps": [{"color": GREEN, "value": None}] + [{"color": c, "value": v} for v, c in levels]}


USAGE_STEPS = steps((NEARLY_FULL, ORANGE), (FULL, RED))
ANY_IS_BAD = steps((1, RED))          # counts: one dropped packet is one too many
ANY_RATE_IS_BAD = steps((1e-6, RED))  # per-second rates: anything above zero


def runbook(alert):
    return {"title": f"Runbook: {alert}", "url": f"{RUNBOOKS}{alert}.md", "targetBlank": True}


def target(expr, legend="", ref="A", instant=False, fmt=None):
    t = {"datasource": DS, "refId": ref, "expr": expr, "legendFormat": legend or "__auto",
         "range": not instant, "instant": instant}
    if fmt:
        t["format"] = fmt
    return t


class Layout:
    """Places panels left to right on the 24-column grid, wrapping to new lines."""

    def __init__(self):
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1

    def place(self, w, h):
        if self.x + w > 24:
            self.x, self.y = 0, self.y + self.row_h
            self.row_h = 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def new_id(self):
        self.next_id += 1
        return self.next_id - 1

    def row(self, title):
        if self.x:
            self.x, self.y = 0, self.y + self.row_h
        pos = {"h": 1, "w": 24, "x": 0, "y": self.y}
        self.y += 1
        self.row_h = 0
        return {"type": "row", "title": title, "id": self.new_id(), "gridPos": pos,
                "collapsed": False, "panels": []}


def panel(layout, kind, title, description, targets, unit, w, h, thresholds=None, links=(),
          decimals=None, min_=None, max_=None, options=None, custom=None, overrides=(),
          mappings=(), transformations=()):
    defaults = {"unit": unit, "color": {"mode": "thresholds" if thresholds else "palette-classic"},
                "thresholds": thresholds or steps(), "mappings": list(mappings)}
    if decimals is not None:
        defaults["decimals"] = decimals
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    if custom:
        defaults["custom"] = custom
    p = {"type": kind, "title": title, "description": description, "id": layout.new_id(),
         "gridPos": layout.place(w, h), "datasource": DS, "targets": targets,
         "fieldConfig": {"defaults": defaults, "overrides": list(overrides)},
         "options": options or {}, "links": list(links)}
    if transformations:
        p["transformations"] = list(transformations)
    return p


def timeseries_custom(stack=False, bars=False, threshold_lines=False, fill=10):
    c = {"drawStyle": "bars" if bars else "line", "lineWidth": 1, "fillOpacity": fill,
         "showPoints": "never", "spanNulls": False,
         "stacking": {"mode": "normal" if stack else "none", "group": "A"},
         "thresholdsStyle": {"mode": "line" if threshold_lines else "off"}}
    return c


TS_OPTIONS = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
              "tooltip": {"mode": "multi", "sort": "desc"}}


def stat_options(text_mode="auto", graph="area"):
    return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value", "graphMode": graph, "justifyMode": "auto",
            "orientation": "auto", "textMode": text_mode}


def datasource_var():
    return {"type": "datasource", "name": "datasource", "label": "Data source", "query": "prometheus",
            "hide": 0, "current": {}, "options": [], "refresh": 1, "regex": "", "includeAll": False,
            "multi": False}


def query_var(name, label, query, hide=0, multi=False, include_all=False, all_value=None):
    v = {"type": "query", "name": name, "label": label, "datasource": DS,
         "definition": query, "query": {"query": query, "refId": "StandardVariableQuery"},
         "hide": hide, "refresh": 2, "sort": 1, "regex": "", "current": {}, "options": [],
         "multi": multi, "includeAll": include_all}
    if all_value is not None:
        v["allValue"] = all_value
    return v


def dashboard(uid, title, description, panels, variables, annotations=(), links=()):
    builtin = {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
               "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
               "name": "Annotations & Alerts", "type": "dashboard"}
    return {
        "annotations": {"list": [builtin] + list(annotations)},
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": list(links),
        "panels": panels,
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["nf_conntrack", "conntrack", "netfilter"],
        "templating": {"list": variables},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


# --------------------------------------------------------------------------------------
# Node dashboard
# --------------------------------------------------------------------------------------

def node_dashboard():
    S = 'cluster=~"$cluster", job=~"$job", instance=~"$instance"'
    L = Layout()
    P = []

    P.append(L.row("Table usage"))
    P.append(panel(
        L, "gauge", "Table usage",
        "Entries / nf_conntrack_max in this host's network namespace (recording rule "
        "instance:nf_conntrack_entries_usage:ratio). Orange from 80 % (NfConntrackTableNearlyFull), "
        "red from 95 % (NfConntrackTableFull). No value: the limit is 0 (unlimited).",
        [target(f"instance:nf_conntrack_entries_usage:ratio{{{S}}}", "{{instance}}")],
        "percentunit", 5, 7, USAGE_STEPS, min_=0, max_=1, decimals=1,
        links=[runbook("NfConntrackTableNearlyFull"), runbook("NfConntrackTableFull")],
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "showThresholdLabels": False, "showThresholdMarkers": True}))
    P.append(panel(
        L, "stat", "Entries",
        "nf_conntrack_entries: conntrack entries in the exporter's network namespace (nf_conntrack_count).",
        [target(f"nf_conntrack_entries{{{S}}}", "entries")], "short", 4, 7,
        options=stat_options()))
    P.append(panel(
        L, "stat", "Limit (nf_conntrack_max)",
        "nf_conntrack_entries_limit: the global nf_conntrack_max; each network namespace may hold this "
        "many entries on its own. 0 means unlimited (until kernel 6.18).",
        [target(f"nf_conntrack_entries_limit{{{S}}}", "limit")], "short", 4, 7,
        mappings=[{"type": "value", "options": {"0": {"text": "unlimited", "index": 0}}}],
        options=stat_options(graph="none")))
    P.append(panel(
        L, "stat", "Packets dropped in range",
        "Packets the kernel dropped because no conntrack entry could be created "
        "(increase of nf_conntrack_stat_drop_total over the dashboard's time range). Anything above 0 "
        "pages (NfConntrackDroppingPackets).",
        [target(f"sum(increase(nf_conntrack_stat_drop_total{{{S}}}[$__range]))", "dropped")],
        "short", 5, 7, ANY_IS_BAD, decimals=0, links=[runbook("NfConntrackDroppingPackets")],
        options=stat_options(graph="none")))
    P.append(panel(
        L, "stat", "Forecast usage in 4 h",
        "Where the last hour's linear trend puts the table in 4 hours, as a share of the limit. "
        "NfConntrackTableFillingUp warns at 100 % or more when the table is over half full.",
        [target(f"predict_linear(nf_conntrack_entries{{{S}}}[1h], 4 * 3600) / (nf_conntrack_entries_limit{{{S}}} > 0)",
                "in 4 h")],
        "percentunit", 6, 7, steps((NEARLY_FULL, ORANGE), (1, RED)), decimals=0,
        links=[runbook("NfConntrackTableFillingUp")], options=stat_options()))
    P.append(panel(
        L, "timeseries", "Entries vs limit",
        "Entries, the limit, the 80 % and 95 % alert levels, and the linear forecast 4 hours ahead "
        "(dashed) that NfConntrackTableFillingUp uses.",
        [target(f"nf_conntrack_entries{{{S}}}", "entries", "A"),
         target(f"nf_conntrack_entries_limit{{{S}}} > 0", "limit (nf_conntrack_max)", "B"),
         target(f"(nf_conntrack_entries_limit{{{S}}} > 0) * {FULL}", "95 % (critical)", "C"),
         target(f"(nf_conntrack_entries_limit{{{S}}} > 0) * {NEARLY_FULL}", "80 % (warning)", "D"),
         target(f"predict_linear(nf_conntrack_entries{{{S}}}[1h], 4 * 3600)", "forecast +4 h", "E")],
        "short", 24, 8, custom=timeseries_custom(fill=0), options=TS_OPTIONS,
        links=[runbook("NfConntrackTableNearlyFull"), runbook("NfConntrackTableFillingUp")],
        overrides=[
            {"matcher": {"id": "byName", "options": "limit (nf_conntrack_max)"},
             "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": RED}},
                            {"id": "custom.lineWidth", "value": 2}]},
            {"matcher": {"id": "byName", "options": "95 % (critical)"},
             "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": RED}},
                            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [4, 4]}}]},
            {"matcher": {"id": "byName", "options": "80 % (warning)"},
             "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": ORANGE}},
                            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [4, 4]}}]},
            {"matcher": {"id": "byName", "options": "forecast +4 h"},
             "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]},
        ]))

    P.append(L.row("Drops and failures"))
    P.append(panel(
        L, "timeseries", "Packets dropped /s (table full)",
        "rate(nf_conntrack_stat_drop_total): packets dropped because no entry could be made. Counted per "
        "packet and never rate-limited, unlike the kernel log. Any value pages.",
        [target(f"sum(rate(nf_conntrack_stat_drop_total{{{S}}}[$__rate_interval]))", "dropped")],
        "pps", 8, 8, ANY_RATE_IS_BAD, custom=timeseries_custom(threshold_lines=True), options=TS_OPTIONS,
        links=[runbook("NfConntrackDroppingPackets")]))
    P.append(panel(
        L, "timeseries", "Evictions /s (early drop)",
        "rate(nf_conntrack_stat_early_drop_total): entries without a reply evicted to make room for new "
        "ones. Only happens at the limit.",
        [target(f"sum(rate(nf_conntrack_stat_early_drop_total{{{S}}}[$__rate_interval]))", "evicted")],
        "ops", 8, 8, ANY_RATE_IS_BAD, custom=timeseries_custom(threshold_lines=True), options=TS_OPTIONS,
        links=[runbook("NfConntrackEvictingEntries")]))
    P.append(panel(
        L, "timeseries", "Insert failures and clashes /s",
        "Inserts that failed (each drops a packet), of which refused for a hash chain over 64 (>= 5.15), "
        "and clashes the kernel resolved without dropping.",
        [target(f"sum(rate(nf_conntrack_stat_insert_failed_total{{{S}}}[$__rate_interval]))", "insert failed", "A"),
         target(f"sum(rate(nf_conntrack_stat_chaintoolong_total{{{S}}}[$__rate_interval]))", "chain too long", "B"),
         target(f"sum(rate(nf_conntrack_stat_clash_resolve_total{{{S}}}[$__rate_interval]))", "clash resolved", "C")],
        "ops", 8, 8, custom=timeseries_custom(), options=TS_OPTIONS,
        links=[runbook("NfConntrackInsertFailures"), runbook("NfConntrackHashChainTooLong")]))
    P.append(panel(
        L, "timeseries", "Kernel log: table full lines",
        "Lines \"nf_conntrack: table full, dropping packet\" per network namespace (from 6.17 the kernel "
        "names it; 'unknown' before), and 'callbacks suppressed' by the kernel's rate limit, which covers "
        "all network messages. A line says it happened; the drop counter says how much.",
        [target(f"sum by (message, netns) (increase(nf_conntrack_kernel_log_messages_total{{{S}}}[$__rate_interval]))",
                "{{message}} netns={{netns}}", "A"),
         target(f"sum(increase(nf_conntrack_kernel_log_suppressed_total{{{S}}}[$__rate_interval]))",
                "suppressed (all net messages)", "B")],
        "short", 24, 6, custom=timeseries_custom(bars=True, fill=80), options=TS_OPTIONS,
        links=[runbook("NfConntrackKernelLogTableFull")]))

    P.append(L.row("Hash table"))
    P.append(panel(
        L, "stat", "Buckets",
        "nf_conntrack_buckets: hash table size (global). Since 5.15 the default equals the default max.",
        [target(f"nf_conntrack_buckets{{{S}}}", "buckets")], "short", 4, 6, options=stat_options(graph="none")))
    P.append(panel(
        L, "stat", "Limit per bucket",
        "nf_conntrack_max / buckets: the average chain length of a full table. Kernel defaults give 1 "
        "(>= 5.15) or 4 (<= 5.14); more means max was raised without the buckets.",
        [target(f"nf_conntrack_entries_limit{{{S}}} / (nf_conntrack_buckets{{{S}}} > 0)", "max / buckets")],
        "short", 4, 6, steps((ENTRIES_PER_BUCKET, ORANGE)), decimals=1,
        links=[runbook("NfConntrackBucketsUndersized")], options=stat_options(graph="none")))
    P.append(panel(
        L, "timeseries", "Entries per bucket",
        "Average hash chain length now (instance:nf_conntrack_entries_per_bucket:ratio). Above 4 for 30 "
        "minutes: NfConntrackBucketsUndersized.",
        [target(f"instance:nf_conntrack_entries_per_bucket:ratio{{{S}}}", "entries per bucket")],
        "short", 16, 6, steps((ENTRIES_PER_BUCKET, RED)), decimals=2,
        custom=timeseries_custom(threshold_lines=True), options=TS_OPTIONS,
        links=[runbook("NfConntrackBucketsUndersized"), runbook("NfConntrackHashChainTooLong")]))

    P.append(L.row("What fills the table"))
    P.append(panel(
        L, "timeseries", "Entries by protocol and state",
        "From the table collector's background netlink dump: TCP by conntrack state, other protocols by "
        "assured / replied / unreplied. Many time_wait: shorten the TIME_WAIT timeout; many unreplied: a "
        "scan or a dead upstream.",
        [target(f"sum by (protocol, state) (nf_conntrack_table_entries{{{S}}})", "{{protocol}} {{state}}")],
        "short", 14, 9, custom=timeseries_custom(stack=True, fill=40), options=TS_OPTIONS,
        links=[runbook("NfConntrackTimeWaitHigh")]))
    P.append(panel(
        L, "bargauge", "Top destination ports",
        "Destination ports holding the most entries (top K per protocol, the rest as 'other'): "
        "the candidates for NOTRACK.",
        [target(f"sort_desc(sum by (protocol, port) (nf_conntrack_table_entries_by_port{{{S}}}))",
                "{{protocol}}/{{port}}", instant=True)],
        "short", 10, 9,
        options={"orientation": "horizontal", "displayMode": "basic", "showUnfilled": True,
                 "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
        links=[{"title": "Runbook: NOTRACK", "url": f"{RUNBOOKS}README.md#stop-tracking-what-needs-no-tracking-notrack",
                "targetBlank": True}]))
    P.append(panel(
        L, "stat", "TIME_WAIT share",
        "Share of entries in TCP TIME_WAIT. NfConntrackTimeWaitHigh warns above 50 % when the table is "
        "over half full and the timeout is longer than 60 s.",
        [target(f"sum(nf_conntrack_table_entries{{{S}, protocol=\"tcp\", state=\"time_wait\"}}) "
                f"/ sum(nf_conntrack_table_entries{{{S}}})", "time_wait")],
        "percentunit", 6, 6, steps((0.5, ORANGE)), decimals=1,
        links=[runbook("NfConntrackTimeWaitHigh")], options=stat_options()))
    P.append(panel(
        L, "table", "Timeouts",
        "nf_conntrack_timeout_seconds: how long an idle entry stays, per protocol and state, in the "
        "exporter's network namespace (timeouts are per netns).",
        [target(f"nf_conntrack_timeout_seconds{{{S}}}", instant=True, fmt="table")],
        "s", 10, 6,
        transformations=[{"id": "organize", "options": {
            "excludeByName": {"Time": True, "__name__": True, "cluster": True, "job": True, "instance": True},
            "renameByName": {"Value": "timeout"}}}],
        options={"showHeader": True, "sortBy": [{"displayName": "timeout", "desc": True}]}))
    P.append(panel(
        L, "stat", "Table dump age",
        "Seconds since the table collector's last completed dump (nf_conntrack_table_dump_timestamp_seconds). "
        "Grows when dumps are skipped because the table is above --collector.table.max-entries.",
        [target(f"time() - nf_conntrack_table_dump_timestamp_seconds{{{S}}}", "age")],
        "s", 4, 6, options=stat_options(graph="none")))
    P.append(panel(
        L, "stat", "Dump duration / skipped",
        "How long the last table dump took, and dumps skipped in the time range because the table was "
        "above --collector.table.max-entries.",
        [target(f"nf_conntrack_table_dump_duration_seconds{{{S}}}", "duration (s)", "A"),
         target(f"sum(increase(nf_conntrack_table_dump_skipped_total{{{S}}}[$__range]))", "skipped", "B")],
        "short", 4, 6, decimals=2, options=stat_options(graph="none")))

    P.append(L.row("Exporter"))
    P.append(panel(
        L, "stat", "Collector status",
        "Last scrape: 1 = the collector read its source, 0 = failed or unavailable (the exporter's log "
        "says why). 'up' is Prometheus' own scrape result.",
        [target(f"nf_conntrack_scrape_collector_success{{{S}}}", "{{collector}}", "A"),
         target(f"up{{{S}}}", "up", "B")],
        "short", 10, 5, steps((0, RED), (1, GREEN)),
        mappings=[{"type": "value", "options": {"0": {"text": "FAILING", "color": RED, "index": 0},
                                                "1": {"text": "OK", "color": GREEN, "index": 1}}}],
        links=[runbook("NfConntrackCollectorFailing"), runbook("NfConntrackExporterDown")],
        options=stat_options(graph="none")))
    P.append(panel(
        L, "timeseries", "Collector duration",
        "Time each collector took in a scrape (nf_conntrack_scrape_collector_duration_seconds).",
        [target(f"nf_conntrack_scrape_collector_duration_seconds{{{S}}}", "{{collector}}")],
        "s", 8, 5, custom=timeseries_custom(), options=TS_OPTIONS))
    P.append(panel(
        L, "stat", "Exporter version",
        "nf_conntrack_exporter_build_info: version and revision of the running exporter.",
        [target(f"nf_conntrack_exporter_build_info{{{S}}}", "{{version}} ({{revision}})")],
        "short", 6, 5, options=stat_options(text_mode="name", graph="none")))

    annotations = [
        {"name": "Kernel log: table full", "datasource": DS, "enable": True, "hide": False,
         "iconColor": RED, "step": "1m",
         "expr": f"sum by (netns) (increase(nf_conntrack_kernel_log_messages_total{{{S}, message=\"table_full\"}}[$__rate_interval])) > 0",
         "titleFormat": "nf_conntrack: table full, dropping packet", "textFormat": "netns {{netns}}",
         "tagKeys": "netns", "useValueForTime": False},
        {"name": "Packets dropped", "datasource": DS, "enable": True, "hide": False,
         "iconColor": "purple", "step": "1m",
         "expr": f"sum(increase(nf_conntrack_stat_drop_total{{{S}}}[$__rate_interval])) > 0",
         "titleFormat": "conntrack dropped packets", "textFormat": "", "tagKeys": "", "useValueForTime": False},
    ]
    variables = [
        datasource_var(),
        query_var("cluster", "Cluster", "label_values(nf_conntrack_entries, cluster)", hide=2,
                  include_all=True, all_value=".*"),
        query_var("job", "Job", 'label_values(nf_conntrack_entries{cluster=~"$cluster"}, job)'),
        query_var("instance", "Instance", 'label_values(nf_conntrack_entries{cluster=~"$cluster", job=~"$job"}, instance)'),
    ]
    links = [
        {"title": "Fleet", "type": "link", "url": "/d/nf-conntrack-fleet/nf-conntrack-fleet?${datasource:queryparam}&${cluster:queryparam}&${job:queryparam}",
         "icon": "dashboard", "tooltip": "All instances", "targetBlank": False, "asDropdown": False,
         "includeVars": False, "keepTime": True, "tags": []},
        {"title": "Runbooks", "type": "link", "url": f"{RUNBOOKS}README.md", "icon": "doc",
         "tooltip": "What each alert means and how to fix it", "targetBlank": True, "asDropdown": False,
         "includeVars": False, "keepTime": False, "tags": []},
    ]
    return dashboard(
        "nf-conntrack-node", "nf_conntrack / Node",
        "One host's conntrack table: how full it is, whether packets drop, the hash table, and what fills it. "
        "Data from nf_conntrack_exporter.",
        P, variables, annotations, links)


# --------------------------------------------------------------------------------------
# Fleet dashboard
# --------------------------------------------------------------------------------------

def fleet_dashboard():
    S = 'cluster=~"$cluster", job=~"$job"'
    L = Layout()
    P = []
    node_link = {"title": "Node dashboard for ${__field.labels.instance}",
                 "url": "/d/nf-conntrack-node/nf-conntrack-node?${datasource:queryparam}&var-job=${__field.labels.job}"
                        "&var-instance=${__field.labels.instance}&${__url_time_range}"}

    P.append(L.row("Now"))
    P.append(panel(
        L, "stat", "Instances",
        "Exporters reporting nf_conntrack_entries.",
        [target(f"count(nf_conntrack_entries{{{S}}})", "instances")], "short", 4, 4,
        options=stat_options(graph="none")))
    P.append(panel(
        L, "stat", "Dropping packets now",
        "Instances whose nf_conntrack_stat_drop_total rose in the last rate interval: each one pages "
        "(NfConntrackDroppingPackets).",
        [target(f"count(increase(nf_conntrack_stat_drop_total{{{S}}}[$__rate_interval]) > 0) or vector(0)", "instances")],
        "short", 5, 4, ANY_IS_BAD, links=[runbook("NfConntrackDroppingPackets")],
        options=stat_options(graph="none")))
    P.append(panel(
        L, "stat", "Over 80 % full",
        "Instances whose table is above the NfConntrackTableNearlyFull level.",
        [target(f"count(instance:nf_conntrack_entries_usage:ratio{{{S}}} > {NEARLY_FULL}) or vector(0)", "instances")],
        "short", 5, 4, steps((1, ORANGE)), links=[runbook("NfConntrackTableNearlyFull")],
        options=stat_options(graph="none")))
    P.append(panel(
        L, "stat", "Exporters down",
        "Targets Prometheus cannot scrape (up == 0): their conntrack alerts are blind.",
        [target(f"count(up{{{S}}} == 0) or vector(0)", "down")],
        "short", 5, 4, steps((1, ORANGE)), links=[runbook("NfConntrackExporterDown")],
        options=stat_options(graph="none")))
    P.append(panel(
        L, "stat", "Packets dropped in range",
        "Packets dropped for want of a conntrack entry, summed over the fleet and the time range.",
        [target(f"sum(increase(nf_conntrack_stat_drop_total{{{S}}}[$__range])) or vector(0)", "dropped")],
        "short", 5, 4, ANY_IS_BAD, decimals=0, links=[runbook("NfConntrackDroppingPackets")],
        options=stat_options(graph="none")))

    P.append(L.row("Ranking"))
    P.append(panel(
        L, "table", "All instances, fullest first",
        "Every instance with its table usage, entries, limit, drops and entries per bucket, sorted by "
        "usage. Click an instance for its node dashboard. Usage is empty for an unlimited table (limit 0).",
        [target(f"instance:nf_conntrack_entries_usage:ratio{{{S}}}", "", "A", instant=True, fmt="table"),
         target(f"nf_conntrack_entries{{{S}}}", "", "B", instant=True, fmt="table"),
         target(f"nf_conntrack_entries_limit{{{S}}}", "", "C", instant=True, fmt="table"),
         target(f"rate(nf_conntrack_stat_drop_total{{{S}}}[$__rate_interval])", "", "D", instant=True, fmt="table"),
         target(f"instance:nf_conntrack_entries_per_bucket:ratio{{{S}}}", "", "E", instant=True, fmt="table")],
        "short", 24, 10,
        transformations=[
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {
                "excludeByName": {"Time": True, "__name__": True},
                "renameByName": {"Value #A": "usage", "Value #B": "entries", "Value #C": "limit",
                                 "Value #D": "dropped /s", "Value #E": "entries per bucket"}}}],
        options={"showHeader": True, "sortBy": [{"displayName": "usage", "desc": True}],
                 "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"], "fields": ""}},
        overrides=[
            {"matcher": {"id": "byName", "options": "usage"},
             "properties": [{"id": "unit", "value": "percentunit"}, {"id": "min", "value": 0},
                            {"id": "max", "value": 1}, {"id": "decimals", "value": 1},
                            {"id": "thresholds", "value": USAGE_STEPS},
                            {"id": "custom.cellOptions", "value": {"type": "gauge", "mode": "basic"}}]},
            {"matcher": {"id": "byName", "options": "dropped /s"},
             "properties": [{"id": "unit", "value": "pps"}, {"id": "thresholds", "value": ANY_RATE_IS_BAD},
                            {"id": "custom.cellOptions", "value": {"type": "color-text"}}]},
            {"matcher": {"id": "byName", "options": "entries per bucket"},
             "properties": [{"id": "decimals", "value": 2},
                            {"id": "thresholds", "value": steps((ENTRIES_PER_BUCKET, ORANGE))},
                            {"id": "custom.cellOptions", "value": {"type": "color-text"}}]},
            {"matcher": {"id": "byName", "options": "instance"},
             "properties": [{"id": "links", "value": [node_link]}]},
        ],
        links=[runbook("NfConntrackTableNearlyFull"), runbook("NfConntrackTableFull")]))
    P.append(panel(
        L, "timeseries", "Table usage, 10 fullest",
        "Usage over time of the ten fullest instances, with the 80 % and 95 % alert levels.",
        [target(f"topk(10, instance:nf_conntrack_entries_usage:ratio{{{S}}})", "{{instance}}")],
        "percentunit", 12, 8, USAGE_STEPS, min_=0, max_=1,
        custom=timeseries_custom(threshold_lines=True, fill=0), options=TS_OPTIONS,
        links=[runbook("NfConntrackTableNearlyFull"), runbook("NfConntrackTableFull")]))
    P.append(panel(
        L, "timeseries", "Forecast usage in 4 h, 10 highest",
        "The last hour's linear trend 4 hours ahead, as a share of the limit (NfConntrackTableFillingUp "
        "warns at 100 % when the table is over half full).",
        [target(f"topk(10, predict_linear(nf_conntrack_entries{{{S}}}[1h], 4 * 3600) / (nf_conntrack_entries_limit{{{S}}} > 0))",
                "{{instance}}")],
        "percentunit", 12, 8, steps((NEARLY_FULL, ORANGE), (1, RED)), min_=0,
        custom=timeseries_custom(threshold_lines=True, fill=0), options=TS_OPTIONS,
        links=[runbook("NfConntrackTableFillingUp")]))

    P.append(L.row("Drops across the fleet"))
    P.append(panel(
        L, "timeseries", "Packets dropped /s by instance",
        "rate(nf_conntrack_stat_drop_total) per instance, the ten worst.",
        [target(f"topk(10, sum by (cluster, instance) (rate(nf_conntrack_stat_drop_total{{{S}}}[$__rate_interval])))",
                "{{instance}}")],
        "pps", 8, 8, ANY_RATE_IS_BAD, custom=timeseries_custom(threshold_lines=True), options=TS_OPTIONS,
        links=[runbook("NfConntrackDroppingPackets")]))
    P.append(panel(
        L, "timeseries", "Evictions /s by instance",
        "rate(nf_conntrack_stat_early_drop_total) per instance, the ten worst: tables at their limit.",
        [target(f"topk(10, sum by (cluster, instance) (rate(nf_conntrack_stat_early_drop_total{{{S}}}[$__rate_interval])))",
                "{{instance}}")],
        "ops", 8, 8, ANY_RATE_IS_BAD, custom=timeseries_custom(threshold_lines=True), options=TS_OPTIONS,
        links=[runbook("NfConntrackEvictingEntries")]))
    P.append(panel(
        L, "timeseries", "Insert failures /s by instance",
        "rate(nf_conntrack_stat_insert_failed_total) per instance, the ten worst: clashes and chains too long.",
        [target(f"topk(10, sum by (cluster, instance) (rate(nf_conntrack_stat_insert_failed_total{{{S}}}[$__rate_interval])))",
                "{{instance}}")],
        "ops", 8, 8, custom=timeseries_custom(), options=TS_OPTIONS,
        links=[runbook("NfConntrackInsertFailures")]))
    P.append(panel(
        L, "table", "Kernel log: table full, by instance and netns",
        "\"table full, dropping packet\" lines in the time range per instance and network namespace. "
        "Lines for other namespaces than the exporter's reveal full tables in containers.",
        [target(f"sum by (cluster, instance, netns) (increase(nf_conntrack_kernel_log_messages_total{{{S}, message=\"table_full\"}}[$__range])) > 0",
                "", instant=True, fmt="table")],
        "short", 12, 7,
        transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True},
                                                        "renameByName": {"Value": "lines"}}}],
        options={"showHeader": True, "sortBy": [{"displayName": "lines", "desc": True}]},
        links=[runbook("NfConntrackKernelLogTableFull")]))
    P.append(panel(
        L, "bargauge", "Failing collectors",
        "Per collector, how many instances report it failing or unavailable.",
        [target(f"sum by (collector) (1 - nf_conntrack_scrape_collector_success{{{S}}})", "{{collector}}", instant=True)],
        "short", 12, 7, ANY_IS_BAD, decimals=0,
        options={"orientation": "horizontal", "displayMode": "basic", "showUnfilled": True,
                 "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
        links=[runbook("NfConntrackCollectorFailing")]))

    variables = [
        datasource_var(),
        query_var("cluster", "Cluster", "label_values(nf_conntrack_entries, cluster)", hide=2,
                  include_all=True, all_value=".*"),
        query_var("job", "Job", 'label_values(nf_conntrack_entries{cluster=~"$cluster"}, job)',
                  multi=True, include_all=True, all_value=".*"),
    ]
    links = [
        {"title": "Runbooks", "type": "link", "url": f"{RUNBOOKS}README.md", "icon": "doc",
         "tooltip": "What each alert means and how to fix it", "targetBlank": True, "asDropdown": False,
         "includeVars": False, "keepTime": False, "tags": []},
    ]
    return dashboard(
        "nf-conntrack-fleet", "nf_conntrack / Fleet",
        "Every instance's conntrack table ranked by usage, and drops across the fleet. Data from "
        "nf_conntrack_exporter.",
        P, variables, (), links)


OUTPUTS = {
    "nf_conntrack-node.json": node_dashboard,
    "nf_conntrack-fleet.json": fleet_dashboard,
}


def render(fn):
    return json.dumps(fn(), indent=2, ensure_ascii=False) + "\n"


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    check = "--check" in argv
    stale = []
    for name, fn in OUTPUTS.items():
        path = os.path.join(here, name)
        text = render(fn)
        if check:
            try:
                current = open(path).read()
            except FileNotFoundError:
                current = None
            if current != text:
                stale.append(name)
        else:
            with open(path, "w") as f:
                f.write(text)
            print(f"wrote {path}")
    if stale:
        print("out of date, run python3 dashboards/generate.py: " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
