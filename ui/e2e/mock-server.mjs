#!/usr/bin/env node
// An in-memory stand-in for `levity serve`: the admin API the dashboard uses
// (/api/...), its event stream, and a tiny /v1/chat/completions proxy, all
// following the API contract. For developing the UI and proving the e2e
// script without the Rust backend. Not a fake upstream: no model runs here.
//
//   node e2e/mock-server.mjs [--port 8046] [--host 127.0.0.1] [--seed] [--traffic]
//                            [--token ADMIN_TOKEN] [--dist dist]
//   npm run dev:mock     (vite dev server with this mock mounted, seeded, with traffic)
//
// --seed     start with demo accounts, keys, rules and 30 days of history
// --traffic  invent a request every few seconds (live monitor demo)
// --token    require X-Levity-Admin-Token on /api (the exposed-server case)
// --dist     also serve the built dashboard from this folder (default: ../dist if it exists)

import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const DEFAULTS = {
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

const KINDS = ['gemini', 'anthropic', 'openai', 'google-oauth'];
const TIERS = ['free', 'pro', 'ultra', 'paid'];
const DEFAULT_BASE = {
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

function glob(pattern, text) {
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

const rid = (prefix) => `${prefix}${crypto.randomBytes(6).toString('hex')}`;
const hint = (secret) => (secret.length > 8 ? `${secret.slice(0, 3)}...${secret.slice(-4)}` : '****');
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

function percentile(sorted, p) {
  if (!sorted.length) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function localDay(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function startOfDay(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** The mock's state and its HTTP handler. */
export function createMock({ seed = false, traffic = false, token = '', dist = '', log = () => {} } = {}) {
  const started = Date.now();
  let listen = '127.0.0.1:8045';
  const accounts = []; // records with secret and health
  const keys = []; // {id,name,hint,created,sha}
  const settings = {};
  let requests = []; // RequestEntry, oldest first
  const sseClients = new Set();
  const oauthStates = new Set();
  let rr = 0;

  const config = () => ({ ...DEFAULTS, ...settings });

  function info(a) {
    const now = Date.now();
    const h = a.health;
    let state = 'active';
    let reason = '';
    const cooling = h.cooling.filter((c) => c.until_ms > now);
    if (!a.enabled) state = 'disabled';
    else if (a.needs_reauth) {
      state = 'needs-reauth';
      reason = a.needs_reauth;
    } else if (h.breaker_open_until_ms > now) {
      state = 'cooling';
      reason = `circuit open after ${h.failures} failures`;
    } else if (cooling.length) {
      state = 'cooling';
      reason = cooling[0].reason;
    }
    return {
      id: a.id,
      name: a.name,
      kind: a.kind,
      base_url: a.base_url,
      models: a.models,
      enabled: a.enabled,
      state,
      reason,
      key_hint: hint(a.secret),
      created: a.created,
      tier: a.tier,
      proxy: a.proxy,
      project: a.project,
      health: { ...h, cooling },
    };
  }

  const infos = () => accounts.map(info);

  function broadcast(event, data) {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of sseClients) res.write(frame);
  }
  const accountsChanged = () => broadcast('accounts', infos());

  function findAccount(idOrName) {
    return accounts.find((a) => a.id === idOrName || a.name === idOrName);
  }

  function addAccount(body) {
    if (!KINDS.includes(body.kind)) throw [400, 'invalid', `unknown kind \`${body.kind}\``];
    const secret = String(body.api_key || '').trim();
    if (!secret) throw [400, 'invalid', 'api_key is empty'];
    if (body.kind === 'openai' && !body.base_url) throw [400, 'invalid', 'an openai account needs base_url'];
    if (body.tier && !TIERS.includes(body.tier)) throw [400, 'invalid', `unknown tier \`${body.tier}\``];
    if (body.proxy && !/^(https?|socks5h?):\/\//.test(body.proxy)) throw [400, 'invalid', 'proxy must start with http://, https://, socks5:// or socks5h://'];
    let name = String(body.name || '').trim() || `${body.kind}-${accounts.length + 1}`;
    if (accounts.some((a) => a.name === name)) throw [400, 'invalid', `an account named \`${name}\` exists`];
    const a = {
      id: rid('acc_'),
      name,
      kind: body.kind,
      base_url: String(body.base_url || DEFAULT_BASE[body.kind] || '').replace(/\/+$/, ''),
      models: Array.isArray(body.models) ? body.models : [],
      enabled: true,
      secret,
      created: Math.floor(Date.now() / 1000),
      tier: body.tier || (body.kind === 'openai' || body.kind === 'anthropic' ? 'paid' : 'free'),
      proxy: body.proxy || null,
      project: body.project || null,
      needs_reauth: '',
      health: { cooling: [], breaker_open_until_ms: 0, in_flight: 0, last_used_ms: 0, successes: 0, failures: 0, remaining: {} },
    };
    accounts.push(a);
    return a;
  }

  /** Which upstream model and accounts a requested model goes to (like scheduler.resolve). */
  function resolve(model) {
    const rules = Object.entries(settings)
      .filter(([k, v]) => k.startsWith('model_map.') && v)
      .map(([k, v]) => [k.slice('model_map.'.length), v])
      .sort((x, y) => x[0].includes('*') - y[0].includes('*') || y[0].length - x[0].length || (x[0] < y[0] ? -1 : 1));
    const rule = rules.find(([p]) => glob(p, model));
    const upstream = rule ? rule[1] : model;
    const enabled = accounts.filter((a) => a.enabled);
    let kind;
    let list;
    const explicit = enabled.filter((a) => a.models.includes(upstream));
    if (explicit.length) {
      kind = explicit[0].kind;
      list = explicit;
    } else if (upstream.startsWith('gemini')) {
      list = enabled.filter((a) => a.kind === 'gemini' || a.kind === 'google-oauth');
      kind = list[0]?.kind ?? 'gemini';
    } else if (upstream.startsWith('claude')) {
      list = enabled.filter((a) => a.kind === 'anthropic');
      kind = 'anthropic';
    } else {
      list = [];
    }
    if (!list.length) {
      if (!accounts.length) throw [503, 'no_accounts', 'no upstream accounts: add one with `levity account add`'];
      throw [404, 'model_not_found', `no account serves model \`${upstream}\``];
    }
    return { model, upstream_model: upstream, kind, accounts: list.map((a) => a.name), list };
  }

  function best(model) {
    const route = resolve(model);
    const now = Date.now();
    const pref = settings.preferred_account;
    const ready = route.list.filter((a) => !a.needs_reauth && a.health.breaker_open_until_ms <= now && !a.health.cooling.some((c) => c.until_ms > now && c.model === route.upstream_model));
    if (!ready.length) throw [503, 'none_ready', `no account can serve \`${route.upstream_model}\` right now`];
    const score = (a) => a.health.remaining[route.upstream_model]?.fraction ?? 1;
    const pinned = pref && ready.find((a) => a.id === pref || a.name === pref);
    const pick = pinned || [...ready].sort((x, y) => score(y) - score(x))[0];
    return { model: route.upstream_model, account: { id: pick.id, name: pick.name }, score: Number(score(pick).toFixed(3)) };
  }

  function record(entry) {
    requests.push(entry);
    if (requests.length > 20000) requests = requests.slice(-20000);
    broadcast('request', entry);
  }

  /** Serves one chat request against the mock accounts; returns [status, body]. */
  function serveChat(body, clientKey, protocol = 'openai') {
    const started = Date.now();
    const model = String(body?.model || '');
    const stream = !!body?.stream;
    const text = JSON.stringify(body?.messages ?? '').toLowerCase();
    const markers = (config().background_markers || '').split('|').filter(Boolean);
    const background = config().background_downgrade !== 'off' && markers.some((m) => !m.startsWith('=') && text.includes(m.toLowerCase()));
    const entry = {
      id: rid('req_'),
      time_ms: started,
      protocol,
      model,
      upstream_model: model,
      account: '',
      status: 200,
      latency_ms: 0,
      ttft_ms: null,
      input_tokens: 0,
      output_tokens: 0,
      attempts: 0,
      why: '',
      background,
      stream,
      client_key: clientKey,
      error: null,
    };
    let route;
    try {
      route = resolve(background ? config().background_model : model);
    } catch ([status, , message]) {
      entry.status = status;
      entry.error = message;
      entry.latency_ms = Date.now() - started + 1;
      record(entry);
      return [status, { error: { message, type: 'invalid_request_error', code: 'no_route' } }];
    }
    entry.upstream_model = route.upstream_model;
    const now = Date.now();
    const usable = route.list.filter((a) => !a.needs_reauth && a.health.breaker_open_until_ms <= now);
    const mode = config().scheduling;
    const pref = settings.preferred_account && usable.find((a) => a.id === settings.preferred_account || a.name === settings.preferred_account);
    let acc;
    if (pref) {
      acc = pref;
      entry.why = 'preferred';
    } else if (mode === 'performance') {
      acc = usable[rr++ % Math.max(1, usable.length)];
      entry.why = 'most headroom';
    } else {
      acc = usable[0];
      entry.why = mode === 'cache-first' ? 'session account' : 'first in order';
    }
    entry.attempts = 1;
    if (!acc) {
      entry.status = 503;
      entry.error = 'every account is cooling down';
      entry.latency_ms = Date.now() - started + 1;
      record(entry);
      return [503, { error: { message: entry.error, type: 'api_error', code: 'none_ready' } }];
    }
    entry.account = acc.name;
    const words = text.split(/\W+/).filter(Boolean).length;
    entry.input_tokens = 8 + words * 2;
    entry.output_tokens = 12;
    entry.latency_ms = 40 + Math.floor(Math.random() * 200);
    entry.ttft_ms = stream ? Math.floor(entry.latency_ms / 3) : null;
    acc.health.successes++;
    acc.health.last_used_ms = Date.now();
    const rem = acc.health.remaining[route.upstream_model] || { fraction: 1, reset_ms: startOfDay(Date.now()) + DAY };
    rem.fraction = Math.max(0, Number((rem.fraction - 0.01).toFixed(3)));
    acc.health.remaining[route.upstream_model] = rem;
    record(entry);
    return [
      200,
      {
        id: `chatcmpl-${entry.id}`,
        object: 'chat.completion',
        created: Math.floor(started / 1000),
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: `Hello from the levity mock (${acc.name}).` }, finish_reason: 'stop' }],
        usage: { prompt_tokens: entry.input_tokens, completion_tokens: entry.output_tokens, total_tokens: entry.input_tokens + entry.output_tokens },
      },
    ];
  }

  function stats(days) {
    const now = Date.now();
    const today0 = startOfDay(now);
    const from = today0 - (days - 1) * DAY;
    const inRange = requests.filter((r) => r.time_ms >= from);
    const ok = (r) => r.status < 400;
    const agg = (list) => ({
      requests: list.length,
      errors: list.filter((r) => !ok(r)).length,
      input_tokens: list.reduce((s, r) => s + r.input_tokens, 0),
      output_tokens: list.reduce((s, r) => s + r.output_tokens, 0),
    });
    const lat = (list) => {
      const s = list.map((r) => r.latency_ms).sort((a, b) => a - b);
      return { p50_ms: percentile(s, 50), p95_ms: percentile(s, 95) };
    };
    const todayList = requests.filter((r) => r.time_ms >= today0);
    const t = agg(todayList);
    const byDay = [];
    for (let d = from; d <= today0; d += DAY) {
      const list = inRange.filter((r) => r.time_ms >= d && r.time_ms < d + DAY);
      byDay.push({ day: localDay(d), ...agg(list) });
    }
    const hours = [];
    for (let h = today0; h <= now; h += HOUR) {
      const list = todayList.filter((r) => r.time_ms >= h && r.time_ms < h + HOUR);
      hours.push({ hour_ms: h, requests: list.length, ...lat(list) });
    }
    const group = (field) => {
      const m = new Map();
      for (const r of inRange) {
        const k = r[field] || '';
        if (!m.has(k)) m.set(k, []);
        m.get(k).push(r);
      }
      return [...m.entries()].map(([name, list]) => ({ name, ...agg(list) })).sort((a, b) => b.requests - a.requests);
    };
    return {
      today: { ...t, success_rate: t.requests ? (t.requests - t.errors) / t.requests : 1, ...lat(todayList) },
      days: byDay,
      hours,
      by_account: group('account'),
      by_model: group('model'),
      by_key: group('client_key'),
    };
  }

  // ---- seed data ---------------------------------------------------------------
  if (seed) {
    const now = Date.now();
    const mk = (body, extra = {}) => Object.assign(addAccount(body), extra);
    const a1 = mk({ kind: 'google-oauth', api_key: '1//0gSEEDtoken-alice', name: 'alice@gmail.com', tier: 'pro' });
    const a2 = mk({ kind: 'gemini', api_key: 'AIzaSyDEMO-key-0000001', name: 'gemini-main', tier: 'free' });
    const a3 = mk({ kind: 'gemini', api_key: 'AIzaSyDEMO-key-0000002', name: 'gemini-spare', tier: 'free' });
    const a4 = mk({ kind: 'anthropic', api_key: 'sk-ant-DEMO-000000000003', name: 'claude-team' });
    const a5 = mk({ kind: 'openai', api_key: 'sk-DEMO-000000000000004', name: 'deepseek', base_url: 'https://api.deepseek.com/v1', models: ['deepseek-chat', 'deepseek-reasoner'] });
    const a6 = mk({ kind: 'google-oauth', api_key: '1//0gSEEDtoken-bob', name: 'bob@gmail.com', tier: 'free' });
    a1.health.remaining = { 'gemini-2.5-pro': { fraction: 0.62, reset_ms: now + 5 * HOUR }, 'gemini-2.5-flash': { fraction: 0.88, reset_ms: now + 5 * HOUR } };
    a2.health.remaining = { 'gemini-2.5-flash': { fraction: 0.14, reset_ms: now + 3 * HOUR + 720_000 }, 'gemini-2.5-pro': { fraction: 0.4, reset_ms: now + 3 * HOUR } };
    a3.health.remaining = { 'gemini-2.5-flash': { fraction: 0.97, reset_ms: now + 9 * HOUR } };
    a3.health.cooling = [{ model: 'gemini-2.5-pro', until_ms: now + 95_000, reason: '429 rate limited (per-minute quota)' }];
    a6.needs_reauth = 'refresh token revoked (invalid_grant)';
    a4.enabled = false;
    a1.health.successes = 412;
    a1.health.failures = 3;
    a2.health.successes = 1290;
    a2.health.failures = 17;
    a1.health.last_used_ms = now - 40_000;
    a2.health.last_used_ms = now - 5_000;
    a5.health.last_used_ms = now - 3 * HOUR;
    keys.push({ id: 'key_seed1', name: 'laptop', hint: 'lv-...9f3a', created: Math.floor((now - 9 * DAY) / 1000), sha: sha('lv-seed-laptop') });
    settings['model_map.gpt-4o*'] = 'gemini-2.5-flash';
    settings['model_map.claude-*'] = 'gemini-2.5-pro';
    settings['model_map.o3'] = 'deepseek-reasoner';
    // History: 30 days of made-up traffic.
    const names = ['alice@gmail.com', 'gemini-main', 'gemini-spare', 'deepseek'];
    const models = ['gemini-2.5-flash', 'gemini-2.5-pro', 'gpt-4o-mini', 'deepseek-chat', 'claude-sonnet-4-5'];
    let seedN = 0;
    for (let d = 29; d >= 0; d--) {
      const day0 = startOfDay(now) - d * DAY;
      const count = 20 + Math.floor(Math.random() * 60) + (d % 7 === 0 ? 40 : 0);
      for (let i = 0; i < count; i++) {
        const time = day0 + Math.floor(Math.random() * DAY);
        if (time > now) continue;
        const model = models[Math.floor(Math.random() * models.length)];
        const err = Math.random() < 0.05;
        requests.push({
          id: `req_seed${seedN++}`,
          time_ms: time,
          protocol: ['openai', 'anthropic', 'gemini', 'responses'][Math.floor(Math.random() * 4)],
          model,
          upstream_model: model.startsWith('gpt') ? 'gemini-2.5-flash' : model.startsWith('claude') ? 'gemini-2.5-pro' : model,
          account: names[Math.floor(Math.random() * names.length)],
          status: err ? [429, 500, 503][Math.floor(Math.random() * 3)] : 200,
          latency_ms: 200 + Math.floor(Math.random() ** 2 * 9000),
          ttft_ms: Math.random() < 0.6 ? 150 + Math.floor(Math.random() * 900) : null,
          input_tokens: 200 + Math.floor(Math.random() * 6000),
          output_tokens: 50 + Math.floor(Math.random() * 1500),
          attempts: err ? 3 : Math.random() < 0.1 ? 2 : 1,
          why: ['session account', 'most headroom', 'first in order', 'preferred'][Math.floor(Math.random() * 4)],
          background: Math.random() < 0.08,
          stream: Math.random() < 0.6,
          client_key: Math.random() < 0.7 ? 'laptop' : null,
          error: err ? 'upstream answered 429: quota exceeded' : null,
        });
      }
    }
    requests.sort((a, b) => a.time_ms - b.time_ms);
  }

  let trafficTimer = null;
  if (traffic) {
    const models = ['gemini-2.5-flash', 'gpt-4o-mini', 'gemini-2.5-pro', 'deepseek-chat', 'unknown-model'];
    trafficTimer = setInterval(() => {
      const model = models[Math.floor(Math.random() * models.length)];
      serveChat({ model, stream: Math.random() < 0.5, messages: [{ role: 'user', content: 'generated traffic' }] }, Math.random() < 0.5 ? 'laptop' : null, ['openai', 'anthropic', 'gemini'][Math.floor(Math.random() * 3)]);
    }, 4000);
    trafficTimer.unref?.();
  }

  // ---- HTTP ----------------------------------------------------------------------
  function send(res, status, body, headers = {}) {
    const data = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(data);
  }
  const fail = (res, status, code, message, type = 'admin_error') => send(res, status, { error: { message, type, code } });

  async function readJson(req) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const text = Buffer.concat(chunks).toString('utf8');
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw [400, 'invalid_json', 'the body is not JSON'];
    }
  }

  const distDir = dist && fs.existsSync(path.join(dist, 'index.html')) ? dist : '';
  const MIME = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json' };

  function serveStatic(req, res, pathname) {
    if (!distDir) return false;
    let file = path.join(distDir, path.normalize(pathname).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(distDir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(distDir, 'index.html');
    res.writeHead(200, {
      'content-type': MIME[path.extname(file)] || 'application/octet-stream',
      'cache-control': pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    res.end(fs.readFileSync(file));
    return true;
  }

  async function api(req, res, url) {
    const method = req.method;
    const p = url.pathname.slice('/api'.length);
    if (token && req.headers['x-levity-admin-token'] !== token) {
      return fail(res, 401, 'admin_token_required', 'this server listens beyond loopback: send the admin token printed by `levity serve`');
    }
    if (method !== 'GET' && method !== 'HEAD' && req.headers['x-levity-admin'] !== '1') {
      return fail(res, 403, 'admin_header_required', 'state-changing admin calls need the header X-Levity-Admin: 1');
    }
    const body = method === 'GET' ? undefined : await readJson(req);
    let m;

    if (p === '/status' && method === 'GET') {
      return send(res, 200, {
        version: '0.1.0-mock',
        listen,
        data_file: '/home/user/.local/share/levity/levity.redb (mock: memory only)',
        seal: 'machine',
        accounts: infos(),
        client_keys: keys.length,
        uptime_secs: Math.floor((Date.now() - started) / 1000),
      });
    }
    if (p === '/events' && method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': levity mock events\n\n');
      sseClients.add(res);
      const ping = setInterval(() => res.write(': ping\n\n'), 15000);
      req.on('close', () => {
        clearInterval(ping);
        sseClients.delete(res);
      });
      return;
    }
    if (p === '/accounts' && method === 'GET') return send(res, 200, infos());
    if (p === '/accounts' && method === 'POST') {
      const a = addAccount(body || {});
      accountsChanged();
      return send(res, 201, info(a));
    }
    if (p === '/accounts/order' && method === 'PUT') {
      if (!Array.isArray(body)) throw [400, 'invalid', 'send a JSON list of account ids'];
      for (const id of body) if (!findAccount(id)) throw [404, 'not_found', `no such account: ${id}`];
      const pos = (a) => {
        const i = body.findIndex((id) => id === a.id || id === a.name);
        return i < 0 ? Infinity : i;
      };
      const sorted = [...accounts].sort((x, y) => pos(x) - pos(y));
      accounts.splice(0, accounts.length, ...sorted);
      accountsChanged();
      return send(res, 200, accounts.map((a) => ({ ...info(a), health: null })));
    }
    if (p === '/accounts/best' && method === 'GET') {
      return send(res, 200, best(url.searchParams.get('model') || ''));
    }
    if (p === '/accounts/preferred' && method === 'PUT') {
      const account = body?.account || '';
      if (account && !findAccount(account)) throw [404, 'not_found', `no such account: ${account}`];
      settings.preferred_account = account;
      return send(res, 200, { preferred_account: account });
    }
    if ((m = /^\/accounts\/([^/]+)(\/secret|\/quota)?$/.exec(p))) {
      const a = findAccount(decodeURIComponent(m[1]));
      if (!a) throw [404, 'not_found', `no such account: ${decodeURIComponent(m[1])}`];
      if (!m[2] && method === 'PATCH') {
        const b = body || {};
        if (b.tier !== undefined && !TIERS.includes(b.tier)) throw [400, 'invalid', `unknown tier \`${b.tier}\``];
        if (b.name !== undefined) {
          const n = String(b.name).trim();
          if (!n) throw [400, 'invalid', 'the name is empty'];
          if (accounts.some((x) => x !== a && x.name === n)) throw [400, 'invalid', `an account named \`${n}\` exists`];
          a.name = n;
        }
        if (b.enabled !== undefined) a.enabled = !!b.enabled;
        if (b.tier !== undefined) a.tier = b.tier;
        if (b.proxy !== undefined) a.proxy = b.proxy || null;
        if (Array.isArray(b.models)) a.models = b.models;
        accountsChanged();
        return send(res, 200, info(a));
      }
      if (!m[2] && method === 'DELETE') {
        accounts.splice(accounts.indexOf(a), 1);
        accountsChanged();
        return send(res, 200, info(a));
      }
      if (m[2] === '/secret' && method === 'PUT') {
        const s = String(body?.secret || '').trim();
        if (!s) throw [400, 'invalid', 'the secret is empty'];
        a.secret = s;
        a.needs_reauth = '';
        accountsChanged();
        return send(res, 200, info(a));
      }
      if (m[2] === '/quota' && method === 'POST') {
        const models = a.kind === 'openai' ? a.models : a.kind === 'anthropic' ? ['claude-sonnet-4-5'] : ['gemini-2.5-flash', 'gemini-2.5-pro'];
        for (const model of models) {
          a.health.remaining[model] = { fraction: a.health.remaining[model]?.fraction ?? 1, reset_ms: startOfDay(Date.now()) + DAY };
        }
        accountsChanged();
        return send(res, 200, info(a));
      }
    }
    if (p === '/oauth/start' && method === 'POST') {
      const state = rid('st_');
      oauthStates.add(state);
      return send(res, 200, { url: `http://${req.headers.host}/mock-oauth?state=${state}` });
    }
    if (p === '/keys' && method === 'GET') return send(res, 200, keys.map(({ sha: _s, ...k }) => k));
    if (p === '/keys' && method === 'POST') {
      const name = String(body?.name || '').trim() || `key-${keys.length + 1}`;
      if (keys.some((k) => k.name === name)) throw [400, 'invalid', `a key named \`${name}\` exists`];
      const key = `lv-${crypto.randomBytes(18).toString('base64url')}`;
      const k = { id: rid('key_'), name, hint: hint(key), created: Math.floor(Date.now() / 1000), sha: sha(key) };
      keys.push(k);
      const { sha: _s, ...pub } = k;
      return send(res, 201, { ...pub, key });
    }
    if ((m = /^\/keys\/([^/]+)$/.exec(p)) && method === 'DELETE') {
      const id = decodeURIComponent(m[1]);
      const i = keys.findIndex((k) => k.id === id || k.name === id);
      if (i < 0) throw [404, 'not_found', `no such client key: ${id}`];
      const [k] = keys.splice(i, 1);
      const { sha: _s, ...pub } = k;
      return send(res, 200, pub);
    }
    if (p === '/config' && method === 'GET') return send(res, 200, Object.fromEntries(Object.entries(config()).sort()));
    if (p === '/config' && method === 'PUT') {
      const key = String(body?.key ?? '');
      const value = String(body?.value ?? '');
      const err = validateSetting(key, value);
      if (err) throw [400, 'invalid', err];
      if (value === '') delete settings[key];
      else settings[key] = value;
      return send(res, 200, { key, value });
    }
    if (p === '/route' && method === 'GET') {
      const { list: _l, ...route } = resolve(url.searchParams.get('model') || '');
      return send(res, 200, route);
    }
    if (p === '/requests' && method === 'GET') {
      const limit = Math.max(1, Math.min(5000, Number(url.searchParams.get('limit')) || 100));
      return send(res, 200, requests.slice(-limit).reverse());
    }
    const one = /^\/requests\/([^/]+)$/.exec(p);
    if (one && method === 'GET') {
      const entry = requests.find((r) => r.id === decodeURIComponent(one[1]));
      if (!entry) throw [404, 'not_found', 'no such request in the log (it may be older than the retention)'];
      // The mock keeps no bodies: it shows the state a fresh install has.
      return send(res, 200, { entry, bodies: null, body_logging: settings.log_bodies === 'on' });
    }
    if (p === '/stats' && method === 'GET') {
      const days = Math.max(1, Math.min(365, Number(url.searchParams.get('days')) || 7));
      return send(res, 200, stats(days));
    }
    return fail(res, 404, 'not_found', 'no such route', 'invalid_request_error');
  }

  async function proxy(req, res, url) {
    if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
      return fail(res, 404, 'not_found', 'the mock serves only POST /v1/chat/completions', 'invalid_request_error');
    }
    let clientKey = null;
    if (keys.length) {
      const auth = String(req.headers.authorization || req.headers['x-api-key'] || '');
      const presented = auth.replace(/^bearer\s+/i, '').trim();
      const k = presented && keys.find((x) => x.sha === sha(presented));
      if (!k) return fail(res, 401, 'invalid_api_key', presented ? 'invalid client key: create one with `levity key create`' : 'missing client key: send `Authorization: Bearer <key>`', 'authentication_error');
      clientKey = k.name;
    }
    const body = await readJson(req);
    const [status, out] = serveChat(body, clientKey);
    return send(res, status, out);
  }

  function oauthPage(req, res, url) {
    const state = url.searchParams.get('state');
    if (!oauthStates.delete(state)) {
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
      return res.end('<!doctype html><title>levity mock</title><p>Unknown or used sign-in state.</p>');
    }
    const a = addAccount({ kind: 'google-oauth', api_key: `1//0g${crypto.randomBytes(12).toString('hex')}`, name: `user${accounts.length + 1}@gmail.com`, tier: 'free' });
    accountsChanged();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>levity mock</title><p>Signed in (mock). Account <b>${a.name}</b> added; you can close this tab.</p>`);
  }

  /** Node/connect-style handler: (req, res, next?) */
  async function handle(req, res, next) {
    const url = new URL(req.url, `http://${req.headers.host || 'localhost'}`);
    try {
      if (url.pathname === '/api' || url.pathname.startsWith('/api/')) return await api(req, res, url);
      if (url.pathname.startsWith('/v1/')) return await proxy(req, res, url);
      if (url.pathname === '/mock-oauth') return oauthPage(req, res, url);
      if (next) return next();
      if (req.method === 'GET' && serveStatic(req, res, url.pathname)) return;
      fail(res, 404, 'not_found', 'no such route (build the dashboard into dist/ to serve it here)', 'invalid_request_error');
    } catch (e) {
      if (Array.isArray(e)) return fail(res, e[0], e[1], e[2]);
      log(`mock error: ${e?.stack || e}`);
      fail(res, 500, 'internal', String(e?.message || e));
    }
  }

  return {
    handle,
    setListen(addr) {
      listen = addr;
    },
    close() {
      clearInterval(trafficTimer);
      for (const r of sseClients) r.end();
      sseClients.clear();
    },
  };
}

/** Starts a standalone mock server; resolves to {url, close}. */
export function startMockServer({ port = 8046, host = '127.0.0.1', ...opts } = {}) {
  const mock = createMock(opts);
  const server = http.createServer((req, res) => mock.handle(req, res));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      mock.setListen(`${hostPart}:${addr.port}`);
      resolve({
        url: `http://${hostPart}:${addr.port}`,
        close: () =>
          new Promise((done) => {
            mock.close();
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  const opt = (name, def) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] && !args[i + 1].startsWith('--') ? args[i + 1] : def;
  };
  const here = path.dirname(fileURLToPath(import.meta.url));
  const { url } = await startMockServer({
    port: Number(opt('port', process.env.PORT || 8046)),
    host: opt('host', '127.0.0.1'),
    seed: args.includes('--seed'),
    traffic: args.includes('--traffic'),
    token: opt('token', ''),
    dist: path.resolve(opt('dist', path.join(here, '..', 'dist'))),
    log: (m) => console.error(m),
  });
  console.log(`levity mock listening on ${url}`);
}
