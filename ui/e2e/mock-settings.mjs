// The rules of levity's settings that the mock copies: the defaults, the
// account kinds and tiers, Settings::validate, what a marked account's owner
// should do, and the `*` patterns of model_map rules.

export const DEFAULTS = {
  request_timeout_secs: '600',
  connect_timeout_secs: '10',
  answer_max_mb: '64',
  max_attempts: '5',
  request_deadline_secs: '600',
  scheduling: 'balance',
  cache_first_wait_secs: '30',
  queue_timeout_secs: '30',
  preferred_account: '',
  upstream_proxy: '',
  oauth_client_id: '',
  oauth_client_secret: '',
  oauth_auth_url: 'https://accounts.google.com/o/oauth2/v2/auth',
  oauth_token_url: 'https://oauth2.googleapis.com/token',
  code_assist_endpoints: 'https://daily-cloudcode-pa.sandbox.googleapis.com,https://cloudcode-pa.googleapis.com',
  background_downgrade: 'on',
  background_model: 'gemini-2.5-flash-lite',
  background_markers:
    'write a 5-10 word title|analyze if this message indicates a new conversation topic|summarize this coding conversation|<policy_spec>|generate a concise title|=quota',
  image_fetch_allow: '',
  image_allow_files: 'off',
  log_bodies: 'off',
  log_retention_days: '7',
  log_body_max_kb: '256',
  log_bodies_max_mb: '256',
  public_host: '',
};

export const KINDS = ['gemini', 'anthropic', 'openai', 'google-oauth'];
export const TIERS = ['free', 'pro', 'ultra', 'paid'];
export const DEFAULT_BASE = {
  gemini: 'https://generativelanguage.googleapis.com',
  anthropic: 'https://api.anthropic.com',
  'google-oauth': 'https://cloudcode-pa.googleapis.com',
};

/** The same checks as levity's Settings::validate. */
export function validateSetting(key, value) {
  const whole = (lo, hi, msg = `\`${key}\` takes a whole number from ${lo} to ${hi}`) => {
    if (value === '') return null;
    if (!/^\d+$/.test(value)) return msg;
    const n = Number(value);
    return n >= lo && n <= hi ? null : msg;
  };
  switch (key) {
    case 'request_timeout_secs':
    case 'request_deadline_secs':
      return whole(1, 86400);
    case 'connect_timeout_secs':
      return whole(1, 600);
    case 'answer_max_mb':
      return whole(1, 4096);
    case 'max_attempts':
      return whole(1, 100);
    case 'log_retention_days':
      return whole(1, 3650);
    case 'log_body_max_kb':
      return whole(1, 102400);
    case 'log_bodies_max_mb':
      return whole(1, 1048576);
    case 'cache_first_wait_secs':
    case 'queue_timeout_secs':
      return whole(0, 3600, `\`${key}\` takes a whole number of seconds from 0 to 3600`);
    case 'scheduling':
      return ['', 'cache-first', 'balance', 'performance'].includes(value) ? null : '`scheduling` is cache-first, balance or performance';
    case 'upstream_proxy':
      return value === '' || /^(https?|socks5h?):\/\//.test(value)
        ? null
        : '`upstream_proxy` must start with http://, https://, socks5:// or socks5h://';
    case 'background_downgrade':
    case 'image_allow_files':
    case 'log_bodies':
      return ['', 'on', 'off'].includes(value) ? null : `\`${key}\` is on or off`;
    default:
      if (key in DEFAULTS) return null;
      if (key.startsWith('model_map.') && key.length > 'model_map.'.length) return null;
      if (key.startsWith('tier_limits.')) {
        const tier = key.slice('tier_limits.'.length);
        if (!TIERS.includes(tier)) return `unknown tier \`${tier}\`; use free, pro, ultra or paid`;
        return value === '' || /^\d+\/\d+\/\d+$/.test(value) ? null : `\`${key}\` takes requests-per-minute/requests-per-day/tokens-per-minute, e.g. 10/250/250000`;
      }
      return `unknown setting \`${key}\``;
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
