// The mixin's alerts as a Prometheus rule file (YAML), the monitoring-mixins entry point:
//   jsonnet -S mixin/alerts.jsonnet > nf_conntrack.alerts.yml
// Set _config first by importing mixin.libsonnet from your own file (docs/alerts-and-dashboards.md).
std.manifestYamlDoc((import 'mixin.libsonnet').prometheusAlerts)
