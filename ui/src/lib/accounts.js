// Account form logic: request bodies and refresh-token parsing.

// The kinds themselves come from the server (GET /api/kinds, each kind's
// descriptor): name, label, default address, what an account needs.

/** The kind named `name` in `kinds`, if any. */
export const kindOf = (kinds, name) => (kinds ?? []).find((k) => k.name === name);

/** Whether accounts of `name` serve the models listed on them (`--models`). */
export const listsModels = (kinds, name) => !!kindOf(kinds, name)?.lists_models;
export const TIERS = ['free', 'pro', 'ultra', 'paid'];

/** "a, b ,,c" → ["a", "b", "c"] */
export function splitList(text) {
  return String(text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Refresh tokens from what the user pasted: a JSON list (of strings, or of
 * objects with refresh_token), a JSON object with refresh_token, or plain
 * tokens one per line. Duplicates dropped. Throws Error('invalid_json').
 */
export function parseTokens(text) {
  const s = String(text ?? '').trim();
  if (!s) return [];
  let tokens;
  if (s.startsWith('[') || s.startsWith('{')) {
    let v;
    try {
      v = JSON.parse(s);
    } catch {
      throw new Error('invalid_json');
    }
    const list = Array.isArray(v) ? v : [v];
    tokens = list.map((x) => (typeof x === 'string' ? x : x && typeof x === 'object' ? x.refresh_token : null));
    if (tokens.some((x) => typeof x !== 'string')) throw new Error('invalid_json');
  } else {
    tokens = s.split(/\r?\n/);
  }
  return [...new Set(tokens.map((x) => x.trim()).filter(Boolean))];
}

/**
 * The POST /api/accounts body for the add form, or {error: i18nKey}.
 * form: {kind, name, api_key, base_url, models, tier, proxy, project}
 *
 * `project` means two things: for a Google sign-in its Code Assist project,
 * for a key the name of the group whose keys share one quota (a Google Cloud
 * project, an Anthropic organization). Sent only when given.
 */
export function newAccountBody(form, kinds) {
  const kind = form.kind;
  const desc = kindOf(kinds, kind);
  if (!desc) return { error: 'accounts.err.kind' };
  const body = { kind, api_key: String(form.api_key ?? '').trim() };
  if (!body.api_key) return { error: desc.signs_in ? 'accounts.err.token' : 'accounts.err.key' };
  const name = String(form.name ?? '').trim();
  if (name) body.name = name;
  const base = String(form.base_url ?? '').trim();
  if (desc.needs_base_url && !base) return { error: 'accounts.err.baseUrl' };
  if (base) {
    if (!/^https?:\/\/\S+$/.test(base)) return { error: 'accounts.err.baseUrlFormat' };
    body.base_url = base.replace(/\/+$/, '');
  }
  if (desc.lists_models) {
    const models = splitList(form.models);
    if (models.length) body.models = models;
  }
  if (form.tier && TIERS.includes(form.tier)) body.tier = form.tier;
  const proxy = String(form.proxy ?? '').trim();
  if (proxy) body.proxy = proxy;
  const project = String(form.project ?? '').trim();
  if (project) body.project = project;
  return { body };
}

/** A PATCH body holding only what changed between an account and the edit form. */
export function accountPatch(account, form, kinds) {
  const patch = {};
  const name = String(form.name ?? '').trim();
  if (name && name !== account.name) patch.name = name;
  if (form.tier && form.tier !== account.tier) patch.tier = form.tier;
  const proxy = String(form.proxy ?? '').trim();
  if (proxy !== (account.proxy || '')) patch.proxy = proxy;
  if (listsModels(kinds, account.kind)) {
    const models = splitList(form.models);
    if (models.join(',') !== (account.models || []).join(',')) patch.models = models;
  }
  return patch;
}

/**
 * POST bodies for pasted google-oauth refresh tokens. With several tokens a
 * given name gets a numeric suffix so each account stays distinguishable.
 */
export function oauthBodies(tokens, form = {}) {
  const name = String(form.name ?? '').trim();
  return tokens.map((token, i) => {
    const body = { kind: 'google-oauth', api_key: token };
    if (name) body.name = tokens.length > 1 ? `${name}-${i + 1}` : name;
    if (form.tier && TIERS.includes(form.tier)) body.tier = form.tier;
    const proxy = String(form.proxy ?? '').trim();
    if (proxy) body.proxy = proxy;
    const project = String(form.project ?? '').trim();
    if (project) body.project = project;
    return body;
  });
}
