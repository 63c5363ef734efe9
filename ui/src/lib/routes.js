// Client-side routes (history API); the server answers index.html for each.

export const ROUTES = [
  { path: '/', id: 'overview' },
  { path: '/accounts', id: 'accounts' },
  { path: '/proxy', id: 'proxy' },
  { path: '/connect', id: 'connect' },
  { path: '/monitor', id: 'monitor' },
  { path: '/usage', id: 'usage' },
  { path: '/settings', id: 'settings' },
];

/** The route for a pathname (a trailing slash is ignored); null if unknown. */
export function matchRoute(pathname) {
  const p = (pathname || '/').replace(/\/+$/, '') || '/';
  return ROUTES.find((r) => r.path === p) || null;
}
