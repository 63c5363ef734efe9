// A minimal Gemini API stand-in for the e2e run: answers generateContent,
// streamGenerateContent (SSE) and countTokens for any model and any key, so a
// real levity can serve a chat request without leaving the machine.
//
//   node e2e/fake-gemini.mjs [--port 8047]     (or import { startFakeGemini })

import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function answer(model) {
  return {
    candidates: [
      {
        content: { role: 'model', parts: [{ text: 'Hello from the fake Gemini.' }] },
        finishReason: 'STOP',
        index: 0,
      },
    ],
    usageMetadata: { promptTokenCount: 7, candidatesTokenCount: 6, totalTokenCount: 13 },
    modelVersion: model,
  };
}

export function startFakeGemini({ port = 0, host = '127.0.0.1' } = {}) {
  const calls = [];
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const url = new URL(req.url, 'http://x');
    const m = /^\/v1beta\/models\/([^:]+):(\w+)$/.exec(url.pathname);
    calls.push({ method: req.method, path: url.pathname, key: req.headers['x-goog-api-key'] || url.searchParams.get('key') });
    if (req.method !== 'POST' || !m) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { code: 404, message: 'not found', status: 'NOT_FOUND' } }));
    }
    const [, model, method] = m;
    if (method === 'countTokens') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ totalTokens: 7 }));
    }
    if (method === 'streamGenerateContent') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      return res.end(`data: ${JSON.stringify(answer(model))}\r\n\r\n`);
    }
    if (method === 'generateContent') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(answer(model)));
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 404, message: `unknown method ${method}`, status: 'NOT_FOUND' } }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: p } = server.address();
      resolve({
        url: `http://${host}:${p}`,
        calls,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const { url } = await startFakeGemini({ port: i > 0 ? Number(process.argv[i + 1]) : 8047 });
  console.log(`fake Gemini listening on ${url}`);
}
