// Validates a stream of Kubernetes objects (the output of `kubectl kustomize`) offline against
// the API schemas of npm kubernetes-models and @kubernetes-models/prometheus-operator, and
// rejects keys those schemas do not know (the schemas alone accept any extra key).
// Run by tests/deploy/kubernetes_test.py:
//   node validate.mjs RENDERED.yaml [--rules-dir DIR] [--sources ROOT]
// --rules-dir writes each PrometheusRule's spec as DIR/<name>.json for `promtool check rules`.
// --sources checks that the PrometheusRules and the grafana_dashboard ConfigMap hold exactly
// ROOT/alerts/*.y*ml rule files (parsed, compared as data) and ROOT/dashboards/*.json (bytes).
// Exit 0 = every object valid; 1 = errors printed, one per line.
import fs from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse, parseAllDocuments } from "yaml";

function modulePath(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "monitoring.coreos.com") {
    return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  }
  return group === "" ? `kubernetes-models/${version}/${kind}`
                      : `kubernetes-models/${group}/${version}/${kind}`;
}

// Wraps a parsed object so that every property the validator reads, and every object whose keys
// it enumerates (a map such as labels or ConfigMap data), is recorded by path. The compiled
// schema reads each property it declares; a key it never reads is one it does not know.
function recorder(root) {
  const read = new Set();
  const enumerated = new Set();
  const wrap = (value, where) => {
    if (value === null || typeof value !== "object") return value;
    return new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === "string") read.add(`${where}/${key}`);
        return wrap(Reflect.get(target, key, receiver), `${where}/${String(key)}`);
      },
      ownKeys(target) {
        enumerated.add(where);
        return Reflect.ownKeys(target);
      },
    });
  };
  return { proxy: wrap(root, ""), read, enumerated };
}

function unknownKeys(value, where, seen, out) {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => unknownKeys(item, `${where}/${i}`, seen, out));
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    const at = `${where}/${key}`;
    if (!seen.enumerated.has(where) && !seen.read.has(at)) out.push(at);
    else unknownKeys(child, at, seen, out);
  }
}

async function validateObject(object) {
  const name = `${object?.kind}/${object?.metadata?.name}`;
  if (!object?.apiVersion || !object?.kind) return [`${name}: no apiVersion or kind`];
  let ctor;
  try {
    const module = await import(modulePath(object.apiVersion, object.kind));
    ctor = module[object.kind];
  } catch (e) {
    return [`${name}: no schema for ${object.apiVersion} ${object.kind}`];
  }
  const seen = recorder(object);
  try {
    ctor.prototype.validate.call(seen.proxy);
  } catch (e) {
    return [`${name}: ${e.message}`];
  }
  const unknown = [];
  unknownKeys(object, "", seen, unknown);
  return unknown.map((at) => `${name}: unknown key ${at}`);
}

// Drift between the rendered objects and their sources, as data: formatting may differ, content
// may not.
function sourceDrift(objects, root) {
  const errors = [];
  const list = (dir) => (fs.existsSync(path.join(root, dir))
    ? fs.readdirSync(path.join(root, dir), { withFileTypes: true }) : []);
  const ruleFiles = list("alerts")
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join("alerts", e.name))
    .filter((f) => /^groups:/m.test(fs.readFileSync(path.join(root, f), "utf8")));
  const specs = objects.filter((o) => o.kind === "PrometheusRule").map((o) => o.spec);
  for (const f of ruleFiles) {
    const source = parse(fs.readFileSync(path.join(root, f), "utf8"));
    const i = specs.findIndex((spec) => isDeepStrictEqual(spec, source));
    if (i < 0) errors.push(`drift: no PrometheusRule holds ${f} as it is`);
    else specs.splice(i, 1);
  }
  if (specs.length) errors.push(`drift: ${specs.length} PrometheusRule(s) with no source in alerts/`);

  const dashboards = {};
  for (const entry of list("dashboards")) {
    if (entry.isFile() && entry.name.endsWith(".json")) {
      dashboards[entry.name] = fs.readFileSync(path.join(root, "dashboards", entry.name), "utf8");
    }
  }
  const maps = objects.filter((o) => o.kind === "ConfigMap" &&
                                     o.metadata?.labels?.grafana_dashboard === "1");
  if (maps.length !== 1) errors.push(`drift: ${maps.length} grafana_dashboard ConfigMaps, want 1`);
  else if (!isDeepStrictEqual(maps[0].data ?? {}, dashboards)) {
    errors.push(`drift: ConfigMap ${maps[0].metadata.name} does not hold dashboards/*.json as they are`);
  }
  return errors;
}

async function main() {
  const args = process.argv.slice(2);
  const file = args[0];
  const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : null);
  const rulesDir = option("--rules-dir");
  const sourceRoot = option("--sources");
  const objects = [];
  const documents = parseAllDocuments(fs.readFileSync(file, "utf8"));
  const errors = [];
  let count = 0;
  for (const document of documents) {
    if (document.errors.length) {
      errors.push(...document.errors.map((e) => `YAML: ${e.message}`));
      continue;
    }
    const object = document.toJS();
    if (object === null) continue;
    count++;
    objects.push(object);
    errors.push(...(await validateObject(object)));
    if (rulesDir && object.kind === "PrometheusRule") {
      fs.writeFileSync(path.join(rulesDir, `${object.metadata.name}.json`),
                       JSON.stringify(object.spec, null, 1));
    }
  }
  if (sourceRoot) errors.push(...sourceDrift(objects, sourceRoot));
  for (const error of errors) console.log(error);
  console.log(`${count} objects, ${errors.length} errors`);
  process.exit(errors.length || count === 0 ? 1 : 0);
}

main();
