import { describe, it, expect } from 'vitest';
import {
  mergeRequests, filterRequests, sortRequests, distinct, isOk, formatBody,
  pageKey, oldestKey, serverFilter, requestsQuery, statusMatches, matchesFilter, localInputMs,
} from '../src/lib/requests.js';

const e = (id, over = {}) => ({
  id,
  time_ms: 1000 + Number(id.replace(/\D/g, '')) * 10,
  protocol: 'openai',
  model: 'gemini-2.5-flash',
  upstream_model: 'gemini-2.5-flash',
  account: 'a',
  status: 200,
  latency_ms: 100,
  ttft_ms: null,
  input_tokens: 10,
  output_tokens: 5,
  attempts: 1,
  why: 'first',
  background: false,
  stream: false,
  client_key: null,
  error: null,
  ...over,
});

const log = [
  e('r1'),
  e('r2', { status: 429, error: 'quota', account: 'b', latency_ms: 900 }),
  e('r3', { model: 'gpt-4o', upstream_model: 'gemini-2.5-flash', latency_ms: 50, input_tokens: 500 }),
  e('r4', { model: 'claude-x', upstream_model: 'gemini-2.5-pro', account: 'b', client_key: 'laptop', ttft_ms: 20 }),
];

describe('isOk', () => {
  it('treats 4xx/5xx, a missing status and an error message as failures', () => {
    expect(isOk(e('x'))).toBe(true);
    expect(isOk(e('x', { status: 500 }))).toBe(false);
    expect(isOk(e('x', { status: 0 }))).toBe(false);
    expect(isOk(e('x', { error: 'boom' }))).toBe(false);
  });
});

describe('mergeRequests', () => {
  it('keeps newest first, one row per id, the later copy winning', () => {
    const merged = mergeRequests([log[0], log[1]], [log[2], { ...log[0], status: 500 }]);
    expect(merged.map((r) => r.id)).toEqual(['r3', 'r2', 'r1']);
    expect(merged.find((r) => r.id === 'r1').status).toBe(500);
  });
  it('caps the log', () => {
    expect(mergeRequests(log, [], 2).map((r) => r.id)).toEqual(['r4', 'r3']);
  });
  it('ignores junk', () => {
    expect(mergeRequests(null, [null, {}, e('r9')])).toHaveLength(1);
  });
});

describe('filterRequests', () => {
  it('by status', () => {
    expect(filterRequests(log, { status: 'ok' }).map((r) => r.id)).toEqual(['r1', 'r3', 'r4']);
    expect(filterRequests(log, { status: 'error' }).map((r) => r.id)).toEqual(['r2']);
    expect(filterRequests(log, { status: 'all' })).toHaveLength(4);
  });
  it('by model: requested or upstream name', () => {
    expect(filterRequests(log, { model: 'gpt-4o' }).map((r) => r.id)).toEqual(['r3']);
    expect(filterRequests(log, { model: 'gemini-2.5-pro' }).map((r) => r.id)).toEqual(['r4']);
    expect(filterRequests(log, { model: 'gemini-2.5-flash' }).map((r) => r.id)).toEqual(['r1', 'r2', 'r3']);
  });
  it('by account, combined with status', () => {
    expect(filterRequests(log, { account: 'b' }).map((r) => r.id)).toEqual(['r2', 'r4']);
    expect(filterRequests(log, { account: 'b', status: 'ok' }).map((r) => r.id)).toEqual(['r4']);
  });
  it('by free text over several fields', () => {
    expect(filterRequests(log, { text: 'LAPTOP' }).map((r) => r.id)).toEqual(['r4']);
    expect(filterRequests(log, { text: 'quota' }).map((r) => r.id)).toEqual(['r2']);
  });
});

describe('sortRequests', () => {
  it('defaults to newest first', () => {
    expect(sortRequests(log).map((r) => r.id)).toEqual(['r4', 'r3', 'r2', 'r1']);
  });
  it('by latency both ways, ties newest first', () => {
    expect(sortRequests(log, 'latency', 'desc').map((r) => r.id)).toEqual(['r2', 'r4', 'r1', 'r3']);
    expect(sortRequests(log, 'latency', 'asc').map((r) => r.id)).toEqual(['r3', 'r4', 'r1', 'r2']);
  });
  it('by tokens and by model name', () => {
    expect(sortRequests(log, 'tokens').map((r) => r.id)[0]).toBe('r3');
    expect(sortRequests(log, 'model', 'asc').map((r) => r.model)).toEqual(['claude-x', 'gemini-2.5-flash', 'gemini-2.5-flash', 'gpt-4o']);
  });
  it('puts a missing TTFT last when sorting descending', () => {
    expect(sortRequests(log, 'ttft').map((r) => r.id)[0]).toBe('r4');
  });
  it('does not mutate its input', () => {
    const copy = [...log];
    sortRequests(log, 'latency');
    expect(log).toEqual(copy);
  });
});

describe('distinct', () => {
  it('lists models including upstream names, sorted', () => {
    expect(distinct(log, 'model')).toEqual(['claude-x', 'gemini-2.5-flash', 'gemini-2.5-pro', 'gpt-4o']);
    expect(distinct(log, 'account')).toEqual(['a', 'b']);
  });
});

describe('formatBody', () => {
  it('pretty-prints JSON, keeps streams and cut bodies as they are', () => {
    expect(formatBody('{"a":1,"b":[true]}')).toBe('{\n  "a": 1,\n  "b": [\n    true\n  ]\n}');
    expect(formatBody('{"a":1,"b":[tr')).toBe('{"a":1,"b":[tr');
    expect(formatBody('data: {"x":1}\r\n\r\ndata: [DONE]\r\n\r\n')).toBe('data: {"x":1}\n\ndata: [DONE]\n\n');
    expect(formatBody('')).toBe('');
    expect(formatBody(null)).toBe('');
    expect(formatBody('  [1,2] ')).toBe('[\n  1,\n  2\n]');
  });
});

describe('paging key', () => {
  it('is the zero-padded time and the id, so keys sort as entries do', () => {
    expect(pageKey({ id: 'req_1', time_ms: 1_700_000_000_123 })).toBe('1700000000123-req_1');
    expect(pageKey({ id: 'x', time_ms: 42 })).toBe('0000000000042-x');
    expect(pageKey({ id: 'b', time_ms: 5 }) > pageKey({ id: 'a', time_ms: 5 })).toBe(true);
    expect(pageKey({ id: 'a', time_ms: 10 }) > pageKey({ id: 'z', time_ms: 9 })).toBe(true);
  });
  it('oldestKey picks the smallest key; empty for none', () => {
    expect(oldestKey([{ id: 'b', time_ms: 30 }, { id: 'a', time_ms: 10 }, { id: 'c', time_ms: 10 }])).toBe('0000000000010-a');
    expect(oldestKey([])).toBe('');
  });
});

describe('filters → query', () => {
  const now = 1_700_000_000_000;
  const cases = [
    ['nothing chosen', { status: 'all', model: '', range: 'all' }, {}, 'limit=200'],
    ['errors of a model', { status: 'error', model: ' gemini-2.5-pro ' }, {}, 'limit=200&status=error&model=gemini-2.5-pro'],
    ['an exact code, a key, an account', { status: '429', client_key: 'laptop', account: 'a b' }, {}, 'limit=200&status=429&client_key=laptop&account=a+b'],
    ['the last hour', { range: '1h' }, {}, `limit=200&since=${now - 3_600_000}`],
    ['a page further back', { status: 'ok' }, { limit: 50, before: '1700000000000-req_9' }, 'limit=50&before=1700000000000-req_9&status=ok'],
  ];
  for (const [name, form, paging, want] of cases) {
    it(name, () => {
      expect(requestsQuery(serverFilter(form, now), paging)).toBe(want);
    });
  }
  it('a custom range reads the from/to inputs as local time', () => {
    const f = serverFilter({ range: 'custom', from: '2024-05-01T10:00', to: '' }, now);
    expect(f).toEqual({ since: new Date('2024-05-01T10:00').getTime() });
    expect(localInputMs('nonsense')).toBeNull();
    expect(localInputMs('')).toBeNull();
  });
});

describe('live entries against the server filter', () => {
  it('statusMatches: ok below 400, error from 400, else the exact code', () => {
    expect([200, 399, 400, 499, 0].map((s) => statusMatches(s, 'ok'))).toEqual([true, true, false, false, false]);
    expect([200, 400, 499, 503].map((s) => statusMatches(s, 'error'))).toEqual([false, true, true, true]);
    expect([429, 430].map((s) => statusMatches(s, '429'))).toEqual([true, false]);
    expect(statusMatches(500, 'all')).toBe(true);
  });
  it('matchesFilter checks model (requested or upstream), account, key and time', () => {
    const r = e('r1', { model: 'gpt-4o', upstream_model: 'gemini-2.5-flash', client_key: 'laptop', time_ms: 5000 });
    expect(matchesFilter(r, {})).toBe(true);
    expect(matchesFilter(r, { model: 'gemini-2.5-flash' })).toBe(true);
    expect(matchesFilter(r, { model: 'gpt-4o' })).toBe(true);
    expect(matchesFilter(r, { model: 'other' })).toBe(false);
    expect(matchesFilter(r, { account: 'a', client_key: 'laptop' })).toBe(true);
    expect(matchesFilter(r, { account: 'b' })).toBe(false);
    expect(matchesFilter(r, { since: 5000, until: 5000 })).toBe(true);
    expect(matchesFilter(r, { since: 5001 })).toBe(false);
    expect(matchesFilter(r, { until: 4999 })).toBe(false);
    expect(matchesFilter(r, { status: 'error' })).toBe(false);
  });
});
