// What the pages share: server status, accounts, config, keys, the live
// request log, and the event-stream connection that keeps them current.
import { adoptTokenFromHash, api, getApiToken, saveToken, setApiToken, onAuthRequired } from './api.js';
import { connectEvents } from './events.js';
import { mergeRequests } from './requests.js';

export const app = $state({
  token: getApiToken(),
  needsToken: false,
  tokenRejected: false,
  /** Bumped when the admin token changes: pages reload their data. */
  epoch: 0,
  status: null,
  statusAt: 0,
  statusError: null,
  accounts: [],
  accountsLoaded: false,
  accountsError: null,
  config: null,
  /** Every setting's row (key, type, default, range, label and help per language), from /api/config/schema. */
  schema: null,
  /** The upstream kinds and what their accounts need, from /api/kinds. */
  kinds: [],
  /** The model catalogue (GET /api/models): ids or families (`prefix*`) with their limits and prices. */
  models: [],
  keys: null,
  /** Keys created in this page session, with their plaintext (memory only). */
  sessionKeys: [],
  requests: [],
  requestsLoaded: false,
  live: 'connecting',
  /** Bumped on each finished request, for views that summarise traffic. */
  requestTick: 0,
});

export const clock = $state({ now: Date.now() });

onAuthRequired(() => {
  app.tokenRejected = !!app.token;
  app.needsToken = true;
});

export async function loadStatus() {
  try {
    app.status = await api.get('/api/status');
    app.statusAt = Date.now();
    app.statusError = null;
    if (Array.isArray(app.status.accounts) && !app.accountsLoaded) {
      app.accounts = app.status.accounts;
    }
  } catch (e) {
    app.statusError = e;
  }
}

export async function loadAccounts() {
  try {
    const list = await api.get('/api/accounts');
    app.accounts = Array.isArray(list) ? list : [];
    app.accountsLoaded = true;
    app.accountsError = null;
  } catch (e) {
    app.accountsError = e;
  }
}

export async function loadConfig() {
  const [config, schema] = await Promise.all([api.get('/api/config'), app.schema ?? api.get('/api/config/schema')]);
  app.schema = Array.isArray(schema) ? schema : [];
  app.config = config;
  return app.config;
}

/** Loads the upstream kinds once (they change only with levity itself). */
export async function loadKinds() {
  if (!app.kinds.length) app.kinds = await api.get('/api/kinds');
  return app.kinds;
}

/** Loads the model catalogue once. */
export async function loadModels() {
  if (!app.models.length) app.models = await api.get('/api/models');
  return app.models;
}

export async function loadKeys() {
  const keys = await api.get('/api/keys');
  app.keys = Array.isArray(keys) ? keys : [];
  return app.keys;
}

export async function loadRequests(limit = 200) {
  const list = await api.get(`/api/requests?limit=${limit}`);
  app.requests = mergeRequests(app.requests, Array.isArray(list) ? list : []);
  app.requestsLoaded = true;
}

/** Saves one setting; rejects with the API's validation error. */
export async function setConfig(key, value, force = false) {
  await api.put('/api/config', force ? { key, value, force } : { key, value });
  if (app.config) {
    if (value === '' && key.startsWith('model_map.')) delete app.config[key];
    else app.config[key] = value;
  }
  // Reload for effective values (an emptied setting shows its default again).
  loadConfig().catch(() => {});
}

let accountsTimer = null;
let accountsDue = 0;
/** Reloads accounts at most every few seconds while traffic flows (quota, last used). */
function refreshAccountsSoon() {
  if (accountsTimer) return;
  const wait = Math.max(0, accountsDue - Date.now());
  accountsTimer = setTimeout(() => {
    accountsTimer = null;
    accountsDue = Date.now() + 3000;
    loadAccounts();
  }, wait);
}

let stopEvents = null;
let wasOpen = false;

function startEvents() {
  stopEvents?.();
  wasOpen = false;
  stopEvents = connectEvents({
    token: app.token,
    onState(s) {
      const was = app.live;
      app.live = s;
      // The stream dropping or coming back is when the server may have gone or
      // returned: check it then (EventSource retries every few seconds).
      if (s !== was && (s === 'open' || was === 'open')) loadStatus();
      if (s === 'closed' && was !== 'closed') loadStatus();
      if (s === 'open') {
        // Catch up on anything missed while disconnected.
        if (wasOpen || app.requestsLoaded) loadRequests().catch(() => {});
        if (wasOpen) loadAccounts();
        wasOpen = true;
      }
    },
    onEvent(name, data) {
      if (name === 'request' && data && typeof data === 'object') {
        app.requests = mergeRequests(app.requests, [data]);
        app.requestTick++;
        refreshAccountsSoon();
      } else if (name === 'accounts' && Array.isArray(data)) {
        app.accounts = data;
        app.accountsLoaded = true;
      }
    },
  });
}

/** Starts loading and the live connection; returns a cleanup function. */
export function startApp() {
  const tick = setInterval(() => (clock.now = Date.now()), 1000);
  // Status carries conditions no event announces (a full disk).
  const status = setInterval(() => !app.needsToken && loadStatus(), 15_000);
  loadStatus();
  loadAccounts();
  startEvents();
  return () => {
    clearInterval(tick);
    clearInterval(status);
    stopEvents?.();
    stopEvents = null;
  };
}

export function unlock(token) {
  saveToken(token);
  setApiToken(token);
  app.token = token;
  app.needsToken = false;
  app.tokenRejected = false;
  app.epoch++;
  loadStatus();
  loadAccounts();
  startEvents();
}

// A `#token=` address opened in a tab that already shows the dashboard
// changes only the fragment: no reload, so take the token here.
globalThis.addEventListener?.('hashchange', () => {
  const token = adoptTokenFromHash();
  if (token) unlock(token);
});

export function forgetToken() {
  saveToken('');
  setApiToken('');
  app.token = '';
  app.epoch++;
  loadStatus();
  startEvents();
}

/** Remembers a freshly created key (plaintext) for the Connect page. */
export function rememberKey(created) {
  app.sessionKeys = [...app.sessionKeys.filter((k) => k.id !== created.id), { id: created.id, name: created.name, key: created.key }];
}
