import { describe, it, expect } from 'vitest';
import {
  groupByState, coolingItems, coolingEnd, quotaRows, quotaAlerts, parseThreshold, newAlerts, alertKey,
  accountStatus, attentionList, restsFor, shownBest, quotaBar, quotaBars, quotaLabelKey,
} from '../src/lib/quota.js';

const now = 1_000_000;
const acc = (id, over = {}) => ({
  id,
  name: id,
  enabled: true,
  state: 'active',
  reason: '',
  health: { cooling: [], breaker_open_until_ms: 0, remaining: {} },
  ...over,
});

describe('groupByState', () => {
  it('puts every account under its state, every state present', () => {
    const g = groupByState([
      acc('a'),
      acc('b', { state: 'cooling' }),
      acc('c', { state: 'needs-reauth' }),
      acc('d', { state: 'disabled', enabled: false }),
      acc('e', { state: undefined, enabled: false }),
      acc('f', { state: 'needs-action' }),
    ]);
    expect(Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v.map((a) => a.id)]))).toEqual({
      active: ['a'],
      cooling: ['b'],
      'needs-reauth': ['c'],
      disabled: ['d', 'e'],
      'needs-action': ['f'],
    });
  });
});

describe('cooling', () => {
  const a = acc('a', {
    state: 'cooling',
    reason: 'circuit open',
    health: {
      breaker_open_until_ms: now + 60_000,
      cooling: [
        { model: 'm1', until_ms: now + 30_000, reason: '429' },
        { model: 'm2', until_ms: now - 1, reason: 'old' },
      ],
    },
  });
  it('lists what is still in the future, soonest first', () => {
    expect(coolingItems(a, now)).toEqual([
      { model: 'm1', until_ms: now + 30_000, reason: '429', breaker: false },
      { model: '', until_ms: now + 60_000, reason: 'circuit open', breaker: true },
    ]);
    expect(coolingEnd(a, now)).toBe(now + 60_000);
    expect(coolingEnd(a, now + 61_000)).toBeNull();
  });
});

describe('quota', () => {
  const accounts = [
    acc('a', { health: { remaining: { m1: { fraction: 0.4, reset_ms: 5 }, m2: { fraction: 0.05, reset_ms: 6 } } } }),
    acc('b', { enabled: false, health: { remaining: { m1: { fraction: 0.01 } } } }),
    acc('c', { health: { remaining: { m1: { fraction: 1.3 }, bad: null } } }),
  ];
  it('quotaRows flattens and clamps', () => {
    expect(quotaRows(accounts)).toEqual([
      { id: 'a', account: 'a', model: 'm1', fraction: 0.4, reset_ms: 5, enabled: true },
      { id: 'a', account: 'a', model: 'm2', fraction: 0.05, reset_ms: 6, enabled: true },
      { id: 'b', account: 'b', model: 'm1', fraction: 0.01, reset_ms: null, enabled: false },
      { id: 'c', account: 'c', model: 'm1', fraction: 1, reset_ms: null, enabled: true },
    ]);
  });
  it('alerts list enabled rows under the threshold, lowest first', () => {
    expect(quotaAlerts(accounts, 50).map((r) => `${r.account}/${r.model}`)).toEqual(['a/m2', 'a/m1']);
    expect(quotaAlerts(accounts, 10).map((r) => r.model)).toEqual(['m2']);
    expect(quotaAlerts(accounts, 0)).toEqual([]);
  });
  it('newAlerts reports each alert once', () => {
    const seen = new Set();
    const first = quotaAlerts(accounts, 50);
    expect(newAlerts(first, seen)).toHaveLength(2);
    first.forEach((r) => seen.add(alertKey(r)));
    expect(newAlerts(first, seen)).toHaveLength(0);
  });
  it('parseThreshold', () => {
    expect(parseThreshold('20')).toBe(20);
    expect(parseThreshold(' 12.5% ')).toBe(12.5);
    expect(parseThreshold('0')).toBe(0);
    expect(parseThreshold('101')).toBeNull();
    expect(parseThreshold('-1')).toBeNull();
    expect(parseThreshold('abc')).toBeNull();
    expect(parseThreshold('')).toBeNull();
  });
});

describe('accountStatus', () => {
  const billing = acc('b', {
    state: 'needs-action',
    reason: 'Gemini upstream error 400: billing not enabled',
    health: { cooling: [], breaker_open_until_ms: 0, broken: 'billing', remedy: 'add credit or enable billing at the provider' },
  });
  it('a marked account waits for its owner, with what it lacks and the remedy', () => {
    expect(accountStatus(billing, now)).toEqual({
      state: 'needs-action',
      reason: 'Gemini upstream error 400: billing not enabled',
      waits: true,
      broken: 'billing',
      remedy: 'add credit or enable billing at the provider',
      items: [],
    });
  });
  it('needs-reauth without a kind means refused credentials; an unknown kind keeps the English remedy', () => {
    expect(accountStatus(acc('r', { state: 'needs-reauth' }), now)).toMatchObject({ waits: true, broken: 'credentials' });
    const odd = acc('o', { state: 'needs-action', health: { broken: 'martian', remedy: 'ask someone' } });
    expect(accountStatus(odd, now)).toMatchObject({ waits: true, broken: null, remedy: 'ask someone' });
  });
  it('a resting account lists its blocks; a remedy is kept only while it waits', () => {
    const resting = acc('c', {
      state: 'cooling',
      reason: 'daily quota spent',
      health: { cooling: [{ model: '*', until_ms: now + 7_500_000, reason: 'daily quota spent' }], remedy: 'stale' },
    });
    const st = accountStatus(resting, now);
    expect(st).toMatchObject({ state: 'cooling', waits: false, broken: null, remedy: '' });
    expect(st.items.map((i) => [i.model, i.until_ms])).toEqual([['*', now + 7_500_000]]);
  });
});

describe('attention and the recommendation', () => {
  const list = [
    acc('ok'),
    acc('rest', { state: 'cooling', health: { cooling: [{ model: 'm1', until_ms: now + 1000 }], breaker_open_until_ms: 0 } }),
    acc('all', { state: 'cooling', health: { cooling: [{ model: '*', until_ms: now + 1000 }], breaker_open_until_ms: 0 } }),
    acc('key', { state: 'needs-reauth' }),
    acc('bill', { state: 'needs-action' }),
    acc('off', { state: 'disabled', enabled: false }),
  ];
  it('lists waiting accounts first, then resting ones; never active or disabled ones', () => {
    expect(attentionList(list, now).map((x) => x.account.id)).toEqual(['bill', 'key', 'rest', 'all']);
  });
  it('restsFor: a model rest blocks that model only; "*", marks and disabled block everything', () => {
    expect(restsFor(list[0], 'm1', now)).toBe(false);
    expect(restsFor(list[1], 'm1', now)).toBe(true);
    expect(restsFor(list[1], 'm2', now)).toBe(false);
    expect(restsFor(list[2], 'm2', now)).toBe(true);
    expect(restsFor(list[3], 'm2', now)).toBe(true);
    expect(restsFor(list[4], 'm2', now)).toBe(true);
    expect(restsFor(list[5], 'm2', now)).toBe(true);
  });
  it('shownBest hides a recommended account that rests or waits', () => {
    const best = (id, model = 'm1') => ({ model, account: { id, name: id }, score: 0.5 });
    expect(shownBest(best('ok'), list, now)).toEqual(best('ok'));
    expect(shownBest(best('rest'), list, now)).toBeNull();
    expect(shownBest(best('rest', 'm2'), list, now)).toEqual(best('rest', 'm2'));
    expect(shownBest(best('bill'), list, now)).toBeNull();
    expect(shownBest(best('unknown'), list, now)).toEqual(best('unknown'));
    expect(shownBest(null, list, now)).toBeNull();
  });
});

describe('quota bars', () => {
  const q = (over) => ({
    model: 'gemini-2.5-flash',
    used: { minute_requests: 2, minute_tokens: 5000, day_requests: 50, day_tokens: 90000 },
    rpm: 10,
    tpm: 250000,
    rpd: 250,
    minute_reset_ms: 60_000,
    day_reset_ms: 86_400_000,
    left: 0.8,
    shared_with: 1,
    ...over,
  });
  const cases = [
    ['day requests when there is a daily limit', q(), { unit: 'requests', window: 'day', used: 50, limit: 250, fraction: 0.8, reset_ms: 86_400_000 }, 'accounts.quota.day'],
    ['minute requests without one', q({ rpd: 0 }), { unit: 'requests', window: 'minute', used: 2, limit: 10, fraction: 0.8, reset_ms: 60_000 }, 'accounts.quota.minute'],
    ['minute tokens with only a token limit', q({ rpd: 0, rpm: 0 }), { unit: 'tokens', window: 'minute', used: 5000, limit: 250000, fraction: 0.98 }, 'accounts.quota.minuteTokens'],
    ['the day’s tokens, no bar, with no limit at all', q({ rpd: 0, rpm: 0, tpm: 0 }), { unit: 'tokens', window: 'day', used: 90000, limit: 0, fraction: null }, 'accounts.quota.dayTokens'],
    ['used past the limit shows an empty bar', q({ used: { day_requests: 300 } }), { used: 300, fraction: 0 }, 'accounts.quota.day'],
  ];
  for (const [name, input, want, key] of cases) {
    it(`quotaBar: ${name}`, () => {
      const bar = quotaBar(input);
      expect(bar).toMatchObject(want);
      expect(quotaLabelKey(bar)).toBe(key);
    });
  }
  it('quotaBar keeps the routing figure and who shares the quota', () => {
    expect(quotaBar(q({ left: 1.4, shared_with: 3 }))).toMatchObject({ left: 1, shared_with: 3 });
    expect(quotaBar(q({ shared_with: 0 }))).toMatchObject({ shared_with: 1 });
  });
  it('quotaBars: local counts for every kind, Google’s report attached or on its own', () => {
    const a = acc('g', {
      health: {
        quota: [q(), q({ model: 'gemini-2.5-pro', rpd: 0, rpm: 5, used: { minute_requests: 5 } })],
        remaining: { 'gemini-2.5-pro': { fraction: 0.3, reset_ms: 99 }, 'gemini-3-pro': { fraction: 0.9 } },
      },
    });
    const bars = quotaBars(a);
    expect(bars.map((b) => [b.model, b.unit, b.fraction, b.reported])).toEqual([
      ['gemini-2.5-flash', 'requests', 0.8, null],
      ['gemini-2.5-pro', 'requests', 0, { fraction: 0.3, reset_ms: 99 }],
      ['gemini-3-pro', 'reported', 0.9, { fraction: 0.9, reset_ms: null }],
    ]);
    // Rows (alerts) prefer what Google reports over the local count.
    expect(quotaRows([a]).map((r) => [r.model, r.fraction, r.reset_ms])).toEqual([
      ['gemini-2.5-flash', 0.8, 86_400_000],
      ['gemini-2.5-pro', 0.3, 99],
      ['gemini-3-pro', 0.9, null],
    ]);
    expect(quotaBars(acc('empty'))).toEqual([]);
  });
});
