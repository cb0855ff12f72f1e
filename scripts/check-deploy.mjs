// Static checks of the deployment artifacts, run by scripts/check-deploy.sh (which installs the
// tools and passes their folder as DEPLOY_TOOLS_DIR). No Docker engine or cluster needed.
//   node scripts/check-deploy.mjs compose|dockerfile|grafana|prometheus-names|terraform
//   node scripts/check-deploy.mjs manifests <rendered.yaml> <profile>
// Prints one line per problem and exits 1 when there is any.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS = process.env.DEPLOY_TOOLS_DIR ?? '';
const problems = [];
const problem = (msg) => problems.push(msg);
const read = (p) => readFileSync(join(ROOT, p), 'utf8');

/** docs/api.md §1 variables: the compose file sets every one of them. */
const DOCUMENTED_ENV = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'REDIS_URL',
  'ADMIN_API_KEY',
  'GATEWAY_CONFIG',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_BASE_URL',
  'LOCAL_LLM_BASE_URL',
  'LOG_LEVEL',
];

/** docs/api.md §8 families (names fixed). */
const DOCUMENTED_METRICS = [
  'gen_ai_client_token_usage',
  'gen_ai_client_operation_duration_seconds',
  'llm_gateway_requests_total',
  'llm_gateway_request_duration_seconds',
  'llm_gateway_overhead_seconds',
  'llm_gateway_tokens_total',
  'llm_gateway_cost_usd_total',
  'llm_gateway_cache_requests_total',
  'llm_gateway_rate_limited_total',
  'llm_gateway_budget_rejected_total',
  'llm_gateway_fallbacks_total',
  'llm_gateway_provider_up',
  'llm_gateway_audit_pending',
];

/** Every family the gateway defines: read from the one place metrics are defined. */
function definedMetrics() {
  const src = read('libs/observability/src/gateway-metrics.service.ts');
  return new Set([...src.matchAll(/name: '([a-z_:][a-z0-9_:]*)'/g)].map((m) => m[1]));
}

/** `${VAR:-default}` → default, `${VAR}` → '' (what compose does with an unset variable). */
function interpolate(value) {
  return String(value).replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_, _name, def) => def ?? '');
}

function checkCompose() {
  const doc = parseYaml(read('docker-compose.yml'));
  const services = doc?.services ?? {};
  for (const name of ['gateway', 'postgres', 'redis', 'prometheus', 'grafana']) {
    if (!services[name]) problem(`compose: service "${name}" is missing`);
  }
  const gw = services.gateway ?? {};
  if (!/^postgres:15(\b|$)/.test(services.postgres?.image ?? ''))
    problem('compose: postgres must be postgres:15');
  if (!/^redis:7(\b|$)/.test(services.redis?.image ?? ''))
    problem('compose: redis must be redis:7');

  const context = typeof gw.build === 'string' ? gw.build : gw.build?.context;
  if (!context || !existsSync(join(ROOT, context, 'Dockerfile')))
    problem('compose: gateway must build from a folder with a Dockerfile');

  const env = Array.isArray(gw.environment)
    ? Object.fromEntries(gw.environment.map((e) => e.split(/=(.*)/s).slice(0, 2)))
    : (gw.environment ?? {});
  for (const v of DOCUMENTED_ENV) {
    if (!(v in env)) problem(`compose: gateway environment lacks ${v} (docs/api.md §1)`);
  }
  if (String(env.DB_MIGRATE_ON_BOOT) !== 'true')
    problem('compose: gateway needs DB_MIGRATE_ON_BOOT=true');
  if (interpolate(env.ADMIN_API_KEY ?? '').length < 32)
    problem('compose: the dev ADMIN_API_KEY placeholder must be at least 32 characters');
  const dbHost = safeUrl(interpolate(env.DATABASE_URL ?? ''))?.hostname;
  if (dbHost !== 'postgres')
    problem(`compose: DATABASE_URL must point at the postgres service (got ${dbHost})`);
  const redisHost = safeUrl(interpolate(env.REDIS_URL ?? ''))?.hostname;
  if (redisHost !== 'redis')
    problem(`compose: REDIS_URL must point at the redis service (got ${redisHost})`);

  for (const [name, svc] of Object.entries(services)) {
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
    for (const d of deps)
      if (!services[d]) problem(`compose: ${name} depends on unknown service ${d}`);
    for (const vol of svc.volumes ?? []) {
      const src = typeof vol === 'string' ? vol.split(':')[0] : vol.source;
      if (src.startsWith('.') || src.startsWith('/')) {
        if (!existsSync(join(ROOT, src))) problem(`compose: ${name} mounts missing path ${src}`);
      } else if (!(src in (doc.volumes ?? {}))) {
        problem(`compose: ${name} uses undeclared volume ${src}`);
      }
    }
  }
  for (const [dep, cond] of Object.entries(
    Array.isArray(gw.depends_on) ? {} : (gw.depends_on ?? {}),
  )) {
    if (cond?.condition === 'service_healthy' && !services[dep]?.healthcheck)
      problem(`compose: gateway waits for ${dep} to be healthy but ${dep} has no healthcheck`);
  }
  const graceMs =
    Number(interpolate(env.SHUTDOWN_GRACE_MS ?? '25000')) +
    Number(interpolate(env.SHUTDOWN_DRAIN_DELAY_MS ?? '3000'));
  const stop = durationMs(gw.stop_grace_period ?? '10s');
  if (!(stop > graceMs))
    problem(
      `compose: gateway stop_grace_period (${stop} ms) must exceed drain delay + SHUTDOWN_GRACE_MS (${graceMs} ms)`,
    );

  const prom = parseYaml(read('deploy/prometheus/prometheus.yml'));
  const job = (prom.scrape_configs ?? []).find((j) => j.job_name === 'llm-gateway');
  const sd = job?.dns_sd_configs?.[0];
  const port = Number(interpolate(env.PORT ?? '8080'));
  if (!job || job.metrics_path !== '/metrics')
    problem('prometheus.yml: job llm-gateway must scrape /metrics');
  else if (
    !(sd?.names?.includes('gateway') && sd.port === port) &&
    !JSON.stringify(job).includes(`gateway:${port}`)
  )
    problem(`prometheus.yml: llm-gateway job must target the gateway service on port ${port}`);

  // For scripts/check-deploy.sh: the gateway's effective environment, checked by the real loader.
  // One dev admin key: compose's default is npm run dev's and the README walk-through's.
  const devKey = /^DEV_ADMIN_API_KEY=(\S+)$/m.exec(read('scripts/dev.sh'))?.[1];
  const readmeKey = /ADMIN=\$\{ADMIN_API_KEY:-([^}]+)\}/.exec(read('README.md'))?.[1];
  const composeKey = interpolate(env.ADMIN_API_KEY ?? '');
  if (!devKey || composeKey !== devKey || readmeKey !== devKey)
    problem(
      `compose: the dev admin key differs: compose ${composeKey}, scripts/dev.sh ${devKey}, README walk-through ${readmeKey}`,
    );

  const effective = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v)]));
  return effective;
}

/** docker-compose.yml, variables interpolated as Compose does, against the compose-spec schema. */
async function checkComposeSchema() {
  const dclint = join(TOOLS, 'node_modules/dclint');
  const schema = JSON.parse(readFileSync(join(dclint, 'schemas/compose.schema.json'), 'utf8'));
  const { default: Ajv } = await import(
    pathToFileURL(join(dclint, 'node_modules/ajv/dist/ajv.js')).href
  ).catch(() => import(pathToFileURL(join(TOOLS, 'node_modules/ajv/dist/ajv.js')).href));
  // The draft-07 meta-schema is not bundled with ajv 8: the schema itself is trusted, not validated.
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  const interpolateDeep = (v) =>
    typeof v === 'string'
      ? interpolate(v)
      : Array.isArray(v)
        ? v.map(interpolateDeep)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateDeep(x)]))
          : v;
  const doc = interpolateDeep(parseYaml(read('docker-compose.yml')));
  const validate = ajv.compile(schema);
  if (!validate(doc)) {
    for (const e of validate.errors ?? [])
      problem(`compose schema: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  }
}

function checkDockerfile() {
  const text = read('Dockerfile');
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const froms = lines.filter((l) => /^FROM\s/i.test(l));
  if (froms.length < 2) problem('Dockerfile: must be multi-stage (build and runtime)');
  const args = Object.fromEntries(
    lines.filter((l) => /^ARG\s/i.test(l)).map((l) => l.replace(/^ARG\s+/i, '').split('=')),
  );
  for (const f of froms) {
    const image = f.split(/\s+/)[1].replace(/\$\{(\w+)\}/g, (_, a) => args[a] ?? '');
    if (!/^node:20([.-]|$)/.test(image))
      problem(`Dockerfile: base image must be node:20 (got ${image})`);
  }
  if (!lines.some((l) => /^RUN\s.*npm ci\b/.test(l)))
    problem('Dockerfile: dependencies must come from `npm ci`');
  if (!lines.some((l) => /^RUN\s.*npm run build\b/.test(l)))
    problem('Dockerfile: must run `npm run build`');
  const runtime = lines.slice(lines.lastIndexOf(froms[froms.length - 1]));
  const user = runtime.filter((l) => /^USER\s/i.test(l)).pop();
  if (!user || /^USER\s+(root|0)(:|$)/i.test(user))
    problem('Dockerfile: the runtime stage must run as a non-root USER');
  if (!runtime.some((l) => /^HEALTHCHECK\s.*\/health\/live/.test(l)))
    problem('Dockerfile: HEALTHCHECK must probe /health/live');
  const cmd = runtime.find((l) => /^CMD\s/.test(l));
  if (!cmd) problem('Dockerfile: runtime stage needs a CMD');
  const start = JSON.parse(read('package.json')).scripts.start;
  const main = start.replace(/^node\s+/, '');
  if (cmd && !cmd.includes(main))
    problem(`Dockerfile: CMD must run what \`npm start\` runs (${start})`);

  const ignore = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const ignored = (p) =>
    ignore.some((pat) => {
      const re = new RegExp(
        '^' +
          pat
            .replace(/^\//, '')
            .replace(/[.+^$()|[\]]/g, '\\$&')
            .replace(/\*\*\//g, '(.*/)?')
            .replace(/\*/g, '[^/]*') +
          '(/.*)?$',
      );
      return re.test(p);
    });
  for (const l of lines.filter((x) => /^COPY\s/i.test(x) && !/--from=/.test(x))) {
    const parts = l
      .split(/\s+/)
      .slice(1)
      .filter((p) => !p.startsWith('--'));
    for (const src of parts.slice(0, -1)) {
      if (!existsSync(join(ROOT, src))) problem(`Dockerfile: COPY source ${src} does not exist`);
      else if (ignored(src)) problem(`Dockerfile: COPY source ${src} is excluded by .dockerignore`);
    }
  }
  for (const secretish of ['.env', '.git', 'node_modules', 'dist']) {
    if (!ignored(secretish)) problem(`.dockerignore: should exclude ${secretish}`);
  }
}

/** Label names of the gateway's families (some, like gen_ai_provider_name, look like metric names). */
function definedLabels() {
  const src = read('libs/observability/src/gateway-metrics.service.ts');
  const labels = new Set();
  for (const m of src.matchAll(/labelNames: \[([^\]]*)\]/g)) {
    for (const l of m[1].matchAll(/'([a-z_][a-z0-9_]*)'/g)) labels.add(l[1]);
  }
  return labels;
}

/** Metric names used in PromQL text, reduced to their family (histogram series suffixes dropped). */
function familiesIn(expr, known) {
  const out = new Set();
  const labels = definedLabels();
  for (const m of expr.matchAll(/\b((?:llm_gateway|gen_ai|process|nodejs)_[a-z0-9_]+)\b/g)) {
    let name = m[1];
    if (labels.has(name)) continue;
    if (!known.has(name)) name = name.replace(/_(bucket|count|sum)$/, '');
    out.add(name);
  }
  return out;
}

function checkMetricNames(where, exprs, { requireContract }) {
  const known = definedMetrics();
  for (const c of DOCUMENTED_METRICS)
    if (!known.has(c))
      problem(`gateway-metrics.service.ts: docs/api.md §8 family ${c} is not defined`);
  const used = new Set();
  for (const e of exprs) {
    for (const f of familiesIn(e, known)) {
      used.add(f);
      const processDefault = /^(process|nodejs)_/.test(f);
      if (!known.has(f) && !processDefault) problem(`${where}: unknown metric ${f}`);
    }
  }
  if (requireContract) {
    for (const c of DOCUMENTED_METRICS)
      if (!used.has(c)) problem(`${where}: docs/api.md §8 family ${c} is not shown`);
  }
}

function checkGrafana() {
  const ds = parseYaml(read('deploy/grafana/provisioning/datasources/prometheus.yml'));
  const prom = (ds.datasources ?? []).find((d) => d.type === 'prometheus');
  if (!prom) problem('grafana: no provisioned Prometheus datasource');
  else if (prom.url !== 'http://prometheus:9090')
    problem('grafana: datasource must point at http://prometheus:9090');
  const prov = parseYaml(read('deploy/grafana/provisioning/dashboards/llm-gateway.yml'));
  const path = prov.providers?.[0]?.options?.path;
  const compose = parseYaml(read('docker-compose.yml'));
  const mounts = (compose.services?.grafana?.volumes ?? []).map((v) => String(v).split(':'));
  const mounted = mounts.find(([, target]) => target === path);
  if (!mounted) problem(`grafana: dashboards path ${path} is not mounted in docker-compose.yml`);

  const dir = 'deploy/grafana/dashboards';
  const files = readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.json'));
  if (files.length === 0) problem('grafana: no dashboard JSON');
  for (const f of files) {
    let dash;
    try {
      dash = JSON.parse(read(`${dir}/${f}`));
    } catch (err) {
      problem(`grafana: ${f} is not valid JSON: ${err.message}`);
      continue;
    }
    if (!dash.uid || !dash.title) problem(`grafana: ${f} needs uid and title`);
    const exprs = [];
    const ids = new Set();
    for (const p of dash.panels ?? []) {
      if (ids.has(p.id)) problem(`grafana: ${f} has duplicate panel id ${p.id}`);
      ids.add(p.id);
      if (p.type === 'row') continue;
      if (!p.datasource?.uid) problem(`grafana: ${f} panel "${p.title}" has no datasource`);
      if (!p.targets?.length) problem(`grafana: ${f} panel "${p.title}" has no query`);
      for (const t of p.targets ?? []) exprs.push(t.expr ?? '');
    }
    const dsVar = (dash.templating?.list ?? []).find((v) => v.type === 'datasource');
    if (dsVar && prom && dsVar.current?.value !== prom.uid)
      problem(
        `grafana: ${f} default datasource ${dsVar.current?.value} is not the provisioned uid ${prom.uid}`,
      );
    checkMetricNames(`grafana ${f}`, exprs, { requireContract: true });
  }
}

function checkAlertNames() {
  const rules = parseYaml(read('deploy/prometheus/alerts.yml'));
  const exprs = (rules.groups ?? []).flatMap((g) => g.rules.map((r) => r.expr));
  checkMetricNames('alerts.yml', exprs, { requireContract: false });
}

async function loadModel(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const base =
    group === 'monitoring.coreos.com'
      ? join(TOOLS, 'node_modules/@kubernetes-models/prometheus-operator', group, version)
      : join(TOOLS, 'node_modules/kubernetes-models', group, version);
  const file = join(base, `${kind}.js`);
  if (!existsSync(file)) return null;
  return (await import(pathToFileURL(file).href))[kind];
}

/** Schema validation of every rendered object, then the operational rules of this chart. */
async function checkManifests(file, profile) {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS())
    .filter(Boolean);
  for (const d of docs) {
    const Model = TOOLS ? await loadModel(d.apiVersion, d.kind) : null;
    if (!Model) {
      problem(`${profile}: no schema for ${d.apiVersion} ${d.kind}`);
      continue;
    }
    try {
      new Model(d).validate();
    } catch (err) {
      problem(`${profile}: ${d.kind} ${d.metadata?.name}: ${err.message}`);
    }
  }
  const by = (kind) => docs.filter((d) => d.kind === kind);
  const [dep] = by('Deployment');
  if (!dep) return problem(`${profile}: no Deployment`);
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  if (c.livenessProbe?.httpGet?.path !== '/health/live')
    problem(`${profile}: liveness must probe /health/live`);
  if (c.readinessProbe?.httpGet?.path !== '/health/ready')
    problem(`${profile}: readiness must probe /health/ready`);
  const names = c.env.map((e) => e.name);
  for (const n of new Set(names.filter((n, i) => names.indexOf(n) !== i)))
    problem(
      `${profile}: environment variable ${n} is set twice (the chart sets it; use its value instead)`,
    );
  const env = Object.fromEntries(c.env.map((e) => [e.name, e]));
  const envVal = (n, d) => Number(env[n]?.value ?? d);
  const preStop = Number(c.lifecycle?.preStop?.exec?.command?.at(-1) ?? NaN);
  if (!Number.isFinite(preStop)) problem(`${profile}: preStop must sleep`);
  const needMs =
    envVal('SHUTDOWN_GRACE_MS', 25000) + envVal('SHUTDOWN_DRAIN_DELAY_MS', 3000) + preStop * 1000;
  if (!(pod.terminationGracePeriodSeconds * 1000 > needMs))
    problem(
      `${profile}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} s must exceed preStop + drain + SHUTDOWN_GRACE_MS (${needMs} ms)`,
    );
  if (pod.securityContext?.runAsNonRoot !== true) problem(`${profile}: pods must run as non-root`);
  for (const name of ['ADMIN_API_KEY', 'DATABASE_URL', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY']) {
    if (!env[name]?.valueFrom?.secretKeyRef) problem(`${profile}: ${name} must come from a Secret`);
  }
  if (env.GATEWAY_CONFIG) {
    const mount = c.volumeMounts.find((m) =>
      env.GATEWAY_CONFIG.value.startsWith(m.mountPath + '/'),
    );
    const vol = mount && pod.volumes.find((v) => v.name === mount.name);
    if (!vol?.configMap)
      problem(`${profile}: GATEWAY_CONFIG must be mounted from the catalog ConfigMap`);
  }
  const svc = by('Service')[0];
  if (!svc?.spec.ports.some((p) => p.targetPort === 'http'))
    problem(`${profile}: Service must target the http port`);
  // The chart's own Secret must hold every key a pod or the migration Job requires from it.
  const ownSecret = by('Secret')[0];
  if (ownSecret) {
    const has = new Set(Object.keys({ ...ownSecret.data, ...ownSecret.stringData }));
    for (const w of [...by('Deployment'), ...by('Job')]) {
      for (const ct of w.spec.template.spec.containers) {
        for (const e of ct.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref && ref.name === ownSecret.metadata.name && !ref.optional && !has.has(ref.key))
            problem(
              `${profile}: ${w.kind} ${w.metadata.name} requires ${ref.key} from Secret ${ref.name}, which lacks it`,
            );
        }
      }
    }
  }
  const job = by('Job').find((j) => j.metadata.name.endsWith('-migrate'));
  if (!job) problem(`${profile}: no migration Job`);
  else {
    const hook = job.metadata.annotations?.['helm.sh/hook'] ?? '';
    if (!hook.includes('pre-install') || !hook.includes('pre-upgrade'))
      problem(`${profile}: the migration Job must be a pre-install,pre-upgrade hook`);
    if (!job.spec.template.spec.containers[0].command.join(' ').includes('migration:run'))
      problem(`${profile}: the migration Job must run migration:run`);
  }
  if (!by('PodDisruptionBudget').length) problem(`${profile}: no PodDisruptionBudget`);
  process.stdout.write(
    JSON.stringify(
      Object.fromEntries(
        c.env.map((e) => [
          e.name,
          e.value ?? (e.valueFrom?.secretKeyRef ? `<secret:${e.name}>` : ''),
        ]),
      ),
    ) + '\n',
  );
}

/** A `terraform validate` stand-in for machines that cannot download providers: syntax and wiring. */
async function checkTerraform() {
  const { parse } = await import(
    pathToFileURL(join(TOOLS, 'node_modules/@cdktf/hcl2json/lib/index.js')).href
  );
  const dirs = new Map();
  const walk = (d) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) {
        if (f !== '.terraform') walk(p);
      } else if (f.endsWith('.tf')) {
        if (!dirs.has(d)) dirs.set(d, []);
        dirs.get(d).push(p);
      }
    }
  };
  walk(join(ROOT, 'terraform'));
  const modules = new Map();
  for (const [dir, files] of dirs) {
    const vars = new Map();
    const refs = new Set();
    const calls = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      let json;
      try {
        json = await parse(relative(ROOT, f), text);
      } catch (err) {
        problem(`terraform: ${relative(ROOT, f)}: ${String(err.message ?? err).split('\n')[0]}`);
        continue;
      }
      for (const [name, [def]] of Object.entries(json.variable ?? {})) vars.set(name, def);
      for (const [name, [def]] of Object.entries(json.module ?? {})) calls.push({ name, def });
      for (const m of text.matchAll(/\bvar\.([a-zA-Z_][a-zA-Z0-9_]*)/g)) refs.add(m[1]);
    }
    for (const r of refs)
      if (!vars.has(r)) problem(`terraform: ${relative(ROOT, dir)} uses undeclared var.${r}`);
    modules.set(dir, { vars, calls });
  }
  for (const [dir, { calls }] of modules) {
    for (const { name, def } of calls) {
      const target = resolve(dir, def.source);
      const mod = modules.get(target);
      if (!mod) {
        problem(
          `terraform: module "${name}" in ${relative(ROOT, dir)}: source ${def.source} not found`,
        );
        continue;
      }
      for (const arg of Object.keys(def)) {
        if (
          !['source', 'version', 'providers', 'depends_on', 'count', 'for_each'].includes(arg) &&
          !mod.vars.has(arg)
        )
          problem(`terraform: module "${name}" passes unknown input ${arg}`);
      }
      for (const [v, spec] of mod.vars) {
        if (!('default' in spec) && !(v in def))
          problem(`terraform: module "${name}" misses required input ${v}`);
      }
    }
  }
}

function safeUrl(s) {
  try {
    return new URL(s);
  } catch {
    return null;
  }
}

function durationMs(s) {
  const m = /^(\d+)(ms|s|m)$/.exec(String(s));
  if (!m) return NaN;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000 }[m[2]];
}

const [cmd, ...args] = process.argv.slice(2);
switch (cmd) {
  case 'compose':
    process.stdout.write(JSON.stringify(checkCompose()) + '\n');
    break;
  case 'compose-schema':
    await checkComposeSchema();
    break;
  case 'dockerfile':
    checkDockerfile();
    break;
  case 'grafana':
    checkGrafana();
    checkAlertNames();
    break;
  case 'manifests':
    await checkManifests(args[0], args[1] ?? args[0]);
    break;
  case 'terraform':
    await checkTerraform();
    break;
  default:
    problem(`unknown check "${cmd}"`);
}
for (const p of problems) process.stderr.write(`✗ ${p}\n`);
process.exit(problems.length ? 1 : 0);
