// The mock's request log, read the way levity reads its own: paged and
// filtered for the Monitor (GET /api/requests) and summed for Overview and
// Usage (GET /api/stats).

import { HOUR, DAY } from './mock-quota.mjs';

/** The paging key of a log entry (GET /api/requests?before=). */
export const pageKey = (e) => `${String(e.time_ms).padStart(13, '0')}-${e.id}`;

function percentile(sorted, p) {
  if (!sorted.length) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * GET /api/requests: newest first, at most `limit` (default 200, up to
 * 2000), older than the paging key `before`, filtered by status ("ok" <400,
 * "error" >=400, or a code), client_key, model (requested or upstream),
 * account, since and until (Unix ms, both inclusive).
 */
export function queryRequests(requests, q) {
  const limit = Math.max(1, Math.min(2000, Number(q.get('limit')) || 200));
  const before = q.get('before') || '';
  const status = q.get('status') || '';
  const num = (k) => (q.get(k) && Number.isFinite(Number(q.get(k))) ? Number(q.get(k)) : null);
  const since = num('since');
  const until = num('until');
  const keep = (e) => {
    if (before && !(pageKey(e) < before)) return false;
    if (status === 'ok' && !(e.status < 400)) return false;
    if (status === 'error' && !(e.status >= 400)) return false;
    if (/^\d+$/.test(status) && e.status !== Number(status)) return false;
    if (q.get('client_key') && e.client_key !== q.get('client_key')) return false;
    if (q.get('model') && e.model !== q.get('model') && e.upstream_model !== q.get('model')) return false;
    if (q.get('account') && e.account !== q.get('account')) return false;
    if (since !== null && e.time_ms < since) return false;
    if (until !== null && e.time_ms > until) return false;
    return true;
  };
  const out = [];
  for (let i = requests.length - 1; i >= 0 && out.length < limit; i--) if (keep(requests[i])) out.push(requests[i]);
  return out.sort((a, b) => (pageKey(a) < pageKey(b) ? 1 : -1));
}

const utcDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const STEPS = ['day', 'hour'];
const SPLITS = { none: null, account: (r) => r.account, model: (r) => r.upstream_model, key: (r) => r.client_key || '(no key)' };

/**
 * GET /api/stats: `days` (1 to 400) of UTC days, each point a day or (the
 * last week at most) an hour, split by account, model or key; null when the
 * query names a step or a split levity does not know.
 */
export function stats(requests, q) {
  const days = Math.max(1, Math.min(400, Number(q.get('days')) || 7));
  const step = q.get('step') || 'day';
  const by = q.get('by') || 'none';
  if (!STEPS.includes(step) || !(by in SPLITS)) return null;
  const now = Date.now();
  const today0 = now - (now % DAY);
  const from = today0 - (days - 1) * DAY;
  const inRange = requests.filter((r) => r.time_ms >= from);
  const ok = (r) => r.status < 400;
  const agg = (list) => {
    const t = {
      requests: list.length,
      errors: list.filter((r) => !ok(r)).length,
      input_tokens: list.reduce((s, r) => s + r.input_tokens, 0),
      output_tokens: list.reduce((s, r) => s + r.output_tokens, 0),
      cached_tokens: list.reduce((s, r) => s + (r.cached_tokens || 0), 0),
      cost_usd: list.reduce((s, r) => s + (r.cost_usd || 0), 0),
      saved_usd: list.reduce((s, r) => s + (r.saved_usd || 0), 0),
    };
    return { ...t, cache_hit_rate: t.input_tokens ? t.cached_tokens / t.input_tokens : null };
  };
  const lat = (list) => {
    const s = list.map((r) => r.latency_ms).sort((a, b) => a - b);
    return { p50_ms: percentile(s, 50), p95_ms: percentile(s, 95) };
  };
  const group = (list, nameOf) => {
    const m = new Map();
    for (const r of list) {
      const k = nameOf(r) || '';
      if (!m.has(k)) m.set(k, []);
      m.get(k).push(r);
    }
    return [...m.entries()].map(([name, l]) => ({ name, ...agg(l) })).sort((a, b) => (a.name < b.name ? -1 : 1));
  };
  const len = step === 'day' ? DAY : HOUR;
  const count = step === 'day' ? days : Math.min(days * 24, 7 * 24);
  const last = now - (now % len);
  const series = [];
  for (let n = count - 1; n >= 0; n--) {
    const start = last - n * len;
    const list = requests.filter((r) => r.time_ms >= start && r.time_ms < start + len);
    series.push({ start_ms: start, day: utcDay(start), ...agg(list), ...lat(list), split: SPLITS[by] ? group(list, SPLITS[by]) : [] });
  }
  const todayList = requests.filter((r) => r.time_ms >= today0);
  const { cache_hit_rate: _, ...t } = agg(todayList);
  const sessions = group(inRange.filter((r) => r.session), (r) => r.session)
    .sort((a, b) => b.requests - a.requests)
    .slice(0, 20);
  return {
    today: { ...t, success_rate: t.requests ? (t.requests - t.errors) / t.requests : 1, ...lat(todayList) },
    step,
    split: by,
    series,
    by_account: group(inRange.filter((r) => r.account), (r) => r.account),
    by_model: group(inRange, (r) => r.upstream_model),
    by_key: group(inRange, SPLITS.key),
    by_session: sessions,
  };
}
