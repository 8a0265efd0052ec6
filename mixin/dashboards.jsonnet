// The mixin's Grafana dashboards, one JSON file each, the monitoring-mixins entry point:
//   jsonnet -m dashboards_out/ mixin/dashboards.jsonnet
local dashboards = (import 'mixin.libsonnet').grafanaDashboards;

{ [name]: dashboards[name] for name in std.objectFields(dashboards) }
