// Account health and quota: grouping by state, cool-down ends, what a broken
// account waits for, quota bars and rows, alerts.

export const STATES = ['active', 'cooling', 'needs-action', 'needs-reauth', 'disabled'];

/** What a marked account lacks (health.broken); each has a translated remedy. */
export const BROKEN = ['credentials', 'billing', 'region', 'permission', 'setup', 'suspended'];

/** States in which an account waits for its owner rather than for time. */
export const WAITING = ['needs-action', 'needs-reauth'];

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

/**
 * Why an account is not serving and what ends it: {state, reason, waits,
 * broken, remedy, items}. `waits` is true when only its owner can bring it
 * back (then `broken` names what is missing and `remedy` is the server's
 * English advice); `items` are the cooling blocks with their ends.
 */
export function accountStatus(a, nowMs) {
  const state = accountState(a);
  const h = a?.health || {};
  const waits = WAITING.includes(state);
  let broken = null;
  if (waits) broken = BROKEN.includes(h.broken) ? h.broken : state === 'needs-reauth' ? 'credentials' : null;
  return {
    state,
    reason: a?.reason || '',
    waits,
    broken,
    remedy: waits ? h.remedy || '' : '',
    items: state === 'disabled' ? [] : coolingItems(a, nowMs),
  };
}

/** Accounts that need a look: waiting for their owner first, then resting; disabled ones are left alone. */
export function attentionList(accounts, nowMs) {
  const rank = { 'needs-action': 0, 'needs-reauth': 1, cooling: 2 };
  return (accounts || [])
    .map((a) => ({ account: a, status: accountStatus(a, nowMs) }))
    .filter((x) => x.status.state in rank)
    .sort((x, y) => rank[x.status.state] - rank[y.status.state]);
}

/** Whether `a` cannot serve `model` now: disabled, waiting for its owner, breaker open, or resting for it or all models. */
export function restsFor(a, model, nowMs) {
  const st = accountStatus(a, nowMs);
  if (st.state === 'disabled' || st.waits) return true;
  return st.items.some((c) => c.breaker || c.model === '*' || c.model === model);
}

/**
 * The recommendation to show from GET /api/accounts/best, or null when the
 * account it names is known to rest or wait (the list is newer than the
 * answer, or the answer is wrong): a resting account is never recommended.
 */
export function shownBest(best, accounts, nowMs) {
  const id = best?.account?.id;
  if (!id) return null;
  const a = (accounts || []).find((x) => x.id === id || x.name === best.account.name);
  if (a && restsFor(a, best.model, nowMs)) return null;
  return best;
}

const clamp01 = (v) => Math.max(0, Math.min(1, v));
const count = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

/**
 * The bar for one entry of health.quota: the day's requests against rpd when
 * there is one, else this minute's requests against rpm, else tokens (this
 * minute's against tpm, or today's with no limit). `fraction` is what is left
 * of that limit, null with no limit; `left` is the tightest limit's, what the
 * scheduler routes by.
 */
export function quotaBar(q) {
  const u = q?.used || {};
  let pick;
  if (count(q?.rpd)) pick = { unit: 'requests', window: 'day', used: count(u.day_requests), limit: q.rpd, reset_ms: q.day_reset_ms };
  else if (count(q?.rpm)) pick = { unit: 'requests', window: 'minute', used: count(u.minute_requests), limit: q.rpm, reset_ms: q.minute_reset_ms };
  else if (count(q?.tpm)) pick = { unit: 'tokens', window: 'minute', used: count(u.minute_tokens), limit: q.tpm, reset_ms: q.minute_reset_ms };
  else pick = { unit: 'tokens', window: 'day', used: count(u.day_tokens), limit: 0, reset_ms: q?.day_reset_ms };
  return {
    model: String(q?.model || ''),
    ...pick,
    reset_ms: typeof pick.reset_ms === 'number' ? pick.reset_ms : null,
    fraction: pick.limit ? clamp01(1 - pick.used / pick.limit) : null,
    left: typeof q?.left === 'number' ? clamp01(q.left) : null,
    shared_with: count(q?.shared_with) > 1 ? q.shared_with : 1,
    reported: null,
  };
}

/** The i18n key describing a bar's figure ("{used} / {limit} requests today"). */
export function quotaLabelKey(bar) {
  if (bar.unit === 'tokens') return bar.limit ? 'accounts.quota.minuteTokens' : 'accounts.quota.dayTokens';
  return bar.window === 'day' ? 'accounts.quota.day' : 'accounts.quota.minute';
}

/**
 * One bar per model for an account: counted locally (health.quota, every
 * kind) and, where the upstream reports what is left (health.remaining,
 * Google sign-in), that report as `reported` ({fraction, reset_ms}); a
 * model only reported upstream gets a bar of its own.
 */
export function quotaBars(a) {
  const h = a?.health || {};
  const rem = h.remaining && typeof h.remaining === 'object' ? h.remaining : {};
  const report = (model) => {
    const r = rem[model];
    if (!r || typeof r.fraction !== 'number') return null;
    return { fraction: clamp01(r.fraction), reset_ms: typeof r.reset_ms === 'number' ? r.reset_ms : null };
  };
  const bars = [];
  const seen = new Set();
  for (const q of Array.isArray(h.quota) ? h.quota : []) {
    if (!q?.model || seen.has(q.model)) continue;
    seen.add(q.model);
    bars.push({ ...quotaBar(q), reported: report(q.model) });
  }
  for (const model of Object.keys(rem)) {
    const r = report(model);
    if (!r || seen.has(model)) continue;
    bars.push({ model, unit: 'reported', window: '', used: 0, limit: 0, reset_ms: r.reset_ms, fraction: r.fraction, left: null, shared_with: 1, reported: r });
  }
  return bars;
}

/**
 * Quota rows {id, account, model, fraction, reset_ms, enabled} for every
 * account and model with a known fraction: the upstream's report where there
 * is one, else the local count against its limit.
 */
export function quotaRows(accounts) {
  const rows = [];
  for (const a of accounts || []) {
    for (const b of quotaBars(a)) {
      const fraction = b.reported?.fraction ?? b.fraction;
      if (typeof fraction !== 'number') continue;
      rows.push({
        id: a.id,
        account: a.name,
        model: b.model,
        fraction,
        reset_ms: b.reported ? b.reported.reset_ms : b.reset_ms,
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
