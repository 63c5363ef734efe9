// The rules of levity's settings that the mock copies: the account kinds and
// tiers, what a marked account's owner should do, and the `*` patterns of
// model_map rules. Settings themselves come from config-schema.json, the
// server's settings table as GET /api/config/schema serves it (a Rust test
// keeps the file equal to it).

import { readFileSync } from 'node:fs';

export const SCHEMA = JSON.parse(readFileSync(new URL('./config-schema.json', import.meta.url), 'utf8'));

export const DEFAULTS = Object.fromEntries(SCHEMA.filter((r) => !r.key.includes('<')).map((r) => [r.key, r.default]));

/** The upstream kinds as GET /api/kinds answers them (kinds.json, kept equal by a Rust test). */
export const KINDS = JSON.parse(readFileSync(new URL('./kinds.json', import.meta.url), 'utf8'));
export const TIERS = ['free', 'pro', 'ultra', 'paid'];
export const DEFAULT_BASE = Object.fromEntries(KINDS.map((k) => [k.name, k.default_base_url]));

/** The schema's checks, as levity's config::table::check makes them. */
export function validateSetting(key, value) {
  const row = SCHEMA.find((r) => (r.key.includes('.<') ? key.startsWith(r.key.slice(0, r.key.indexOf('<'))) && !key.endsWith('.') : r.key === key));
  if (!row) return `unknown setting \`${key}\``;
  if (value === '') return null;
  switch (row.type) {
    case 'whole': {
      const unit = row.unit === '' ? '' : row.unit === 's' ? ' of seconds' : ` (${row.unit})`;
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      return n >= row.min && n <= row.max ? null : `\`${key}\` takes a whole number${unit} from ${row.min} to ${row.max}`;
    }
    case 'switch':
      return ['on', 'off'].includes(value) ? null : `\`${key}\` is on or off`;
    case 'choice':
      return row.choices.some((c) => c.value === value) ? null : `\`${key}\` is one of: ${row.choices.map((c) => c.value).join(', ')}`;
    case 'proxy':
      return /^(https?|socks5h?):\/\//.test(value) ? null : `\`${key}\` must start with http://, https://, socks5:// or socks5h://`;
    case 'limits': {
      const tier = key.slice('tier_limits.'.length);
      if (!TIERS.includes(tier)) return `unknown tier \`${tier}\`; use free, pro, ultra or paid`;
      return /^\d+\/\d+\/\d+$/.test(value) ? null : `\`${key}\` takes requests-per-minute/requests-per-day/tokens-per-minute, e.g. 10/250/250000`;
    }
    default:
      return null;
  }
}

/** What the owner of an account marked broken should do (levity's Broken::remedy). */
export const REMEDY = {
  credentials: 'replace its key or sign in again',
  billing: 'add credit or enable billing at the provider',
  region: 'call from a supported region (an outbound proxy) or remove it',
  permission: 'enable the API for its project or use a key that may call it',
  setup: 'finish its set-up',
  suspended: 'ask the provider why it was disabled, or remove it',
};

/** Whether a model_map pattern (`*` matches any run of characters) matches `text`. */
export function glob(pattern, text) {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === text;
  if (!text.startsWith(parts[0])) return false;
  let rest = text.slice(parts[0].length);
  for (const p of parts.slice(1, -1)) {
    const i = rest.indexOf(p);
    if (i < 0) return false;
    rest = rest.slice(i + p.length);
  }
  const last = parts.at(-1);
  return rest.length >= last.length && rest.endsWith(last);
}
