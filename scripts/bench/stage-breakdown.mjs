#!/usr/bin/env node
// The per-stage breakdown of the requests between two /metrics snapshots of a gateway run with
// METRICS_REQUEST_STAGES=true: for each stage of llm_gateway_request_stage_seconds, how many
// requests reached it, its mean (from _sum/_count: exact) and p50/p90 (interpolated in buckets,
// as PromQL's histogram_quantile does). The means add up to the time a request spends in the
// gateway from its headers to its last byte.
// usage: node stage-breakdown.mjs BEFORE.txt AFTER.txt LABEL   (LABEL names the scenario)
import fs from 'node:fs';
import { bucketQuantile } from './bucket-quantile.mjs';

const [beforeFile, afterFile, label = ''] = process.argv.slice(2);
if (!afterFile) {
  console.error('usage: stage-breakdown.mjs BEFORE.txt AFTER.txt [LABEL]');
  process.exit(1);
}
const NAME = 'llm_gateway_request_stage_seconds';
const ORDER = ['body', 'auth', 'admission', 'provider', 'record', 'respond'];

function read(file) {
  const buckets = new Map(); // stage -> Map(le -> cumulative count)
  const sums = new Map();
  const counts = new Map();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith(NAME)) continue;
    const m = /^(\w+)\{(.*)\}\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      [...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    );
    const stage = labels.stage;
    const value = Number(m[3]);
    if (m[1] === `${NAME}_bucket`) {
      if (!buckets.has(stage)) buckets.set(stage, new Map());
      buckets.get(stage).set(labels.le === '+Inf' ? Infinity : Number(labels.le), value);
    } else if (m[1] === `${NAME}_sum`) sums.set(stage, value);
    else if (m[1] === `${NAME}_count`) counts.set(stage, value);
  }
  return { buckets, sums, counts };
}

const before = read(beforeFile);
const after = read(afterFile);
const rows = [];
let total = 0;
for (const stage of ORDER) {
  const n = (after.counts.get(stage) ?? 0) - (before.counts.get(stage) ?? 0);
  if (n <= 0) continue;
  const mean = ((after.sums.get(stage) ?? 0) - (before.sums.get(stage) ?? 0)) / n;
  const counts = after.buckets.get(stage) ?? new Map();
  const les = [...counts.keys()].sort((a, b) => a - b);
  const cum = les.map((le) => counts.get(le) - (before.buckets.get(stage)?.get(le) ?? 0));
  const q = (p) => bucketQuantile(les, cum, p);
  total += mean;
  rows.push({
    scenario: label,
    stage,
    n,
    mean_ms: mean * 1000,
    p50_ms: q(0.5) * 1000,
    p90_ms: q(0.9) * 1000,
  });
}
const f = (x) => x.toFixed(3);
console.log(`stage breakdown ${label} (ms; means add up to the time in the gateway)`);
console.log('| stage | n | mean | p50 | p90 |');
console.log('|---|---|---|---|---|');
for (const r of rows)
  console.log(`| ${r.stage} | ${r.n} | ${f(r.mean_ms)} | ${f(r.p50_ms)} | ${f(r.p90_ms)} |`);
console.log(`| **sum of means** | | **${f(total * 1000)}** | | |`);
if (process.env.BREAKDOWN_OUT) {
  fs.appendFileSync(
    process.env.BREAKDOWN_OUT,
    rows.map((r) => JSON.stringify(r)).join('\n') + '\n',
  );
}
