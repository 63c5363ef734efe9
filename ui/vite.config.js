import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The levity binary serves dist/ at "/" and the API on the same origin.
// During `npm run dev`, /api and /v1 are proxied to a local `levity serve`.
// `npm run dev:mock` (mode "mock") answers them from e2e/mock-server.mjs instead.
const target = process.env.LEVITY_URL || 'http://127.0.0.1:8045';

/** Mounts the in-memory mock API on the dev server. */
function mockApi() {
  return {
    name: 'levity-mock-api',
    async configureServer(server) {
      const { createMock } = await import('./e2e/mock-server.mjs');
      const mock = createMock({ seed: true, traffic: true, log: (m) => server.config.logger.error(m) });
      server.httpServer?.once('listening', () => {
        const a = server.httpServer.address();
        if (a && typeof a === 'object') mock.setListen(`${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
      });
      server.middlewares.use((req, res, next) => mock.handle(req, res, next));
    },
  };
}

export default defineConfig(({ mode }) => ({
  base: '/',
  plugins: [svelte(), mode === 'mock' && mockApi()],
  server: {
    proxy:
      mode === 'mock'
        ? undefined
        : {
            '/api': { target, changeOrigin: false },
            '/v1': { target, changeOrigin: false },
          },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: false,
  },
  test: {
    include: ['test/**/*.test.js'],
    environment: 'node',
  },
}));
