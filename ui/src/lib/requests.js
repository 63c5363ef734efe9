// The request log: merging live entries, filtering and sorting.

export const LOG_CAP = 1000;

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
