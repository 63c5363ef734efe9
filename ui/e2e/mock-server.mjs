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
// --seed     start with demo accounts, keys, rules and 30 days of history (and the fixtures)
// --fixtures start with the e2e fixtures only: accounts waiting for their owner,
//            one resting, quota shared by a project's keys, 230 logged requests
//            among them a refused one, a cancelled one and one tried three times
// --traffic  invent a request every few seconds (live monitor demo)
// --token    require X-Levity-Admin-Token on /api (the exposed-server case)
// --dist     also serve the built dashboard from this folder (default: ../dist if it exists)

import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { DEFAULTS, SCHEMA, KINDS, TIERS, DEFAULT_BASE, REMEDY, glob, validateSetting } from './mock-settings.mjs';
import { DAY, startOfDay, quotaDayEnd, quota as quotaOf } from './mock-quota.mjs';
import { queryRequests as queryLog, stats as statsOf } from './mock-log.mjs';
import { seedDemo, seedFixtures } from './mock-fixtures.mjs';

// The rules and the log live in their own modules; these stay importable from here.
export { validateSetting, REMEDY } from './mock-settings.mjs';
export { pageKey } from './mock-log.mjs';

const rid = (prefix) => `${prefix}${crypto.randomBytes(6).toString('hex')}`;
const hint = (secret) => (secret.length > 8 ? `${secret.slice(0, 3)}...${secret.slice(-4)}` : '****');
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

/** The mock's state and its HTTP handler. */
export function createMock({ seed = false, fixtures = false, traffic = false, token = '', dist = '', log = () => {} } = {}) {
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
    else if (a.mark) {
      state = a.mark.broken === 'credentials' ? 'needs-reauth' : 'needs-action';
      reason = a.mark.reason;
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
      health: {
        ...h,
        cooling,
        broken: a.mark ? a.mark.broken : null,
        remedy: a.mark ? REMEDY[a.mark.broken] : null,
        quota: quotaOf(a, { accounts, settings }, now),
      },
    };
  }

  /** Whether `a` may be sent `model` now: not marked, breaker shut, not resting for it or for all models. */
  function ready(a, model, now) {
    return !a.mark && a.health.breaker_open_until_ms <= now && !a.health.cooling.some((c) => c.until_ms > now && (c.model === model || c.model === '*'));
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
    const desc = KINDS.find((k) => k.name === body.kind);
    if (!desc) throw [400, 'invalid_request', `unknown kind \`${body.kind}\``];
    const secret = String(body.api_key || '').trim();
    if (!secret) throw [400, 'invalid_request', 'api_key is empty'];
    if (desc.needs_base_url && !body.base_url) throw [400, 'invalid_request', `an ${desc.name} account needs --base-url (the URL up to and including /v1)`];
    if (body.tier && !TIERS.includes(body.tier)) throw [400, 'invalid_request', `unknown tier \`${body.tier}\``];
    if (body.proxy && !/^(https?|socks5h?):\/\//.test(body.proxy)) throw [400, 'invalid_request', 'proxy must start with http://, https://, socks5:// or socks5h://'];
    let name = String(body.name || '').trim() || `${body.kind}-${accounts.length + 1}`;
    if (accounts.some((a) => a.name === name)) throw [400, 'invalid_request', `an account named \`${name}\` exists`];
    const a = {
      id: rid('acc_'),
      name,
      kind: body.kind,
      base_url: String(body.base_url || DEFAULT_BASE[body.kind] || '').replace(/\/+$/, ''),
      models: Array.isArray(body.models) ? body.models : [],
      enabled: true,
      secret,
      created: Math.floor(Date.now() / 1000),
      tier: body.tier || desc.default_tier,
      proxy: body.proxy || null,
      project: body.project || null,
      mark: null, // {broken, reason}: waits for its owner
      usage: [], // {model, time_ms, tokens}: what health.quota counts
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
      if (!accounts.length) throw [503, 'unavailable', 'no upstream accounts: add one with `levity account add`'];
      throw [404, 'not_found', `no account serves model \`${upstream}\``];
    }
    return { model, upstream_model: upstream, kind, accounts: list.map((a) => a.name), list };
  }

  function best(model) {
    const route = resolve(model);
    const now = Date.now();
    const pref = settings.preferred_account;
    const usable = route.list.filter((a) => ready(a, route.upstream_model, now));
    if (!usable.length) throw [503, 'unavailable', `no account can serve \`${route.upstream_model}\` right now`];
    const score = (a) => a.health.remaining[route.upstream_model]?.fraction ?? 1;
    const pinned = pref && usable.find((a) => a.id === pref || a.name === pref);
    const pick = pinned || [...usable].sort((x, y) => score(y) - score(x))[0];
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
      cached_tokens: 0,
      reasoning_tokens: 0,
      output_tokens: 0,
      attempts: 0,
      why: '',
      background,
      stream,
      client_key: clientKey,
      error: null,
      attempt_log: [],
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
    const usable = route.list.filter((a) => ready(a, route.upstream_model, now));
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
    if (!acc) {
      entry.status = 503;
      entry.error = 'every account is cooling down';
      entry.latency_ms = Date.now() - started + 1;
      record(entry);
      return [503, { error: { message: entry.error, type: 'api_error', code: 'none_ready' } }];
    }
    entry.attempts = 1;
    entry.account = acc.name;
    const words = text.split(/\W+/).filter(Boolean).length;
    entry.input_tokens = 8 + words * 2;
    entry.output_tokens = 12;
    entry.latency_ms = 40 + Math.floor(Math.random() * 200);
    entry.ttft_ms = stream ? Math.floor(entry.latency_ms / 3) : null;
    entry.attempt_log = [{ account: acc.name, status: 200, class: 'ok', effect: 'none', ms: entry.latency_ms }];
    acc.health.successes++;
    acc.health.last_used_ms = Date.now();
    acc.usage.push({ model: route.upstream_model, time_ms: Date.now(), tokens: entry.input_tokens + entry.output_tokens });
    // Only Google sign-in accounts hear from the upstream what is left.
    if (acc.kind === 'google-oauth') {
      const rem = acc.health.remaining[route.upstream_model] || { fraction: 1, reset_ms: quotaDayEnd(acc.kind, Date.now()) };
      rem.fraction = Math.max(0, Number((rem.fraction - 0.01).toFixed(3)));
      acc.health.remaining[route.upstream_model] = rem;
    }
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

  const stats = (q) => statsOf(requests, q);
  const queryRequests = (q) => queryLog(requests, q);

  if (seed) seedDemo({ addAccount, keys, settings, requests });
  if (seed || fixtures) seedFixtures({ addAccount, requests });

  let trafficTimer = null;
  if (traffic) {
    const models = ['gemini-2.5-flash', 'gpt-4o-mini', 'gemini-2.5-pro', 'deepseek-chat', 'unknown-model'];
    trafficTimer = setInterval(() => {
      const model = models[Math.floor(Math.random() * models.length)];
      serveChat({ model, stream: Math.random() < 0.5, messages: [{ role: 'user', content: 'generated traffic' }] }, Math.random() < 0.5 ? 'laptop' : null, ['openai', 'anthropic', 'gemini'][Math.floor(Math.random() * 3)]);
    }, 4000);
    trafficTimer.unref?.();
  }

  /** A request levity refused before choosing an account (bad key, bad body): logged all the same. */
  function refused(status, error, { model = '', clientKey = null } = {}) {
    record({
      id: rid('req_'),
      time_ms: Date.now(),
      protocol: 'openai',
      model,
      upstream_model: model,
      account: '',
      status,
      latency_ms: 1,
      ttft_ms: null,
      input_tokens: 0,
      cached_tokens: 0,
      reasoning_tokens: 0,
      output_tokens: 0,
      attempts: 0,
      why: '',
      background: false,
      stream: false,
      client_key: clientKey,
      error,
      attempt_log: [],
    });
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
      throw [400, 'invalid_request', 'the body is not JSON'];
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
        storage: 'installed',
        data_file_new: false,
        disk: null,
      });
    }
    if (p === '/cluster' && method === 'GET') {
      // Seeded: a cluster of three with one instance lagging, as a team sees it.
      if (!seed && !fixtures) return send(res, 200, { enabled: false, id: null, redis: null, connected: false, instances: [] });
      const now = Date.now();
      const inst = (id, host, port, me, inSync, ago) => ({
        id, host, listen: `${host === 'this machine' ? '127.0.0.1' : '10.0.0.' + port % 250}:${port}`, version: '0.1.0-mock',
        seen_ms: now - ago, digest: inSync ? '5f2c1a0b9e7d' : '0d41c7aa3b12', up: true, me, in_sync: inSync, seen_ago_ms: ago,
      });
      return send(res, 200, {
        enabled: true,
        id: 'lv-3f9a01c2',
        redis: 'redis://***@10.0.0.5:6379/0',
        connected: true,
        instances: [
          inst('lv-3f9a01c2', 'this machine', 8045, true, true, 120),
          inst('lv-77d0be14', 'build-box', 8045, false, true, 340),
          inst('lv-a1c9e503', 'laptop-ana', 8046, false, false, 2_600),
        ],
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
      if (!Array.isArray(body)) throw [400, 'invalid_request', 'send a JSON list of account ids'];
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
        if (b.tier !== undefined && !TIERS.includes(b.tier)) throw [400, 'invalid_request', `unknown tier \`${b.tier}\``];
        if (b.name !== undefined) {
          const n = String(b.name).trim();
          if (!n) throw [400, 'invalid_request', 'the name is empty'];
          if (accounts.some((x) => x !== a && x.name === n)) throw [400, 'invalid_request', `an account named \`${n}\` exists`];
          a.name = n;
        }
        if (b.enabled !== undefined) a.enabled = !!b.enabled;
        if (b.tier !== undefined) a.tier = b.tier;
        if (b.proxy !== undefined) a.proxy = b.proxy || null;
        if (Array.isArray(b.models)) a.models = b.models;
        // Any change, an empty one too, is the owner's answer to a mark: try the account again.
        a.mark = null;
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
        if (!s) throw [400, 'invalid_request', 'the secret is empty'];
        a.secret = s;
        a.mark = null;
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
      if (keys.some((k) => k.name === name)) throw [400, 'invalid_request', `a key named \`${name}\` exists`];
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
    if (p === '/config/schema' && method === 'GET') return send(res, 200, SCHEMA);
    if (p === '/kinds' && method === 'GET') return send(res, 200, KINDS);
    if (p === '/config' && method === 'GET') return send(res, 200, Object.fromEntries(Object.entries(config()).sort()));
    if (p === '/config' && method === 'PUT') {
      const key = String(body?.key ?? '');
      const value = String(body?.value ?? '');
      const err = validateSetting(key, value);
      if (err) throw [400, 'invalid_request', err];
      if (value === '') delete settings[key];
      else settings[key] = value;
      return send(res, 200, { key, value });
    }
    if (p === '/route' && method === 'GET') {
      const { list, ...route } = resolve(url.searchParams.get('model') || '');
      const now = Date.now();
      const pref = settings.preferred_account;
      const until = (a) => Math.max(a.health.breaker_open_until_ms, ...a.health.cooling
        .filter((c) => c.model === route.upstream_model || c.model === '*').map((c) => c.until_ms), 0);
      const candidates = list.map((a) => ({
        name: a.name,
        state: a.mark ? 'needs-action' : until(a) > now ? 'resting' : 'ready',
        until_ms: !a.mark && until(a) > now ? until(a) : null,
        preferred: Boolean(pref) && (a.id === pref || a.name === pref),
      }));
      let first = null;
      let why = null;
      try {
        const b = best(route.model);
        first = b.account.name;
        why = candidates.find((c) => c.name === first)?.preferred ? 'pinned' : 'most headroom';
      } catch {
        // every account rests
      }
      const resting = candidates.map((c) => c.until_ms).filter(Boolean);
      return send(res, 200, { ...route, candidates, first, why, ready_at_ms: first ? null : (resting.length ? Math.min(...resting) : null) });
    }
    if (p === '/requests' && method === 'GET') {
      return send(res, 200, queryRequests(url.searchParams));
    }
    const one = /^\/requests\/([^/]+)$/.exec(p);
    if (one && method === 'GET') {
      const entry = requests.find((r) => r.id === decodeURIComponent(one[1]));
      if (!entry) throw [404, 'not_found', 'no such request in the log (it may be older than the retention)'];
      // The mock keeps no bodies: it shows the state a fresh install has.
      return send(res, 200, { entry, bodies: null, body_logging: settings.log_bodies === 'on' });
    }
    if (p === '/stats' && method === 'GET') {
      const answer = stats(url.searchParams);
      if (!answer) throw [400, 'invalid_request', 'step is day or hour; by is none, account, model or key'];
      return send(res, 200, answer);
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
      if (!k) {
        const message = presented ? 'invalid client key: create one with `levity key create`' : 'missing client key: send `Authorization: Bearer <key>`';
        refused(401, message);
        return fail(res, 401, 'invalid_api_key', message, 'authentication_error');
      }
      clientKey = k.name;
    }
    let body;
    try {
      body = await readJson(req);
    } catch (e) {
      if (Array.isArray(e)) refused(400, e[2], { clientKey });
      throw e;
    }
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
    fixtures: args.includes('--fixtures'),
    traffic: args.includes('--traffic'),
    token: opt('token', ''),
    dist: path.resolve(opt('dist', path.join(here, '..', 'dist'))),
    log: (m) => console.error(m),
  });
  console.log(`levity mock listening on ${url}`);
}