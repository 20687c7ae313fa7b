// Fragment routing (#/play/<id>): the server serves one page at /, and
// reloading any screen comes back to it.

const routes = [];
let leave = null;
let guard = () => null;
let generation = 0;

/**
 * route registers a view for a pattern like "/characters/:id". The view is
 * called with the params (and alive()) and may return a cleanup function,
 * run when the player navigates away (to close streams and timers).
 */
export function route(pattern, view, { open = false } = {}) {
  const keys = [];
  const re = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, k) => (keys.push(k), '([^/]+)'))}$`);
  routes.push({ re, keys, view, open });
}

/** setGuard installs fn(route) → a redirect path, or null to proceed. */
export function setGuard(fn) {
  guard = fn;
}

export const currentPath = () => location.hash.replace(/^#/, '') || '/';

/** go navigates to path (or re-renders it when already there). */
export function go(path) {
  if (currentPath() === path) render();
  else location.hash = path;
}

export async function render() {
  const path = currentPath();
  const match = routes.map((r) => ({ r, m: r.re.exec(path) })).find((x) => x.m);
  if (!match) {
    go('/sessions');
    return;
  }
  const redirect = guard(match.r);
  if (redirect && redirect !== path) {
    go(redirect);
    return;
  }
  if (leave) {
    const fn = leave;
    leave = null;
    try {
      fn();
    } catch (e) {
      console.error(e);
    }
  }
  const gen = ++generation;
  const params = Object.fromEntries(match.r.keys.map((k, i) => [k, decodeURIComponent(match.m[i + 1])]));
  // alive() turns false once the player has moved on: a view that awaited
  // something checks it before touching the page.
  params.alive = () => gen === generation;
  document.dispatchEvent(new CustomEvent('routechange', { detail: { path } }));
  const cleanup = await match.r.view(params);
  if (typeof cleanup === 'function') {
    if (gen === generation) leave = cleanup;
    else cleanup(); // navigated away while loading
  }
}

export function start() {
  window.addEventListener('hashchange', render);
  render();
}
