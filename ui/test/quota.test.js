import { describe, it, expect } from 'vitest';
import { groupByState, coolingItems, coolingEnd, quotaRows, quotaAlerts, parseThreshold, newAlerts, alertKey } from '../src/lib/quota.js';

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
    ]);
    expect(Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v.map((a) => a.id)]))).toEqual({
      active: ['a'],
      cooling: ['b'],
      'needs-reauth': ['c'],
      disabled: ['d', 'e'],
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
