// Quota as levity counts it for the mock: tier limits, the quota day
// (midnight Pacific for Google's kinds, UTC for the rest) and health.quota,
// where the keys of one project share one budget.

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** Local midnight of the day holding `ms` (the days of the usage charts). */
export function startOfDay(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Default limits per tier (levity's default_limits): rpm, rpd, tpm; 0 = no limit. */
export const TIER_LIMITS = {
  free: [10, 250, 250_000],
  pro: [120, 1_500, 2_000_000],
  ultra: [240, 4_000, 4_000_000],
  paid: [1_000, 0, 0],
};

/** Pacific time minus UTC at `utcMs`, in ms (Google's quota day). */
function pacificOffset(utcMs) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/Los_Angeles',
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(utcMs));
  const g = (type) => Number(parts.find((x) => x.type === type).value);
  return Date.UTC(g('year'), g('month') - 1, g('day'), g('hour'), g('minute'), g('second')) - Math.floor(utcMs / 1000) * 1000;
}

/** The start of the quota day holding `now`: midnight Pacific for Google's kinds, UTC for the rest. */
export function quotaDayStart(kind, now) {
  if (kind !== 'gemini' && kind !== 'google-oauth') return now - (now % DAY);
  const off = pacificOffset(now);
  const local = now + off;
  return local - (local % DAY) - off;
}

/** When the quota day holding `now` ends (a local day lasts 23 to 25 hours). */
export function quotaDayEnd(kind, now) {
  return quotaDayStart(kind, quotaDayStart(kind, now) + 26 * HOUR);
}

/**
 * The accounts spending one quota with `a` (levity's scheduler::budget): keys
 * of one kind grouped under one project. A Google sign-in's project is Code
 * Assist's, whose quota is the user's own: it shares nothing.
 */
export function budget(a, accounts) {
  if (a.kind === 'google-oauth' || !a.project) return [a];
  return accounts.filter((x) => x.kind === a.kind && x.project === a.project);
}

export function limits(tier, settings) {
  const set = settings[`tier_limits.${tier}`];
  const [rpm, rpd, tpm] = set ? set.split('/').map(Number) : TIER_LIMITS[tier] || TIER_LIMITS.paid;
  return { rpm, rpd, tpm };
}

/** health.quota: every model the account's budget used today, against its tier's limits. */
export function quota(a, { accounts, settings }, now) {
  const members = budget(a, accounts);
  const day0 = quotaDayStart(a.kind, now);
  const minute0 = now - (now % 60_000);
  const used = members.flatMap((m) => m.usage).filter((u) => u.time_ms >= day0 && u.time_ms <= now);
  const { rpm, rpd, tpm } = limits(a.tier, settings);
  return [...new Set(used.map((u) => u.model))].sort().map((model) => {
    const mine = used.filter((u) => u.model === model);
    const minute = mine.filter((u) => u.time_ms >= minute0);
    const u = {
      minute_requests: minute.length,
      minute_tokens: minute.reduce((s, x) => s + x.tokens, 0),
      day_requests: mine.length,
      day_tokens: mine.reduce((s, x) => s + x.tokens, 0),
    };
    let left = 1;
    for (const [n, l] of [[u.minute_requests, rpm], [u.minute_tokens, tpm], [u.day_requests, rpd]]) {
      if (l > 0) left = Math.min(left, 1 - Math.min(1, n / l));
    }
    return {
      model,
      used: u,
      rpm,
      tpm,
      rpd,
      minute_reset_ms: minute0 + 60_000,
      day_reset_ms: quotaDayEnd(a.kind, now),
      left: Number(left.toFixed(4)),
      shared_with: members.length,
    };
  });
}
