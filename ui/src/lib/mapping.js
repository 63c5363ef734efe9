// Model mapping rules: settings "model_map.<pattern>" = target.

export const MAP_PREFIX = 'model_map.';

export const ruleKey = (pattern) => `${MAP_PREFIX}${pattern}`;

/**
 * Rules from a config map, in the order levity tries them: exact names
 * first, then wildcards, longer patterns before shorter; ties by name.
 */
export function parseRules(config) {
  const rules = [];
  for (const [key, value] of Object.entries(config || {})) {
    if (!key.startsWith(MAP_PREFIX)) continue;
    const pattern = key.slice(MAP_PREFIX.length);
    if (!pattern || value == null || value === '') continue;
    rules.push({ key, pattern, target: String(value) });
  }
  return rules.sort((a, b) => {
    const wa = a.pattern.includes('*');
    const wb = b.pattern.includes('*');
    if (wa !== wb) return wa ? 1 : -1;
    return b.pattern.length - a.pattern.length || (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0);
  });
}

/** `*` matches any run of characters; everything else matches itself. */
export function globMatch(pattern, text) {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === text;
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (!text.startsWith(first)) return false;
  let rest = text.slice(first.length);
  for (const part of parts.slice(1, -1)) {
    const i = rest.indexOf(part);
    if (i < 0) return false;
    rest = rest.slice(i + part.length);
  }
  return rest.length >= last.length && rest.endsWith(last);
}

/** The first rule (in levity's order) that matches `model`, or null. */
export function findRule(rules, model) {
  return rules.find((r) => globMatch(r.pattern, model)) || null;
}

/** An i18n key naming what is wrong with a rule, or null when it is fine. */
export function validateRule(pattern, target) {
  const p = (pattern ?? '').trim();
  const t = (target ?? '').trim();
  if (!p) return 'proxy.map.errPattern';
  if (/\s/.test(p)) return 'proxy.map.errSpace';
  if (!t) return 'proxy.map.errTarget';
  if (t.includes('*')) return 'proxy.map.errTargetStar';
  return null;
}

/**
 * The config writes that save a rule: the new key first, then (when the
 * pattern was renamed) the old key deleted with an empty value.
 */
export function ruleWrites(oldPattern, pattern, target) {
  const p = pattern.trim();
  const writes = [{ key: ruleKey(p), value: target.trim() }];
  if (oldPattern && oldPattern !== p) writes.push({ key: ruleKey(oldPattern), value: '' });
  return writes;
}
