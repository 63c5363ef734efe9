import { describe, it, expect } from 'vitest';
import {
  formatUsd,
  formatMs,
  formatTokens,
  formatPercent,
  formatUptime,
  formatRelative,
  connectHost,
  isLoopback,
  stateTone,
  formatDuration,
  formatIn,
  movedUrl,
  codeSpans,
} from '../src/lib/format.js';

describe('formatMs', () => {
  it('picks a unit by size', () => {
    expect(formatMs(0)).toBe('0 ms');
    expect(formatMs(849.6)).toBe('850 ms');
    expect(formatMs(1234)).toBe('1.23 s');
    expect(formatMs(12_345)).toBe('12.3 s');
    expect(formatMs(123_000)).toBe('2m 03s');
    expect(formatMs(3_900_000)).toBe('1h 05m');
  });
  it('shows a dash for nothing', () => {
    expect(formatMs(null)).toBe('—');
    expect(formatMs(-1)).toBe('—');
    expect(formatMs(NaN)).toBe('—');
  });
});

describe('formatTokens', () => {
  it('abbreviates', () => {
    expect(formatTokens(0)).toBe('0');
    expect(formatTokens(950)).toBe('950');
    expect(formatTokens(1000)).toBe('1k');
    expect(formatTokens(1234)).toBe('1.2k');
    expect(formatTokens(12_345)).toBe('12k');
    expect(formatTokens(999_499)).toBe('999k');
    expect(formatTokens(999_999)).toBe('1M');
    expect(formatTokens(4_500_000)).toBe('4.5M');
    expect(formatTokens(1_200_000_000)).toBe('1.2B');
  });
  it('dashes non-numbers', () => {
    expect(formatTokens(undefined)).toBe('—');
    expect(formatTokens('12')).toBe('—');
  });
});

describe('other formatting', () => {
  it('formatPercent clamps', () => {
    expect(formatPercent(0.4)).toBe('40%');
    expect(formatPercent(0.9666, 1)).toBe('96.7%');
    expect(formatPercent(1.5)).toBe('100%');
    expect(formatPercent(null)).toBe('—');
  });
  it('formatUptime', () => {
    expect(formatUptime(5)).toBe('5 s');
    expect(formatUptime(125)).toBe('2 min 5 s');
    expect(formatUptime(7260)).toBe('2 h 1 min');
    expect(formatUptime(90_000, 'zh')).toBe('1 天 1 小时');
    expect(formatUptime(-1)).toBe('—');
  });
  it('formatRelative in both languages', () => {
    expect(formatRelative(0, 1000)).toBe('—');
    const now = 1_800_000_000_000;
    expect(formatRelative(now - 5 * 60_000, now, 'en')).toBe('5 minutes ago');
    expect(formatRelative(now - 5 * 60_000, now, 'zh')).toBe('5分钟前');
    expect(formatRelative(now - 3 * 86_400_000, now, 'en')).toBe('3 days ago');
  });
  it('connectHost replaces a wildcard bind with the page host', () => {
    const loc = { host: 'box.lan:8045', hostname: 'box.lan' };
    expect(connectHost('127.0.0.1:8045', loc)).toBe('127.0.0.1:8045');
    expect(connectHost('0.0.0.0:8045', loc)).toBe('box.lan:8045');
    expect(connectHost('[::]:9000', { hostname: '::1' })).toBe('[::1]:9000');
    expect(connectHost('', loc)).toBe('box.lan:8045');
  });
  it('isLoopback', () => {
    expect(isLoopback('127.0.0.1:8045')).toBe(true);
    expect(isLoopback('[::1]:8045')).toBe(true);
    expect(isLoopback('localhost:1')).toBe(true);
    expect(isLoopback('0.0.0.0:8045')).toBe(false);
    expect(isLoopback('192.168.1.2:8045')).toBe(false);
  });
  it('stateTone', () => {
    expect(stateTone('active')).toBe('ok');
    expect(stateTone('cooling')).toBe('warn');
    expect(stateTone('needs-reauth')).toBe('bad');
    expect(stateTone('needs-action')).toBe('bad');
    expect(stateTone('disabled')).toBe('muted');
  });
});

describe('movedUrl', () => {
  const loc = { protocol: 'http:', hostname: '127.0.0.1', host: '127.0.0.1:8045', pathname: '/proxy', search: '' };
  it('follows the server on this machine', () => {
    expect(movedUrl('127.0.0.1:9000', loc)).toEqual({ url: 'http://127.0.0.1:9000/proxy', token: false });
    expect(movedUrl('0.0.0.0:9000', loc)).toEqual({ url: 'http://127.0.0.1:9000/proxy', token: false });
  });
  it('goes to a specific network address, which needs the admin token', () => {
    expect(movedUrl('192.168.1.5:8045', loc)).toEqual({ url: 'http://192.168.1.5:8045/proxy', token: true });
  });
  it('keeps the LAN host a remote browser used', () => {
    const lan = { ...loc, hostname: '192.168.1.5', host: '192.168.1.5:8045' };
    expect(movedUrl('0.0.0.0:9001', lan)).toEqual({ url: 'http://192.168.1.5:9001/proxy', token: false });
    expect(movedUrl('127.0.0.1:9001', lan)).toEqual({ url: 'http://127.0.0.1:9001/proxy', token: false });
  });
  it('ignores what is not host:port', () => {
    expect(movedUrl('', loc)).toBe(null);
    expect(movedUrl('nonsense', loc)).toBe(null);
  });
});

describe('relative durations ("back in …"), never a clock', () => {
  const S = 1000;
  const M = 60 * S;
  const H = 60 * M;
  const cases = [
    [2 * H + 5 * M + 30 * S, '2 h 5 min', '2 小时 5 分钟'],
    [2 * H, '2 h', '2 小时'],
    [26 * H + 59 * M, '1 d 2 h', '1 天 2 小时'],
    [90 * S, '1 min 30 s', '1 分钟 30 秒'],
    [14 * M + 37 * S, '14 min 37 s', '14 分钟 37 秒'],
    [59 * M + 59 * S, '59 min 59 s', '59 分钟 59 秒'],
    [H + 30 * S, '1 h', '1 小时'],
    [7 * 86_400_000 + 5 * S, '7 d', '7 天'],
    [45 * S, '45 s', '45 秒'],
    [200, '1 s', '1 秒'],
    [0, '0 s', '0 秒'],
  ];
  for (const [ms, en, zh] of cases) {
    it(`${ms} ms → "${en}" / "${zh}"`, () => {
      expect(formatDuration(ms, 'en')).toBe(en);
      expect(formatDuration(ms, 'zh')).toBe(zh);
    });
  }
  it('never looks like a time of day ("14:37")', () => {
    for (let ms = 0; ms < 3 * 86_400_000; ms += 997 * S) {
      for (const lang of ['en', 'zh']) expect(formatDuration(ms, lang)).not.toMatch(/\d:\d/);
    }
  });
  it('rounds a partial second up, so a countdown never shows 0 s early', () => {
    expect(formatIn(10_000 + 1, 10_000, 'en')).toBe('1 s');
    expect(formatIn(10_000 + 59_001, 10_000, 'en')).toBe('1 min');
  });
  it('unknown or negative spans show a dash; other languages fall back to English', () => {
    expect(formatDuration(-1)).toBe('—');
    expect(formatDuration(undefined)).toBe('—');
    expect(formatDuration(3 * M, 'fr')).toBe('3 min');
  });
  it('formatIn counts to a moment and is null once it passed', () => {
    expect(formatIn(10_000 + 2 * H + 5 * M, 10_000, 'en')).toBe('2 h 5 min');
    expect(formatIn(10_000 + 2 * H + 5 * M, 10_000, 'zh')).toBe('2 小时 5 分钟');
    expect(formatIn(10_000, 10_000)).toBeNull();
    expect(formatIn(null, 10_000)).toBeNull();
  });
});

describe('formatUsd', () => {
  it('shows cents for sums, four digits for fractions of a cent, a dash when unknown', () => {
    expect(formatUsd(12.345)).toBe('$12.35');
    expect(formatUsd(0.00012346)).toBe('$0.0001235');
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(null)).toBe('—');
  });
});

describe('codeSpans', () => {
  it('marks the backticked parts of a message as code', () => {
    expect(codeSpans('run `levity open` here')).toEqual([
      { text: 'run ', code: false },
      { text: 'levity open', code: true },
      { text: ' here', code: false },
    ]);
    expect(codeSpans('`a`')).toEqual([{ text: 'a', code: true }]);
    expect(codeSpans('')).toEqual([]);
    expect(codeSpans(undefined)).toEqual([]);
  });
});
