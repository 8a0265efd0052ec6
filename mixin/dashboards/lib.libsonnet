// Small Grafana builders for the two dashboards (plain jsonnet; grafonnet is not packaged in
// Debian). Every panel gets the same conventions: the ${datasource} variable, a unit, a
// description, thresholds at the alert levels, runbook links. Used by node.libsonnet and
// fleet.libsonnet only.
{
  ds:: { type: 'prometheus', uid: '${datasource}' },
  green:: 'green',
  orange:: 'orange',
  red:: 'red',

  // Threshold steps: green below the first level, then each [value, color].
  steps(levels=[]):: {
    mode: 'absolute',
    steps: [{ color: 'green', value: null }] + [{ color: l[1], value: l[0] } for l in levels],
  },

  runbook(prefix, alert):: { title: 'Runbook: ' + alert, url: prefix + alert + '.md', targetBlank: true },

  target(expr, legend='', ref='A', instant=false, format=null):: {
    datasource: $.ds,
    refId: ref,
    expr: expr,
    legendFormat: if legend == '' then '__auto' else legend,
    range: !instant,
    instant: instant,
  } + (if format != null then { format: format } else {}),

  timeseriesCustom(stack=false, bars=false, thresholdLines=false, fill=10):: {
    drawStyle: if bars then 'bars' else 'line',
    lineWidth: 1,
    fillOpacity: fill,
    showPoints: 'never',
    spanNulls: false,
    stacking: { mode: if stack then 'normal' else 'none', group: 'A' },
    thresholdsStyle: { mode: if thresholdLines then 'line' else 'off' },
  },

  tsOptions:: {
    legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
    tooltip: { mode: 'multi', sort: 'desc' },
  },

  statOptions(textMode='auto', graph='area'):: {
    reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    colorMode: 'value',
    graphMode: graph,
    justifyMode: 'auto',
    orientation: 'auto',
    textMode: textMode,
  },

  barGaugeOptions:: {
    orientation: 'horizontal',
    displayMode: 'basic',
    showUnfilled: true,
    reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
  },

  // A panel without its place: `layout` below adds id and gridPos from w and h.
  panel(kind,
        title,
        description,
        targets,
        unit,
        w,
        h,
        thresholds=null,
        links=[],
        decimals=null,
        min=null,
        max=null,
        options={},
        custom=null,
        overrides=[],
        mappings=[],
        transformations=[]):: {
    type: kind,
    title: title,
    description: description,
    w:: w,
    h:: h,
    datasource: $.ds,
    targets: targets,
    fieldConfig: {
      defaults: {
                  unit: unit,
                  color: { mode: if thresholds != null then 'thresholds' else 'palette-classic' },
                  thresholds: if thresholds != null then thresholds else $.steps(),
                  mappings: mappings,
                } + (if decimals != null then { decimals: decimals } else {})
                + (if min != null then { min: min } else {})
                + (if max != null then { max: max } else {})
                + (if custom != null then { custom: custom } else {}),
      overrides: overrides,
    },
    options: options,
    links: links,
  } + (if transformations != [] then { transformations: transformations } else {}),

  row(title):: { type: 'row', title: title, collapsed: false, panels: [], isRow:: true },

  // Places panels left to right on the 24-column grid, wrapping to new lines; a row starts a
  // new line. Ids are given in order from 1. The state is an array [x, y, row height, next id,
  // placed panels]: array elements are evaluated once, object fields on every access (an
  // object here made rendering exponential in the number of panels).
  layout(items)::
    local step(s, p) =
      local x0 = s[0], y0 = s[1], rowH0 = s[2], id = s[3];
      if std.objectHasAll(p, 'isRow') then
        local y = if x0 > 0 then y0 + rowH0 else y0;
        [0, y + 1, 0, id + 1, s[4] + [p { id: id, gridPos: { h: 1, w: 24, x: 0, y: y } }]]
      else
        local wrap = x0 + p.w > 24;
        local x = if wrap then 0 else x0;
        local y = if wrap then y0 + rowH0 else y0;
        local rowH = if wrap then 0 else rowH0;
        [x + p.w, y, std.max(rowH, p.h), id + 1, s[4] + [p { id: id, gridPos: { h: p.h, w: p.w, x: x, y: y } }]];
    std.foldl(step, items, [0, 0, 0, 1, []])[4],

  datasourceVar:: {
    type: 'datasource',
    name: 'datasource',
    label: 'Data source',
    query: 'prometheus',
    hide: 0,
    current: {},
    options: [],
    refresh: 1,
    regex: '',
    includeAll: false,
    multi: false,
  },

  queryVar(name, label, query, hide=0, multi=false, includeAll=false, allValue=null):: {
    type: 'query',
    name: name,
    label: label,
    datasource: $.ds,
    definition: query,
    query: { query: query, refId: 'StandardVariableQuery' },
    hide: hide,
    refresh: 2,
    sort: 1,
    regex: '',
    current: {},
    options: [],
    multi: multi,
    includeAll: includeAll,
  } + (if allValue != null then { allValue: allValue } else {}),

  dashboard(config, uid, title, description, panels, variables, annotations=[], links=[]):: {
    annotations: {
      list: [{
        builtIn: 1,
        datasource: { type: 'grafana', uid: '-- Grafana --' },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      }] + annotations,
    },
    description: description,
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: links,
    panels: $.layout(panels),
    refresh: config.dashboardRefresh,
    schemaVersion: 39,
    tags: config.dashboardTags,
    templating: { list: variables },
    time: { from: config.dashboardTimeFrom, to: 'now' },
    timepicker: {},
    timezone: '',
    title: title,
    uid: uid,
    version: 1,
    weekStart: '',
  },
}
