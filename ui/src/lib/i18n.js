// Looking up the dashboard's strings. The strings themselves live one file
// per language in i18n/ (en.js is the reference). `{name}` marks a value
// filled in by translate(). Keep every language's keys identical
// (test/i18n.test.js checks it, and that every key used in the code exists).

import { en } from './i18n/en.js';
import { zh } from './i18n/zh.js';

export const LANGS = ['en', 'zh'];
export const LANG_NAMES = { en: 'English', zh: '中文（简体）' };

/** The language to start in, from navigator.language. */
export function detectLang(navLang) {
  return /^zh\b/i.test(String(navLang || '')) ? 'zh' : 'en';
}

export const messages = { en, zh };

/** `key` in `lang` with {params} filled in; falls back to English, then the key. */
export function translate(lang, key, params) {
  const s = messages[lang]?.[key] ?? en[key] ?? key;
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (m, name) => (params[name] === undefined ? m : String(params[name])));
}

/** The {placeholder} names in a message, sorted. */
export function placeholders(s) {
  return [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}
