// Svelte 5, runes everywhere; no preprocessors needed (plain JS + CSS).
export default {
  compilerOptions: {
    runes: true,
  },
};
