// The knobs of the nf_conntrack mixin. Override any of them from your own jsonnet:
//   (import 'nf_conntrack-mixin/mixin.libsonnet') + { _config+:: { exporterSelector: 'job="conntrack"' } }
// Every rule, alert and dashboard reads its numbers from here, so an alert level and the
// dashboard threshold drawn at it cannot disagree.
{
  _config+:: {
    // Label selector of this exporter's scrape targets. Only the exporter-down alert needs it
    // (up{} and absent() carry no nf_conntrack_ metric name to tell our targets apart).
    exporterSelector: 'job="nf_conntrack"',

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

    // Grafana.
    dashboardTags: ['nf_conntrack', 'conntrack', 'netfilter'],
    dashboardRefresh: '30s',
    dashboardTimeFrom: 'now-6h',
  },
}
