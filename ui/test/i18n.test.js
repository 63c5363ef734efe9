import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { messages, translate, detectLang, placeholders, LANGS } from '../src/lib/i18n.js';
import { ROUTES } from '../src/lib/routes.js';
import { STATES, BROKEN } from '../src/lib/quota.js';
import { RANGES, ATTEMPT_CLASSES } from '../src/lib/requests.js';
import { TIERS } from '../src/lib/accounts.js';
import { STEPS, SPLITS } from '../src/lib/usage.js';
import { snippets } from '../src/lib/snippets.js';
import { LEAD_CODES, WHOLE_CODES, CONTEXT_CODES } from '../src/lib/errors.js';
import { THEMES_FOR_TEST } from './helpers.js';

const SRC = join(import.meta.dirname, '..', 'src');

function files(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.(svelte|js)$/.test(f) ? [p] : [];
  });
}

/** Every literal key passed to t('...') and every literal i18n key returned by logic modules. */
function usedKeys() {
  const keys = new Set();
  for (const f of files(SRC)) {
    // The message tables themselves (i18n.js and i18n/<lang>.js) define keys rather than use them.
    if (f.endsWith('i18n.js') || /[\\/]i18n[\\/]/.test(f)) continue;
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/\bt\(\s*'([^']+)'/g)) keys.add(m[1]);
    // Any other quoted string in a message namespace (ternaries, keys returned by logic modules).
    for (const m of text.matchAll(/'((?:app|nav|notFound|pill|live|common|copy|code|error|token|state|kind|tier|overview|accounts|proxy|connect|monitor|usage|settings)\.[\w.-]+)'/g)) {
      keys.add(m[1]);
    }
  }
  return keys;
}

/** Keys built at run time (t(`state.${s}`) and the like), from the same lists the code uses. */
function dynamicKeys() {
  return [
    ...ROUTES.map((r) => `nav.${r.id}`),
    ...['checking', 'up', 'unreachable', 'locked', 'error'].map((s) => `pill.${s}`),
    ...['connecting', 'open', 'closed'].map((s) => `live.${s}`),
    ...STATES.map((s) => `state.${s}`),
    ...TIERS.map((k) => `tier.${k}`),
    ...snippets('h:1').flatMap((s) => [`connect.${s.id}.title`, `connect.${s.id}.note`]),
    ...THEMES_FOR_TEST.map((th) => `settings.theme.${th}`),
    ...[
      'id', 'time_ms', 'protocol', 'model', 'upstream_model', 'account', 'status', 'latency_ms', 'ttft_ms',
      'input_tokens', 'cached_tokens', 'reasoning_tokens', 'output_tokens', 'cost_usd', 'saved_usd', 'attempts', 'why', 'background', 'stream', 'client_key', 'session', 'resumed', 'error',
    ].map((f) => `monitor.f.${f}`),
    ...BROKEN.flatMap((b) => [`accounts.broken.${b}`, `accounts.remedy.${b}`]),
    ...RANGES.map((r) => `monitor.range.${r}`),
    ...ATTEMPT_CLASSES.map((c) => `monitor.class.${c}`),
    ...['request', 'response'].map((p) => `monitor.${p}Body`),
    ...STEPS.flatMap((s) => [`usage.step.${s}`, `usage.per.${s}`]),
    ...SPLITS.map((s) => `usage.split.${s}`),
    ...[...LEAD_CODES, ...WHOLE_CODES].map((c) => `error.${c}`),
    ...Object.entries(CONTEXT_CODES).flatMap(([ctx, codes]) => codes.map((c) => `error.${ctx}.${c}`)),
  ];
}

describe('i18n', () => {
  it('has the same keys in every language', () => {
    const en = Object.keys(messages.en).sort();
    for (const lang of LANGS) {
      const keys = Object.keys(messages[lang]).sort();
      expect({ lang, missing: en.filter((k) => !keys.includes(k)), extra: keys.filter((k) => !en.includes(k)) }).toEqual({
        lang,
        missing: [],
        extra: [],
      });
    }
  });

  it('has no empty strings and the same placeholders in every language', () => {
    for (const [key, value] of Object.entries(messages.en)) {
      for (const lang of LANGS) {
        expect(messages[lang][key], `${lang}:${key}`).toBeTruthy();
        expect(placeholders(messages[lang][key]), `${lang}:${key}`).toEqual(placeholders(value));
      }
    }
  });

  it('actually translates: Chinese strings differ from English except names', () => {
    const same = Object.keys(messages.en).filter((k) => messages.en[k] === messages.zh[k]);
    // Product and tool names stay as they are.
    expect(same.every((k) => /^(connect\.\w+\.title|tier\.(pro|ultra))$/.test(k))).toBe(true);
  });

  it('defines every key the code uses', () => {
    const missing = [...usedKeys(), ...dynamicKeys()].filter((k) => !(k in messages.en));
    expect(missing).toEqual([]);
  });

  it('fills placeholders and falls back to English, then to the key', () => {
    expect(translate('en', 'overview.errors', { n: 3 })).toBe('3 errors');
    expect(translate('zh', 'overview.errors', { n: 3 })).toBe('3 个错误');
    expect(translate('en', 'accounts.order.moved', { name: 'x', pos: 1 })).toBe('x moved to position 1 of {n}.');
    expect(translate('fr', 'nav.usage')).toBe('Usage');
    expect(translate('en', 'accounts.backIn', { time: '2 h 5 min' })).toBe('back in 2 h 5 min');
    expect(translate('zh', 'accounts.backIn', { time: '2 小时 5 分钟' })).toBe('2 小时 5 分钟后恢复');
    expect(translate('zh', 'no.such.key')).toBe('no.such.key');
  });

  it('starts in Chinese for any zh browser language', () => {
    expect(detectLang('zh-CN')).toBe('zh');
    expect(detectLang('zh-TW')).toBe('zh');
    expect(detectLang('zh')).toBe('zh');
    expect(detectLang('en-US')).toBe('en');
    expect(detectLang('fr')).toBe('en');
    expect(detectLang(undefined)).toBe('en');
  });
});
