// Settings shown on the Proxy page.

export const MODES = ['cache-first', 'balance', 'performance'];

/** Numeric and text settings edited as plain fields, in display order. */
export const FIELDS = [
  { key: 'upstream_proxy', type: 'text', placeholder: 'socks5://127.0.0.1:1080' },
  { key: 'request_timeout_secs', type: 'number', min: 1, max: 86400 },
  { key: 'request_deadline_secs', type: 'number', min: 1, max: 86400 },
  { key: 'max_attempts', type: 'number', min: 1, max: 100 },
  { key: 'answer_max_mb', type: 'number', min: 1, max: 4096 },
  { key: 'queue_timeout_secs', type: 'number', min: 0, max: 3600 },
  { key: 'cache_first_wait_secs', type: 'number', min: 0, max: 3600 },
];

/** The request log's limits, on the Settings page. */
export const LOG_FIELDS = [
  { key: 'log_retention_days', type: 'number', min: 1, max: 3650 },
  { key: 'log_body_max_kb', type: 'number', min: 1, max: 102400 },
  { key: 'log_bodies_max_mb', type: 'number', min: 1, max: 1048576 },
];

/** "a|b| c" → ["a", "b", "c"]: background markers, one phrase per line in the editor. */
export function splitMarkers(value) {
  return String(value ?? '')
    .split('|')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Lines of the marker editor back to the stored `|`-separated form. */
export function joinMarkers(text) {
  return String(text ?? '')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean)
    .join('|');
}
