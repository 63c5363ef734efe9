// The mock's seeded data: the demo (--seed: accounts, a client key, model
// rules and 30 days of made-up history) and the fixtures the e2e run checks
// (--fixtures). Both fill the state createMock hands them through its
// addAccount and its lists, so they hold no state of their own.

import crypto from 'node:crypto';
import { HOUR, DAY, startOfDay, quotaDayStart } from './mock-quota.mjs';

const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

/** The demo the dashboard is developed against (`npm run mock`, `npm run dev:mock`). */
export function seedDemo({ addAccount, keys, settings, requests }) {
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
  a6.mark = { broken: 'credentials', reason: 'refresh token revoked (invalid_grant)' };
  for (let i = 0; i < 60; i++) a2.usage.push({ model: 'gemini-2.5-flash', time_ms: Math.max(quotaDayStart('gemini', now), now - 2 * HOUR) + i * 1000, tokens: 1200 });
  for (let i = 0; i < 8; i++) a4.usage.push({ model: 'claude-sonnet-4-5', time_ms: now - i * 20_000, tokens: 3000 });
  for (let i = 0; i < 5; i++) a5.usage.push({ model: 'deepseek-chat', time_ms: now - 3 * HOUR + i * 1000, tokens: 800 });
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
        session: Math.random() < 0.8 ? `hash:${(1000 + Math.floor(Math.random() * 12)).toString(16)}a3f9c2d1` : '',
        error: err ? 'upstream answered 429: quota exceeded' : null,
      });
      const r = requests.at(-1);
      r.cached_tokens = Math.random() < 0.4 ? Math.floor(r.input_tokens * 0.6) : 0;
      r.reasoning_tokens = r.model.includes('pro') ? Math.floor(r.output_tokens / 3) : 0;
      r.attempt_log = Array.from({ length: r.attempts }, (_, k) => {
        const last = k === r.attempts - 1;
        const status = last ? r.status : 429;
        return {
          account: last ? r.account : names[(names.indexOf(r.account) + k + 1) % names.length],
          status,
          class: status < 400 ? 'ok' : 'quota',
          effect: status < 400 ? 'none' : `rests until ${new Date(time + 60_000).toISOString()}`,
          ms: Math.floor(r.latency_ms / r.attempts),
        };
      });
    }
  }
  requests.sort((a, b) => a.time_ms - b.time_ms);
}

/**
 * What the e2e run checks, the same on every start: accounts waiting for
 * their owner (billing, a revoked sign-in), one resting, a project's keys
 * sharing their quota, and a log with a refused request, a cancelled one
 * and one tried three times. None of them can serve, so the accounts the
 * run adds are the ones chosen.
 */
export function seedFixtures({ addAccount, requests }) {
  const now = Date.now();
  const billing = addAccount({ kind: 'gemini', api_key: 'AIzaSyFIXTURE-billing-01', name: 'mock-billing', tier: 'free' });
  const resting = addAccount({ kind: 'gemini', api_key: 'AIzaSyFIXTURE-resting-02', name: 'mock-resting', tier: 'free' });
  const revoked = addAccount({ kind: 'google-oauth', api_key: '1//0gFIXTUREtoken-carol', name: 'mock-revoked', tier: 'free' });
  billing.project = resting.project = 'mock-project';
  billing.mark = {
    broken: 'billing',
    reason:
      'Gemini upstream error 403: This API method requires billing to be enabled. Please enable billing on project #1234 then retry. (PERMISSION_DENIED)',
  };
  revoked.mark = { broken: 'credentials', reason: 'Google token refresh failed: invalid_grant (Token has been expired or revoked.)' };
  const restUntil = now + 2 * HOUR + 5 * 60_000 + 30_000;
  resting.health.cooling = [
    { model: '*', until_ms: restUntil, reason: 'Gemini upstream error 429: Resource has been exhausted (e.g. check quota). (RESOURCE_EXHAUSTED)' },
  ];
  resting.health.failures = 4;
  resting.health.successes = 37;
  const from = Math.max(quotaDayStart('gemini', now), now - HOUR);
  for (let i = 0; i < 37; i++) resting.usage.push({ model: 'gemini-2.5-flash', time_ms: from + i * 1000, tokens: 900 });
  for (let i = 0; i < 3; i++) billing.usage.push({ model: 'gemini-2.5-flash', time_ms: from + i * 1000, tokens: 400 });

  const entry = (id, time_ms, over = {}) => ({
    id,
    time_ms,
    protocol: 'openai',
    model: 'gemini-2.5-flash',
    upstream_model: 'gemini-2.5-flash',
    account: 'mock-resting',
    status: 200,
    latency_ms: 900,
    ttft_ms: null,
    input_tokens: 120,
    cached_tokens: 0,
    reasoning_tokens: 0,
    output_tokens: 40,
    attempts: 1,
    why: 'first in order',
    background: false,
    stream: false,
    client_key: 'fixture-key',
    error: null,
    attempt_log: [{ account: 'mock-resting', status: 200, class: 'ok', effect: 'none', ms: 900 }],
    ...over,
  });
  // 227 answered requests two to three days ago: more than a page.
  for (let i = 0; i < 227; i++) requests.push(entry(`req_fx_${String(i).padStart(3, '0')}`, now - 3 * DAY + i * 5 * 60_000, { cached_tokens: i % 3 ? 0 : 64 }));
  requests.push(
    entry('req_fx_retried', now - 10 * 60_000, {
      account: 'mock-revoked',
      status: 503,
      latency_ms: 2030,
      input_tokens: 0,
      output_tokens: 0,
      attempts: 3,
      why: 'most headroom',
      error: 'no account could serve the request',
      attempt_log: [
        { account: 'mock-resting', status: 429, class: 'quota', effect: `rests until ${new Date(restUntil).toISOString()}`, ms: 310 },
        { account: 'mock-billing', status: 403, class: 'account', effect: 'marked: billing', ms: 220 },
        { account: 'mock-revoked', status: 401, class: 'account', effect: 'marked: credentials', ms: 1500 },
      ],
    }),
    entry('req_fx_cancelled', now - 8 * 60_000, {
      status: 499,
      latency_ms: 4100,
      output_tokens: 12,
      reasoning_tokens: 30,
      stream: true,
      error: 'the client closed the connection',
      attempt_log: [{ account: 'mock-resting', status: 499, class: 'cancelled', effect: 'none', ms: 4100 }],
    }),
    entry('req_fx_refused', now - 5 * 60_000, {
      account: '',
      status: 401,
      latency_ms: 1,
      input_tokens: 0,
      output_tokens: 0,
      attempts: 0,
      why: '',
      client_key: null,
      error: 'invalid client key: create one with `levity key create`',
      attempt_log: [],
    })
  );
  requests.sort((a, b) => a.time_ms - b.time_ms);
}
