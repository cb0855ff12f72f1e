// The p-quantile of a Prometheus histogram's buckets, interpolated within the bucket the way
// PromQL's histogram_quantile does. `les` are the upper bounds in ascending order (the last may be
// Infinity) and `cum` the cumulative counts at each; the result is in the unit of `les`.
export function bucketQuantile(les, cum, p) {
  const total = cum[cum.length - 1];
  const rank = p * total;
  for (let i = 0; i < les.length; i++) {
    if (cum[i] < rank) continue;
    if (les[i] === Infinity) return les[i - 1];
    const lower = i === 0 ? 0 : les[i - 1];
    const below = i === 0 ? 0 : cum[i - 1];
    const inBucket = cum[i] - below;
    return lower + (les[i] - lower) * (inBucket ? (rank - below) / inBucket : 0);
  }
  return NaN;
}
