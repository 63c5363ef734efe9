// The request log: server queries and paging, merging live entries,
// filtering and sorting.

export const LOG_CAP = 1000;

/** Entries asked for per page (the server's default; it allows up to 2000). */
export const PAGE_SIZE = 200;

/** Status choices of the filter besides a typed code: every, below 400, 400 and up. */
export const STATUS_CLASSES = ['all', 'ok', 'error'];
/** Codes offered in the status filter (499: the client went away). */
export const STATUS_CODES = ['400', '401', '403', '404', '429', '499', '500', '502', '503', '504'];

/** How an attempt ended (attempt_log[].class). */
export const ATTEMPT_CLASSES = ['ok', 'client', 'account', 'quota', 'transient', 'model', 'cancelled'];

/** Time ranges of the filter; "custom" takes the from/to inputs. */
export const RANGES = ['all', '1h', '24h', '7d', 'custom'];
const RANGE_MS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };

/** The paging key of an entry: entries strictly older than it come after it (`before`). */
export function pageKey(e) {
  return `${String(Math.max(0, Math.floor(e?.time_ms ?? 0))).padStart(13, '0')}-${e?.id ?? ''}`;
}

/** The paging key of the oldest entry in a list, or '' for an empty one. */
export function oldestKey(list) {
  let min = '';
  for (const e of list || []) {
    const k = pageKey(e);
    if (!min || k < min) min = k;
  }
  return min;
}

/** A value typed in a datetime-local input as Unix ms, or null. */
export function localInputMs(value) {
  if (!value) return null;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/**
 * The server-side filter of the Monitor's form: {status, client_key, model,
 * account, since, until}, empty parts dropped. Relative ranges count back
 * from `nowMs`; a custom one reads the from/to inputs.
 */
export function serverFilter(form = {}, nowMs = Date.now()) {
  const f = {};
  const status = String(form.status ?? '').trim();
  if (status && status !== 'all') f.status = status;
  for (const k of ['client_key', 'model', 'account']) {
    const v = String(form[k] ?? '').trim();
    if (v) f[k] = v;
  }
  if (RANGE_MS[form.range]) f.since = nowMs - RANGE_MS[form.range];
  if (form.range === 'custom') {
    const since = localInputMs(form.from);
    const until = localInputMs(form.to);
    if (since !== null) f.since = since;
    if (until !== null) f.until = until;
  }
  return f;
}

/** The query string of GET /api/requests for a filter, a page size and a paging key. */
export function requestsQuery(filter = {}, { limit = PAGE_SIZE, before = '' } = {}) {
  const p = new URLSearchParams();
  p.set('limit', String(limit));
  if (before) p.set('before', before);
  for (const k of ['status', 'client_key', 'model', 'account']) {
    const v = filter[k];
    if (v !== undefined && v !== null && v !== '' && !(k === 'status' && v === 'all')) p.set(k, String(v));
  }
  for (const k of ['since', 'until']) {
    if (typeof filter[k] === 'number' && Number.isFinite(filter[k])) p.set(k, String(Math.floor(filter[k])));
  }
  return p.toString();
}

/** Whether a status matches the status filter: "ok" (<400), "error" (>=400) or an exact code. */
export function statusMatches(status, want) {
  if (!want || want === 'all') return true;
  const s = Number(status) || 0;
  if (want === 'ok') return s > 0 && s < 400;
  if (want === 'error') return s >= 400;
  return String(s) === String(want).trim();
}

/** The server's filter applied to one entry (for live entries arriving over the event stream). */
export function matchesFilter(e, f = {}) {
  if (!e) return false;
  if (!statusMatches(e.status, f.status)) return false;
  if (f.client_key && e.client_key !== f.client_key) return false;
  if (f.model && e.model !== f.model && e.upstream_model !== f.model) return false;
  if (f.account && e.account !== f.account) return false;
  if (typeof f.since === 'number' && (e.time_ms ?? 0) < f.since) return false;
  if (typeof f.until === 'number' && (e.time_ms ?? 0) > f.until) return false;
  return true;
}

/** Whether a request ended well. */
export function isOk(e) {
  return typeof e?.status === 'number' && e.status > 0 && e.status < 400 && !e.error;
}

/** Merges entries into a log: one row per id (later wins), newest first, at most `cap`. */
export function mergeRequests(existing, incoming, cap = LOG_CAP) {
  const byId = new Map();
  for (const e of existing || []) if (e && e.id != null) byId.set(e.id, e);
  for (const e of incoming || []) if (e && e.id != null) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => (b.time_ms || 0) - (a.time_ms || 0)).slice(0, cap);
}

/**
 * Filters: status "all" | "ok" | "error"; model matches the requested or the
 * upstream model; account matches exactly. Empty means any.
 */
export function filterRequests(list, { status = 'all', model = '', account = '', text = '' } = {}) {
  const q = text.trim().toLowerCase();
  return (list || []).filter((e) => {
    if (status === 'ok' && !isOk(e)) return false;
    if (status === 'error' && isOk(e)) return false;
    if (model && e.model !== model && e.upstream_model !== model) return false;
    if (account && e.account !== account) return false;
    if (q) {
      const hay = [e.id, e.model, e.upstream_model, e.account, e.protocol, e.why, e.client_key, e.error]
        .filter(Boolean)
        .join(' ')
        .toLowerCase();
      if (!hay.includes(q)) return false;
    }
    return true;
  });
}

const sortValue = {
  time: (e) => e.time_ms ?? 0,
  latency: (e) => e.latency_ms ?? -1,
  ttft: (e) => e.ttft_ms ?? -1,
  tokens: (e) => (e.input_tokens ?? 0) + (e.output_tokens ?? 0),
  status: (e) => e.status ?? 0,
  attempts: (e) => e.attempts ?? 0,
  model: (e) => e.model || '',
  account: (e) => e.account || '',
};

export const SORT_KEYS = Object.keys(sortValue);

/** A sorted copy; ties keep newest first. */
export function sortRequests(list, key = 'time', dir = 'desc') {
  const f = sortValue[key] || sortValue.time;
  const sign = dir === 'asc' ? 1 : -1;
  return [...(list || [])].sort((a, b) => {
    const x = f(a);
    const y = f(b);
    const c = typeof x === 'string' ? x.localeCompare(y) : x - y;
    return c * sign || (b.time_ms || 0) - (a.time_ms || 0);
  });
}

/** Sorted distinct non-empty values of `field` (models also count upstream names). */
export function distinct(list, field) {
  const set = new Set();
  for (const e of list || []) {
    if (e?.[field]) set.add(e[field]);
    if (field === 'model' && e?.upstream_model) set.add(e.upstream_model);
  }
  return [...set].sort();
}

/**
 * A logged body for reading: JSON pretty-printed, an event stream one event
 * per block with each `data:` JSON left on one line, anything else as is.
 * Bodies may have been cut at the size cap; a cut JSON body shows raw.
 */
export function formatBody(text) {
  const s = String(text ?? '');
  const trimmed = s.trim();
  if (!trimmed) return '';
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.stringify(JSON.parse(trimmed), null, 2);
    } catch {
      return s;
    }
  }
  return s.replace(/\r\n/g, '\n');
}
