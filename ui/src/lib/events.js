// Server-sent events from /api/events. EventSource when no admin token is
// needed; EventSource cannot send headers, so with a token the same stream is
// read with fetch (still one long-lived response, never polling).

import { TOKEN_HEADER } from './api.js';

/**
 * Incremental text/event-stream parser. Feed it chunks; it returns the
 * complete events seen so far as {event, data, id}.
 */
export function createSseParser() {
  let buf = '';
  let event = '';
  let data = [];
  let id = '';
  return function feed(chunk) {
    buf += chunk;
    const out = [];
    let nl;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      const len = buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1;
      // A lone \r at the very end may be half of \r\n: wait for more.
      if (buf[nl] === '\r' && nl + 1 === buf.length) break;
      buf = buf.slice(nl + len);
      if (line === '') {
        if (data.length) out.push({ event: event || 'message', data: data.join('\n'), id });
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    return out;
  };
}

/**
 * Connects to the event stream. Handlers: onEvent(name, parsedData),
 * onState('connecting' | 'open' | 'closed'). Returns a function that closes it.
 */
export function connectEvents({ url = '/api/events', token = '', onEvent, onState = () => {} }) {
  const dispatch = (name, raw) => {
    let value;
    try {
      value = JSON.parse(raw);
    } catch {
      return;
    }
    onEvent(name, value);
  };

  if (!token && typeof EventSource !== 'undefined') {
    onState('connecting');
    const es = new EventSource(url);
    es.onopen = () => onState('open');
    es.onerror = () => onState(es.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
    for (const name of ['request', 'accounts']) es.addEventListener(name, (e) => dispatch(name, e.data));
    return () => es.close();
  }

  let stopped = false;
  let ctl;
  let retry;
  const run = async () => {
    if (stopped) return;
    onState('connecting');
    ctl = new AbortController();
    try {
      const res = await fetch(url, {
        headers: { Accept: 'text/event-stream', [TOKEN_HEADER]: token },
        cache: 'no-store',
        signal: ctl.signal,
      });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState('open');
      const feed = createSseParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const ev of feed(value)) dispatch(ev.event, ev.data);
      }
    } catch {
      // fall through to the retry below
    }
    if (!stopped) {
      onState('connecting');
      retry = setTimeout(run, 3000);
    }
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(retry);
    ctl?.abort();
    onState('closed');
  };
}
