// Constants that live in .svelte.js modules (runes), repeated for plain-node tests.
export const THEMES_FOR_TEST = ['system', 'light', 'dark'];
