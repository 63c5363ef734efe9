import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseTokens, newAccountBody as newBody, oauthBodies, accountPatch as patchOf, splitList } from '../src/lib/accounts.js';

// What GET /api/kinds answers (a Rust test keeps the file equal to it).
const KINDS = JSON.parse(readFileSync(new URL('../e2e/kinds.json', import.meta.url), 'utf8'));
const newAccountBody = (form) => newBody(form, KINDS);
const accountPatch = (account, form) => patchOf(account, form, KINDS);

describe('parseTokens', () => {
  it('accepts one token', () => {
    expect(parseTokens('  1//0gABC  ')).toEqual(['1//0gABC']);
  });
  it('accepts a JSON list of strings or objects, dropping duplicates', () => {
    expect(parseTokens('["1//a", "1//b", "1//a"]')).toEqual(['1//a', '1//b']);
    expect(parseTokens('[{"refresh_token":"1//a"},{"refresh_token":"1//b"}]')).toEqual(['1//a', '1//b']);
    expect(parseTokens('{"refresh_token":"1//z"}')).toEqual(['1//z']);
  });
  it('accepts one token per line', () => {
    expect(parseTokens('1//a\n\n1//b\r\n')).toEqual(['1//a', '1//b']);
  });
  it('rejects broken JSON and lists of other things', () => {
    expect(() => parseTokens('["1//a",')).toThrow('invalid_json');
    expect(() => parseTokens('[1, 2]')).toThrow('invalid_json');
  });
  it('nothing is an empty list', () => {
    expect(parseTokens('   ')).toEqual([]);
  });
});

describe('newAccountBody', () => {
  it('builds a gemini body with base URL', () => {
    expect(newAccountBody({ kind: 'gemini', name: ' e2e ', api_key: ' AIza1 ', base_url: 'http://127.0.0.1:9/ ', tier: '' })).toEqual({
      body: { kind: 'gemini', api_key: 'AIza1', name: 'e2e', base_url: 'http://127.0.0.1:9' },
    });
  });
  it('openai needs a base URL and splits models', () => {
    expect(newAccountBody({ kind: 'openai', api_key: 'k' })).toEqual({ error: 'accounts.err.baseUrl' });
    expect(newAccountBody({ kind: 'openai', api_key: 'k', base_url: 'https://h/v1', models: 'a, b,,c', tier: 'paid' }).body).toEqual({
      kind: 'openai',
      api_key: 'k',
      base_url: 'https://h/v1',
      models: ['a', 'b', 'c'],
      tier: 'paid',
    });
  });
  it('openai-responses lists models and defaults to api.openai.com', () => {
    expect(newAccountBody({ kind: 'openai-responses', api_key: 'k', models: 'gpt-5-codex, gpt-5' }).body).toEqual({
      kind: 'openai-responses',
      api_key: 'k',
      models: ['gpt-5-codex', 'gpt-5'],
    });
  });
  it("sends a key's project (the keys sharing one quota) only when given", () => {
    for (const kind of ['gemini', 'anthropic']) {
      expect(newAccountBody({ kind, api_key: 'k', project: ' team-a ' }).body).toEqual({ kind, api_key: 'k', project: 'team-a' });
      expect(newAccountBody({ kind, api_key: 'k', project: '  ' }).body).toEqual({ kind, api_key: 'k' });
    }
    expect(newAccountBody({ kind: 'openai', api_key: 'k', base_url: 'https://h/v1', project: 'p' }).body.project).toBe('p');
  });
  it('names missing pieces', () => {
    expect(newAccountBody({ kind: 'gemini', api_key: '' })).toEqual({ error: 'accounts.err.key' });
    expect(newAccountBody({ kind: 'nope', api_key: 'x' })).toEqual({ error: 'accounts.err.kind' });
    expect(newAccountBody({ kind: 'gemini', api_key: 'x', base_url: 'ftp://x' })).toEqual({ error: 'accounts.err.baseUrlFormat' });
  });
});

describe('oauthBodies', () => {
  it('one body per token, numbering a shared name', () => {
    expect(oauthBodies(['t1'], { name: 'me' })).toEqual([{ kind: 'google-oauth', api_key: 't1', name: 'me' }]);
    expect(oauthBodies(['t1', 't2'], { name: 'me', tier: 'pro', project: 'p' })).toEqual([
      { kind: 'google-oauth', api_key: 't1', name: 'me-1', tier: 'pro', project: 'p' },
      { kind: 'google-oauth', api_key: 't2', name: 'me-2', tier: 'pro', project: 'p' },
    ]);
    expect(oauthBodies(['t1', 't2'])).toEqual([
      { kind: 'google-oauth', api_key: 't1' },
      { kind: 'google-oauth', api_key: 't2' },
    ]);
  });
});

describe('accountPatch', () => {
  const acc = { name: 'a', tier: 'free', proxy: null, kind: 'openai', models: ['x'] };
  it('holds only changes', () => {
    expect(accountPatch(acc, { name: 'a', tier: 'free', proxy: '', models: 'x' })).toEqual({});
    expect(accountPatch(acc, { name: 'b', tier: 'pro', proxy: 'socks5://h:1', models: 'x, y' })).toEqual({
      name: 'b',
      tier: 'pro',
      proxy: 'socks5://h:1',
      models: ['x', 'y'],
    });
  });
  it('an emptied proxy is sent as "" (removes it)', () => {
    expect(accountPatch({ ...acc, proxy: 'http://p' }, { name: 'a', tier: 'free', proxy: '', models: 'x' })).toEqual({ proxy: '' });
  });
  it('splitList', () => {
    expect(splitList(' a ,b,, ')).toEqual(['a', 'b']);
  });
});
