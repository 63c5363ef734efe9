import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The levity binary serves dist/ at "/" and the API on the same origin.
// During `npm run dev`, /api and /v1 are proxied to a local `levity serve`.
const target = process.env.LEVITY_URL || 'http://127.0.0.1:8045';

export default defineConfig({
  base: '/',
  plugins: [svelte()],
  server: {
    proxy: {
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
});
