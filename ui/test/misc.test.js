import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSseParser } from '../src/lib/events.js';
import { niceMax, axis, bars, linePoints } from '../src/lib/chart.js';
import { snippets, KEY_PLACEHOLDER } from '../src/lib/snippets.js';
import { matchRoute } from '../src/lib/routes.js';
import { THEMES_FOR_TEST } from './helpers.js';

describe('SSE parser', () => {
  it('splits named events across chunk boundaries', () => {
    const feed = createSseParser();
    expect(feed(': hello\n\nevent: request\ndata: {"id":')).toEqual([]);
    expect(feed('"r1"}\n\nevent: accounts\r\ndata: [1,\r\ndata: 2]\r\n\r\n')).toEqual([
      { event: 'request', data: '{"id":"r1"}', id: '' },
      { event: 'accounts', data: '[1,\n2]', id: '' },
    ]);
  });
  it('defaults the event name and waits for a CRLF split in two', () => {
    const feed = createSseParser();
    expect(feed('data: x\r')).toEqual([]);
    expect(feed('\n\r\n')).toEqual([{ event: 'message', data: 'x', id: '' }]);
  });
});

describe('chart geometry', () => {
  it('niceMax', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(11)).toBe(20);
    expect(niceMax(41)).toBe(50);
    expect(niceMax(0.3)).toBe(0.5);
  });
  it('axis uses round steps and ends on a tick', () => {
    expect(axis(8.5, { integer: true })).toEqual({ max: 10, step: 5, ticks: [0, 5, 10] });
    expect(axis(47)).toEqual({ max: 60, step: 20, ticks: [0, 20, 40, 60] });
    expect(axis(1, { integer: true }).ticks).toEqual([0, 1]);
    expect(axis(0).max).toBe(1);
    expect(axis(9000).ticks).toEqual([0, 5000, 10000]);
  });
  it('bars sit on the baseline', () => {
    const b = bars([0, 5, 10], 300, 100, 10);
    expect(b.map((r) => r.h)).toEqual([0, 50, 100]);
    expect(b[2].y).toBe(0);
    expect(b[1].cx).toBe(150);
  });
  it('linePoints skips gaps', () => {
    expect(linePoints([10, null, 0], 300, 100, 10)).toBe('50.0,0.0 250.0,100.0');
  });
});

describe('snippets', () => {
  const all = snippets('127.0.0.1:8045', 'lv-secret');
  const byId = Object.fromEntries(all.map((s) => [s.id, s]));
  it('covers every client the Connect page promises', () => {
    expect(all.map((s) => s.id)).toEqual(['claude', 'codex', 'openai', 'anthropic', 'genai', 'cursor', 'cherry', 'curl']);
  });
  it('uses the real address and key', () => {
    expect(byId.claude.code).toContain('ANTHROPIC_BASE_URL=http://127.0.0.1:8045\n');
    expect(byId.claude.code).toContain('ANTHROPIC_API_KEY=lv-secret');
    expect(byId.openai.code).toContain('base_url="http://127.0.0.1:8045/v1"');
    expect(byId.anthropic.code).toContain('base_url="http://127.0.0.1:8045"');
    expect(byId.genai.code).toContain('http_options=types.HttpOptions(base_url="http://127.0.0.1:8045")');
    expect(byId.curl.code).toContain('Authorization: Bearer lv-secret');
    expect(byId.cursor.code).toContain('http://127.0.0.1:8045/v1');
  });
  it('writes a Codex provider block that TOML reads as intended', () => {
    const c = byId.codex.code;
    // top-level keys come before the first table
    expect(c.indexOf('model_provider = "levity"')).toBeLessThan(c.indexOf('[model_providers.levity]'));
    expect(c).toContain('base_url = "http://127.0.0.1:8045/v1"');
    expect(c).toContain('env_key = "LEVITY_API_KEY"');
    expect(c).toContain('wire_api = "responses"');
    expect(byId.codex.extra).toContain('export LEVITY_API_KEY=lv-secret');
  });
  it('falls back to the placeholder', () => {
    expect(snippets('h:1').every((s) => (s.code + (s.extra || '')).includes(KEY_PLACEHOLDER))).toBe(true);
  });
});

describe('routes', () => {
  it('matches every page, tolerating a trailing slash', () => {
    expect(matchRoute('/').id).toBe('overview');
    expect(matchRoute('/accounts/').id).toBe('accounts');
    expect(matchRoute('/monitor').id).toBe('monitor');
    expect(matchRoute('/nope')).toBeNull();
  });
});

describe('helpers stay in step with the app', () => {
  it('theme list matches prefs.svelte.js', () => {
    const src = readFileSync(join(import.meta.dirname, '..', 'src', 'lib', 'prefs.svelte.js'), 'utf8');
    expect(src).toContain(`const THEMES = ${JSON.stringify(THEMES_FOR_TEST).replace(/"/g, "'").replace(/,/g, ', ')};`);
  });
});

describe('adoptTokenFromHash', () => {
  it('takes a handed-over admin token and clears it from the address', async () => {
    const { adoptTokenFromHash } = await import('../src/lib/api.js');
    const calls = [];
    const history = { replaceState: (...a) => calls.push(a) };
    expect(adoptTokenFromHash({ hash: '#token=abc123', pathname: '/proxy', search: '?x=1' }, history)).toBe('abc123');
    expect(calls).toEqual([[null, '', '/proxy?x=1']]);
    expect(adoptTokenFromHash({ hash: '#other', pathname: '/', search: '' }, history)).toBe('');
    expect(adoptTokenFromHash({ hash: '#token=<script>', pathname: '/', search: '' }, history)).toBe('');
    expect(calls.length).toBe(1);
  });
});
