#!/usr/bin/env node
// End-to-end check of the dashboard against a running levity (or the mock).
//
//   LEVITY_URL=http://127.0.0.1:8045 node e2e/run.mjs      a real levity serving the built UI
//   MOCK=1 node e2e/run.mjs                                 starts e2e/mock-server.mjs itself
//
// Environment:
//   LEVITY_URL          levity's address (required unless MOCK=1)
//   MOCK=1              run against the in-memory mock (serves ui/dist; build first)
//   FAKE_URL            base URL given to the Gemini accounts; unset: a fake Gemini
//                       (e2e/fake-gemini.mjs) is started on a free loopback port
//   ARTIFACTS           where screenshots go (default ui/e2e/artifacts)
//   LEVITY_ADMIN_TOKEN  the admin token (levity asks every caller for it)
//   CHROMIUM            browser binary (default /usr/bin/chromium)
//   HEADED=1            show the browser
//
// Exits 0 when every step passes; otherwise prints the failed step and exits 1
// (a screenshot of the page at the failure is saved as FAILED.png).

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.resolve(process.env.ARTIFACTS || path.join(here, 'artifacts'));
const ADMIN_TOKEN = process.env.LEVITY_ADMIN_TOKEN || '';
const MODEL = 'gemini-2.5-flash';
const PAGES = ['/', '/accounts', '/proxy', '/connect', '/monitor', '/usage', '/settings'];
const T = 15_000; // default wait

const cleanups = [];
let page;
let base;
let failed = false;

function log(msg) {
  process.stdout.write(`${msg}\n`);
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    log(`  ✓ ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed = true;
    log(`  ✗ ${name}\n    ${String(e?.message || e).split('\n').join('\n    ')}`);
    if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'FAILED.png'), fullPage: true }).catch(() => {});
    throw e;
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function waitFor(fn, msg, timeout = T) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${msg}${last ? ` (last error: ${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Admin API call from the script itself (not the page), with the same headers the UI sends. */
async function adminApi(method, p, body) {
  const headers = { accept: 'application/json' };
  if (ADMIN_TOKEN) headers['x-levity-admin-token'] = ADMIN_TOKEN;
  if (method !== 'GET') {
    headers['x-levity-admin'] = '1';
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${base}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status}: ${json?.error?.message || text.slice(0, 200)}`);
  return json;
}

/** Names of the e2e accounts in the page's table, top to bottom. */
async function tableOrder() {
  return page.$$eval('table.accounts tbody tr[data-name]', (rows) => rows.map((r) => r.dataset.name).filter((n) => n.startsWith('e2e-')));
}

async function apiOrder() {
  const list = await adminApi('GET', '/api/accounts');
  return list.map((a) => a.name).filter((n) => n.startsWith('e2e-'));
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function gotoNav(label) {
  // Client-side navigation through the nav bar (no reload).
  await page.getByRole('navigation').getByRole('link', { name: label, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: label, exact: true }).waitFor({ timeout: T });
}

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of fs.readdirSync(ARTIFACTS)) if (f.endsWith('.png')) fs.rmSync(path.join(ARTIFACTS, f));

  if (process.env.MOCK === '1') {
    const dist = path.join(here, '..', 'dist');
    if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error('MOCK=1 serves ui/dist: run `npm run build` first');
    const { startMockServer } = await import('./mock-server.mjs');
    // The fixtures: accounts waiting for their owner, one resting, a log of 230 requests.
    const mock = await startMockServer({ port: 0, dist, token: ADMIN_TOKEN, fixtures: true });
    cleanups.push(mock.close);
    base = mock.url;
    log(`mock levity at ${base}`);
  } else {
    base = (process.env.LEVITY_URL || '').replace(/\/+$/, '');
    if (!base) throw new Error('set LEVITY_URL to a running levity (or MOCK=1 to use the mock server)');
  }

  let fakeUrl = process.env.FAKE_URL;
  if (!fakeUrl) {
    const { startFakeGemini } = await import('./fake-gemini.mjs');
    const fake = await startFakeGemini();
    cleanups.push(fake.close);
    fakeUrl = fake.url;
    log(`fake Gemini at ${fakeUrl}`);
  }

  log(`e2e against ${base}; screenshots to ${ARTIFACTS}`);

  await step('levity answers and serves the dashboard', async () => {
    const res = await fetch(`${base}/accounts`);
    const html = await res.text();
    assert(res.ok && html.includes('id="app"'), `GET ${base}/accounts did not return the dashboard (HTTP ${res.status}); is ui/dist built into levity?`);
    await adminApi('GET', '/api/status');
  });

  const runId = Date.now().toString(36);
  const keyName = `e2e-key-${runId}`;
  let originalMode = 'balance';

  await step('clean up what an earlier run left', async () => {
    for (const a of await adminApi('GET', '/api/accounts')) {
      if (a.name === 'e2e-gemini' || a.name === 'e2e-second') await adminApi('DELETE', `/api/accounts/${encodeURIComponent(a.id)}`);
    }
    for (const k of await adminApi('GET', '/api/keys')) {
      if (k.name.startsWith('e2e-key-')) await adminApi('DELETE', `/api/keys/${encodeURIComponent(k.id)}`);
    }
    originalMode = (await adminApi('GET', '/api/config')).scheduling || 'balance';
  });

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: process.env.HEADED !== '1',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'].filter(
      (a) => a !== '--headless' || process.env.HEADED !== '1'
    ),
  });
  cleanups.push(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', colorScheme: 'light' });
  // Pages opened later in this context (new tabs) start signed in, as the
  // first one does through the `#token=` address `levity open` uses.
  if (ADMIN_TOKEN) await context.addInitScript((t) => sessionStorage.setItem('levity.adminToken', t), ADMIN_TOKEN);
  page = await context.newPage();

  const pageErrors = [];
  const badRequests = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/') && r.method() !== 'GET' && r.headers()['x-levity-admin'] !== '1') {
      badRequests.push(`${r.method()} ${u.pathname}`);
    }
  });

  if (ADMIN_TOKEN) {
    await step('the admin token: asked for without it, taken from #token= and kept out of the address', async () => {
      const bare = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
      try {
        const p = await bare.newPage();
        await p.goto(`${base}/accounts`);
        await p.getByRole('heading', { name: 'Admin token required' }).waitFor({ timeout: T });
        const seen = [];
        p.on('request', (r) => seen.push(r.url()));
        await p.goto(`${base}/accounts#token=${ADMIN_TOKEN}`);
        await p.getByRole('heading', { level: 1, name: 'Accounts' }).waitFor({ timeout: T });
        assert(!p.url().includes(ADMIN_TOKEN), `the token stayed in the address: ${p.url()}`);
        assert(!seen.some((u) => u.includes(ADMIN_TOKEN)), 'the token went out in a request address');
        const stored = await p.evaluate(() => [sessionStorage.getItem('levity.adminToken'), localStorage.getItem('levity.adminToken')]);
        assert(stored[0] === ADMIN_TOKEN && stored[1] === null, `token storage: ${JSON.stringify(stored)}`);
      } finally {
        await bare.close();
      }
    });
  }

  await step('open the dashboard (Accounts page, English by default)', async () => {
    await page.goto(`${base}/accounts`);
    await page.getByRole('heading', { level: 1, name: 'Accounts' }).waitFor({ timeout: T });
  });

  await step('Accounts: the cluster panel lists the instances and which lag (hidden when standing alone)', async () => {
    const heading = page.getByRole('heading', { level: 2, name: /^Cluster/ });
    if (process.env.MOCK === '1') {
      await heading.waitFor({ timeout: T });
      const panel = page.locator('section').filter({ has: heading });
      const rows = panel.locator('tbody tr');
      await waitFor(async () => (await rows.count()) === 3, 'the cluster panel does not list three instances');
      assert((await rows.first().innerText()).includes('this one'), 'this instance is not listed first');
      assert((await panel.getByText('Out of sync', { exact: true }).count()) === 1, 'the lagging instance is not marked');
      assert((await panel.getByText('Some out of sync', { exact: true }).count()) === 1, 'the panel does not say some lag');
    } else {
      const cluster = await adminApi('GET', '/api/cluster');
      assert(cluster.enabled === false, `a standalone server says enabled: ${cluster.enabled}`);
      assert((await heading.count()) === 0, 'a standalone server shows a cluster panel');
    }
  });

  async function addGemini(name, key) {
    const form = page.locator('form').filter({ has: page.locator('#acc-key') });
    await page.getByRole('radio', { name: 'Gemini API key' }).check();
    await page.fill('#acc-name', name);
    await page.fill('#acc-key', key);
    await page.fill('#acc-url', fakeUrl);
    await form.getByRole('button', { name: 'Add account' }).click();
    await page.locator(`table.accounts tr[data-name="${name}"]`).waitFor({ timeout: T });
    await waitFor(async () => (await page.locator('#acc-name').inputValue()) === '', 'the add form did not clear after adding');
  }

  await step('add Gemini account "e2e-gemini" through the form', async () => {
    await addGemini('e2e-gemini', 'AIzaE2E-0000000001');
    const acc = (await adminApi('GET', '/api/accounts')).find((a) => a.name === 'e2e-gemini');
    assert(acc, 'GET /api/accounts has no e2e-gemini');
    assert(acc.kind === 'gemini', `kind is ${acc.kind}`);
    assert(!acc.project, `an empty project field sent project ${acc.project}`);
    assert(acc.base_url.replace(/\/+$/, '') === fakeUrl.replace(/\/+$/, ''), `base_url is ${acc.base_url}, wanted ${fakeUrl}`);
    // Only Google sign-in accounts report quota: no button to refresh it here.
    const refresh = page.locator('table.accounts tr[data-name="e2e-gemini"]').getByRole('button', { name: /Refresh quota/ });
    assert((await refresh.count()) === 0, 'a Gemini API key account offers "Refresh quota"');
  });

  await step('add a second account "e2e-second"', async () => {
    await addGemini('e2e-second', 'AIzaE2E-0000000002');
    const order = await tableOrder();
    assert(same(order, ['e2e-gemini', 'e2e-second']), `table order is ${order}`);
  });

  await step('keyboard: Alt+ArrowUp on the handle moves "e2e-second" up (saved)', async () => {
    const handle = page.locator('tr[data-name="e2e-second"] .handle');
    await handle.focus();
    await page.keyboard.press('Alt+ArrowUp');
    await waitFor(async () => same(await tableOrder(), ['e2e-second', 'e2e-gemini']), 'the table did not show e2e-second first');
    const focused = await page.evaluate(() => document.activeElement?.closest('tr')?.dataset.name);
    assert(focused === 'e2e-second', `focus should stay on the moved row's handle, is on ${focused}`);
    await waitFor(async () => same(await apiOrder(), ['e2e-second', 'e2e-gemini']), 'GET /api/accounts did not get the new order');
  });

  await step('drag and drop: drag "e2e-gemini" above "e2e-second" (saved)', async () => {
    const handle = page.locator('tr[data-name="e2e-gemini"] .handle');
    const target = page.locator('tr[data-name="e2e-second"]');
    const hb = await handle.boundingBox();
    const tb = await target.boundingBox();
    await page.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2);
    await page.mouse.down();
    await page.mouse.move(hb.x + hb.width / 2, tb.y + 4, { steps: 12 });
    await page.mouse.up();
    await waitFor(async () => same(await tableOrder(), ['e2e-gemini', 'e2e-second']), `the table did not show e2e-gemini first after the drag (${await tableOrder()})`);
    await waitFor(async () => same(await apiOrder(), ['e2e-gemini', 'e2e-second']), 'GET /api/accounts did not get the dragged order');
  });

  await step('a failed save rolls the order back and says so', async () => {
    await page.route('**/api/accounts/order', (route) =>
      route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: { message: 'e2e: injected failure', type: 'admin_error', code: 'store_error' } }) })
    );
    await page.locator('tr[data-name="e2e-second"] .handle').focus();
    await page.keyboard.press('Alt+ArrowUp');
    await page.getByRole('alert').filter({ hasText: 'injected failure' }).waitFor({ timeout: T });
    await waitFor(async () => same(await tableOrder(), ['e2e-gemini', 'e2e-second']), 'the order was not rolled back');
    await page.unroute('**/api/accounts/order');
    assert(same(await apiOrder(), ['e2e-gemini', 'e2e-second']), 'the server order changed although the save failed');
  });

  await step('the "Move up" button moves "e2e-second" up again (saved)', async () => {
    await page.getByRole('button', { name: 'Move e2e-second up' }).click();
    await waitFor(async () => same(await tableOrder(), ['e2e-second', 'e2e-gemini']), 'the table did not show e2e-second first');
    await waitFor(async () => same(await apiOrder(), ['e2e-second', 'e2e-gemini']), 'GET /api/accounts did not get the order');
  });

  await step('after a reload the order survived (table and GET /api/accounts)', async () => {
    await page.reload();
    await page.locator('table.accounts tr[data-name="e2e-second"]').waitFor({ timeout: T });
    const order = await tableOrder();
    assert(same(order, ['e2e-second', 'e2e-gemini']), `after reload the table shows ${order}`);
    const api = await apiOrder();
    assert(same(api, ['e2e-second', 'e2e-gemini']), `GET /api/accounts gives ${api}`);
  });

  await step('Proxy: scheduling mode "performance" is saved (GET /api/config)', async () => {
    await gotoNav('Proxy');
    await page.selectOption('#mode', 'performance');
    await waitFor(async () => (await adminApi('GET', '/api/config')).scheduling === 'performance', 'GET /api/config scheduling is not performance');
    await page.locator('li.current').filter({ hasText: 'performance' }).waitFor({ timeout: T });
  });

  await step('Proxy: an invalid setting shows the API validation error', async () => {
    await page.fill('#cfg-max_attempts', '0');
    await page.locator('form').filter({ has: page.locator('#cfg-max_attempts') }).getByRole('button', { name: 'Save' }).click();
    await page.locator('#cfg-max_attempts-msg .error').waitFor({ timeout: T });
    const msg = await page.locator('#cfg-max_attempts-msg').innerText();
    assert(/max_attempts/.test(msg), `unexpected validation message: ${msg}`);
    await page.fill('#cfg-max_attempts', (await adminApi('GET', '/api/config')).max_attempts);
  });

  await step('Proxy: add a mapping rule, test a route through it, delete it', async () => {
    const pattern = `e2e-alias-${runId}*`;
    await page.fill('#rule-pattern', pattern);
    await page.fill('#rule-target', MODEL);
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByRole('row').filter({ hasText: pattern }).waitFor({ timeout: T });
    assert((await adminApi('GET', '/api/config'))[`model_map.${pattern}`] === MODEL, 'GET /api/config lacks the rule');
    await page.fill('#test-model', `e2e-alias-${runId}-x`);
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    const out = page.locator('.test-out');
    await out.getByText(pattern).waitFor({ timeout: T });
    const text = await out.innerText();
    assert(text.includes(MODEL), `the route tester shows no upstream ${MODEL}:\n${text}`);
    assert(/e2e-(gemini|second)/.test(text), `the route tester lists no e2e account:\n${text}`);
    await page.getByRole('button', { name: `Delete rule ${pattern}` }).click();
    await page.getByRole('row').filter({ hasText: pattern }).waitFor({ state: 'detached', timeout: T });
    assert(!(`model_map.${pattern}` in (await adminApi('GET', '/api/config'))), 'the rule is still in GET /api/config');
  });

  if (process.env.MOCK !== '1') await step('Proxy: a mapping to a model nothing knows is refused with the closest name; "Save anyway" keeps it', async () => {
    const pattern = `e2e-typo-${runId}`;
    await page.fill('#rule-pattern', pattern);
    await page.fill('#rule-target', 'gemini-2.5-flsh');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByText('did you mean `gemini-2.5-flash`?', { exact: false }).waitFor({ timeout: T });
    assert(!(`model_map.${pattern}` in (await adminApi('GET', '/api/config'))), 'the typo was saved');
    await page.getByRole('button', { name: 'Save anyway' }).click();
    await page.getByRole('row').filter({ hasText: pattern }).waitFor({ timeout: T });
    assert((await adminApi('GET', '/api/config'))[`model_map.${pattern}`] === 'gemini-2.5-flsh', 'Save anyway did not keep the rule');
    await page.getByRole('button', { name: `Delete rule ${pattern}` }).click();
    await page.getByRole('row').filter({ hasText: pattern }).waitFor({ state: 'detached', timeout: T });
  });

  await step('Proxy: the route tester names the preferred account first, and each account with its state', async () => {
    // The preferred account leads in balance mode (performance mode picks the least busy).
    const mode = (await adminApi('GET', '/api/config')).scheduling;
    await adminApi('PUT', '/api/config', { key: 'scheduling', value: 'balance' });
    await adminApi('PUT', '/api/accounts/preferred', { account: 'e2e-second' });
    try {
      await page.fill('#test-model', MODEL);
      await page.getByRole('button', { name: 'Test', exact: true }).click();
      const out = page.locator('.test-out');
      await out.getByText('the preferred account').waitFor({ timeout: T });
      const text = await out.innerText();
      assert(/A new conversation goes to\s+e2e-second/i.test(text), `the tester does not send a new conversation to the preferred account:\n${text}`);
      assert(/e2e-gemini\s*ready/i.test(text) && /e2e-second\s*ready\s*preferred/i.test(text), `the accounts' states:\n${text}`);
    } finally {
      await adminApi('PUT', '/api/accounts/preferred', { account: '' });
      await adminApi('PUT', '/api/config', { key: 'scheduling', value: mode });
    }
  });

  let clientKey = '';
  await step('Proxy: create a client key and read it from the page', async () => {
    await page.fill('#key-name', keyName);
    await page.getByRole('button', { name: 'Create key' }).click();
    const el = page.locator('[data-testid="new-key"]');
    await el.waitFor({ timeout: T });
    clientKey = (await el.innerText()).trim();
    assert(clientKey.length >= 16, `the key on the page looks wrong: "${clientKey}"`);
    const keys = await adminApi('GET', '/api/keys');
    assert(keys.some((k) => k.name === keyName), `GET /api/keys has no ${keyName}`);
  });

  // Limits are levity's own: the mock does not play them.
  if (process.env.MOCK !== '1') await step('Proxy: a key limited to one model is refused another, as a 403 in its protocol', async () => {
    const name = `${keyName}-limited`;
    await page.fill('#key-name', name);
    await page.locator('details.limits summary').click();
    await page.fill('#key-models', 'gemini-2.5-pro');
    await page.fill('#key-rpm', '30');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByText(`Key “${name}” created.`).waitFor({ timeout: T });
    const limited = (await page.locator('[data-testid="new-key"]').innerText()).trim();
    const row = page.getByRole('row').filter({ hasText: name });
    const shown = await row.innerText();
    assert(shown.includes('30 req/min') && shown.includes('gemini-2.5-pro'), `the keys table does not show the limits:\n${shown}`);
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${limited}` },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello' }] }),
    });
    const body = await res.json();
    assert(res.status === 403, `a request for ${MODEL} with a gemini-2.5-pro-only key got ${res.status}: ${JSON.stringify(body)}`);
    assert(body.error?.message?.includes(name) && body.error.message.includes('gemini-2.5-pro'), `the refusal does not name the key and its models: ${JSON.stringify(body)}`);
  });

  await step('Connect: the new key can be picked and fills the snippets', async () => {
    await gotoNav('Connect');
    await page.selectOption('#key-pick', { label: keyName });
    const text = await page.locator('main').innerText();
    assert(text.includes(`ANTHROPIC_API_KEY=${clientKey}`), 'the Claude Code snippet does not carry the key');
    assert(text.includes('wire_api = "responses"'), 'the Codex snippet is missing');
  });

  if (process.env.E2E_HOME) await step('Connect: "Set up a tool" shows the change to Claude Code\'s settings, then writes it with a new key', async () => {
    await gotoNav('Connect');
    await page.selectOption('#setup-tool', 'claude-code');
    await page.getByRole('button', { name: 'Show the change' }).click();
    const diff = page.getByRole('region', { name: "The change to Claude Code's config" }).or(page.locator('section[aria-labelledby="setup-h"] pre'));
    await diff.first().waitFor({ timeout: T });
    const text = await diff.first().innerText();
    assert(text.includes('"ANTHROPIC_BASE_URL"') && text.includes(base), `the diff:\n${text}`);
    const file = path.join(process.env.E2E_HOME, '.claude', 'settings.json');
    assert(!fs.existsSync(file), 'the preview wrote the file');
    await page.getByRole('button', { name: 'Write it for Claude Code' }).click();
    await page.getByText('To undo:').waitFor({ timeout: T });
    const settings = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert(settings.env.ANTHROPIC_BASE_URL === base && /^sk-lev-/.test(settings.env.ANTHROPIC_AUTH_TOKEN), `written: ${JSON.stringify(settings)}`);
    const keys = await adminApi('GET', '/api/keys');
    assert(keys.some((k) => /^claude-code-/.test(k.name)), 'no client key was made for Claude Code');
  });

  await step('Settings: export seals everything in a file with a passphrase; importing it back updates, adds nothing', async () => {
    await gotoNav('Settings');
    await page.fill('#export-pass', 'e2e passphrase 1');
    await page.fill('#export-pass2', 'e2e passphrase 1');
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: T }), page.getByRole('button', { name: 'Export', exact: true }).click()]);
    const file = path.join(ARTIFACTS, 'levity-export.json');
    await download.saveAs(file);
    const text = fs.readFileSync(file, 'utf8');
    assert(/"levity_export": 1/.test(text) && !text.includes('e2e-gemini') && !text.includes('AIza'), 'the export is readable without its passphrase');
    const accounts = (await adminApi('GET', '/api/accounts')).length;
    await page.setInputFiles('#import-file', file);
    await page.fill('#import-pass', 'e2e passphrase 1');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText(`Imported: 0 account(s) added, ${accounts} updated`).waitFor({ timeout: T });
    fs.rmSync(file);
  });

  await step('Settings: body logging turns on from its checkbox', async () => {
    await gotoNav('Settings');
    const box = page.getByRole('checkbox', { name: 'Also keep request and response bodies' });
    await box.check();
    await page.locator('section[aria-labelledby="log-h"] [role="status"]').filter({ hasText: 'Saved' }).waitFor({ timeout: T });
    const cfg = await adminApi('GET', '/api/config');
    assert(cfg.log_bodies === 'on', `log_bodies is ${cfg.log_bodies}`);
  });

  await step('Monitor: a proxied chat request appears live, without a reload', async () => {
    await gotoNav('Monitor');
    await page.evaluate(() => (window.__e2eNoReload = true));
    await page.locator('.live .badge').filter({ hasText: /^Live$/ }).waitFor({ timeout: T }); // the event stream is open
    const before = new Set(await page.$$eval('table.log tbody tr[data-id]', (rows) => rows.map((r) => r.dataset.id)));
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello e2e' }] }),
    });
    const body = await res.text();
    assert(res.ok, `POST /v1/chat/completions → ${res.status}: ${body.slice(0, 300)}`);
    const id = await waitFor(
      async () => {
        const rows = await page.$$eval('table.log tbody tr[data-id]', (rs) => rs.map((r) => ({ id: r.dataset.id, text: r.innerText })));
        return rows.find((r) => !before.has(r.id) && r.text.includes(MODEL))?.id;
      },
      'no new gemini-2.5-flash row appeared in the Monitor'
    );
    assert(await page.evaluate(() => window.__e2eNoReload === true), 'the page reloaded');
    await page.locator(`table.log tr[data-id="${id}"] button`).first().click();
    const dialog = page.getByRole('dialog', { name: 'Request details' });
    await dialog.waitFor({ timeout: T });
    const detail = await dialog.innerText();
    assert(detail.includes(keyName), `the detail panel does not name the client key ${keyName}:\n${detail}`);
    assert(/e2e-(gemini|second)/.test(detail), 'the detail panel does not name an e2e account');
    if (process.env.MOCK !== '1') {
      const req = dialog.locator('pre[data-part="request"]');
      await req.filter({ hasText: 'hello e2e' }).waitFor({ timeout: T });
      const resp = await dialog.locator('pre[data-part="response"]').innerText();
      assert(resp.includes('chat.completion'), `the response body is missing:\n${resp.slice(0, 300)}`);
      const all = await dialog.innerText();
      assert(!all.includes(clientKey), 'the client key appears in full in the logged headers');
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'monitor-detail-light.png') });
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', timeout: T });
  });

  await step('Usage: the per-day table exports as CSV; hours split by key chart each key', async () => {
    await gotoNav('Usage');
    const button = page.getByRole('button', { name: 'Export CSV' });
    await waitFor(() => button.isEnabled(), 'Export CSV stays disabled (no days from /api/stats)');
    const csv = async () => {
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: T }), button.click()]);
      const file = path.join(ARTIFACTS, download.suggestedFilename());
      await download.saveAs(file);
      const lines = fs.readFileSync(file, 'utf8').trim().split(/\r\n/);
      fs.rmSync(file);
      return lines;
    };
    const header = 'period,name,requests,errors,input_tokens,output_tokens,cached_tokens,cache_hit_rate,cost_usd,saved_usd';
    let lines = await csv();
    assert(lines[0] === header, `CSV header is ${lines[0]}`);
    assert(lines.length === 8 && /^\d{4}-\d{2}-\d{2},,\d+,\d+,\d+,\d+,\d+,[\d.]*,[\d.e-]+,[\d.e-]+$/.test(lines.at(-1)), `CSV rows look wrong: ${lines.slice(0, 3).join(' | ')}`);
    // Each hour split by client key: the e2e key made requests this hour.
    await page.getByLabel('Each point', { exact: true }).selectOption('hour');
    await page.getByLabel('Split by', { exact: true }).selectOption('key');
    await page.getByLabel('Show', { exact: true }).selectOption('requests');
    // The chart's screen-reader table has a column per series.
    const chart = page.locator('figure.chart').first();
    await chart.locator('table th', { hasText: keyName }).first().waitFor({ state: 'attached', timeout: T });
    lines = await csv();
    const mine = lines.filter((l) => l.split(',')[1] === keyName);
    assert(mine.length >= 1 && /^\d{4}-\d{2}-\d{2}T\d{2}:00Z$/.test(mine[0].split(',')[0]), `no hourly CSV row for ${keyName}: ${lines.slice(0, 4).join(' | ')}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'usage-hourly-by-key.png') });
  });

  if (process.env.MOCK === '1') {
    await step('Accounts (mock only): "Sign in with Google" opens the sign-in tab; the account arrives live', async () => {
      await gotoNav('Accounts');
      await page.getByRole('radio', { name: 'Google sign-in' }).check();
      const [popup] = await Promise.all([context.waitForEvent('page', { timeout: T }), page.getByRole('button', { name: 'Sign in with Google' }).click()]);
      await popup.waitForLoadState();
      await waitFor(async () => /mock-oauth/.test(popup.url()), `the new tab went to ${popup.url()}`);
      const name = await popup.locator('b').innerText();
      await popup.close();
      await page.locator(`table.accounts tr[data-name="${name}"]`).waitFor({ timeout: T });
      await page.locator(`table.accounts tr[data-name="${name}"]`).getByRole('button', { name: `Refresh quota of ${name}` }).waitFor({ timeout: T });
    });
  }

  if (process.env.MOCK !== '1') await step('Google sign-in from the dashboard: without a client it leads to Settings; entered there, sign-in asks Google for that client', async () => {
    const field = (label) => page.locator('form.field').filter({ has: page.getByLabel(label) });
    const saveField = async (label, value) => {
      await field(label).getByLabel(label).fill(value);
      await field(label).getByRole('button', { name: 'Save' }).click();
      await field(label).getByText('Saved.').waitFor({ timeout: T });
    };
    await gotoNav('Accounts');
    await page.getByRole('radio', { name: 'Google sign-in' }).check();
    await page.getByRole('button', { name: 'Sign in with Google' }).click();
    await page.getByRole('link', { name: 'Enter the OAuth client in Settings' }).click();
    await page.getByRole('heading', { level: 2, name: 'Google sign-in' }).waitFor({ timeout: T });
    const clientId = `e2e-${runId}.apps.googleusercontent.com`;
    try {
      await saveField('OAuth client ID', clientId);
      await saveField('OAuth client secret', 'GOCSPX-e2e-secret-0001');
      const cfg = await adminApi('GET', '/api/config');
      assert(cfg.oauth_client_id === clientId && cfg.oauth_client_secret !== 'GOCSPX-e2e-secret-0001', `the client as saved: ${cfg.oauth_client_id} / ${cfg.oauth_client_secret}`);
      await page.getByRole('link', { name: 'Then sign in on Accounts → Add account' }).click();
      await page.getByRole('radio', { name: 'Google sign-in' }).check();
      const [tab] = await Promise.all([context.waitForEvent('page', { timeout: T }), page.getByRole('button', { name: 'Sign in with Google' }).click()]);
      const href = await page.getByRole('link', { name: 'Open the sign-in page' }).getAttribute('href');
      await tab.close();
      const url = new URL(href);
      assert(url.origin === 'https://accounts.google.com', `the sign-in page is ${url.origin}`);
      assert(url.searchParams.get('client_id') === clientId, `client_id=${url.searchParams.get('client_id')}`);
      assert(url.searchParams.get('redirect_uri') === `${base}/oauth2callback`, `redirect_uri=${url.searchParams.get('redirect_uri')}`);
    } finally {
      await adminApi('PUT', '/api/config', { key: 'oauth_client_id', value: '' });
      await adminApi('PUT', '/api/config', { key: 'oauth_client_secret', value: '' });
    }
  });

  await step('Accounts: the account that served a request shows a quota bar (counted by levity, any kind)', async () => {
    const served = (await adminApi('GET', '/api/requests?limit=50')).find((e) => e.client_key === keyName && e.status === 200 && e.account);
    assert(served, `GET /api/requests has no answered request from ${keyName}`);
    await gotoNav('Accounts');
    const cell = page.locator(`table.accounts tr[data-name="${served.account}"] td.quota`);
    await cell.getByRole('meter').first().waitFor({ timeout: T });
    const text = await cell.innerText();
    assert(/requests (today|this minute)|tokens/.test(text), `the quota cell of ${served.account} has no figures:\n${text}`);
    assert(/resets in \d/.test(text), `the quota cell of ${served.account} says no reset time:\n${text}`);
  });

  if (process.env.MOCK === '1') {
    const stateCell = (name) => page.locator(`table.accounts tr[data-name="${name}"] td.state`);
    const clock = /\b\d{1,2}:\d{2}\b/;

    await step('Accounts (mock only): a broken account shows its reason and what to do; a resting one "back in …"', async () => {
      await gotoNav('Accounts');
      const billing = stateCell('mock-billing');
      await billing.getByText('Needs action', { exact: true }).waitFor({ timeout: T });
      const text = await billing.innerText();
      for (const want of ['waits for you', 'add credit or enable billing at the provider', 'requires billing to be enabled']) {
        assert(text.includes(want), `mock-billing does not say "${want}":\n${text}`);
      }
      await billing.getByRole('button', { name: 'Try mock-billing again' }).waitFor({ timeout: T });
      const revoked = await stateCell('mock-revoked').innerText();
      assert(/Needs re-auth/.test(revoked) && revoked.includes('replace its key or sign in again'), `mock-revoked:\n${revoked}`);
      await stateCell('mock-revoked').getByRole('button', { name: 'Try mock-revoked again' }).waitFor({ timeout: T });

      const resting = stateCell('mock-resting');
      const rest = await resting.innerText();
      assert(/all models: back in 2 h \d+ min/.test(rest), `mock-resting does not say when it is back:\n${rest}`);
      assert(rest.includes('RESOURCE_EXHAUSTED'), `mock-resting does not give its reason:\n${rest}`);
      assert(!clock.test(rest), `mock-resting shows a bare clock:\n${rest}`);
      const title = await resting.locator('.rest').first().getAttribute('title');
      assert(/\d{4}/.test(title || '') && clock.test(title || ''), `the exact time is not in the tooltip: ${title}`);
      assert((await resting.getByRole('button', { name: /again/ }).count()) === 0, 'a resting account offers "Try again"');

      const quota = await page.locator('table.accounts tr[data-name="mock-resting"] td.quota').innerText();
      assert(/40 \/ 250 requests today/.test(quota), `mock-resting's quota: ${quota}`);
      assert(quota.includes('shared by 2 keys of one project'), `mock-resting's quota does not say it is shared: ${quota}`);
      await page.screenshot({ path: path.join(ARTIFACTS, 'accounts-broken-light.png'), fullPage: true });
    });

    await step('Overview (mock only): accounts needing attention with their reason; the recommendation is never one of them', async () => {
      await gotoNav('Overview');
      const list = page.locator('ul.attention');
      await list.locator('li[data-name="mock-billing"]').waitFor({ timeout: T });
      const billing = await list.locator('li[data-name="mock-billing"]').innerText();
      assert(billing.includes('add credit or enable billing at the provider') && billing.includes('requires billing'), `Overview, mock-billing:\n${billing}`);
      const resting = await list.locator('li[data-name="mock-resting"]').innerText();
      assert(/back in 2 h \d+ min/.test(resting) && !clock.test(resting), `Overview, mock-resting:\n${resting}`);
      const best = page.locator('section[aria-labelledby="best-h"] .best .big');
      await best.waitFor({ timeout: T });
      const name = await best.innerText();
      assert(/^e2e-/.test(name), `the recommended account is ${name}`);
    });

    await step('Accounts and Overview (mock only): the same in Chinese', async () => {
      await gotoNav('Settings');
      await page.selectOption('#lang', 'zh');
      await page.getByRole('navigation').getByRole('link', { name: '账号' }).click();
      await page.getByRole('heading', { level: 1, name: '账号' }).waitFor({ timeout: T });
      const billing = stateCell('mock-billing');
      await billing.getByText('需要处理', { exact: true }).waitFor({ timeout: T });
      const text = await billing.innerText();
      for (const want of ['等你处理', '在服务商处充值或开通结算', 'requires billing to be enabled']) {
        assert(text.includes(want), `zh: mock-billing does not say "${want}":\n${text}`);
      }
      await billing.getByRole('button', { name: '重试 mock-billing' }).waitFor({ timeout: T });
      const rest = await stateCell('mock-resting').innerText();
      assert(/2 小时 \d+ 分钟后恢复/.test(rest) && !clock.test(rest), `zh: mock-resting:\n${rest}`);
      const quota = await page.locator('table.accounts tr[data-name="mock-resting"] td.quota').innerText();
      assert(quota.includes('同一项目的 2 个密钥共用'), `zh: mock-resting's quota: ${quota}`);
      await page.screenshot({ path: path.join(ARTIFACTS, 'accounts-broken-zh-light.png'), fullPage: true });
      await page.getByRole('navigation').getByRole('link', { name: '设置' }).click();
      await page.selectOption('#lang', 'en');
      await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor({ timeout: T });
    });

    await step('Accounts (mock only): "Try again" sends PATCH {} and the account serves again', async () => {
      await gotoNav('Accounts');
      const [req] = await Promise.all([
        page.waitForRequest((r) => r.method() === 'PATCH' && /\/api\/accounts\/[^/]+$/.test(new URL(r.url()).pathname), { timeout: T }),
        stateCell('mock-billing').getByRole('button', { name: 'Try mock-billing again' }).click(),
      ]);
      assert(req.postData() === '{}', `the PATCH body is ${req.postData()}`);
      await stateCell('mock-billing').getByText('Active', { exact: true }).waitFor({ timeout: T });
      const acc = (await adminApi('GET', '/api/accounts')).find((a) => a.name === 'mock-billing');
      assert(acc.state === 'active' && acc.health.broken === null, `after "Try again": ${acc.state} / ${acc.health.broken}`);
    });

    await step('Monitor (mock only): filter by status on the server; a refused request arrives live; attempts', async () => {
      await gotoNav('Monitor');
      await page.locator('table.log tr[data-id="req_fx_retried"]').waitFor({ timeout: T });
      await Promise.all([
        page.waitForRequest((r) => new URL(r.url()).pathname === '/api/requests' && new URL(r.url()).searchParams.get('status') === 'error', { timeout: T }),
        page.selectOption('#f-status', 'error'),
      ]);
      const statuses = async () => page.$$eval('table.log tbody tr[data-id] td:nth-child(5) .badge', (bs) => bs.map((b) => Number(b.textContent)));
      await waitFor(async () => {
        const s = await statuses();
        return s.length >= 3 && s.every((n) => n >= 400);
      }, 'the log does not show only errors');
      for (const id of ['req_fx_refused', 'req_fx_retried', 'req_fx_cancelled']) await page.locator(`table.log tr[data-id="${id}"]`).waitFor({ timeout: T });
      const refusedRow = await page.locator('table.log tr[data-id="req_fx_refused"]').innerText();
      assert(/refused/.test(refusedRow), `the refused request does not say so:\n${refusedRow}`);
      const many = page.locator('table.log tr[data-id="req_fx_retried"] td.attempts .many');
      assert((await many.innerText()).trim() === '3', 'the three attempts are not highlighted');
      assert((await page.locator('table.log tr[data-id="req_fx_cancelled"] td.attempts .many').count()) === 0, 'one attempt is highlighted');

      // A request refused for its key is logged, and the filter lets it in live.
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer not-a-key', 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'refused' }] }),
      });
      assert(res.status === 401, `a bad client key got ${res.status}`);
      await waitFor(async () => (await statuses()).filter((n) => n === 401).length >= 2, 'the refused request did not appear live');

      await page.locator('table.log tr[data-id="req_fx_retried"] button').first().click();
      const dialog = page.getByRole('dialog', { name: 'Request details' });
      await dialog.waitFor({ timeout: T });
      const items = dialog.locator('table.attempts-list tbody tr');
      await waitFor(async () => (await items.count()) === 3, 'the dialog does not list three attempts');
      const second = await items.nth(1).innerText();
      for (const want of ['mock-billing', '403', 'account problem', 'marked: billing', '220 ms']) {
        assert(second.includes(want), `the second attempt does not show "${want}":\n${second}`);
      }
      assert((await items.nth(0).innerText()).includes('quota spent'), 'the first attempt is not a spent quota');
      await page.screenshot({ path: path.join(ARTIFACTS, 'monitor-attempts-light.png') });
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden', timeout: T });
      await page.locator('table.log tr[data-id="req_fx_refused"] button').first().click();
      await dialog.getByText('No upstream was tried: levity refused the request itself.').waitFor({ timeout: T });
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden', timeout: T });
    });

    await step('Monitor (mock only): "Load older" pages back with the key of the oldest entry', async () => {
      await page.selectOption('#f-status', 'all');
      const rows = () => page.locator('table.log tbody tr[data-id]').count();
      await waitFor(async () => (await rows()) >= 200, 'the first page does not have 200 entries');
      assert((await page.locator('table.log tr[data-id="req_fx_000"]').count()) === 0, 'the oldest entry is on the first page');
      const button = page.getByRole('button', { name: 'Load older' });
      const [req] = await Promise.all([page.waitForRequest((r) => new URL(r.url()).searchParams.has('before'), { timeout: T }), button.click()]);
      const before = new URL(req.url()).searchParams.get('before');
      assert(/^\d{13}-req_/.test(before), `the paging key is ${before}`);
      await page.locator('table.log tr[data-id="req_fx_000"]').waitFor({ timeout: T });
      await page.getByText('No older requests match.').waitFor({ timeout: T });
      assert((await rows()) > 230, `after "Load older" the log has ${await rows()} entries`);
    });

    await step('Accounts (mock only): a Gemini key added with a project (shared quota) shows "project: …"', async () => {
      await gotoNav('Accounts');
      const form = page.locator('form').filter({ has: page.locator('#acc-key') });
      await page.getByRole('radio', { name: 'Gemini API key' }).check();
      const help = await page.locator('#acc-group-hint').innerText();
      assert(help.includes('Google Cloud project share its quota'), `the project field's help line says: ${help}`);
      await page.fill('#acc-name', 'e2e-grouped');
      await page.fill('#acc-key', 'AIzaE2E-0000000003');
      await page.fill('#acc-url', fakeUrl);
      await page.fill('#acc-group', ' e2e-team ');
      const [req] = await Promise.all([
        page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/accounts', { timeout: T }),
        form.getByRole('button', { name: 'Add account' }).click(),
      ]);
      const sent = JSON.parse(req.postData() || '{}');
      assert(sent.kind === 'gemini' && sent.project === 'e2e-team', `POST /api/accounts sent ${req.postData()}`);
      const row = page.locator('table.accounts tr[data-name="e2e-grouped"]');
      await row.getByText('project: e2e-team', { exact: true }).waitFor({ timeout: T });
      await waitFor(async () => (await page.locator('#acc-group').inputValue()) === '', 'the project field did not clear after adding');
      const acc = (await adminApi('GET', '/api/accounts')).find((a) => a.name === 'e2e-grouped');
      assert(acc?.project === 'e2e-team', `GET /api/accounts gives project ${acc?.project}`);
      // Leave the accounts the later steps and screenshots expect.
      await adminApi('DELETE', `/api/accounts/${encodeURIComponent(acc.id)}`);
      await row.waitFor({ state: 'detached', timeout: T });
    });
  }

  await step('Settings: Chinese translates the page heading and the navigation', async () => {
    await gotoNav('Settings');
    await page.selectOption('#lang', 'zh');
    await page.getByRole('heading', { level: 1, name: '设置' }).waitFor({ timeout: T });
    await page.getByRole('navigation').getByRole('link', { name: '概览' }).waitFor({ timeout: T });
    const lang = await page.evaluate(() => document.documentElement.lang);
    assert(lang === 'zh-CN', `<html lang> is ${lang}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'settings-zh-light.png'), fullPage: true });
    await page.reload();
    await page.getByRole('heading', { level: 1, name: '设置' }).waitFor({ timeout: T });
    await page.selectOption('#lang', 'en');
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor({ timeout: T });
  });

  await step('Chinese: a model no account serves is explained in Chinese, not in the server\'s English', async () => {
    const model = `e2e-nothing-serves-${runId}`;
    const english = /[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}/; // three English words in a row
    await gotoNav('Settings');
    await page.selectOption('#lang', 'zh');
    await page.getByRole('navigation').getByRole('link', { name: '代理' }).click();
    await page.getByRole('heading', { level: 1, name: '代理' }).waitFor({ timeout: T });
    await page.fill('#test-model', model);
    await page.getByRole('button', { name: '测试', exact: true }).click();
    const tested = page.locator('.test-out .error');
    await tested.waitFor({ timeout: T });
    const said = await tested.innerText();
    assert(said.includes(`没有账号列出 ${model}`) && !english.test(said), `the route tester says, in Chinese:\n${said}`);
    await page.getByRole('navigation').getByRole('link', { name: '概览' }).click();
    await page.getByRole('heading', { level: 1, name: '概览' }).waitFor({ timeout: T });
    await page.fill('#best-model', model);
    await page.getByRole('button', { name: '查询', exact: true }).click();
    const best = page.locator('section[aria-labelledby="best-h"]');
    await best.getByText(`没有账号列出 ${model}`).waitFor({ timeout: T });
    const text = await best.innerText();
    assert(!english.test(text), `the recommendation says, in Chinese:\n${text}`);
    await page.getByRole('navigation').getByRole('link', { name: '设置' }).click();
    await page.selectOption('#lang', 'en');
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor({ timeout: T });
  });

  for (const theme of ['light', 'dark']) {
    await step(`screenshots of every page, ${theme} theme`, async () => {
      await page.goto(`${base}/settings`);
      await page.getByRole('radio', { name: theme === 'light' ? 'Light' : 'Dark' }).check();
      const attr = await page.evaluate(() => document.documentElement.dataset.theme);
      assert(attr === theme, `data-theme is ${attr}`);
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const dark = /rgb\((\d+)/.exec(bg)?.[1] < 100;
      assert(dark === (theme === 'dark'), `body background ${bg} does not look ${theme}`);
      for (const p of PAGES) {
        await page.goto(`${base}${p}`);
        await page.locator('main h1').waitFor({ timeout: T });
        await page.waitForTimeout(700); // data and charts settle (the event stream never idles)
        const name = p === '/' ? 'overview' : p.slice(1);
        await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${theme}.png`), fullPage: true });
      }
    });
  }

  await step('phone width: pages fit without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/settings`);
    await page.getByRole('radio', { name: 'Light' }).check();
    for (const p of PAGES) {
      await page.goto(`${base}${p}`);
      await page.locator('main h1').waitFor({ timeout: T });
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert(overflow <= 1, `${p} is ${overflow}px wider than a phone screen`);
      const name = p === '/' ? 'overview' : p.slice(1);
      await page.screenshot({ path: path.join(ARTIFACTS, `phone-${name}-light.png`), fullPage: true });
    }
  });

  await step('phone width: every page is in the navigation at a glance, and each link opens its page', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const names = ['Overview', 'Accounts', 'Proxy', 'Connect', 'Monitor', 'Usage', 'Settings'];
    await page.goto(`${base}/`);
    await page.locator('main h1').waitFor({ timeout: T });
    const nav = page.getByRole('navigation', { name: 'Main' });
    assert((await nav.getByRole('link').count()) === names.length, `the navigation has ${await nav.getByRole('link').count()} links`);
    for (const name of names) {
      // In view without scrolling anything: inside the screen, not clipped by
      // the bar, and the link itself is what a tap at its centre reaches.
      const link = nav.getByRole('link', { name, exact: true });
      const seen = await link.evaluate((a) => {
        const b = a.getBoundingClientRect();
        const bar = a.closest('ul').getBoundingClientRect();
        const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
        return {
          inScreen: b.left >= 0 && b.right <= innerWidth && b.top >= 0 && b.bottom <= innerHeight,
          inBar: b.left >= bar.left - 0.5 && b.right <= bar.right + 0.5,
          hit: a.contains(hit),
          box: `${Math.round(b.left)}..${Math.round(b.right)} of ${innerWidth}`,
        };
      });
      assert(seen.inScreen && seen.inBar && seen.hit, `"${name}" is not in view on a phone (${seen.box}, reachable: ${seen.hit})`);
    }
    for (const name of [...names.slice(1), names[0]]) {
      await nav.getByRole('link', { name, exact: true }).click();
      await page.getByRole('heading', { level: 1, name, exact: true }).waitFor({ timeout: T });
      assert((await nav.getByRole('link', { name, exact: true }).getAttribute('aria-current')) === 'page', `"${name}" is not marked as the current page`);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'phone-nav-light.png') });
  });

  await step('Accounts: no action button overflows its card, on a phone, a narrow window or a desktop', async () => {
    for (const [width, height] of [[390, 844], [800, 900], [1024, 900], [1280, 900]]) {
      await page.setViewportSize({ width, height });
      await page.goto(`${base}/accounts`);
      await page.locator('table.accounts tr[data-id] .row-actions button').first().waitFor({ timeout: T });
      const buttons = page.locator('table.accounts tr[data-id] .row-actions button');
      const n = await buttons.count();
      for (let i = 0; i < n; i++) {
        // Scroll the page, never the list: a button found only by scrolling the list sideways is cut off.
        const r = await buttons.nth(i).evaluate((el) => {
          window.scrollBy(0, el.getBoundingClientRect().top - innerHeight / 2);
          const box = el.getBoundingClientRect();
          const card = el.closest('.card').getBoundingClientRect();
          const list = el.closest('.scroll').getBoundingClientRect();
          const inside = (o) => box.left >= o.left - 0.5 && box.right <= o.right + 0.5;
          const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
          return {
            name: `${el.closest('tr').dataset.name}: ${el.textContent.trim()}`,
            ok: inside(card) && inside(list) && box.right <= innerWidth && el.contains(hit),
            at: `button ${Math.round(box.left)}..${Math.round(box.right)}, card ${Math.round(card.left)}..${Math.round(card.right)}, list ${Math.round(list.left)}..${Math.round(list.right)}`,
          };
        });
        assert(r.ok, `at ${width}px "${r.name}" is cut off or covered (${r.at})`);
      }
      await page.screenshot({ path: path.join(ARTIFACTS, `accounts-${width}px-light.png`), fullPage: true });
    }
  });

  await step('Connect: a snippet wider than a phone is a named region that scrolls from the keyboard', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await gotoNav('Connect');
    const section = page.locator('section').filter({ has: page.getByRole('heading', { level: 2, name: 'Claude Code', exact: true }) });
    const code = section.locator('pre');
    await waitFor(async () => (await code.getAttribute('tabindex')) === '0', 'the Claude Code snippet is not in the tab order although it overflows');
    assert((await code.getAttribute('role')) === 'region', `the snippet's role is ${await code.getAttribute('role')}`);
    const label = await code.getAttribute('aria-label');
    assert(/Claude Code/.test(label || ''), `the snippet region's name is ${label}`);
    // Reached by Tab from the Copy button before it, as a keyboard user would.
    await section.getByRole('button', { name: /^Copy/ }).focus();
    await page.keyboard.press('Tab');
    assert(await code.evaluate((el) => el === document.activeElement), 'Tab from Copy does not reach the snippet');
    const ring = await code.evaluate((el) => ({ style: getComputedStyle(el).outlineStyle, width: parseFloat(getComputedStyle(el).outlineWidth), visible: el.matches(':focus-visible') }));
    assert(ring.visible && ring.style !== 'none' && ring.width >= 2, `the focused snippet shows no focus ring: ${JSON.stringify(ring)}`);
    const before = await code.evaluate((el) => el.scrollLeft);
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
    const after = await waitFor(async () => {
      const x = await code.evaluate((el) => el.scrollLeft);
      return x > before ? x : 0;
    }, 'ArrowRight did not scroll the snippet');
    assert(after > before, `scrollLeft went from ${before} to ${after}`);
    // Every snippet that overflows is reachable the same way (axe: scrollable-region-focusable).
    const unreachable = await page.$$eval('main pre', (pres) =>
      pres.filter((p) => p.scrollWidth > p.clientWidth + 1 && (p.tabIndex < 0 || !p.getAttribute('aria-label'))).map((p) => p.textContent.slice(0, 40))
    );
    assert(!unreachable.length, `snippets that scroll but cannot be reached by keyboard: ${unreachable.join(' | ')}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'phone-connect-focused-light.png') });
  });

  await step('a countdown reads as a duration ("14 min 37 s", "14 分钟 37 秒"), never as a clock', async () => {
    const served = (await adminApi('GET', '/api/accounts')).find((a) => (a.health?.quota || []).some((q) => q.rpd && q.day_reset_ms));
    assert(served, 'no account has a day quota with a reset time');
    const q = served.health.quota.find((x) => x.rpd && x.day_reset_ms);
    // A page whose clock stands 14 min 37 s before that reset.
    const p2 = await context.newPage();
    try {
      await p2.clock.setFixedTime(q.day_reset_ms - (14 * 60 + 37) * 1000);
      for (const [lang, want] of [['en', 'resets in 14 min 37 s'], ['zh', '14 分钟 37 秒后重置']]) {
        await p2.addInitScript((l) => localStorage.setItem('levity.lang', l), lang);
        await p2.goto(`${base}/accounts`);
        const cell = p2.locator(`table.accounts tr[data-name="${served.name}"] td.quota .q[data-model="${q.model}"]`);
        await cell.waitFor({ timeout: T });
        const text = await waitFor(async () => {
          const s = await cell.innerText();
          return s.includes(want) ? s : '';
        }, `${lang}: ${served.name}'s quota does not say "${want}":\n${await cell.innerText().catch(() => '')}`);
        assert(!/\b\d{1,2}:\d{2}\b/.test(text), `${lang}: the countdown looks like a clock:\n${text}`);
      }
    } finally {
      await p2.evaluate(() => localStorage.setItem('levity.lang', 'en')).catch(() => {});
      await p2.close();
    }
  });

  await step('every state-changing call sent X-Levity-Admin: 1, and no script errors', async () => {
    assert(!badRequests.length, `calls without X-Levity-Admin: ${badRequests.join(', ')}`);
    assert(!pageErrors.length, `errors in the page:\n${pageErrors.join('\n')}`);
  });

  await step('restore the scheduling mode', async () => {
    await adminApi('PUT', '/api/config', { key: 'scheduling', value: originalMode });
  });

  if (process.env.MOCK !== '1') {
    await step('Proxy: a new port applies at once and the page follows the server there', async () => {
      await page.setViewportSize({ width: 1280, height: 900 });
      const port = await new Promise((resolve) => {
        const srv = net.createServer().listen(0, '127.0.0.1', () => {
          const p = srv.address().port;
          srv.close(() => resolve(p));
        });
      });
      await gotoNav('Proxy');
      await page.fill('#listen-port', String(port));
      await page.getByRole('button', { name: 'Apply now' }).click();
      await waitFor(() => new URL(page.url()).port === String(port), `the page did not move to port ${port} (at ${page.url()})`);
      await page.getByRole('heading', { level: 1, name: 'Proxy' }).waitFor({ timeout: T });
      const old = base;
      base = `http://127.0.0.1:${port}`;
      const status = await adminApi('GET', '/api/status');
      assert(status.listen === `127.0.0.1:${port}`, `status says ${status.listen}`);
      await waitFor(async () => {
        try {
          await fetch(`${old}/api/status`);
          return false;
        } catch {
          return true;
        }
      }, 'the old port still answers');
    });

    // tests/offline.sh gives the namespace 192.0.2.1 (TEST-NET-1) to play
    // this machine's address on the network.
    const lan = () => `192.0.2.1:${new URL(base).port}`;
    await step('Proxy: "Devices on my network" on the same port applies at once; the address and the admin token are shown, copyable', async () => {
      const port = new URL(base).port;
      await page.getByLabel('Devices on my network (0.0.0.0)').check();
      await page.getByRole('button', { name: 'Apply now' }).click();
      await waitFor(async () => (await adminApi('GET', '/api/status')).listen === `0.0.0.0:${port}`, 'the server did not move to 0.0.0.0 on the same port');
      await page.reload();
      const devices = page.locator('section.devices');
      await devices.waitFor({ timeout: T });
      await devices.getByText(`http://${lan()}/`).waitFor({ timeout: T });
      const token = devices.getByTestId('admin-token');
      assert(!(await token.innerText()).includes(ADMIN_TOKEN), 'the admin token shows before it is asked for');
      await devices.getByRole('button', { name: 'Show' }).click();
      assert((await token.innerText()) === ADMIN_TOKEN, `the shown token is ${await token.innerText()}`);
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
      await devices.getByRole('button', { name: 'Copy: Admin token' }).click();
      const copied = await page.evaluate(() => navigator.clipboard.readText());
      assert(copied === ADMIN_TOKEN, `the clipboard holds ${copied}`);
    });

    await step('Connect after the move: the snippets can name the network address', async () => {
      await gotoNav('Connect');
      await page.selectOption('#host-pick', lan());
      const snips = await page.locator('.snips').innerText();
      assert(snips.includes(`http://${lan()}/v1`), `no snippet names http://${lan()}/v1:\n${snips.slice(0, 600)}`);
    });

    await step('another device opens the dashboard at the network address with the admin token', async () => {
      const other = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US' });
      try {
        const p = await other.newPage();
        await p.goto(`http://${lan()}/proxy`);
        await p.getByRole('heading', { name: 'Admin token required' }).waitFor({ timeout: T });
        const said = await p.locator('section.token').innerText();
        assert(said.includes('Proxy → Other devices'), `the token page does not say where the token is:\n${said}`);
        await p.locator('#admin-token').fill(ADMIN_TOKEN);
        await p.getByRole('button', { name: 'Unlock' }).click();
        await p.getByRole('heading', { level: 1, name: 'Proxy' }).waitFor({ timeout: T });
      } finally {
        await other.close();
      }
    });
  }
}

let code = 0;
try {
  await main();
  log(`e2e passed; screenshots in ${ARTIFACTS}`);
} catch (e) {
  code = 1;
  if (!failed) log(`e2e failed: ${e?.stack || e}`);
  else log('e2e FAILED');
} finally {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
}
process.exit(code);
