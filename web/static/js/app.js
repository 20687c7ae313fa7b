// Bright Dawn's browser client: start-up, navigation and sign-in state.
import * as auth from './auth.js';
import { route, setGuard, start, go, render, currentPath } from './router.js';
import { mount, h, notify } from './ui.js';
import { friendly } from './errors.js';
import { loginView } from './views/login.js';
import { charactersView } from './views/characters.js';
import { sheetView } from './views/sheet.js';
import { sessionsView } from './views/sessions.js';
import { gameView } from './views/game.js';
import { joinView } from './views/party.js';

route('/login', () => loginView({ mode: 'login' }), { open: true });
route('/register', () => loginView({ mode: 'register' }), { open: true });
route('/characters', charactersView);
route('/characters/:id', sheetView);
route('/sessions', sessionsView);
route('/play/:id', gameView);
route('/join/:code', joinView);

let returnTo = null;
let signingOut = false; // the player pressed "Log out" (not an expired sign-in)

setGuard((r) => {
  const signedIn = auth.currentPlayer() !== null;
  if (!r.open && !signedIn) {
    returnTo = currentPath();
    return '/login';
  }
  if (r.open && signedIn) return '/sessions';
  return null;
});

const nav = document.getElementById('nav');
const navPlayer = document.getElementById('nav-player');

function showPlayer(player) {
  nav.hidden = !player;
  navPlayer.textContent = player ? player.display_name : '';
}

auth.onChange((player) => {
  showPlayer(player);
  if (!player) {
    if (signingOut) notify('You are signed out. Until next time!', 'info');
    else if (!['/login', '/register'].includes(currentPath())) notify('Your sign-in has ended. Please sign in again.', 'info');
    signingOut = false;
    go('/login');
  } else if (['/login', '/register'].includes(currentPath())) {
    document.getElementById('notices').replaceChildren();
    // Just signed in: back to where they were headed, or onwards.
    const to = returnTo ?? (currentPath() === '/register' ? '/characters' : '/sessions');
    returnTo = null;
    go(to);
  }
});

document.getElementById('logout').addEventListener('click', async () => {
  signingOut = true;
  await auth.logout();
});

document.addEventListener('routechange', (e) => {
  // A "saved" belongs to the page it was said on.
  document.querySelectorAll('#notices .notice-success').forEach((n) => n.remove());
  const section = e.detail.path.split('/')[1];
  for (const a of nav.querySelectorAll('a[data-nav]')) {
    const here = a.dataset.nav === section || (section === 'play' && a.dataset.nav === 'sessions');
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
});

async function boot() {
  try {
    await auth.restore();
  } catch (e) {
    // The server is unreachable: say so, and try again when asked.
    const retry = h('button', { type: 'button', class: 'btn btn-primary' }, 'Try again');
    retry.addEventListener('click', boot);
    mount(h('section', { class: 'auth-card card' }, h('h1', {}, 'The road is closed'), h('p', { class: 'form-error', role: 'alert' }, friendly(e)), retry));
    return;
  }
  showPlayer(auth.currentPlayer());
  if (!boot.started) {
    boot.started = true;
    start();
  } else {
    render();
  }
}

boot();
