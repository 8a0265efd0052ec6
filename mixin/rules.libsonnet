// Recording rules of the nf_conntrack mixin: the ratios and rates the alerts and both
// dashboards share. Rendered into alerts/nf_conntrack.rules.yml (group nf_conntrack.rules).
//
// nf_conntrack_entries_limit == 0 means "no limit" (kernels up to 6.18 accept
// nf_conntrack_max=0): a ratio is simply not recorded for such a node, so no usage alert can
// fire and no division by zero produces +Inf. Label matching never names target labels: the
// series of one target share job, instance and whatever relabelling put there.
{
  prometheusRules+:: {
    groups+: [
      {
        name: 'nf_conntrack.rules',
        rules: [
          {
            // Share of the table in use, 0..1. Absent when the limit is 0 (unlimited).
            record: 'instance:nf_conntrack_entries_usage:ratio',
            expr: 'nf_conntrack_entries / (nf_conntrack_entries_limit > 0)',
          },
          {
            // Average hash-chain length: how many entries share one bucket.
            record: 'instance:nf_conntrack_entries_per_bucket:ratio',
            expr: 'nf_conntrack_entries / (nf_conntrack_buckets > 0)',
          },
          {
            // Growth in entries per second over the fast forecast window.
            record: 'instance:nf_conntrack_entries:deriv' + $._config.fillForecastFastWindow,
            expr: 'deriv(nf_conntrack_entries[%s])' % $._config.fillForecastFastWindow,
          },
          {
            // Growth in entries per second over the slow forecast window.
            record: 'instance:nf_conntrack_entries:deriv' + $._config.fillForecastSlowWindow,
            expr: 'deriv(nf_conntrack_entries[%s])' % $._config.fillForecastSlowWindow,
          },
        ] + [
          {
            // Per-second rates for dashboards and fleet views.
            record: 'instance:nf_conntrack_stat_%s:rate5m' % counter,
            expr: 'rate(nf_conntrack_stat_%s_total[5m])' % counter,
          }
          for counter in ['drop', 'early_drop', 'insert_failed', 'chaintoolong']
        ] + [
          {
            // One series per scrape target of this exporter, under whatever job it is scraped:
            // what NfConntrackExporterDown looks back over (config.libsonnet, exporterSelector
            // ''). One series per target rather than one per collector keeps that day-long
            // range cheap.
            record: 'instance:nf_conntrack_exporter_target:group',
            expr: 'group without (collector) (nf_conntrack_scrape_collector_success)',
          },
          {
            // Share of the global limit each network namespace holds (netns collector). The
            // "other" series sums the namespaces outside the top N: not one table, no ratio.
            record: 'netns:nf_conntrack_netns_entries_usage:ratio',
            expr: |||
              nf_conntrack_netns_entries{netns!="other"}
              / ignoring (netns, netns_name, pod_uid, container_id) group_left ()
              (nf_conntrack_entries_limit > 0)
            |||,
          },
        ],
      },
    ],
  },
}
