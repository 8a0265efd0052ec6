// The mixin's Grafana dashboards, keyed by the file name they are rendered to.
{
  grafanaDashboards+:: {
    'nf_conntrack-node.json': (import 'node.libsonnet')($._config),
    'nf_conntrack-fleet.json': (import 'fleet.libsonnet')($._config),
  },
}
