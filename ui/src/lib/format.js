export function formatUptime(secs) {
  if (typeof secs !== 'number' || !Number.isFinite(secs) || secs < 0) return '—';
  const s = Math.floor(secs);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

export function formatTime(date) {
  return date ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '';
}

/**
 * The address a client should use. A wildcard bind (0.0.0.0 / [::]) is not
 * connectable, so substitute the host this page was loaded from.
 */
export function connectHost(listen) {
  if (!listen) return location.host || '127.0.0.1:8045';
  const m = /^(\[[^\]]*\]|[^:]+):(\d+)$/.exec(listen);
  if (!m) return listen;
  const [, host, port] = m;
  if (host === '0.0.0.0' || host === '[::]' || host === '[::0]') {
    const h = location.hostname || '127.0.0.1';
    return `${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`;
  }
  return listen;
}

/** Map an account state to a badge tone. */
export function stateTone(state) {
  const s = String(state || '').toLowerCase();
  if (s === 'active' || s === 'ok' || s === 'ready') return 'ok';
  if (/(error|invalid|revoked|unauthori[sz]ed|forbidden|failed|dead)/.test(s)) return 'bad';
  return 'warn';
}
