// The knobs of the nf_conntrack mixin. Override any of them from your own jsonnet:
//   (import 'nf_conntrack-mixin/mixin.libsonnet') + { _config+:: { exporterSelector: 'job="conntrack"' } }
//   (import 'nf_conntrack-mixin/mixin.libsonnet') + { _config+:: { severity+: { NfConntrackNetnsDroppingPackets: 'warning' } } }
// Every rule, alert and dashboard reads its numbers from here, so an alert level and the
// dashboard threshold drawn at it cannot disagree.
{
  _config+:: {
    // Label selector of this exporter's scrape targets, e.g. 'job="nf_conntrack"'. Only the
    // exporter-down alert uses it (up{} and absent() carry no nf_conntrack_ metric name to tell
    // our targets apart); every other rule selects by metric name and works under any job.
    //  '' (the default): a target is ours when it served nf_conntrack_scrape_collector_success
    //     (recorded once per target as instance:nf_conntrack_exporter_target:group)
    //     within exporterDownLookback, whatever its job is called (the PodMonitor's, the annotated
    //     Service's kubernetes-service-endpoints, any static config). No absent() form: with
    //     no selector there is no set of targets whose vanishing could be told.
    //  a selector: up{<selector>} == 0, plus absent(up{<selector>}) when every target vanished
    //     from service discovery. Set it only to a selector that matches your scrape config.
    exporterSelector: '',
    // How long a target that stopped answering is still known as this exporter's (selector '').
    exporterDownLookback: '1d',

    // Prefix of every alert's runbook_url and of the dashboards' runbook links; the alert
    // name and ".md" are appended.
    runbookURLPrefix: 'https://github.com/nf-conntrack-exporter/nf_conntrack_exporter/blob/main/docs/runbooks/',

    // Table usage (entries / nf_conntrack_max). Docs: docs/runbooks/NfConntrackTable*.md.
    nearlyFullRatio: 0.80,  // warning, strictly above
    nearlyFullFor: '5m',
    fullRatio: 0.95,  // critical, at or above
    fullFor: '2m',

    // The fill forecast (docs/runbooks/NfConntrackTableFillingUp.md). Two linear forecasts:
    //  fast: the slope of the last fillForecastFastWindow reaches the limit within
    //        fillForecastFastHorizon, at any level;
    //  slow: the slope of the last fillForecastSlowWindow reaches the limit within
    //        fillForecastSlowHorizon while the table is above fillForecastSlowFloor.
    fillForecastFastWindow: '10m',
    fillForecastFastHorizonSeconds: 3600,
    fillForecastSlowWindow: '1h',
    fillForecastSlowHorizonSeconds: 4 * 3600,
    fillForecastSlowFloor: 0.75,
    fillForecastFor: '2m',

    // Average hash-chain length above which the buckets are too few (kernel defaults <= 4).
    entriesPerBucket: 4,
    entriesPerBucketFor: '30m',

    // TIME_WAIT share of the table, the TIME_WAIT timeout floor (s) and the usage floor.
    timeWaitShare: 0.5,
    timeWaitTimeoutSeconds: 60,
    timeWaitUsageFloor: 0.5,
    timeWaitFor: '15m',

    insertFailuresFor: '15m',
    exporterDownFor: '5m',
    collectorFailingFor: '15m',

    // Per network namespace (the netns collector): each netns is checked against the global
    // nf_conntrack_max on its own.
    netnsNearlyFullRatio: 0.80,
    netnsNearlyFullFor: '5m',

    // The severity label of each alert, which Alertmanager routes on (alerts/alertmanager.example.yml
    // routes 'critical' and 'warning'). Override any one, e.g. make the per-netns drop page a
    // ticket: severity+: { NfConntrackNetnsDroppingPackets: 'warning' }.
    severity: {
      NfConntrackDroppingPackets: 'critical',
      NfConntrackKernelLogTableFull: 'critical',
      NfConntrackTableFull: 'critical',
      NfConntrackTableNearlyFull: 'warning',
      NfConntrackTableFillingUp: 'warning',
      NfConntrackEvictingEntries: 'warning',
      NfConntrackInsertFailures: 'warning',
      NfConntrackHashChainTooLong: 'warning',
      NfConntrackBucketsUndersized: 'warning',
      NfConntrackTimeWaitHigh: 'warning',
      NfConntrackNetnsTableNearlyFull: 'warning',
      NfConntrackNetnsDroppingPackets: 'critical',
      NfConntrackExporterDown: 'warning',
      NfConntrackCollectorFailing: 'warning',
    },

    // Grafana.
    dashboardTags: ['nf_conntrack', 'conntrack', 'netfilter'],
    dashboardRefresh: '30s',
    dashboardTimeFrom: 'now-6h',
  },
}
