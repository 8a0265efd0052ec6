// The mixin's recording rules as a Prometheus rule file (YAML), the monitoring-mixins entry point:
//   jsonnet -S mixin/rules.jsonnet > nf_conntrack.rules.yml
// The alerts use these records: load both files.
std.manifestYamlDoc((import 'mixin.libsonnet').prometheusRules)
