// Tiny same-origin API client for the levity admin API.

export const TOKEN_KEY = 'levity.adminToken';
export const TOKEN_HEADER = 'X-Levity-Admin-Token';
const TIMEOUT_MS = 4000;

export function loadToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function saveToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage unavailable (private mode, disabled): token lives for this page only.
  }
}

/** Error from the API or the network. `status` is 0 when the server was unreachable. */
export class ApiError extends Error {
  constructor(message, { status = 0, code = '', type = '' } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.type = type;
  }

  get unreachable() {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }

  get needsAdminToken() {
    return this.status === 401 && /^admin_token/.test(this.code);
  }
}

/**
 * GET a JSON API path. Sends the stored admin token (if any) on every request.
 * @param {string} path
 * @param {{ token?: string, signal?: AbortSignal }} [opts]
 */
export async function getJson(path, { token = '', signal } = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new DOMException('timeout', 'TimeoutError')), TIMEOUT_MS);
  const onAbort = () => ctl.abort(signal.reason);
  signal?.addEventListener('abort', onAbort, { once: true });

  const headers = { Accept: 'application/json' };
  if (token) headers[TOKEN_HEADER] = token;

  let res;
  try {
    res = await fetch(path, { headers, signal: ctl.signal, cache: 'no-store', credentials: 'same-origin' });
  } catch (e) {
    if (signal?.aborted) throw e;
    const timedOut = ctl.signal.reason?.name === 'TimeoutError';
    throw new ApiError(timedOut ? 'Request timed out' : 'Server unreachable');
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }

  let body = null;
  const text = await res.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }

  if (!res.ok) {
    const err = body && typeof body === 'object' ? body.error : null;
    throw new ApiError(err?.message || `HTTP ${res.status} ${res.statusText}`.trim(), {
      status: res.status,
      code: err?.code || '',
      type: err?.type || '',
    });
  }
  if (body === null) {
    throw new ApiError('The server sent a response that is not JSON', { status: res.status, code: 'bad_response' });
  }
  return body;
}
