// Sign-in state: who is playing, their access token, and the silent refresh.
//
// Where the tokens live, and why:
// - The access token (15 minutes) lives in memory only. A reload loses it
//   and the refresh token gets a new one; nothing long-lived sits in a
//   variable that outlasts the page.
// - The refresh token (30 days, rotated on every use) never reaches this
//   code: the server sets it as an HttpOnly, Secure, SameSite=Strict
//   cookie sent to /auth/refresh only, so no script on the page — ours or
//   an injected one — can read it, and no other site can make the browser
//   send it. A refresh is a POST to /auth/refresh with that cookie; its
//   answer carries a new access token and (in the cookie again) the next
//   refresh token. "Keep me signed in" asks for a persistent cookie;
//   without it the cookie is gone when the browser closes.
// - What Web Storage keeps is a hint, not a secret: that this browser is
//   signed in (so a reload tries a refresh) and whether to remember it.
//   Signing out in one tab removes the hint, which the other tabs follow.
// - Every tab shares the cookie, so tabs must not rotate it at the same
//   moment: refreshes are serialised across tabs with the Web Locks API
//   (the server also answers a repeat within a few seconds with the same
//   pair: docs/SECURITY.md).
import { sendJSON } from './http.js';
import { ApiError } from './errors.js';

const HINT = 'brightdawn.signed_in'; // "1": remember this browser, "0": until it closes
const LOCK = 'brightdawn.refresh';

let accessToken = null;
let player = null;
let refreshing = null; // the one refresh in flight, shared by every caller
const listeners = new Set();

// An older client kept the refresh token itself: forget it.
localStorage.removeItem('brightdawn.refresh_token');
sessionStorage.removeItem('brightdawn.refresh_token');

// Every /auth call sends and accepts the cookie (same origin only).
const withCookie = { credentials: 'same-origin' };

function hint() {
  return localStorage.getItem(HINT) ?? sessionStorage.getItem(HINT);
}

function remembered() {
  return hint() !== '0';
}

function store(remember) {
  if (remember) {
    localStorage.setItem(HINT, '1');
    sessionStorage.removeItem(HINT);
  } else {
    sessionStorage.setItem(HINT, '0');
    localStorage.removeItem(HINT);
  }
}

function emit() {
  for (const fn of listeners) fn(player);
}

// adopt takes a token answer {player, access_token, …}; its refresh token
// is in the cookie (a body's refresh_token, for API clients, is ignored).
function adopt(s, remember) {
  accessToken = s.access_token;
  player = s.player;
  store(remember);
  emit();
}

function clear() {
  const wasSignedIn = player !== null;
  accessToken = null;
  player = null;
  localStorage.removeItem(HINT);
  sessionStorage.removeItem(HINT);
  if (wasSignedIn) emit();
}

/** onChange calls fn(player|null) whenever the player signs in or out. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export const currentPlayer = () => player;
export const token = () => accessToken;
export const hasSession = () => accessToken !== null || hint() !== null;

export async function login(email, password, remember = true) {
  adopt(await sendJSON('POST', '/auth/login', { body: { email, password, remember }, ...withCookie }), remember);
  return player;
}

export async function register(email, password, displayName, remember = true) {
  adopt(await sendJSON('POST', '/auth/register', { body: { email, password, display_name: displayName, remember }, ...withCookie }), remember);
  return player;
}

/** logout ends the login on the server (and its cookie), then forgets everything here. */
export async function logout() {
  const at = accessToken;
  clear();
  if (at) {
    // Best effort: if the server is unreachable the access token expires
    // on its own; the cookie's refresh token stays usable until then.
    await sendJSON('POST', '/auth/logout', { body: {}, token: at, ...withCookie }).catch(() => {});
  }
}

// withLock runs fn holding a lock shared by every tab of this origin, where
// the browser has Web Locks (secure contexts: https and localhost).
function withLock(fn) {
  if (navigator.locks?.request) return navigator.locks.request(LOCK, fn);
  return fn();
}

/**
 * refresh trades the cookie's refresh token for new tokens. Concurrent
 * callers share one request; a 401 means the family is spent or revoked,
 * and the player is signed out.
 */
export function refresh() {
  if (!refreshing) {
    refreshing = withLock(async () => {
      // Read inside the lock: another tab may have signed out a moment ago.
      if (hint() === null) {
        clear();
        throw new ApiError({ status: 401, code: 'unauthorized', message: 'not signed in' });
      }
      const remember = remembered();
      try {
        adopt(await sendJSON('POST', '/auth/refresh', { body: { remember }, ...withCookie }), remember);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) clear();
        throw e;
      }
      return accessToken;
    }).finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** restore signs the player back in after a reload (false: nobody is). */
export async function restore() {
  if (hint() === null) return false;
  try {
    await refresh();
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return false;
    throw e;
  }
}

// Signing out in another tab removes the shared hint: follow it here.
window.addEventListener('storage', (e) => {
  if (e.key === HINT && e.newValue === null && player !== null) {
    accessToken = null;
    player = null;
    emit();
  }
});
