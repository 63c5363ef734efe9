// User preferences kept in localStorage: language, theme, quota alerts.
import { detectLang, translate, LANGS } from './i18n.js';
import { errorMessage } from './errors.js';

const KEYS = {
  lang: 'levity.lang',
  theme: 'levity.theme',
  threshold: 'levity.quotaThreshold',
  notify: 'levity.quotaNotify',
};
const THEMES = ['system', 'light', 'dark'];

function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null || value === '') localStorage.removeItem(key);
    else localStorage.setItem(key, String(value));
  } catch {
    // storage unavailable: the choice lasts for this page only
  }
}

const storedLang = read(KEYS.lang);
const storedTheme = read(KEYS.theme);
const storedThreshold = Number(read(KEYS.threshold));

export const prefs = $state({
  lang: LANGS.includes(storedLang) ? storedLang : detectLang(globalThis.navigator?.language),
  theme: THEMES.includes(storedTheme) ? storedTheme : 'system',
  threshold: read(KEYS.threshold) !== null && storedThreshold >= 0 && storedThreshold <= 100 ? storedThreshold : 20,
  notify: read(KEYS.notify) === 'on',
});

/** Translates `key` into the current language; reactive in templates. */
export function t(key, params) {
  return translate(prefs.lang, key, params);
}

/**
 * A failed call in the current language (errors.js): the dashboard's own
 * sentence where the code says it all, else a lead-in and the server's words.
 */
export function errorText(e, context = '', params = {}) {
  return errorMessage(e, t, context, params);
}

export function applyDocumentPrefs() {
  const root = document.documentElement;
  root.lang = prefs.lang === 'zh' ? 'zh-CN' : 'en';
  if (prefs.theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = prefs.theme;
}

export function setLang(lang) {
  if (!LANGS.includes(lang)) return;
  prefs.lang = lang;
  write(KEYS.lang, lang);
  applyDocumentPrefs();
}

export function setTheme(theme) {
  if (!THEMES.includes(theme)) return;
  prefs.theme = theme;
  write(KEYS.theme, theme === 'system' ? null : theme);
  applyDocumentPrefs();
}

export function setThreshold(pct) {
  prefs.threshold = pct;
  write(KEYS.threshold, pct);
}

export function setNotify(on) {
  prefs.notify = on;
  write(KEYS.notify, on ? 'on' : null);
}

export { THEMES };
