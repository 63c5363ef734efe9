// The mock's request log, read the way levity reads its own: paged and
// filtered for the Monitor (GET /api/requests) and summed for Overview and
// Usage (GET /api/stats).

import { HOUR, DAY, startOfDay } from './mock-quota.mjs';

/** The paging key of a log entry (GET /api/requests?before=). */
export const pageKey = (e) => `${String(e.time_ms).padStart(13, '0')}-${e.id}`;

function percentile(sorted, p) {
  if (!sorted.length) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function localDay(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
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

/** GET /api/stats over the last `days` local days (today included). */
export function stats(requests, days) {
  const now = Date.now();
  const today0 = startOfDay(now);
  const from = today0 - (days - 1) * DAY;
  const inRange = requests.filter((r) => r.time_ms >= from);
  const ok = (r) => r.status < 400;
  const agg = (list) => ({
    requests: list.length,
    errors: list.filter((r) => !ok(r)).length,
    input_tokens: list.reduce((s, r) => s + r.input_tokens, 0),
    output_tokens: list.reduce((s, r) => s + r.output_tokens, 0),
    cached_tokens: list.reduce((s, r) => s + (r.cached_tokens || 0), 0),
    cost_usd: list.reduce((s, r) => s + (r.cost_usd || 0), 0),
    saved_usd: list.reduce((s, r) => s + (r.saved_usd || 0), 0),
  });
  const lat = (list) => {
    const s = list.map((r) => r.latency_ms).sort((a, b) => a - b);
    return { p50_ms: percentile(s, 50), p95_ms: percentile(s, 95) };
  };
  const todayList = requests.filter((r) => r.time_ms >= today0);
  const t = agg(todayList);
  const byDay = [];
  for (let d = from; d <= today0; d += DAY) {
    const list = inRange.filter((r) => r.time_ms >= d && r.time_ms < d + DAY);
    byDay.push({ day: localDay(d), ...agg(list) });
  }
  const hours = [];
  for (let h = today0; h <= now; h += HOUR) {
    const list = todayList.filter((r) => r.time_ms >= h && r.time_ms < h + HOUR);
    hours.push({ hour_ms: h, requests: list.length, ...lat(list) });
  }
  const group = (field) => {
    const m = new Map();
    for (const r of inRange) {
      const k = r[field] || '';
      if (!m.has(k)) m.set(k, []);
      m.get(k).push(r);
    }
    return [...m.entries()].map(([name, list]) => ({ name, ...agg(list) })).sort((a, b) => b.requests - a.requests);
  };
  return {
    today: { ...t, success_rate: t.requests ? (t.requests - t.errors) / t.requests : 1, ...lat(todayList) },
    days: byDay,
    hours,
    by_account: group('account'),
    by_model: group('model'),
    by_key: group('client_key'),
  };
}
