// The fleet dashboard: every instance's conntrack table ranked by usage, and drops across the
// fleet.
local g = import 'lib.libsonnet';

function(c)
  local S = 'cluster=~"$cluster", job=~"$job"';
  local rb(alert) = g.runbook(c.runbookURLPrefix, alert);
  local usageSteps = g.steps([[c.nearlyFullRatio, g.orange], [c.fullRatio, g.red]]);
  local anyIsBad = g.steps([[1, g.red]]);
  local anyRateIsBad = g.steps([[1e-6, g.red]]);
  local nodeLink = {
    title: 'Node dashboard for ${__field.labels.instance}',
    url: '/d/nf-conntrack-node/nf-conntrack-node?${datasource:queryparam}&var-job=${__field.labels.job}'
         + '&var-instance=${__field.labels.instance}&${__url_time_range}',
  };
  local worst(metric) = 'topk(10, sum by (cluster, instance) (rate(%s{%s}[$__rate_interval])))' % [metric, S];
  local panels = [
    g.row('Now'),
    g.panel('stat',
            'Instances',
            'Exporters reporting nf_conntrack_entries.',
            [g.target('count(nf_conntrack_entries{%s})' % S, 'instances')],
            'short',
            4,
            4,
            options=g.statOptions(graph='none')),
    g.panel(
      'stat',
      'Dropping packets now',
      'Instances whose nf_conntrack_stat_drop_total rose in the last rate interval: each one pages '
      + '(NfConntrackDroppingPackets).',
      [g.target('count(increase(nf_conntrack_stat_drop_total{%s}[$__rate_interval]) > 0) or vector(0)' % S, 'instances')],
      'short',
      5,
      4,
      anyIsBad,
      links=[rb('NfConntrackDroppingPackets')],
      options=g.statOptions(graph='none')
    ),
    g.panel(
      'stat',
      'Over %g %% full' % (c.nearlyFullRatio * 100),
      'Instances whose table is above the NfConntrackTableNearlyFull level.',
      [g.target('count(instance:nf_conntrack_entries_usage:ratio{%s} > %g) or vector(0)' % [S, c.nearlyFullRatio], 'instances')],
      'short',
      5,
      4,
      g.steps([[1, g.orange]]),
      links=[rb('NfConntrackTableNearlyFull')],
      options=g.statOptions(graph='none')
    ),
    g.panel(
      'stat',
      'Exporters down',
      'Targets Prometheus cannot scrape (up == 0): their conntrack alerts are blind.',
      [g.target('count(up{%s} == 0) or vector(0)' % S, 'down')],
      'short',
      5,
      4,
      g.steps([[1, g.orange]]),
      links=[rb('NfConntrackExporterDown')],
      options=g.statOptions(graph='none')
    ),
    g.panel(
      'stat',
      'Packets dropped in range',
      'Packets dropped for want of a conntrack entry, summed over the fleet and the time range.',
      [g.target('sum(increase(nf_conntrack_stat_drop_total{%s}[$__range])) or vector(0)' % S, 'dropped')],
      'short',
      5,
      4,
      anyIsBad,
      decimals=0,
      links=[rb('NfConntrackDroppingPackets')],
      options=g.statOptions(graph='none')
    ),

    g.row('Ranking'),
    g.panel(
      'table',
      'All instances, fullest first',
      'Every instance with its table usage, entries, limit, drops and entries per bucket, sorted by '
      + 'usage. Click an instance for its node dashboard. Usage is empty for an unlimited table (limit 0).',
      [
        g.target('instance:nf_conntrack_entries_usage:ratio{%s}' % S, '', 'A', instant=true, format='table'),
        g.target('nf_conntrack_entries{%s}' % S, '', 'B', instant=true, format='table'),
        g.target('nf_conntrack_entries_limit{%s}' % S, '', 'C', instant=true, format='table'),
        g.target('rate(nf_conntrack_stat_drop_total{%s}[$__rate_interval])' % S, '', 'D', instant=true, format='table'),
        g.target('instance:nf_conntrack_entries_per_bucket:ratio{%s}' % S, '', 'E', instant=true, format='table'),
      ],
      'short',
      24,
      10,
      transformations=[
        { id: 'merge', options: {} },
        {
          id: 'organize',
          options: {
            excludeByName: { Time: true, __name__: true },
            renameByName: {
              'Value #A': 'usage',
              'Value #B': 'entries',
              'Value #C': 'limit',
              'Value #D': 'dropped /s',
              'Value #E': 'entries per bucket',
            },
          },
        },
      ],
      options={
        showHeader: true,
        sortBy: [{ displayName: 'usage', desc: true }],
        cellHeight: 'sm',
        footer: { show: false, reducer: ['sum'], fields: '' },
      },
      overrides=[
        {
          matcher: { id: 'byName', options: 'usage' },
          properties: [
            { id: 'unit', value: 'percentunit' },
            { id: 'min', value: 0 },
            { id: 'max', value: 1 },
            { id: 'decimals', value: 1 },
            { id: 'thresholds', value: usageSteps },
            { id: 'custom.cellOptions', value: { type: 'gauge', mode: 'basic' } },
          ],
        },
        {
          matcher: { id: 'byName', options: 'dropped /s' },
          properties: [
            { id: 'unit', value: 'pps' },
            { id: 'thresholds', value: anyRateIsBad },
            { id: 'custom.cellOptions', value: { type: 'color-text' } },
          ],
        },
        {
          matcher: { id: 'byName', options: 'entries per bucket' },
          properties: [
            { id: 'decimals', value: 2 },
            { id: 'thresholds', value: g.steps([[c.entriesPerBucket, g.orange]]) },
            { id: 'custom.cellOptions', value: { type: 'color-text' } },
          ],
        },
        {
          matcher: { id: 'byName', options: 'instance' },
          properties: [{ id: 'links', value: [nodeLink] }],
        },
      ],
      links=[rb('NfConntrackTableNearlyFull'), rb('NfConntrackTableFull')]
    ),
    g.panel(
      'timeseries',
      'Table usage, 10 fullest',
      'Usage over time of the ten fullest instances, with the %g %% and %g %% alert levels.' % [c.nearlyFullRatio * 100, c.fullRatio * 100],
      [g.target('topk(10, instance:nf_conntrack_entries_usage:ratio{%s})' % S, '{{instance}}')],
      'percentunit',
      12,
      8,
      usageSteps,
      min=0,
      max=1,
      custom=g.timeseriesCustom(thresholdLines=true, fill=0),
      options=g.tsOptions,
      links=[rb('NfConntrackTableNearlyFull'), rb('NfConntrackTableFull')]
    ),
    g.panel(
      'timeseries',
      'Time until full, 10 soonest',
      'When each table reaches its limit at the growth of the last %s (the fast forecast of ' % c.fillForecastFastWindow
      + 'NfConntrackTableFillingUp, which warns under %g h). Only growing tables appear.' % (c.fillForecastFastHorizonSeconds / 3600),
      [g.target('bottomk(10, ((nf_conntrack_entries_limit{%(S)s} > 0) - nf_conntrack_entries{%(S)s}) / (instance:nf_conntrack_entries:deriv%(w)s{%(S)s} > 0))' % { S: S, w: c.fillForecastFastWindow },
                '{{instance}}')],
      's',
      12,
      8,
      g.steps([[0, g.red], [c.fillForecastFastHorizonSeconds, g.orange], [c.fillForecastSlowHorizonSeconds, g.green]]),
      min=0,
      custom=g.timeseriesCustom(thresholdLines=true, fill=0),
      options=g.tsOptions,
      links=[rb('NfConntrackTableFillingUp')]
    ),

    g.row('Drops across the fleet'),
    g.panel(
      'timeseries',
      'Packets dropped /s by instance',
      'rate(nf_conntrack_stat_drop_total) per instance, the ten worst.',
      [g.target(worst('nf_conntrack_stat_drop_total'), '{{instance}}')],
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
      'Evictions /s by instance',
      'rate(nf_conntrack_stat_early_drop_total) per instance, the ten worst: tables at their limit.',
      [g.target(worst('nf_conntrack_stat_early_drop_total'), '{{instance}}')],
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
      'Insert failures /s by instance',
      'rate(nf_conntrack_stat_insert_failed_total) per instance, the ten worst: clashes and chains too long.',
      [g.target(worst('nf_conntrack_stat_insert_failed_total'), '{{instance}}')],
      'ops',
      8,
      8,
      custom=g.timeseriesCustom(),
      options=g.tsOptions,
      links=[rb('NfConntrackInsertFailures')]
    ),
    g.panel(
      'timeseries',
      'Refused packets /s by port, fleet',
      'Packets full tables refused across the fleet by protocol and original destination port, the ten '
      + 'largest (collector refused, off by default: docs/refused.md). A retransmitted SYN counts again.',
      [g.target('topk(10, sum by (protocol, port) (rate(nf_conntrack_refused_packets_total{%s}[$__rate_interval])))' % S,
                '{{protocol}}/{{port}}')],
      'pps',
      24,
      8,
      custom=g.timeseriesCustom(),
      options=g.tsOptions,
      links=[rb('NfConntrackDroppingPackets')]
    ),
    g.panel(
      'table',
      'Kernel log: table full, by instance and netns',
      '"table full, dropping packet" lines in the time range per instance and network namespace. '
      + "Lines for other namespaces than the exporter's reveal full tables in containers.",
      [g.target('sum by (cluster, instance, netns) (increase(nf_conntrack_kernel_log_messages_total{%s, message="table_full"}[$__range])) > 0' % S,
                '',
                instant=true,
                format='table')],
      'short',
      12,
      7,
      transformations=[{ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { Value: 'lines' } } }],
      options={ showHeader: true, sortBy: [{ displayName: 'lines', desc: true }] },
      links=[rb('NfConntrackKernelLogTableFull')]
    ),
    g.panel(
      'bargauge',
      'Failing collectors',
      'Per collector, how many instances report it failing or unavailable.',
      [g.target('sum by (collector) (1 - nf_conntrack_scrape_collector_success{%s})' % S, '{{collector}}', instant=true)],
      'short',
      12,
      7,
      anyIsBad,
      decimals=0,
      options=g.barGaugeOptions,
      links=[rb('NfConntrackCollectorFailing')]
    ),
  ];
  local variables = [
    g.datasourceVar,
    g.queryVar('cluster', 'Cluster', 'label_values(nf_conntrack_entries, cluster)', hide=2, includeAll=true, allValue='.*'),
    g.queryVar('job', 'Job', 'label_values(nf_conntrack_entries{cluster=~"$cluster"}, job)', multi=true, includeAll=true, allValue='.*'),
  ];
  local links = [{
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
  }];
  g.dashboard(
    c,
    'nf-conntrack-fleet',
    'nf_conntrack / Fleet',
    "Every instance's conntrack table ranked by usage, and drops across the fleet. Data from "
    + 'nf_conntrack_exporter.',
    panels,
    variables,
    [],
    links
  )
