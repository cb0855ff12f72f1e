// The deploy checks that need a running gateway, run by scripts/check-deploy.sh:
//   1. the Dockerfile's steps replayed without Docker: its build-stage COPYs (filtered by
//      .dockerignore) into a scratch folder, its RUN steps, its runtime-stage COPYs; then, as the
//      image's USER (uid 1000 for `node`), the compiled migrations from dist, the CMD, and the
//      HEALTHCHECK command against that gateway (and again once it has stopped: it must fail);
//   2. every Grafana dashboard query evaluated by promtool over two scrapes of that gateway's
//      /metrics, taken around real traffic (completions, a cache hit, a rate limit, a budget
//      rejection, a provider failure with fallback).
// Prints one line per step: "ran …" or "skipped … because …"; problems as "✗ …"; exit 1 on any.
//   node scripts/check-deploy-live.mjs <promtool>
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { stringify as toYaml } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PROMTOOL = process.argv[2];
const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The image's runtime user: `node` is uid/gid 1000 in the official Node images. */
const IMAGE_USERS = { node: 1000, 1000: 1000 };

const problems = [];
const ran = (msg) => console.log(`   ran      ${msg}`);
const skipped = (msg) => console.log(`   skipped  ${msg}`);
const problem = (msg) => {
  problems.push(msg);
  console.log(`   ✗ ${msg}`);
};

// ---------------------------------------------------------------------------------- Dockerfile

/** Instructions of the Dockerfile, continuation lines joined, comments dropped, per stage. */
function parseDockerfile() {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args = {};
  const stages = [];
  for (const line of lines) {
    const [, op, rest] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!op) continue;
    const inst = { op: op.toUpperCase(), rest };
    if (inst.op === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      args[k] = v;
      continue;
    }
    if (inst.op === 'FROM') {
      const [, image, name] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest);
      stages.push({
        image: image.replace(/\$\{(\w+)\}/g, (_, a) => args[a] ?? ''),
        name,
        steps: [],
      });
      continue;
    }
    stages.at(-1)?.steps.push(inst);
  }
  return stages;
}

/** .dockerignore as Docker reads it (the patterns this repository uses: `**`, `*`, plain paths). */
function dockerignore() {
  const pats = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(
      (pat) =>
        new RegExp(
          '^' +
            pat
              .replace(/^\//, '')
              .replace(/[.+^$()|[\]]/g, '\\$&')
              .replace(/\*\*\//g, '(.*/)?')
              .replace(/\*/g, '[^/]*') +
            '(/.*)?$',
        ),
    );
  return (rel) => pats.some((re) => re.test(rel));
}

function copyArgs(rest) {
  const parts = rest.split(/\s+/);
  const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
  const paths = parts.filter((p) => !p.startsWith('--'));
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1) };
}

/** COPY src… dest relative to WORKDIR, like Docker: a folder's contents go into dest/. */
function replayCopy(srcRoot, sources, destDir, filter = () => true) {
  for (const src of sources) {
    const from = join(srcRoot, src);
    if (!existsSync(from)) {
      problem(`Dockerfile: COPY source ${src} does not exist`);
      continue;
    }
    const to = sources.length > 1 || destDir.endsWith('/') ? join(destDir, src) : destDir;
    cpSync(from, to, {
      recursive: true,
      dereference: false,
      filter: (f) => filter(f.slice(srcRoot.length + 1)),
    });
  }
}

function sh(cmd, cwd, env = {}) {
  const r = spawnSync('bash', ['-c', cmd], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (r.status !== 0)
    problem(
      `\`${cmd}\` failed (${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`,
    );
  return r.status === 0;
}

/**
 * Replays the build stage in <work>/build and assembles the runtime stage in <work>/app.
 * Returns what the runtime stage declares (ENV, USER, CMD, HEALTHCHECK).
 */
function replayImage(work) {
  const stages = parseDockerfile();
  if (stages.length < 2) return (problem('Dockerfile: expected a build and a runtime stage'), null);
  const ignored = dockerignore();
  const inContext = (rel) => rel === '' || !ignored(rel);
  const dirs = {};
  const runtime = { env: {}, user: 'root', cmd: null, healthcheck: null };
  for (const [i, stage] of stages.entries()) {
    const isRuntime = i === stages.length - 1;
    const dir = join(work, isRuntime ? 'app' : (stage.name ?? `stage${i}`));
    mkdirSync(dir, { recursive: true });
    if (stage.name) dirs[stage.name] = dir;
    for (const { op, rest } of stage.steps) {
      if (op === 'COPY') {
        const { from, sources, dest } = copyArgs(rest);
        const destDir = dest === './' || dest === '.' ? `${dir}/` : join(dir, dest);
        if (from) {
          if (sources.includes('/app/node_modules')) {
            // The build stage's node_modules came from `npm ci` (not replayed): link the repo's.
            symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
            continue;
          }
          replayCopy(
            dirs[from],
            sources.map((s) => s.replace(/^\/app\//, '')),
            destDir,
          );
        } else {
          replayCopy(ROOT, sources, destDir, inContext);
        }
      } else if (op === 'RUN') {
        for (const cmd of rest.split('&&').map((c) => c.trim())) {
          if (/^npm ci\b/.test(cmd)) {
            skipped(
              `\`${cmd}\` (a fresh install needs the registry and minutes): the repo's node_modules, installed from the same package-lock.json, stands in`,
            );
            symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
          } else if (/^npm prune\b/.test(cmd)) {
            skipped(
              `\`${cmd}\`: it would prune the shared node_modules; dev-only packages stay visible to the replayed image`,
            );
          } else if (/^npm cache clean\b/.test(cmd)) {
            skipped(`\`${cmd}\`: only shrinks the image`);
          } else if (/^chown\b/.test(cmd)) {
            // The image's users do not exist on this host: own by their uid/gid instead.
            const mapped = cmd.replace(/\b(\w+):(\w+)\b/, (whole, u, g) =>
              IMAGE_USERS[u] !== undefined && IMAGE_USERS[g] !== undefined
                ? `${IMAGE_USERS[u]}:${IMAGE_USERS[g]}`
                : whole,
            );
            if (sh(mapped, dir, { CI: 'true' }))
              ran(`RUN \`${cmd}\` as \`${mapped}\` (the image's user by its uid)`);
          } else {
            if (sh(cmd, dir, { CI: 'true' })) ran(`RUN \`${cmd}\` in the replayed build stage`);
          }
        }
      } else if (op === 'ENV' && isRuntime) {
        for (const m of rest.matchAll(/(\w+)=(\S+)/g)) runtime.env[m[1]] = m[2];
      } else if (op === 'USER' && isRuntime) {
        runtime.user = rest.trim();
      } else if (op === 'CMD' && isRuntime) {
        runtime.cmd = JSON.parse(rest);
      } else if (op === 'HEALTHCHECK' && isRuntime) {
        const m = /CMD\s+(\[.*\])\s*$/.exec(rest);
        runtime.healthcheck = m ? JSON.parse(m[1]) : null;
      }
    }
  }
  if (!runtime.cmd) problem('Dockerfile: the runtime stage has no exec-form CMD');
  if (!runtime.healthcheck)
    problem('Dockerfile: the runtime stage has no exec-form HEALTHCHECK CMD');
  const uid = IMAGE_USERS[runtime.user];
  if (uid === undefined || uid === 0)
    problem(`Dockerfile: runtime USER ${runtime.user} is root or unknown`);
  runtime.uid = uid ?? 0;
  runtime.dir = join(work, 'app');
  return runtime;
}

/** Runs argv as the image's user inside the replayed /app. */
function asImageUser(runtime, argv, env) {
  const cmd =
    process.getuid?.() === 0 && runtime.uid !== 0
      ? ['setpriv', `--reuid=${runtime.uid}`, `--regid=${runtime.uid}`, '--clear-groups', ...argv]
      : argv;
  return spawn(cmd[0], cmd.slice(1), {
    cwd: runtime.dir,
    env: { PATH: process.env.PATH, HOME: '/tmp', ...runtime.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finished(child) {
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((res) => child.once('exit', (code) => res({ code, out })));
}

// ---------------------------------------------------------------------------- running gateway

const freePort = () =>
  new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

async function admin(sql) {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function api(base, method, path, key, body) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/**
 * Stand-in providers: `openai` is healthy by its health check but fails every completion (500),
 * so gpt-4 falls back to `anthropic`, which answers in the Messages format.
 */
function fakeProviders() {
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url.endsWith('/models')) return res.end(JSON.stringify({ object: 'list', data: [] }));
      if (req.url.startsWith('/openai/')) {
        res.statusCode = 500;
        return res.end(JSON.stringify({ error: { message: 'down for the deploy check' } }));
      }
      const model = JSON.parse(body || '{}').model ?? 'claude';
      res.end(
        JSON.stringify({
          id: 'msg_deploycheck',
          type: 'message',
          role: 'assistant',
          model,
          content: [{ type: 'text', text: 'fallback answer' }],
          stop_reason: 'end_turn',
          usage: { input_tokens: 12, output_tokens: 3 },
        }),
      );
    });
  });
  return new Promise((res) =>
    server.listen(0, '127.0.0.1', () => res({ server, port: server.address().port })),
  );
}

/** Traffic that makes most families have series: each kind of outcome the dashboard shows. */
async function traffic(base, adminKey, round) {
  const tenant = (
    await api(base, 'POST', '/api/v1/admin/tenants', adminKey, {
      name: `deploy-check-${round}`,
      rate_limit: 4,
      monthly_budget: 100,
    })
  ).body;
  const ask = (model, text, key = tenant.api_key) =>
    api(base, 'POST', '/api/v1/completions', key, {
      model,
      messages: [{ role: 'user', content: text }],
      max_tokens: 20,
    });
  await ask('mock', `hello ${round}`); // miss
  await ask('mock', `hello ${round}`); // hit
  // openai fails (500): an upstream error, a fallback to anthropic, which answers.
  await ask('gpt-4', `fallback ${round}`);
  await ask('o3', `openai only ${round}`); // no fallback: an upstream error
  // A limit of 4 a minute: one of these two is rate limited (whether or not hits count).
  await ask('mock', `limit a ${round}`);
  await ask('mock', `limit b ${round}`);
  const poor = (
    await api(base, 'POST', '/api/v1/admin/tenants', adminKey, {
      name: `deploy-check-poor-${round}`,
      rate_limit: 100,
      monthly_budget: 0,
    })
  ).body;
  await ask('mock', `no budget ${round}`, poor.api_key); // budget rejected
}

/** Prometheus exposition → { 'name{labels}': value } with the labels a scrape adds. */
function parseScrape(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const inner = m[2] ? m[2].slice(1, -1) : '';
    const labels = [inner, 'instance="gateway:8080"', 'job="llm-gateway"']
      .filter(Boolean)
      .join(',');
    out.set(`${m[1]}{${labels}}`, m[3]);
  }
  return out;
}

/** Families allowed to have no series after the traffic above, and why. */
const MAY_BE_EMPTY = {
  llm_gateway_budget_alerts_total: 'needs a tenant alert webhook crossing a threshold',
};

/**
 * One promtool unit test over the two scrapes: each dashboard query must evaluate; one whose
 * families all have series must return data (absent(q) is empty).
 */
function promtoolTest(dashboards, s1, s2) {
  const series = [...new Set([...s1.keys(), ...s2.keys()])].map((k) => ({
    series: k,
    values: `${s1.get(k) ?? '_'} ${s2.get(k) ?? '_'}`,
  }));
  const families = new Set(
    [...s2.keys()].map((k) => k.replace(/\{.*$/, '').replace(/_(bucket|sum|count)$/, '')),
  );
  const tests = [];
  const notes = [];
  for (const { file, expr } of dashboards) {
    const q = expr
      .replaceAll('$__rate_interval', '2m')
      .replaceAll('$__range', '1h')
      .replace(/\$(instance|tenant)\b/g, '.*');
    const used = [
      ...q.matchAll(/\b((?:llm_gateway|gen_ai|process|nodejs)_[a-z0-9_]+)\s*[{[(]/g),
    ].map((m) => m[1].replace(/_(bucket|sum|count)$/, ''));
    const missing = used.filter((f) => !families.has(f));
    const excused = missing.filter((f) => MAY_BE_EMPTY[f]);
    if (missing.length > 0 && excused.length === missing.length) {
      notes.push(`${excused.join(', ')} (${excused.map((f) => MAY_BE_EMPTY[f]).join('; ')})`);
      tests.push({
        expr: `(count(${q}) * 0) or vector(0)`,
        eval_time: '1m',
        exp_samples: [{ labels: '{}', value: 0 }],
        file,
      });
    } else {
      tests.push({ expr: `absent(${q})`, eval_time: '1m', exp_samples: [], file });
    }
  }
  return { series, tests, notes };
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'llmgw-image-'));
  // The replayed image must be readable by its unprivileged user, as Docker's layers are.
  chmodSync(work, 0o755);
  const db = `llmgw_deploycheck_${Math.random().toString(16).slice(2, 10)}`;
  let gateway = null;
  let fake = null;
  try {
    console.log('== image: the Dockerfile replayed without Docker');
    const runtime = replayImage(work);
    if (!runtime || problems.length) return;
    chmodSync(work, 0o755);
    execFileSync('chmod', ['-R', 'a+rX', work]);
    await admin(`CREATE DATABASE "${db}"`);
    const databaseUrl = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${db}`);
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      REDIS_KEY_PREFIX: `deploycheck${Math.random().toString(16).slice(2, 8)}:`,
      ADMIN_API_KEY: 'deploy-check-admin-key-0123456789abcdef',
      OPENAI_API_KEY: 'sk-deploy-check',
      ANTHROPIC_API_KEY: 'sk-ant-deploy-check',
      LOG_LEVEL: 'warn',
    };

    // Migrations as the image documents them: the compiled CLI, no TypeScript toolchain.
    const migrate = await finished(
      asImageUser(
        runtime,
        [
          'node',
          'node_modules/typeorm/cli.js',
          '-d',
          'dist/apps/gateway/src/data-source.js',
          'migration:run',
        ],
        env,
      ),
    );
    if (migrate.code !== 0)
      return problem(`compiled migrations failed: ${migrate.out.slice(-400)}`);
    ran(
      `compiled migrations from dist as uid ${runtime.uid} (node node_modules/typeorm/cli.js -d dist/…/data-source.js migration:run)`,
    );

    const port = await freePort();
    const providers = await fakeProviders();
    fake = providers.server;
    gateway = asImageUser(runtime, runtime.cmd, {
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      OPENAI_BASE_URL: `http://127.0.0.1:${providers.port}/openai/v1`,
      ANTHROPIC_BASE_URL: `http://127.0.0.1:${providers.port}/anthropic`,
    });
    const exited = finished(gateway);
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (gateway.exitCode !== null)
        return problem(`CMD ${runtime.cmd.join(' ')} exited: ${(await exited).out.slice(-600)}`);
      if (Date.now() > deadline)
        return problem('the gateway did not answer /health/live within 60 s');
      if (
        await fetch(`${base}/health/live`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const uidOf = readFileSync(`/proc/${gateway.pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1];
    if (Number(uidOf) === 0 && runtime.uid !== 0) problem('the gateway runs as root');
    ran(`CMD ${JSON.stringify(runtime.cmd)} as uid ${uidOf}, answering on ${base}`);

    const health = await finished(
      asImageUser(runtime, runtime.healthcheck, { PORT: String(port) }),
    );
    if (health.code !== 0) problem(`HEALTHCHECK failed against the running gateway: ${health.out}`);
    else ran('HEALTHCHECK command against the running gateway: exit 0');

    console.log("== Grafana dashboard queries, evaluated by promtool over this gateway's /metrics");
    await traffic(base, env.ADMIN_API_KEY, 1);
    const scrape1 = parseScrape(await (await fetch(`${base}/metrics`)).text());
    await traffic(base, env.ADMIN_API_KEY, 2);
    const scrape2 = parseScrape(await (await fetch(`${base}/metrics`)).text());
    ran(`two scrapes of ${base}/metrics around real traffic: ${scrape2.size} series`);

    const dashboards = [];
    const dir = join(ROOT, 'deploy/grafana/dashboards');
    for (const f of execFileSync('ls', [dir], { encoding: 'utf8' })
      .split('\n')
      .filter((x) => x.endsWith('.json'))) {
      const dash = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      for (const p of dash.panels ?? [])
        for (const t of p.targets ?? []) if (t.expr) dashboards.push({ file: f, expr: t.expr });
    }
    const { series, tests, notes } = promtoolTest(dashboards, scrape1, scrape2);
    const testFile = join(work, 'dashboard.test.yml');
    writeFileSync(
      testFile,
      toYaml({
        rule_files: [],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: series,
            promql_expr_test: tests.map(({ file: _f, ...t }) => t),
          },
        ],
      }),
    );
    const r = spawnSync(PROMTOOL, ['test', 'rules', testFile], { encoding: 'utf8' });
    if (r.status !== 0) {
      problem(
        `promtool test rules: some dashboard queries returned no data or failed:\n${(
          r.stdout + r.stderr
        )
          .split('\n')
          .filter((l) => /expr:|error|FAILED|absent/.test(l))
          .slice(0, 30)
          .join('\n')}`,
      );
    } else {
      ran(
        `promtool test rules: all ${tests.length} dashboard queries evaluate; ${tests.length - notes.length} return data`,
      );
      for (const n of notes) skipped(`requiring data from ${n}`);
    }

    gateway.kill('SIGTERM');
    const stop = await exited;
    gateway = null;
    if (stop.code !== 0) problem(`SIGTERM: the gateway exited ${stop.code}, not 0`);
    else ran('SIGTERM: the gateway drained and exited 0');
    const after = await finished(asImageUser(runtime, runtime.healthcheck, { PORT: String(port) }));
    if (after.code === 0) problem('HEALTHCHECK still passes with the gateway stopped');
    else ran(`HEALTHCHECK command with the gateway stopped: exit ${after.code} (it can fail)`);
  } finally {
    if (gateway) gateway.kill('SIGKILL');
    fake?.close();
    await admin(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

await main().catch((err) => problem(`unexpected: ${err.stack ?? err}`));
process.exit(problems.length ? 1 : 0);
