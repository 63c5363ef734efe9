// Client key limits: the form's text fields to the body POST /api/keys and
// PATCH /api/keys/{id} take, and a key's limits in a few words.

export const PERIODS = ['day', 'week', 'month'];

/**
 * Limits from the form ({rpm, rpd, tpm, budget, period, models, expires},
 * all text): {limits} or {error: i18nKey}. Empty fields are no limit.
 */
export function limitsBody(form) {
  const limits = {};
  for (const k of ['rpm', 'rpd', 'tpm']) {
    const v = String(form[k] ?? '').trim();
    if (!v) continue;
    if (!/^\d+$/.test(v)) return { error: 'proxy.keys.err.whole' };
    limits[k] = Number(v);
  }
  const budget = String(form.budget ?? '').trim();
  if (budget) {
    const n = Number(budget);
    if (!Number.isFinite(n) || n < 0) return { error: 'proxy.keys.err.budget' };
    limits.budget_usd = n;
    if (PERIODS.includes(form.period)) limits.period = form.period;
  }
  const models = String(form.models ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (models.length) limits.models = models;
  const expires = String(form.expires ?? '').trim();
  if (expires) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(expires)) return { error: 'proxy.keys.err.expires' };
    limits.expires = expires;
  }
  return { limits };
}

/** "2 req/min · $5.00/month · gemini-2.5-*" ; '' when the key has none. */
export function describeLimits(l = {}) {
  const parts = [];
  if (l.rpm != null) parts.push(`${l.rpm} req/min`);
  if (l.rpd != null) parts.push(`${l.rpd} req/day`);
  if (l.tpm != null) parts.push(`${l.tpm} tok/min`);
  if (l.budget_usd != null) parts.push(`$${Number(l.budget_usd).toFixed(2)}/${l.period || 'month'}`);
  if (l.models?.length) parts.push(l.models.join(', '));
  if (l.expires) parts.push(`≤ ${l.expires}`);
  return parts.join(' · ');
}
