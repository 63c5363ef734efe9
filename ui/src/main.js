import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { applyDocumentPrefs } from './lib/prefs.svelte.js';

applyDocumentPrefs();

const app = mount(App, { target: document.getElementById('app') });

export default app;
