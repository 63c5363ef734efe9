// Failed API calls said in the user's language. The admin API answers every
// failure with {error: {message, type, code}}: the message is English, the
// code one of a short list. Where the code (and the call it answers) says
// all there is to say, the dashboard says it in its own words; otherwise a
// translated lead-in for the code, or the HTTP status, comes before the
// server's own message.

/** Codes with a lead-in of their own (`error.<code>`); the server's message follows. */
export const LEAD_CODES = ['invalid_request', 'authentication', 'permission_denied', 'not_found', 'conflict', 'rate_limited', 'upstream', 'unavailable', 'internal'];

/** Codes whose sentence (`error.<code>`) says everything: the server's message adds nothing. */
export const WHOLE_CODES = ['unreachable', 'timeout', 'bad_response', 'admin_token_required', 'admin_bad_host', 'admin_loopback_only', 'cross_site'];

/**
 * Codes that mean one thing for one call, each said whole: `error.<context>.<code>`.
 * route: resolving a model to accounts (the route tester, the recommendation);
 * oauth: starting a Google sign-in, refused only for want of an OAuth client.
 */
export const CONTEXT_CODES = {
  route: ['not_found', 'unavailable'],
  oauth: ['invalid_request'],
};

/**
 * How to say the failure `e` (an ApiError, or anything thrown): an i18n key,
 * its parameters and the server's words to show after it ('' when the key
 * says it all). `context` names the call (a key of CONTEXT_CODES); `params`
 * fills the context's sentence (the route's {model}).
 * @returns {{ key: string, params?: Record<string, unknown>, detail: string }}
 */
export function describeError(e, context = '', params = {}) {
  const code = String(e?.code || '');
  const status = Number(e?.status) || 0;
  const message = String(e?.message || '');
  if (context && CONTEXT_CODES[context]?.includes(code)) return { key: `error.${context}.${code}`, params, detail: '' };
  if (WHOLE_CODES.includes(code)) return { key: `error.${code}`, detail: '' };
  if (LEAD_CODES.includes(code)) return { key: `error.${code}`, detail: message };
  // An answer without a problem body (a proxy in between, a crash): its status is all there is.
  if (code === 'http_status') return { key: status >= 500 ? 'error.server' : 'error.refused', params: { status }, detail: '' };
  if (status >= 500) return { key: 'error.server', params: { status }, detail: message };
  if (status >= 400) return { key: 'error.refused', params: { status }, detail: message };
  return { key: 'error.unknown', detail: message };
}

/** The text of `describeError`'s answer, with `translate(key, params)` in the user's language. */
export function errorMessage(e, translate, context = '', params = {}) {
  const d = describeError(e, context, params);
  const lead = translate(d.key, d.params);
  return d.detail ? translate('error.withDetail', { lead, detail: d.detail }) : lead;
}
