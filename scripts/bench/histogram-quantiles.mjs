#!/usr/bin/env node
// Quantiles of a Prometheus histogram between two /metrics snapshots (what happened in between),
// interpolated within buckets the way PromQL's histogram_quantile does.
// usage: node histogram-quantiles.mjs BEFORE.txt AFTER.txt METRIC_NAME [LABEL]
//   prints one line per value of LABEL: count, p50, p90, p99 (ms)
import fs from 'node:fs';
import { bucketQuantile } from './bucket-quantile.mjs';

const [beforeFile, afterFile, name, label] = process.argv.slice(2);
if (!afterFile || !name) {
  console.error('usage: histogram-quantiles.mjs BEFORE.txt AFTER.txt METRIC_NAME [LABEL]');
  process.exit(1);
}

/** { groupValue: Map<le, cumulativeCount> } from the `_bucket` lines of one snapshot. */
function buckets(file) {
  const out = new Map();
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const m = /\{(.*)\}\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      [...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    );
    const group = label ? (labels[label] ?? '') : '';
    const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
    if (!out.has(group)) out.set(group, new Map());
    out.get(group).set(le, Number(m[2]));
  }
  return out;
}

const before = buckets(beforeFile);
const after = buckets(afterFile);
for (const [group, counts] of after) {
  const les = [...counts.keys()].sort((a, b) => a - b);
  const cum = les.map((le) => counts.get(le) - (before.get(group)?.get(le) ?? 0));
  const total = cum[cum.length - 1];
  if (!total) continue;
  const q = (p) => bucketQuantile(les, cum, p);
  const ms = (s) => (s * 1000).toFixed(3);
  console.log(
    `${name}${label ? `{${label}="${group}"}` : ''}: n=${total} p50=${ms(q(0.5))} ms p90=${ms(q(0.9))} ms p99=${ms(q(0.99))} ms`,
  );
}
