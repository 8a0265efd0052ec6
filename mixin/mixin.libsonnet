// The nf_conntrack monitoring mixin: recording rules, alerts and Grafana dashboards for
// nf_conntrack_exporter, with every knob in config.libsonnet (_config). The conventional
// mixin fields: prometheusRules, prometheusAlerts, grafanaDashboards.
(import 'config.libsonnet') +
(import 'rules.libsonnet') +
(import 'alerts.libsonnet') +
(import 'dashboards/dashboards.libsonnet')
