// The node dashboard: one host's conntrack table - how full it is, whether packets drop, the
// hash table, what fills it, its network namespaces, and the exporter itself.
local g = import 'lib.libsonnet';

function(c)
  local S = 'cluster=~"$cluster", job=~"$job", instance=~"$instance"';
  local rb(alert) = g.runbook(c.runbookURLPrefix, alert);
  local usageSteps = g.steps([[c.nearlyFullRatio, g.orange], [c.fullRatio, g.red]]);
  local anyIsBad = g.steps([[1, g.red]]);
  local anyRateIsBad = g.steps([[1e-6, g.red]]);
  local dashed(name, color, dash) = {
    matcher: { id: 'byName', options: name },
    properties: (if color != null then [{ id: 'color', value: { mode: 'fixed', fixedColor: color } }] else [])
                + [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: dash } }],
  };
  local panels = [
    g.row('Table usage'),
    g.panel(
      'gauge',
      'Table usage',
      "Entries / nf_conntrack_max in this host's network namespace (recording rule "
      + 'instance:nf_conntrack_entries_usage:ratio). Orange from %g %% (NfConntrackTableNearlyFull), ' % (c.nearlyFullRatio * 100)
      + 'red from %g %% (NfConntrackTableFull). No value: the limit is 0 (unlimited).' % (c.fullRatio * 100),
      [g.target('instance:nf_conntrack_entries_usage:ratio{%s}' % S, '{{instance}}')],
      'percentunit',
      5,
      7,
      usageSteps,
      min=0,
      max=1,
      decimals=1,
      links=[rb('NfConntrackTableNearlyFull'), rb('NfConntrackTableFull')],
      options={
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        showThresholdLabels: false,
        showThresholdMarkers: true,
      }
    ),
    g.panel(
      'stat',
      'Entries',
      "nf_conntrack_entries: conntrack entries in the exporter's network namespace (nf_conntrack_count).",
      [g.target('nf_conntrack_entries{%s}' % S, 'entries')],
      'short',
      4,
      7,
      options=g.statOptions()
    ),
    g.panel(
      'stat',
      'Limit (nf_conntrack_max)',
      'nf_conntrack_entries_limit: the global nf_conntrack_max; each network namespace may hold this '
      + 'many entries on its own. 0 means unlimited (until kernel 6.18).',
      [g.target('nf_conntrack_entries_limit{%s}' % S, 'limit')],
      'short',
      4,
      7,
      mappings=[{ type: 'value', options: { '0': { text: 'unlimited', index: 0 } } }],
      options=g.statOptions(graph='none')
    ),
    g.panel(
      'stat',
      'Packets dropped in range',
      'Packets the kernel dropped because no conntrack entry could be created '
      + "(increase of nf_conntrack_stat_drop_total over the dashboard's time range). Anything above 0 "
      + 'pages (NfConntrackDroppingPackets).',
      [g.target('sum(increase(nf_conntrack_stat_drop_total{%s}[$__range]))' % S, 'dropped')],
      'short',
      5,
      7,
      anyIsBad,
      decimals=0,
      links=[rb('NfConntrackDroppingPackets')],
      options=g.statOptions(graph='none')
    ),
    g.panel(
      'stat',
      'Time until full (forecast)',
      'When the table reaches its limit at its current growth: the slope of the last %s, or of the last %s when the table is above %g %%. ' % [c.fillForecastFastWindow, c.fillForecastSlowWindow, c.fillForecastSlowFloor * 100]
      + 'NfConntrackTableFillingUp warns under %s (fast) or %s (slow). No value: the table is not growing.' % [std.toString(c.fillForecastFastHorizonSeconds / 3600) + ' h', std.toString(c.fillForecastSlowHorizonSeconds / 3600) + ' h'],
      [
        g.target('min(((nf_conntrack_entries_limit{%(S)s} > 0) - nf_conntrack_entries{%(S)s}) / (instance:nf_conntrack_entries:deriv%(w)s{%(S)s} > 0))' % { S: S, w: c.fillForecastFastWindow }, 'last %s' % c.fillForecastFastWindow, 'A'),
        g.target('min(((nf_conntrack_entries_limit{%(S)s} > 0) - nf_conntrack_entries{%(S)s}) / (instance:nf_conntrack_entries:deriv%(w)s{%(S)s} > 0))' % { S: S, w: c.fillForecastSlowWindow }, 'last %s' % c.fillForecastSlowWindow, 'B'),
      ],
      's',
      6,
      7,
      g.steps([[0, g.red], [c.fillForecastFastHorizonSeconds, g.orange], [c.fillForecastSlowHorizonSeconds, g.green]]),
      decimals=0,
      links=[rb('NfConntrackTableFillingUp')],
      options=g.statOptions(graph='none')
    ),
    g.panel(
      'timeseries',
      'Entries vs limit',
      "Entries, the limit, the %g %% and %g %% alert levels, and where the last hour's linear trend puts the table 4 hours ahead (dashed)." % [c.nearlyFullRatio * 100, c.fullRatio * 100],
      [
        g.target('nf_conntrack_entries{%s}' % S, 'entries', 'A'),
        g.target('nf_conntrack_entries_limit{%s} > 0' % S, 'limit (nf_conntrack_max)', 'B'),
        g.target('(nf_conntrack_entries_limit{%s} > 0) * %g' % [S, c.fullRatio], '%g %% (critical)' % (c.fullRatio * 100), 'C'),
        g.target('(nf_conntrack_entries_limit{%s} > 0) * %g' % [S, c.nearlyFullRatio], '%g %% (warning)' % (c.nearlyFullRatio * 100), 'D'),
        g.target('predict_linear(nf_conntrack_entries{%s}[1h], 4 * 3600)' % S, 'forecast +4 h', 'E'),
      ],
      'short',
      24,
      8,
      custom=g.timeseriesCustom(fill=0),
      options=g.tsOptions,
      links=[rb('NfConntrackTableNearlyFull'), rb('NfConntrackTableFillingUp')],
      overrides=[
        {
          matcher: { id: 'byName', options: 'limit (nf_conntrack_max)' },
          properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: g.red } }, { id: 'custom.lineWidth', value: 2 }],
        },
        dashed('%g %% (critical)' % (c.fullRatio * 100), g.red, [4, 4]),
        dashed('%g %% (warning)' % (c.nearlyFullRatio * 100), g.orange, [4, 4]),
        dashed('forecast +4 h', null, [10, 10]),
      ]
    ),

    g.row('Drops and failures'),
    g.panel(
      'timeseries',
      'Packets dropped /s (table full)',
      'rate(nf_conntrack_stat_drop_total): packets dropped because no entry could be made. Counted per '
      + 'packet and never rate-limited, unlike the kernel log. Any value pages.',
      [g.target('sum(rate(nf_conntrack_stat_drop_total{%s}[$__rate_interval]))' % S, 'dropped')],
      'pps',
      8,
      8,
      anyRateIsBad,
      custom=g.timeseriesCustom(thresholdLines=true),
      options=g.tsOptions,
      links=[rb('NfConntrackDroppingPackets')]
    ),
    g.panel(
      'timeseries',
      'Evictions /s (early drop)',
      'rate(nf_conntrack_stat_early_drop_total): entries without a reply evicted to make room for new '
      + 'ones. Only happens at the limit.',
      [g.target('sum(rate(nf_conntrack_stat_early_drop_total{%s}[$__rate_interval]))' % S, 'evicted')],
      'ops',
      8,
      8,
      anyRateIsBad,
      custom=g.timeseriesCustom(thresholdLines=true),
      options=g.tsOptions,
      links=[rb('NfConntrackEvictingEntries')]
    ),
    g.panel(
      'timeseries',
      'Insert failures and clashes /s',
      'Inserts that failed (each drops a packet), of which refused for a hash chain over 64 (>= 5.15), '
      + 'and clashes the kernel resolved without dropping.',
      [
        g.target('sum(rate(nf_conntrack_stat_insert_failed_total{%s}[$__rate_interval]))' % S, 'insert failed', 'A'),
        g.target('sum(rate(nf_conntrack_stat_chaintoolong_total{%s}[$__rate_interval]))' % S, 'chain too long', 'B'),
        g.target('sum(rate(nf_conntrack_stat_clash_resolve_total{%s}[$__rate_interval]))' % S, 'clash resolved', 'C'),
      ],
      'ops',
      8,
      8,
      custom=g.timeseriesCustom(),
      options=g.tsOptions,
      links=[rb('NfConntrackInsertFailures'), rb('NfConntrackHashChainTooLong')]
    ),
    g.panel(
      'timeseries',
      'Kernel log: table full lines',
      'Lines "nf_conntrack: table full, dropping packet" per network namespace (from 6.17 the kernel '
      + "names it; 'unknown' before), and 'callbacks suppressed' by the kernel's rate limit, which covers "
      + 'all network messages. A line says it happened; the drop counter says how much.',
      [
        g.target('sum by (message, netns) (increase(nf_conntrack_kernel_log_messages_total{%s}[$__rate_interval]))' % S,
                 '{{message}} netns={{netns}}',
                 'A'),
        g.target('sum(increase(nf_conntrack_kernel_log_suppressed_total{%s}[$__rate_interval]))' % S,
                 'suppressed (all net messages)',
                 'B'),
      ],
      'short',
      24,
      6,
      custom=g.timeseriesCustom(bars=true, fill=80),
      options=g.tsOptions,
      links=[rb('NfConntrackKernelLogTableFull')]
    ),
    g.panel(
      'timeseries',
      'Refused packets /s by port',
      'Packets the full table refused, by network namespace, protocol and original destination port, the '
      + 'ten largest (collector refused, off by default: docs/refused.md). A retransmitted SYN counts again. '
      + 'port="other" sums the keys beyond --collector.refused.top and those the BPF map had no room for.',
      [g.target('topk(10, sum by (netns, netns_name, protocol, port) (rate(nf_conntrack_refused_packets_total{%s}[$__rate_interval])))' % S,
                '{{protocol}}/{{port}} netns={{netns}} {{netns_name}}',
                'A')],
      'pps',
      24,
      7,
      custom=g.timeseriesCustom(),
      options=g.tsOptions,
      links=[rb('NfConntrackDroppingPackets')]
    ),

    g.row('Hash table'),
    g.panel(
      'stat',
      'Buckets',
      'nf_conntrack_buckets: hash table size (global). Since 5.15 the default equals the default max.',
      [g.target('nf_conntrack_buckets{%s}' % S, 'buckets')],
      'short',
      4,
      6,
      options=g.statOptions(graph='none')
    ),
    g.panel(
      'stat',
      'Limit per bucket',
      'nf_conntrack_max / buckets: the average chain length of a full table. Kernel defaults give 1 '
      + '(>= 5.15) or 4 (<= 5.14); more means max was raised without the buckets.',
      [g.target('nf_conntrack_entries_limit{%s} / (nf_conntrack_buckets{%s} > 0)' % [S, S], 'max / buckets')],
      'short',
      4,
      6,
      g.steps([[c.entriesPerBucket, g.orange]]),
      decimals=1,
      links=[rb('NfConntrackBucketsUndersized')],
      options=g.statOptions(graph='none')
    ),
    g.panel(
      'timeseries',
      'Entries per bucket',
      'Average hash chain length now (instance:nf_conntrack_entries_per_bucket:ratio). Above %d for 30 ' % c.entriesPerBucket
      + 'minutes: NfConntrackBucketsUndersized.',
      [g.target('instance:nf_conntrack_entries_per_bucket:ratio{%s}' % S, 'entries per bucket')],
      'short',
      16,
      6,
      g.steps([[c.entriesPerBucket, g.red]]),
      decimals=2,
      custom=g.timeseriesCustom(thresholdLines=true),
      options=g.tsOptions,
      links=[rb('NfConntrackBucketsUndersized'), rb('NfConntrackHashChainTooLong')]
    ),

    g.row('What fills the table'),
    g.panel(
      'timeseries',
      'Entries by protocol and state',
      "From the table collector's background netlink dump: TCP by conntrack state, other protocols by "
      + 'assured / replied / unreplied. Many time_wait: shorten the TIME_WAIT timeout; many unreplied: a '
      + 'scan or a dead upstream.',
      [g.target('sum by (protocol, state) (nf_conntrack_table_entries{%s})' % S, '{{protocol}} {{state}}')],
      'short',
      14,
      9,
      custom=g.timeseriesCustom(stack=true, fill=40),
      options=g.tsOptions,
      links=[rb('NfConntrackTimeWaitHigh')]
    ),
    g.panel(
      'bargauge',
      'Top destination ports',
      "Destination ports holding the most entries (top K per protocol, the rest as 'other'): "
      + 'the candidates for NOTRACK.',
      [g.target('sort_desc(sum by (protocol, port) (nf_conntrack_table_entries_by_port{%s}))' % S,
                '{{protocol}}/{{port}}',
                instant=true)],
      'short',
      10,
      9,
      options=g.barGaugeOptions,
      links=[{
        title: 'Runbook: NOTRACK',
        url: c.runbookURLPrefix + 'README.md#stop-tracking-what-needs-no-tracking-notrack',
        targetBlank: true,
      }]
    ),
    g.panel(
      'stat',
      'TIME_WAIT share',
      'Share of entries in TCP TIME_WAIT. NfConntrackTimeWaitHigh warns above %g %% when the table is ' % (c.timeWaitShare * 100)
      + 'over half full and the timeout is longer than %d s.' % c.timeWaitTimeoutSeconds,
      [g.target('sum(nf_conntrack_table_entries{%s, protocol="tcp", state="time_wait"}) / sum(nf_conntrack_table_entries{%s})' % [S, S], 'time_wait')],
      'percentunit',
      6,
      6,
      g.steps([[c.timeWaitShare, g.orange]]),
      decimals=1,
      links=[rb('NfConntrackTimeWaitHigh')],
      options=g.statOptions()
    ),
    g.panel(
      'table',
      'Timeouts',
      'nf_conntrack_timeout_seconds: how long an idle entry stays, per protocol and state, in the '
      + "exporter's network namespace (timeouts are per netns).",
      [g.target('nf_conntrack_timeout_seconds{%s}' % S, instant=true, format='table')],
      's',
      10,
      6,
      transformations=[{
        id: 'organize',
        options: {
          excludeByName: { Time: true, __name__: true, cluster: true, job: true, instance: true },
          renameByName: { Value: 'timeout' },
        },
      }],
      options={ showHeader: true, sortBy: [{ displayName: 'timeout', desc: true }] }
    ),
    g.panel(
      'stat',
      'Table dump age',
      "Seconds since the table collector's last completed dump (nf_conntrack_table_dump_timestamp_seconds). "
      + 'Grows to the dump interval (nf_conntrack_table_dump_interval_seconds), longer than '
      + '--collector.table.interval when the CPU budget asks for a longer pause.',
      [g.target('time() - nf_conntrack_table_dump_timestamp_seconds{%s}' % S, 'age')],
      's',
      4,
      6,
      options=g.statOptions(graph='none')
    ),
    g.panel(
      'stat',
      'Dump duration / put off',
      'How long the last table dump took, and scheduled dumps put off in the time range because the '
      + 'CPU budget (--collector.table.cpu-budget) asked for a longer pause.',
      [
        g.target('nf_conntrack_table_dump_duration_seconds{%s}' % S, 'duration (s)', 'A'),
        g.target('sum(increase(nf_conntrack_table_dump_skipped_total{%s}[$__range]))' % S, 'put off', 'B'),
      ],
      'short',
      4,
      6,
      decimals=2,
      options=g.statOptions(graph='none')
    ),

    g.row('Network namespaces'),
    g.panel(
      'table',
      'Fullest network namespaces',
      'Every network namespace the netns collector reads, fullest first: entries, share of the global '
      + 'nf_conntrack_max (each netns is held to it on its own) and dropped packets. netns is the inode the '
      + 'kernel log names ("table full in netns N"); netns_name comes from /run/netns (ip netns), pod_uid '
      + "and container_id from the cgroup. 'other' sums the namespaces outside the top N, so the column "
      + 'total is every entry in the shared hash table. Orange from %g %% (NfConntrackNetnsTableNearlyFull).' % (c.netnsNearlyFullRatio * 100),
      [
        g.target('sort_desc(nf_conntrack_netns_entries{%s})' % S, '', 'A', instant=true, format='table'),
        g.target('netns:nf_conntrack_netns_entries_usage:ratio{%s}' % S, '', 'B', instant=true, format='table'),
        g.target('increase(nf_conntrack_netns_stat_drop_total{%s}[$__range])' % S, '', 'C', instant=true, format='table'),
      ],
      'short',
      24,
      8,
      transformations=[
        { id: 'merge', options: {} },
        {
          id: 'organize',
          options: {
            excludeByName: { Time: true, __name__: true, cluster: true, job: true, instance: true },
            renameByName: { 'Value #A': 'entries', 'Value #B': 'usage', 'Value #C': 'dropped in range' },
          },
        },
      ],
      options={ showHeader: true, sortBy: [{ displayName: 'entries', desc: true }], cellHeight: 'sm' },
      overrides=[
        {
          matcher: { id: 'byName', options: 'usage' },
          properties: [
            { id: 'unit', value: 'percentunit' },
            { id: 'min', value: 0 },
            { id: 'max', value: 1 },
            { id: 'decimals', value: 1 },
            { id: 'thresholds', value: g.steps([[c.netnsNearlyFullRatio, g.orange], [c.fullRatio, g.red]]) },
            { id: 'custom.cellOptions', value: { type: 'gauge', mode: 'basic' } },
          ],
        },
        {
          matcher: { id: 'byName', options: 'dropped in range' },
          properties: [
            { id: 'decimals', value: 0 },
            { id: 'thresholds', value: anyIsBad },
            { id: 'custom.cellOptions', value: { type: 'color-text' } },
          ],
        },
      ],
      links=[rb('NfConntrackNetnsTableNearlyFull'), rb('NfConntrackNetnsDroppingPackets')]
    ),
    g.panel(
      'timeseries',
      'Entries, 10 fullest network namespaces',
      'nf_conntrack_netns_entries of the ten fullest namespaces over time, with the global limit each '
      + 'of them is held to.',
      [
        g.target('topk(10, nf_conntrack_netns_entries{%s, netns!="other"})' % S,
                 '{{netns}} {{netns_name}} {{pod_uid}}',
                 'A'),
        g.target('nf_conntrack_entries_limit{%s} > 0' % S, 'limit (nf_conntrack_max)', 'B'),
      ],
      'short',
      16,
      8,
      custom=g.timeseriesCustom(fill=0),
      options=g.tsOptions,
      links=[rb('NfConntrackNetnsTableNearlyFull')],
      overrides=[{
        matcher: { id: 'byName', options: 'limit (nf_conntrack_max)' },
        properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: g.red } }, { id: 'custom.lineWidth', value: 2 }],
      }]
    ),
    g.panel(
      'timeseries',
      'Packets dropped /s by network namespace',
      "rate(nf_conntrack_netns_stat_drop_total) per namespace: packets dropped because that namespace's "
      + 'table was full. Any value pages (NfConntrackNetnsDroppingPackets).',
      [g.target('sum by (netns, netns_name, pod_uid) (rate(nf_conntrack_netns_stat_drop_total{%s}[$__rate_interval]))' % S,
                '{{netns}} {{netns_name}} {{pod_uid}}')],
      'pps',
      8,
      8,
      anyRateIsBad,
      custom=g.timeseriesCustom(thresholdLines=true),
      options=g.tsOptions,
      links=[rb('NfConntrackNetnsDroppingPackets')]
    ),

    g.row('Exporter'),
    g.panel(
      'stat',
      'Collector status',
      "Last scrape: 1 = the collector read its source, 0 = failed or unavailable (the exporter's log "
      + "says why). 'up' is Prometheus' own scrape result.",
      [
        g.target('nf_conntrack_scrape_collector_success{%s}' % S, '{{collector}}', 'A'),
        g.target('up{%s}' % S, 'up', 'B'),
      ],
      'short',
      10,
      5,
      g.steps([[0, g.red], [1, g.green]]),
      mappings=[{
        type: 'value',
        options: {
          '0': { text: 'FAILING', color: g.red, index: 0 },
          '1': { text: 'OK', color: g.green, index: 1 },
        },
      }],
      links=[rb('NfConntrackCollectorFailing'), rb('NfConntrackExporterDown')],
      options=g.statOptions(graph='none')
    ),
    g.panel(
      'timeseries',
      'Collector duration',
      'Time each collector took in a scrape (nf_conntrack_scrape_collector_duration_seconds).',
      [g.target('nf_conntrack_scrape_collector_duration_seconds{%s}' % S, '{{collector}}')],
      's',
      8,
      5,
      custom=g.timeseriesCustom(),
      options=g.tsOptions
    ),
    g.panel(
      'stat',
      'Exporter version',
      'nf_conntrack_exporter_build_info: version and revision of the running exporter.',
      [g.target('nf_conntrack_exporter_build_info{%s}' % S, '{{version}} ({{revision}})')],
      'short',
      6,
      5,
      options=g.statOptions(textMode='name', graph='none')
    ),
  ];
  local annotations = [
    {
      name: 'Kernel log: table full',
      datasource: g.ds,
      enable: true,
      hide: false,
      iconColor: g.red,
      step: '1m',
      expr: 'sum by (netns) (increase(nf_conntrack_kernel_log_messages_total{%s, message="table_full"}[$__rate_interval])) > 0' % S,
      titleFormat: 'nf_conntrack: table full, dropping packet',
      textFormat: 'netns {{netns}}',
      tagKeys: 'netns',
      useValueForTime: false,
    },
    {
      name: 'Packets dropped',
      datasource: g.ds,
      enable: true,
      hide: false,
      iconColor: 'purple',
      step: '1m',
      expr: 'sum(increase(nf_conntrack_stat_drop_total{%s}[$__rate_interval])) > 0' % S,
      titleFormat: 'conntrack dropped packets',
      textFormat: '',
      tagKeys: '',
      useValueForTime: false,
    },
  ];
  local variables = [
    g.datasourceVar,
    g.queryVar('cluster', 'Cluster', 'label_values(nf_conntrack_entries, cluster)', hide=2, includeAll=true, allValue='.*'),
    g.queryVar('job', 'Job', 'label_values(nf_conntrack_entries{cluster=~"$cluster"}, job)'),
    g.queryVar('instance', 'Instance', 'label_values(nf_conntrack_entries{cluster=~"$cluster", job=~"$job"}, instance)'),
  ];
  local links = [
    {
      title: 'Fleet',
      type: 'link',
      url: '/d/nf-conntrack-fleet/nf-conntrack-fleet?${datasource:queryparam}&${cluster:queryparam}&${job:queryparam}',
      icon: 'dashboard',
      tooltip: 'All instances',
      targetBlank: false,
      asDropdown: false,
      includeVars: false,
      keepTime: true,
      tags: [],
    },
    {
      title: 'Runbooks',
      type: 'link',
      url: c.runbookURLPrefix + 'README.md',
      icon: 'doc',
      tooltip: 'What each alert means and how to fix it',
      targetBlank: true,
      asDropdown: false,
      includeVars: false,
      keepTime: false,
      tags: [],
    },
  ];
  g.dashboard(
    c,
    'nf-conntrack-node',
    'nf_conntrack / Node',
    "One host's conntrack table: how full it is, whether packets drop, the hash table, and what fills it. "
    + 'Data from nf_conntrack_exporter.',
    panels,
    variables,
    annotations,
    links
  )
