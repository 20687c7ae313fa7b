// Authenticated requests to /api: the access token goes in the header; a
// 401 triggers one silent refresh (shared with every other request that
// hit the same expiry) and one retry.
import { sendJSON } from './http.js';
import { ApiError } from './errors.js';
import * as auth from './auth.js';

/** api sends an authenticated JSON request and returns the decoded answer. */
export async function api(method, path, opts = {}) {
  let used = auth.token() ?? (await auth.refresh());
  try {
    return await sendJSON(method, path, { ...opts, token: used });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
  }
  // Another request may already have refreshed while this one was out.
  const current = auth.token();
  used = current && current !== used ? current : await auth.refresh();
  return sendJSON(method, path, { ...opts, token: used });
}

export const get = (path, opts) => api('GET', path, opts);

/** getBlob fetches a file from the API (a character card) as a Blob, refreshing the token once on a 401. */
export async function getBlob(path) {
  const once = (token) => fetch(path, { headers: { Authorization: `Bearer ${token}` }, credentials: 'omit', cache: 'no-store' });
  let resp = await once(auth.token() ?? (await auth.refresh()));
  if (resp.status === 401) resp = await once(await auth.refresh());
  if (!resp.ok) {
    let e = {};
    try { e = (await resp.json())?.error ?? {}; } catch { e = {}; }
    throw new ApiError({ status: resp.status, code: e.code, message: e.message });
  }
  return resp.blob();
}
export const post = (path, body, opts = {}) => api('POST', path, { ...opts, body });
export const patch = (path, body, opts = {}) => api('PATCH', path, { ...opts, body });
export const put = (path, body, opts = {}) => api('PUT', path, { ...opts, body });
export const del = (path, opts) => api('DELETE', path, opts);

/** qs builds a query string from the defined values of params. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

/**
 * getPage reads one page of a cursor-paged list (GET path?limit=&before=):
 * {items, next} where next is the `before` of the following page (null on
 * the last). key is the list's field: characters, sessions, assets.
 */
export async function getPage(path, key, before = null, limit = 50) {
  const page = await get(path + qs({ limit, before }));
  return { items: page[key] ?? [], next: page.next_before ?? null };
}

/** getAll walks every page of a list (for a short one, such as the characters of a select). */
export async function getAll(path, key) {
  const all = [];
  let before = null;
  do {
    const { items, next } = await getPage(path, key, before, 100);
    all.push(...items);
    before = next;
  } while (before);
  return all;
}

/** newKey returns a random id for Idempotency-Key. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
