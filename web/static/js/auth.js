// Sign-in state: who is playing, their access token, and the silent refresh.
//
// Where the tokens live, and why:
// - The access token (15 minutes) lives in memory only. A reload loses it
//   and the refresh token gets a new one; nothing long-lived sits in a
//   variable that outlasts the page.
// - The refresh token (30 days, rotated on every use) has to survive a
//   reload, so it goes to Web Storage; the API hands it out in a JSON body,
//   so an httpOnly cookie (out of reach of scripts) is not an option here.
//   Any script running on this origin can read Web Storage, so the page
//   loads no third-party code at all and the server sends a strict CSP.
//   "Keep me signed in" picks the storage:
//     localStorage   — survives closing the browser and is shared by every
//                      tab, which means tabs must not refresh at the same
//                      time with the same token: a spent token presented
//                      again revokes the whole family (reuse detection). We
//                      serialise refreshes across tabs with the Web Locks
//                      API and re-read the stored token inside the lock.
//     sessionStorage — this tab only, gone when it closes: smaller window
//                      for a stolen token, but a new tab must sign in again.
import { sendJSON } from './http.js';
import { ApiError } from './errors.js';

const KEY = 'brightdawn.refresh_token';
const LOCK = 'brightdawn.refresh';

let accessToken = null;
let player = null;
let refreshing = null; // the one refresh in flight, shared by every caller
const listeners = new Set();

function stored() {
  return localStorage.getItem(KEY) ?? sessionStorage.getItem(KEY);
}

function remembered() {
  return localStorage.getItem(KEY) !== null || sessionStorage.getItem(KEY) === null;
}

function store(token, remember) {
  if (remember) {
    localStorage.setItem(KEY, token);
    sessionStorage.removeItem(KEY);
  } else {
    sessionStorage.setItem(KEY, token);
    localStorage.removeItem(KEY);
  }
}

function emit() {
  for (const fn of listeners) fn(player);
}

// adopt takes a token answer {player, access_token, refresh_token, …}.
function adopt(s, remember) {
  accessToken = s.access_token;
  player = s.player;
  store(s.refresh_token, remember);
  emit();
}

function clear() {
  const wasSignedIn = player !== null;
  accessToken = null;
  player = null;
  localStorage.removeItem(KEY);
  sessionStorage.removeItem(KEY);
  if (wasSignedIn) emit();
}

/** onChange calls fn(player|null) whenever the player signs in or out. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export const currentPlayer = () => player;
export const token = () => accessToken;
export const hasSession = () => accessToken !== null || stored() !== null;

export async function login(email, password, remember = true) {
  adopt(await sendJSON('POST', '/auth/login', { body: { email, password } }), remember);
  return player;
}

export async function register(email, password, displayName, remember = true) {
  adopt(await sendJSON('POST', '/auth/register', { body: { email, password, display_name: displayName } }), remember);
  return player;
}

/** logout ends the refresh family on the server, then forgets everything here. */
export async function logout() {
  const rt = stored();
  const at = accessToken;
  clear();
  if (rt && at) {
    // Best effort: if the server is unreachable the tokens are already
    // gone from this browser and the access token expires on its own.
    await sendJSON('POST', '/auth/logout', { body: { refresh_token: rt }, token: at }).catch(() => {});
  }
}

// withLock runs fn holding a lock shared by every tab of this origin, where
// the browser has Web Locks (secure contexts: https and localhost).
function withLock(fn) {
  if (navigator.locks?.request) return navigator.locks.request(LOCK, fn);
  return fn();
}

/**
 * refresh trades the stored refresh token for new tokens. Concurrent
 * callers share one request; a 401 means the family is spent or revoked,
 * and the player is signed out.
 */
export function refresh() {
  if (!refreshing) {
    refreshing = withLock(async () => {
      // Read inside the lock: another tab may have rotated it a moment ago.
      const rt = stored();
      if (!rt) {
        clear();
        throw new ApiError({ status: 401, code: 'unauthorized', message: 'not signed in' });
      }
      const remember = remembered();
      try {
        adopt(await sendJSON('POST', '/auth/refresh', { body: { refresh_token: rt } }), remember);
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
  if (!stored()) return false;
  try {
    await refresh();
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return false;
    throw e;
  }
}

// Signing out in another tab removes the shared token: follow it here.
window.addEventListener('storage', (e) => {
  if (e.key === KEY && e.newValue === null && player !== null) {
    accessToken = null;
    player = null;
    emit();
  }
});
