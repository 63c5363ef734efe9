// Formatting helpers: plain functions, no DOM, so vitest can cover them.

/** How long the server has run, from seconds: formatDuration's words ("3 d 4 h"). */
export function formatUptime(secs, lang = 'en') {
  if (typeof secs !== 'number' || !Number.isFinite(secs) || secs < 0) return '—';
  return formatDuration(secs * 1000, lang);
}

export function formatTime(date) {
  return date ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '';
}

const num = (v) => typeof v === 'number' && Number.isFinite(v);

/** A latency or other duration in milliseconds: "850 ms", "1.2 s", "2m 03s", "1h 05m". */
export function formatMs(ms) {
  if (!num(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const DURATION_UNITS = {
  en: { d: ' d', h: ' h', min: ' min', s: ' s' },
  zh: { d: ' 天', h: ' 小时', min: ' 分钟', s: ' 秒' },
};

/**
 * A span of time in words, its two largest units, rounded down: "2 h 5 min",
 * "1 d 3 h", "14 min 37 s", "45 s" (zh "2 小时 5 分钟", "14 分钟 37 秒").
 * Never "14:37", which reads as a time of day. Seconds show under an hour,
 * where a countdown ticks by them. "—" when unknown or negative.
 */
export function formatDuration(ms, lang = 'en') {
  if (!num(ms) || ms < 0) return '—';
  const u = DURATION_UNITS[lang] || DURATION_UNITS.en;
  const s = Math.ceil(ms / 1000);
  const parts = [
    [Math.floor(s / 86400), u.d],
    [Math.floor((s % 86400) / 3600), u.h],
    [Math.floor((s % 3600) / 60), u.min],
    [s < 3600 ? s % 60 : 0, u.s],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return `0${u.s}`;
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}

/** Time left until `untilMs` in words (formatDuration); null once it has passed or is unknown. */
export function formatIn(untilMs, nowMs, lang = 'en') {
  if (!num(untilMs) || !num(nowMs) || untilMs <= nowMs) return null;
  return formatDuration(untilMs - nowMs, lang);
}

/** Token counts: 950, 12.3k, 4.5M, 1.2B. */
export function formatTokens(n) {
  if (!num(n)) return '—';
  const a = Math.abs(n);
  const unit = (div, suffix) => {
    const v = n / div;
    return `${Math.abs(v) < 10 ? v.toFixed(1).replace(/\.0$/, '') : Math.round(v)}${suffix}`;
  };
  if (a < 1000) return String(Math.round(n));
  if (a < 999_500) return unit(1e3, 'k');
  if (a < 999_500_000) return unit(1e6, 'M');
  return unit(1e9, 'B');
}

/** US dollars: "$12.34", small sums to four significant digits ("$0.001234"); "—" when unknown. */
export function formatUsd(v) {
  if (!num(v)) return '—';
  if (v === 0) return '$0';
  return v >= 0.01 ? `$${v.toFixed(2)}` : `$${Number(v.toPrecision(4))}`;
}

/** A 0..1 fraction as a percentage: "42%"; "—" when unknown. */
export function formatPercent(fraction, digits = 0) {
  if (!num(fraction)) return '—';
  return `${(Math.max(0, Math.min(1, fraction)) * 100).toFixed(digits)}%`;
}

/** Grouped integer: 12,345 (en) / 12,345 (zh). */
export function formatCount(n, lang = 'en') {
  if (!num(n)) return '—';
  return new Intl.NumberFormat(lang === 'zh' ? 'zh-CN' : 'en-US').format(n);
}

/** "5 minutes ago" / "5分钟前"; "—" for 0 or unknown. */
export function formatRelative(ms, nowMs, lang = 'en') {
  if (!num(ms) || ms <= 0 || !num(nowMs)) return '—';
  const rtf = new Intl.RelativeTimeFormat(lang === 'zh' ? 'zh-CN' : 'en', { numeric: 'auto' });
  const diff = Math.round((ms - nowMs) / 1000);
  const a = Math.abs(diff);
  if (a < 60) return rtf.format(diff, 'second');
  if (a < 3600) return rtf.format(Math.round(diff / 60), 'minute');
  if (a < 86400) return rtf.format(Math.round(diff / 3600), 'hour');
  return rtf.format(Math.round(diff / 86400), 'day');
}

/** Local date and time of a millisecond timestamp. */
export function formatDateTime(ms, lang = 'en') {
  if (!num(ms) || ms <= 0) return '—';
  return new Date(ms).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** Local clock time with milliseconds dropped: "14:03:07". */
export function formatClock(ms) {
  if (!num(ms) || ms <= 0) return '—';
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((v) => String(v).padStart(2, '0')).join(':');
}

/** "14:00" for an hour bucket. */
export function formatHour(ms) {
  if (!num(ms)) return '';
  return `${String(new Date(ms).getHours()).padStart(2, '0')}:00`;
}

/**
 * The address a client should use. A wildcard bind (0.0.0.0 / [::]) is not
 * connectable, so substitute the host this page was loaded from.
 */
export function connectHost(listen, loc = globalThis.location) {
  const fallbackHost = loc?.host || '127.0.0.1:8045';
  if (!listen) return fallbackHost;
  const m = /^(\[[^\]]*\]|[^:]+):(\d+)$/.exec(listen);
  if (!m) return listen;
  const [, host, port] = m;
  if (host === '0.0.0.0' || host === '[::]' || host === '[::0]') {
    const h = loc?.hostname || '127.0.0.1';
    return `${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`;
  }
  return listen;
}

/** Whether a listen address is loopback only. */
export function isLoopback(listen) {
  if (!listen) return true;
  const host = listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Map an account state to a badge tone. */
export function stateTone(state) {
  const s = String(state || '').toLowerCase();
  if (s === 'active' || s === 'ok' || s === 'ready') return 'ok';
  if (s === 'disabled') return 'muted';
  if (/(error|invalid|revoked|unauthori[sz]ed|forbidden|failed|dead|reauth|action)/.test(s)) return 'bad';
  return 'warn';
}

/**
 * Where the browser should go after the server moved to `listen`
 * (`host:port`), from the page at `loc`. `token` is true when the new
 * address is another machine-facing one, where the admin token is needed
 * and this browser's saved token (kept per address) does not follow.
 */
export function movedUrl(listen, loc = globalThis.location) {
  const m = /^(\[[^\]]*\]|[^:]+):(\d+)$/.exec(String(listen || ''));
  if (!m) return null;
  const [, host, port] = m;
  const path = `${loc?.pathname || '/'}${loc?.search || ''}`;
  const here = loc?.hostname || '127.0.0.1';
  const unspecified = host === '0.0.0.0' || host === '[::]' || host === '[::0]';
  // Wherever this page came from still reaches a server listening everywhere.
  if (unspecified || (isLoopback(listen) && isLoopback(`${here}:1`))) {
    return { url: `${loc?.protocol || 'http:'}//${connectHost(listen, loc)}${path}`, token: false };
  }
  return { url: `http://${host}:${port}${path}`, token: !isLoopback(listen) };
}

/**
 * A message split at its `backticks`: [{ text, code }], code spans (commands,
 * setting names) marked so they can be shown as code in any language.
 */
export function codeSpans(text) {
  return String(text ?? '')
    .split('`')
    .map((part, i) => ({ text: part, code: i % 2 === 1 }))
    .filter((p) => p.text);
}
