// Alerting rules of the nf_conntrack mixin, rendered into alerts/nf_conntrack.rules.yml (group
// nf_conntrack.alerts). Every threshold comes from config.libsonnet and is explained in
// docs/runbooks/<AlertName>.md; every alert has promtool unit tests in tests/alerts/. The
// exporter is expected to be scraped every 1m or faster (the counter alerts look at 2m and 5m
// windows, the fast forecast at 10m).
local pct(ratio) = '%g %%' % (ratio * 100);

{
  local c = $._config,

  // Template that prints a live value of the alert's own target, or `otherwise`.
  // `metric` may carry extra matchers after the target's own, e.g. ',protocol=\"tcp\"'.
  local live(metric, fmt='humanize', otherwise='', extra='') =
    '{{ with printf "%s{cluster=%%q,job=%%q,instance=%%q%s}" $labels.cluster $labels.job $labels.instance | query }}{{ . | first | value | %s }}{{ %s}}' % [
      metric,
      extra,
      fmt,
      if otherwise == '' then 'end ' else 'else }}%s{{ end ' % otherwise,
    ],

  // Who a network namespace is, each part led by ", ": its name under /run/netns, its pod (with namespace/name when
  // kube-state-metrics' kube_pod_info is in the same Prometheus) and container. `l` is the
  // template expression holding the labels ($labels, or .Labels of a queried sample).
  local netnsIdentity(l) =
    '{{ with %(l)s.netns_name }}, named "{{ . }}"{{ end }}' % { l: l } +
    '{{ with %(l)s.pod_uid }}, pod {{ . }}{{ with printf "kube_pod_info{uid=%%q}" . | query }}{{ with . | first }} ({{ .Labels.namespace }}/{{ .Labels.pod }}){{ end }}{{ end }}{{ end }}' % { l: l } +
    '{{ with %(l)s.container_id }}, container {{ . }}{{ end }}' % { l: l },

  local runbook(name) = c.runbookURLPrefix + name + '.md',

  // `severity` is only the documentation of the default: the label comes from _config.severity,
  // and an alert missing there is an error rather than a silent default.
  local alert(name, severity, expr, summary, description, for_=null) =
    assert std.objectHas(c.severity, name) : 'no _config.severity for ' + name;
    { alert: name, expr: expr } +
    (if for_ != null then { 'for': for_ } else {}) +
    {
      labels: { severity: c.severity[name] },
      annotations: {
        summary: summary,
        description: std.join(' ', description),
        runbook_url: runbook(name),
      },
    },

  local fastW = c.fillForecastFastWindow,
  local slowW = c.fillForecastSlowWindow,

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'nf_conntrack.alerts',
        rules: [
          // --- the page: packets are being dropped right now ---------------------------
          //
          // `drop` counts every packet the kernel dropped because it could not create an
          // entry. Any increase is a user-visible failure, so there is no `for`.
          // `unless resets(...)`: a counter that went down inside the window (exporter restart
          // after its 32-bit wrap bookkeeping was lost, or a reboot) makes increase() count the
          // whole new value as fresh drops; such a window is skipped rather than paging for
          // history. A reboot therefore delays the alert by at most 2 minutes.
          alert(
            'NfConntrackDroppingPackets',
            'critical',
            |||
              increase(nf_conntrack_stat_drop_total[2m]) > 0
              unless
              resets(nf_conntrack_stat_drop_total[2m]) > 0
            |||,
            'conntrack is dropping packets on {{ $labels.instance }}: the table is full.',
            [
              '{{ $labels.instance }} dropped {{ printf "%.0f" $value }} packets in the last 2 minutes',
              'because no conntrack entry could be created (nf_conntrack_stat_drop_total).',
              'New connections through this host are failing.',
              'The table holds ' + live('nf_conntrack_entries', otherwise='an unknown number of'),
              'entries of a limit of ' + live('nf_conntrack_entries_limit', otherwise='unknown') + '.' +
              // Whom it refused, when the refused collector runs (docs/refused.md); nothing otherwise.
              '{{ with printf "sort_desc(topk(3, sum by (protocol, port) (increase(nf_conntrack_refused_packets_total{cluster=%q,job=%q,instance=%q}[2m])) > 0))" $labels.cluster $labels.job $labels.instance | query }}' +
              ' Most refused:{{ range . }} {{ .Labels.protocol }}/{{ .Labels.port }} ({{ .Value | printf "%.0f" }}){{ end }}.{{ end }}',
            ],
          ),

          // The kernel log is the only drop signal where the stat counters are unavailable,
          // and the only one for a *different* netns on the same host (the log ring is
          // host-wide, the counters are per netns). When this exporter's own drop counter rose
          // in the same window, NfConntrackDroppingPackets already covers it. The description
          // names the netns through the netns collector's series, when it runs.
          alert(
            'NfConntrackKernelLogTableFull',
            'critical',
            |||
              increase(nf_conntrack_kernel_log_messages_total{message="table_full"}[5m]) > 0
              unless ignoring (message, netns)
              increase(nf_conntrack_stat_drop_total[5m]) > 0
            |||,
            'Kernel log on {{ $labels.instance }} reports "nf_conntrack: table full, dropping packet" (netns {{ $labels.netns }}).',
            [
              'The kernel of {{ $labels.instance }} logged {{ printf "%.0f" $value }} "table full, dropping packet"',
              'lines in the last 5 minutes for netns "{{ $labels.netns }}"' +
              '{{ with printf "nf_conntrack_netns_entries{cluster=%q,job=%q,instance=%q,netns=%q}" $labels.cluster $labels.job $labels.instance $labels.netns | query }}{{ with . | first }}' +
              ' ({{ .Value | humanize }} entries now' + netnsIdentity('.Labels') + '){{ end }}{{ end }},',
              "while this exporter's own",
              'drop counter did not rise (it is unavailable, or the full table is in another network namespace).',
              'The kernel rate-limits these lines, so the real number of dropped packets is larger.',
            ],
          ),

          // --- before the drops: how full is the table ---------------------------------
          //
          // 95 %: one burst from full. A busy NAT gateway can create tens of thousands of
          // entries per second, and the last 5 % of the default 262144 is ~13k entries.
          // `for: 2m` ignores a single-scrape spike.
          alert(
            'NfConntrackTableFull',
            'critical',
            'instance:nf_conntrack_entries_usage:ratio >= %g' % c.fullRatio,
            'conntrack table on {{ $labels.instance }} is {{ $value | humanizePercentage }} full.',
            [
              '{{ $labels.instance }} tracks ' + live('nf_conntrack_entries'),
              'connections of a limit of ' + live('nf_conntrack_entries_limit'),
              '({{ $value | humanizePercentage }}) for 2 minutes. At the limit the kernel first evicts',
              'unconfirmed entries, then drops the packets of new connections.',
            ],
            c.fullFor,
          ),

          // 80 % for 5 minutes: room left for a 1.25x burst, time to act before paging.
          alert(
            'NfConntrackTableNearlyFull',
            'warning',
            'instance:nf_conntrack_entries_usage:ratio > %.2f' % c.nearlyFullRatio,
            'conntrack table on {{ $labels.instance }} is {{ $value | humanizePercentage }} full.',
            [
              '{{ $labels.instance }} has used more than %s of its conntrack table for 5 minutes:' % pct(c.nearlyFullRatio),
              live('nf_conntrack_entries'),
              'of ' + live('nf_conntrack_entries_limit'),
              'entries ({{ $value | humanizePercentage }}). At the limit new connections are dropped.',
            ],
            c.nearlyFullFor,
          ),

          // Two linear forecasts; the value is the time until full, in seconds.
          //  fast: the last 10 minutes' slope reaches the limit within 1 hour, at any level.
          //        Catches fills that take from 30 minutes to a few hours. A daily cycle stays
          //        silent unless it climbs faster than (limit - level) per hour near its top
          //        (at a 70 % peak: 30 % of the limit per hour).
          //  slow: the last hour's slope reaches the limit within 4 hours, and the table is
          //        above 75 %. Catches slow fills (up to a day and more) 4 hours ahead; the
          //        floor keeps a daily cycle that peaks at or below ~70 % silent.
          // `> 0` on the slope: a flat table is never "forecast full", whatever its level.
          // The reasoning and the tested cases are in the runbook.
          alert(
            'NfConntrackTableFillingUp',
            'warning',
            |||
              (
                ((nf_conntrack_entries_limit > 0) - nf_conntrack_entries)
                / (instance:nf_conntrack_entries:deriv%(fastW)s > 0)
                < %(fastH)d
              )
              or
              (
                ((nf_conntrack_entries_limit > 0) - nf_conntrack_entries)
                / (instance:nf_conntrack_entries:deriv%(slowW)s > 0)
                < %(slowH)d
                and
                instance:nf_conntrack_entries_usage:ratio > %(floor)g
              )
            ||| % { fastW: fastW, slowW: slowW, fastH: c.fillForecastFastHorizonSeconds, slowH: c.fillForecastSlowHorizonSeconds, floor: c.fillForecastSlowFloor },
            'conntrack table on {{ $labels.instance }} is forecast to be full in {{ $value | humanizeDuration }}.',
            [
              'At its current growth {{ $labels.instance }} reaches its conntrack limit of',
              live('nf_conntrack_entries_limit'),
              'entries in {{ $value | humanizeDuration }}; it is at',
              live('instance:nf_conntrack_entries_usage:ratio', fmt='humanizePercentage') + ' now.',
            ],
            c.fillForecastFor,
          ),

          // early_drop only happens when an insert found the table at its limit and evicted a
          // not-yet-assured entry to make room: proof the limit was reached, even though no
          // packet was dropped and nothing was logged.
          alert(
            'NfConntrackEvictingEntries',
            'warning',
            |||
              increase(nf_conntrack_stat_early_drop_total[5m]) > 0
              unless
              resets(nf_conntrack_stat_early_drop_total[5m]) > 0
            |||,
            'conntrack on {{ $labels.instance }} is evicting entries: the table reached its limit.',
            [
              '{{ $labels.instance }} evicted {{ printf "%.0f" $value }} conntrack entries in the last',
              '5 minutes to make room for new ones (nf_conntrack_stat_early_drop_total). The table is at',
              'its limit; half-open and unanswered flows are losing their state, and once nothing is',
              'left to evict, packets are dropped.',
            ],
          ),

          // --- the hash table ----------------------------------------------------------
          //
          // A single insert failure is usually the known UDP race of two packets of one new
          // flow on two CPUs (DNS over UDP in Kubernetes); each one is a dropped packet, but a
          // lone one is not worth a ticket. Failures in every 5-minute window for 15 minutes
          // are.
          alert(
            'NfConntrackInsertFailures',
            'warning',
            |||
              increase(nf_conntrack_stat_insert_failed_total[5m]) > 0
              unless
              resets(nf_conntrack_stat_insert_failed_total[5m]) > 0
            |||,
            'conntrack inserts keep failing on {{ $labels.instance }}.',
            [
              '{{ $labels.instance }} failed {{ printf "%.0f" $value }} conntrack inserts in the last',
              '5 minutes, continuously for 15 minutes (nf_conntrack_stat_insert_failed_total). Each failure',
              'drops the packet that would have created the entry.',
            ],
            c.insertFailuresFor,
          ),

          // Kernel >= 5.15 refuses an insert into a hash chain longer than 64 entries. With a
          // sane bucket count that is practically impossible, so any occurrence means the
          // buckets are far too few for the entries (or someone is flooding one bucket).
          alert(
            'NfConntrackHashChainTooLong',
            'warning',
            |||
              increase(nf_conntrack_stat_chaintoolong_total[5m]) > 0
              unless
              resets(nf_conntrack_stat_chaintoolong_total[5m]) > 0
            |||,
            'conntrack hash chains on {{ $labels.instance }} are too long: inserts are refused.',
            [
              '{{ $labels.instance }} refused {{ printf "%.0f" $value }} conntrack inserts in the last',
              '5 minutes because a hash chain was longer than 64 entries (nf_conntrack_stat_chaintoolong_total).',
              'Average chain length is ' + live('instance:nf_conntrack_entries_per_bucket:ratio', fmt='printf "%.1f"', otherwise='unknown') + ' entries per bucket.',
            ],
          ),

          // Defaults keep entries/buckets <= 4 even at a full table (<= 5.14: max = 4 x
          // buckets; >= 5.15: max = buckets). Above 4 for half an hour means nf_conntrack_max
          // was raised without raising the buckets, and every lookup walks longer chains.
          alert(
            'NfConntrackBucketsUndersized',
            'warning',
            'instance:nf_conntrack_entries_per_bucket:ratio > %d' % c.entriesPerBucket,
            'conntrack hash table on {{ $labels.instance }} has too few buckets for its entries.',
            [
              '{{ $labels.instance }} holds {{ printf "%.1f" $value }} conntrack entries per hash bucket',
              '(' + live('nf_conntrack_buckets') + ' buckets)',
              'for 30 minutes; the kernel defaults never exceed %d. Lookups for every packet walk long chains.' % c.entriesPerBucket,
            ],
            c.entriesPerBucketFor,
          ),

          // --- what fills the table ----------------------------------------------------
          //
          // More than half of the entries in TIME_WAIT, while the table is more than half full
          // and conntrack keeps TIME_WAIT for longer than the 60 s a Linux TCP endpoint does:
          // shortening the timeout frees a large part of the table at no risk.
          alert(
            'NfConntrackTimeWaitHigh',
            'warning',
            |||
              sum without (family, protocol, state) (nf_conntrack_table_entries{protocol="tcp",state="time_wait"})
              / sum without (family, protocol, state) (nf_conntrack_table_entries)
              > %(share)g
              and ignoring (protocol, state)
              nf_conntrack_timeout_seconds{protocol="tcp",state="time_wait"} > %(timeout)d
              and
              instance:nf_conntrack_entries_usage:ratio > %(floor)g
            ||| % { share: c.timeWaitShare, timeout: c.timeWaitTimeoutSeconds, floor: c.timeWaitUsageFloor },
            'TIME_WAIT fills {{ $value | humanizePercentage }} of the conntrack table on {{ $labels.instance }}.',
            [
              '{{ $value | humanizePercentage }} of the conntrack entries on {{ $labels.instance }} are TCP',
              'TIME_WAIT, kept for ' + live('nf_conntrack_timeout_seconds', fmt='humanizeDuration', extra=',protocol=\\"tcp\\",state=\\"time_wait\\"'),
              'each, and the table is ' + live('instance:nf_conntrack_entries_usage:ratio', fmt='humanizePercentage') + ' full.',
              'A shorter nf_conntrack_tcp_timeout_time_wait frees most of them.',
            ],
            c.timeWaitFor,
          ),

          // --- per network namespace (the netns collector) -----------------------------
          //
          // Each netns is checked against the global nf_conntrack_max on its own: a pod can
          // fill *its* table while the host's looks healthy. Same level and duration as
          // NfConntrackTableNearlyFull; "other" (the namespaces outside the top N) is not one
          // table and has no ratio.
          alert(
            'NfConntrackNetnsTableNearlyFull',
            'warning',
            'netns:nf_conntrack_netns_entries_usage:ratio > %.2f' % c.netnsNearlyFullRatio,
            'conntrack table of netns {{ $labels.netns }} on {{ $labels.instance }} is {{ $value | humanizePercentage }} full.',
            [
              'Network namespace {{ $labels.netns }}' + netnsIdentity('$labels'),
              'on {{ $labels.instance }} has used more than %s of the conntrack limit for 5 minutes:' % pct(c.netnsNearlyFullRatio),
              '{{ with printf "nf_conntrack_netns_entries{cluster=%q,job=%q,instance=%q,netns=%q}" $labels.cluster $labels.job $labels.instance $labels.netns | query }}{{ . | first | value | humanize }}{{ end }}',
              'of ' + live('nf_conntrack_entries_limit'),
              'entries ({{ $value | humanizePercentage }}). Every netns is held to the global nf_conntrack_max on its own;',
              'at the limit, new connections of this namespace are dropped while the host table may look healthy.',
            ],
            c.netnsNearlyFullFor,
          ),

          // The netns's own drop counter: any increase is a failing connection in that
          // namespace, so no `for`. Reset guard as NfConntrackDroppingPackets; it also covers
          // the "other" series, whose members change as the top N changes.
          alert(
            'NfConntrackNetnsDroppingPackets',
            'critical',
            |||
              increase(nf_conntrack_netns_stat_drop_total[2m]) > 0
              unless
              resets(nf_conntrack_netns_stat_drop_total[2m]) > 0
            |||,
            'conntrack is dropping packets in netns {{ $labels.netns }} on {{ $labels.instance }}: its table is full.',
            [
              'Network namespace {{ $labels.netns }}' + netnsIdentity('$labels'),
              'on {{ $labels.instance }} dropped {{ printf "%.0f" $value }} packets in the last 2 minutes because',
              'no conntrack entry could be created (nf_conntrack_netns_stat_drop_total); its new connections are failing.',
              'It holds {{ with printf "nf_conntrack_netns_entries{cluster=%q,job=%q,instance=%q,netns=%q}" $labels.cluster $labels.job $labels.instance $labels.netns | query }}{{ . | first | value | humanize }}{{ else }}an unknown number of{{ end }}',
              'entries of a limit of ' + live('nf_conntrack_entries_limit', otherwise='unknown') + '.',
              '(netns "other" sums the namespaces outside the exporter\'s top N.)',
            ],
          ),

          // --- the monitor itself ------------------------------------------------------
          //
          // 5 minutes: a restart or a slow scrape is not an incident, but without the exporter
          // the drop page above cannot fire. Which `up` series are ours (config.libsonnet,
          // exporterSelector): with no selector, those of targets that served this exporter's
          // metrics within the lookback, under any job name; with a selector, every target it
          // matches, and absent() for when all of them vanished from service discovery (there
          // is then no `up` to be 0, and the alerts above are just as blind).
          alert(
            'NfConntrackExporterDown',
            'warning',
            if c.exporterSelector == '' then
              |||
                up == 0
                and
                last_over_time(instance:nf_conntrack_exporter_target:group[%(lookback)s])
              ||| % { lookback: c.exporterDownLookback }
            else
              |||
                up{%(sel)s} == 0
                or
                absent(up{%(sel)s})
              ||| % { sel: c.exporterSelector },
            '{{ with $labels.instance }}nf_conntrack_exporter on {{ . }} is down.{{ else }}No nf_conntrack_exporter target is being scraped.{{ end }}',
            [
              '{{ with $labels.instance }}Prometheus could not scrape {{ . }} (job {{ $labels.job }}) for 5 minutes.',
            ] + (
              if c.exporterSelector == '' then []
              else ['{{ else }}Prometheus has had no target matching {%s} for 5 minutes: service discovery lost them, or the scrape configuration changed.' % c.exporterSelector]
            ) + [
              '{{ end }}Conntrack alerts for this host, including the dropped-packets page, cannot fire.',
            ],
            c.exporterDownFor,
          ),

          // 15 minutes: a source can be briefly unavailable (module being reloaded). A
          // collector that can never work here (no /dev/kmsg in a container) should be
          // disabled with --no-collector.<name>, which the runbook says.
          // A host without the nf_conntrack module tracks nothing: every conntrack collector
          // is unavailable there by design and no collector has anything to watch, so the
          // alert is silent while nf_conntrack_module_loaded is 0 (it warns again once the
          // module loads). Exporters too old to report the gauge alert as before.
          alert(
            'NfConntrackCollectorFailing',
            'warning',
            |||
              nf_conntrack_scrape_collector_success == 0
              unless ignoring (collector)
              nf_conntrack_module_loaded == 0
            |||,
            'nf_conntrack_exporter collector {{ $labels.collector }} fails on {{ $labels.instance }}.',
            [
              'The {{ $labels.collector }} collector of {{ $labels.instance }} has reported failure or',
              'unavailability for 15 minutes; its metrics are missing and alerts built on them are blind.',
              "The exporter's log says why.",
            ],
            c.collectorFailingFor,
          ),
        ],
      },
    ],
  },
}
