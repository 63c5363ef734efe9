import { describe, it, expect } from 'vitest';
import {
  formatMs,
  formatCountdown,
  formatTokens,
  formatPercent,
  formatUptime,
  formatRelative,
  connectHost,
  isLoopback,
  stateTone,
  movedUrl,
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

describe('formatCountdown', () => {
  const now = 1_000_000;
  it('ticks down as a clock', () => {
    expect(formatCountdown(now + 42_000, now)).toBe('0:42');
    expect(formatCountdown(now + 725_000, now)).toBe('12:05');
    expect(formatCountdown(now + 3_729_000, now)).toBe('1:02:09');
    expect(formatCountdown(now + 2 * 86_400_000 + 3 * 3_600_000, now)).toBe('2d 03h');
  });
  it('rounds a partial second up, so it never shows 0:00 early', () => {
    expect(formatCountdown(now + 1, now)).toBe('0:01');
    expect(formatCountdown(now + 59_001, now)).toBe('1:00');
  });
  it('is null once the moment has passed or is unknown', () => {
    expect(formatCountdown(now, now)).toBeNull();
    expect(formatCountdown(now - 5, now)).toBeNull();
    expect(formatCountdown(undefined, now)).toBeNull();
    expect(formatCountdown(0, now)).toBeNull();
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
    expect(formatUptime(5)).toBe('5s');
    expect(formatUptime(125)).toBe('2m 5s');
    expect(formatUptime(7260)).toBe('2h 1m');
    expect(formatUptime(90_000)).toBe('1d 1h');
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
