// History-API routing: the current path, navigate(), and a click handler for links.

export const router = $state({ path: globalThis.location?.pathname || '/' });

export function navigate(path, { replace = false } = {}) {
  const url = new URL(path, location.href);
  if (url.pathname === router.path && url.search === location.search) return;
  history[replace ? 'replaceState' : 'pushState']({}, '', url.pathname + url.search);
  router.path = url.pathname;
}

if (typeof window !== 'undefined') {
  window.addEventListener('popstate', () => {
    router.path = location.pathname;
  });
}

/** onclick for same-origin <a href>: navigate without reloading. */
export function link(e) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.currentTarget;
  if (a.target && a.target !== '_self') return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
}
