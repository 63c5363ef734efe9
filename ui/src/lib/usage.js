// The Usage page's reading of GET /api/stats: what each metric is, the chart
// series for a metric split by account, model or key (the busiest few named,
// the rest as "other"), and the long-format CSV.

/** How long each point is, and what it may be split by (GET /api/stats `step`, `by`). */
export const STEPS = ['day', 'hour'];
export const SPLITS = ['none', 'account', 'model', 'key'];

/** Cached input over all input; null without input. */
export const cacheHitRate = (t) => (t?.input_tokens ? (t.cached_tokens || 0) / t.input_tokens : null);

/**
 * What the chart can show. A `ratio` is drawn as lines (a share does not
 * stack); the others as stacked bars.
 */
export const METRICS = [
  { id: 'requests', label: 'usage.requests', of: (t) => t?.requests || 0 },
  { id: 'tokens', label: 'usage.tokens', of: (t) => (t?.input_tokens || 0) + (t?.output_tokens || 0) },
  { id: 'cost', label: 'usage.cost', of: (t) => t?.cost_usd || 0 },
  { id: 'saved', label: 'usage.saved', of: (t) => t?.saved_usd || 0 },
  { id: 'cache', label: 'usage.cacheRate', of: cacheHitRate, ratio: true },
];

export const metricOf = (id) => METRICS.find((m) => m.id === id) ?? METRICS[0];

/** Names drawn on their own; the rest are summed as "other". */
export const SHOWN = 6;

function add(sum, t) {
  for (const k of ['requests', 'errors', 'input_tokens', 'output_tokens', 'cached_tokens', 'cost_usd', 'saved_usd']) {
    sum[k] = (sum[k] || 0) + (t?.[k] || 0);
  }
  return sum;
}

/**
 * Chart series for `metric` over `points` (GET /api/stats `series`): one
 * for the whole when nothing is split, else one per busiest name (ranked by
 * the metric over the range; by input tokens for a ratio) and one "other".
 * @param {Array<any>} points
 * @param {string} metricId
 * @param {{ whole: string, other: string }} names
 */
export function chartSeries(points, metricId, names) {
  const m = metricOf(metricId);
  const type = m.ratio ? 'line' : 'bar';
  const value = (t) => {
    const v = m.of(t);
    return m.ratio ? v : v || 0;
  };
  const split = points.some((p) => p.split?.length);
  if (!split) return [{ label: names.whole, type, tone: 's1', values: points.map(value) }];
  const whole = new Map();
  for (const p of points) for (const n of p.split) whole.set(n.name, add(whole.get(n.name) ?? {}, n));
  const rank = (t) => (m.ratio ? t.input_tokens || 0 : m.of(t) || 0);
  const order = [...whole.entries()].sort((a, b) => rank(b[1]) - rank(a[1]) || (a[0] < b[0] ? -1 : 1)).map(([n]) => n);
  const shown = order.slice(0, SHOWN);
  const rest = new Set(order.slice(SHOWN));
  const series = shown.map((name, i) => ({
    label: name,
    type,
    tone: `s${i + 1}`,
    values: points.map((p) => {
      const t = p.split.find((n) => n.name === name);
      return t ? value(t) : m.ratio ? null : 0;
    }),
  }));
  if (rest.size) {
    series.push({
      label: names.other,
      type,
      tone: 'other',
      values: points.map((p) => value(p.split.filter((n) => rest.has(n.name)).reduce(add, {}))),
    });
  }
  return series;
}

/** A point's label on the chart: "12-06" for a day, "12-06 14:00" (local) for an hour. */
export function pointLabel(p, step) {
  if (step !== 'hour') return String(p.day).slice(5);
  const d = new Date(p.start_ms);
  const two = (n) => String(n).padStart(2, '0');
  return `${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:00`;
}

export const CSV_COLUMNS = [
  'period',
  'name',
  'requests',
  'errors',
  'input_tokens',
  'output_tokens',
  'cached_tokens',
  'cache_hit_rate',
  'cost_usd',
  'saved_usd',
].map((key) => ({ key }));

/**
 * One CSV row per point, or per point and name when split: the period is
 * the UTC day, or the hour as an ISO 8601 UTC time.
 */
export function csvRows(points, step) {
  const rows = [];
  for (const p of points) {
    const period = step === 'hour' ? new Date(p.start_ms).toISOString().slice(0, 16) + 'Z' : p.day;
    const parts = p.split?.length ? p.split : [{ ...p, name: '' }];
    for (const t of parts) rows.push({ ...t, period, cache_hit_rate: cacheHitRate(t) });
  }
  return rows;
}
