// Account health and quota: grouping by state, cool-down ends, quota rows and alerts.

export const STATES = ['active', 'cooling', 'needs-reauth', 'disabled'];

/** An account's state, tolerating a missing field. */
export function accountState(a) {
  if (a && STATES.includes(a.state)) return a.state;
  return a?.enabled === false ? 'disabled' : 'active';
}

/** Accounts grouped by state, every state present (possibly empty). */
export function groupByState(accounts) {
  const out = Object.fromEntries(STATES.map((s) => [s, []]));
  for (const a of accounts || []) out[accountState(a)].push(a);
  return out;
}

/**
 * What keeps an account cooling, each with its end: the circuit breaker and
 * every per-model cool-down still in the future. Soonest first.
 */
export function coolingItems(a, nowMs) {
  const h = a?.health || {};
  const items = [];
  if (typeof h.breaker_open_until_ms === 'number' && h.breaker_open_until_ms > nowMs) {
    items.push({ model: '', until_ms: h.breaker_open_until_ms, reason: a.reason || '', breaker: true });
  }
  for (const c of h.cooling || []) {
    if (typeof c?.until_ms === 'number' && c.until_ms > nowMs) {
      items.push({ model: c.model || '', until_ms: c.until_ms, reason: c.reason || '', breaker: false });
    }
  }
  return items.sort((x, y) => x.until_ms - y.until_ms);
}

/** When a cooling account can serve again (its latest block), or null. */
export function coolingEnd(a, nowMs) {
  const items = coolingItems(a, nowMs);
  return items.length ? Math.max(...items.map((i) => i.until_ms)) : null;
}

/** Quota rows {id, account, model, fraction, reset_ms, enabled} for every account and model. */
export function quotaRows(accounts) {
  const rows = [];
  for (const a of accounts || []) {
    const rem = a?.health?.remaining;
    if (!rem || typeof rem !== 'object') continue;
    for (const [model, q] of Object.entries(rem)) {
      if (!q || typeof q.fraction !== 'number') continue;
      rows.push({
        id: a.id,
        account: a.name,
        model,
        fraction: Math.max(0, Math.min(1, q.fraction)),
        reset_ms: typeof q.reset_ms === 'number' ? q.reset_ms : null,
        enabled: a.enabled !== false,
      });
    }
  }
  return rows;
}

/** Parses a threshold percentage typed by the user; null if it is not 0..100. */
export function parseThreshold(value) {
  const s = String(value ?? '').trim().replace(/%$/, '');
  if (!/^\d+(\.\d+)?$/.test(s)) return null;
  const n = Number(s);
  return n >= 0 && n <= 100 ? n : null;
}

/** Quota rows of enabled accounts under `thresholdPct` percent, lowest first. */
export function quotaAlerts(accounts, thresholdPct) {
  if (typeof thresholdPct !== 'number' || !(thresholdPct > 0)) return [];
  const limit = thresholdPct / 100;
  return quotaRows(accounts)
    .filter((r) => r.enabled && r.fraction < limit)
    .sort((x, y) => x.fraction - y.fraction || x.account.localeCompare(y.account));
}

/** Identity of an alert, to notify only once per account and model. */
export const alertKey = (r) => `${r.id}\u0000${r.model}`;

/** Alerts in `current` that were not in `seen` (a Set of alert keys). */
export function newAlerts(current, seen) {
  return current.filter((r) => !seen.has(alertKey(r)));
}
