// The dev mock answers as levity does: each of its answers must conform to
// the OpenAPI document levity generates from its types (e2e/openapi.json,
// which a Rust test keeps equal to what the server serves).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { startMockServer } from '../e2e/mock-server.mjs';

const doc = JSON.parse(readFileSync(new URL('../e2e/openapi.json', import.meta.url), 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: 'doc', components: doc.components });

/** The errors of `value` against what the document allows `method path` to answer with `status`. */
function violations(method, path, status, value) {
  const responses = doc.paths[path]?.[method]?.responses;
  if (!responses) return [`${method} ${path} is not in the document`];
  const schema = (responses[String(status)] ?? responses.default)?.content?.['application/json']?.schema;
  if (!schema) return [`${method} ${path} documents no JSON body for ${status}`];
  // Point component references at the document added above.
  const resolved = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/'));
  const validate = ajv.compile(resolved);
  return validate(value) ? [] : validate.errors.map((e) => `${e.instancePath} ${e.message}`);
}

let mock;
beforeAll(async () => {
  mock = await startMockServer({ port: 0, seed: true, fixtures: true });
});
afterAll(() => mock?.close());

async function call(method, path, body) {
  const res = await fetch(`${mock.url}/api${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-levity-admin': '1' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, value: await res.json() };
}

describe('the dev mock against levity\'s OpenAPI document', () => {
  it('can fail: a partial status does not conform', () => {
    expect(violations('get', '/api/status', 200, { version: '1' }).length).toBeGreaterThan(0);
  });

  it.each([
    ['/status', '/api/status'],
    ['/cluster', '/api/cluster'],
    ['/accounts', '/api/accounts'],
    ['/requests', '/api/requests'],
    ['/stats', '/api/stats'],
    ['/keys', '/api/keys'],
    ['/config', '/api/config'],
    ['/config/schema', '/api/config/schema'],
    ['/kinds', '/api/kinds'],
    ['/route?model=gemini-2.5-flash', '/api/route'],
  ])('GET %s conforms', async (path, template) => {
    const { status, value } = await call('GET', path);
    expect(violations('get', template, status, value)).toEqual([]);
  });

  it('a refused setting is a Problem', async () => {
    const { status, value } = await call('PUT', '/config', { key: 'max_attempts', value: '0' });
    expect(status).toBe(400);
    expect(violations('put', '/api/config', status, value)).toEqual([]);
  });
});
