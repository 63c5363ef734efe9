// Tiny same-origin API client for the levity admin API.

export const TOKEN_KEY = 'levity.adminToken';
export const TOKEN_HEADER = 'X-Levity-Admin-Token';
/** Sent with every state-changing call (a page on another origin cannot set it without CORS). */
export const CHANGE_HEADER = 'X-Levity-Admin';
const TIMEOUT_MS = 8000;
const SLOW_TIMEOUT_MS = 30000;

// The token lives in session storage: it goes with the tab, never to disk
// for other pages or profiles to read, and `levity open` hands a new one over.
export function loadToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function saveToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage unavailable (private mode, disabled): token lives for this page only.
  }
}

/**
 * A token handed over in the address (`#token=...`, from `levity open`, the
 * address `levity serve` prints, or the dashboard moving the server):
 * saved for this tab, then removed from the address bar. Fragments never
 * reach the server, so the token is in no request line and no log.
 */
export function adoptTokenFromHash(loc = globalThis.location, history = globalThis.history) {
  const m = /^#token=([0-9a-f]+)$/.exec(loc?.hash || '');
  if (!m) return '';
  saveToken(m[1]);
  history?.replaceState?.(null, '', `${loc.pathname}${loc.search}`);
  return m[1];
}

let currentToken = adoptTokenFromHash() || loadToken();
let authListener = () => {};

/** The admin token sent from now on. */
export function setApiToken(token) {
  currentToken = token || '';
}

export function getApiToken() {
  return currentToken;
}

/** Called whenever the API asks for the admin token. */
export function onAuthRequired(fn) {
  authListener = fn;
}

/**
 * Error from the API or the network. `status` is 0 when the server was
 * unreachable; `code` is the problem's (`not_found`, ...) or the client's
 * own (`unreachable`, `timeout`, `bad_response`, `http_status`): errors.js
 * says each in the user's language.
 */
export class ApiError extends Error {
  constructor(message, { status = 0, code = '', type = '' } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.type = type;
  }

  get unreachable() {
    return this.status === 0 || this.status === 502 || this.status === 504;
  }

  get needsAdminToken() {
    return this.status === 401 && /^admin_token/.test(this.code);
  }
}

/** Headers for an admin call. */
export function adminHeaders(method = 'GET', token = currentToken) {
  const headers = { Accept: 'application/json' };
  if (token) headers[TOKEN_HEADER] = token;
  if (method !== 'GET' && method !== 'HEAD') {
    headers[CHANGE_HEADER] = '1';
    headers['Content-Type'] = 'application/json';
  }
  return headers;
}

/**
 * Calls the API and returns the parsed JSON body (null for an empty one).
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, token?: string, signal?: AbortSignal, timeout?: number }} [opts]
 */
export async function request(method, path, { body, token = currentToken, signal, timeout } = {}) {
  const ctl = new AbortController();
  const ms = timeout ?? (method === 'GET' ? TIMEOUT_MS : SLOW_TIMEOUT_MS);
  const timer = setTimeout(() => ctl.abort(new DOMException('timeout', 'TimeoutError')), ms);
  const onAbort = () => ctl.abort(signal.reason);
  signal?.addEventListener('abort', onAbort, { once: true });

  let res;
  try {
    res = await fetch(path, {
      method,
      headers: adminHeaders(method, token),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctl.signal,
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    const timedOut = ctl.signal.reason?.name === 'TimeoutError';
    throw new ApiError(timedOut ? 'Request timed out' : 'Server unreachable', { code: timedOut ? 'timeout' : 'unreachable' });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }

  let data = null;
  let text = '';
  try {
    text = await res.text();
  } catch {
    text = '';
  }
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }

  if (!res.ok) {
    const err = data && typeof data === 'object' ? data.error : null;
    // Without a problem body (a proxy in between, a crash) the status is all there is.
    const e = new ApiError(err?.message || `HTTP ${res.status} ${res.statusText}`.trim(), {
      status: res.status,
      code: err ? err.code || '' : 'http_status',
      type: err?.type || '',
    });
    if (e.needsAdminToken) authListener(e);
    throw e;
  }
  if (data === undefined) {
    throw new ApiError('The server sent a response that is not JSON', { status: res.status, code: 'bad_response' });
  }
  return data;
}

/** GET a JSON API path (kept for the status page's callers). */
export function getJson(path, opts = {}) {
  return request('GET', path, opts);
}

export const api = {
  get: (path, opts) => request('GET', path, opts),
  post: (path, body, opts) => request('POST', path, { ...opts, body }),
  put: (path, body, opts) => request('PUT', path, { ...opts, body }),
  patch: (path, body, opts) => request('PATCH', path, { ...opts, body }),
  del: (path, opts) => request('DELETE', path, opts),
};

/** `/api/accounts/ID` with the id escaped. */
export const accountPath = (id, rest = '') => `/api/accounts/${encodeURIComponent(id)}${rest}`;
