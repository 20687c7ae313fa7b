// Sign in and create an account.
import * as auth from '../auth.js';
import { h, mount, field, alertBox, busy } from '../ui.js';

export function loginView({ mode }) {
  const registering = mode === 'register';
  const error = alertBox();
  const remember = h('input', { type: 'checkbox', id: 'remember', name: 'remember', checked: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-wide' }, registering ? 'Create account' : 'Sign in');

  const form = h('form', { class: 'stack', novalidate: true, 'aria-describedby': 'auth-intro' },
    registering ? field('Display name', { name: 'display_name', autocomplete: 'nickname', required: true, maxlength: 64 }) : null,
    field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field('Password', {
      name: 'password', type: 'password', required: true, minlength: registering ? 10 : undefined,
      autocomplete: registering ? 'new-password' : 'current-password',
    }, registering ? 'At least 10 characters. A short sentence works well.' : null),
    h('div', { class: 'check' }, remember, h('label', { for: 'remember' }, 'Keep me signed in on this device')),
    error,
    submit);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.clear();
    const data = new FormData(form);
    const email = String(data.get('email') || '').trim();
    const password = String(data.get('password') || '');
    if (!email || !password) {
      error.show('Please enter your email and password.');
      return;
    }
    if (registering && !String(data.get('display_name') || '').trim()) {
      error.show('Please choose a display name.');
      return;
    }
    busy(submit, registering ? 'Creating…' : 'Signing in…', async () => {
      try {
        if (registering) await auth.register(email, password, String(data.get('display_name')).trim(), remember.checked);
        else await auth.login(email, password, remember.checked);
        // app.js moves on once the player is signed in.
      } catch (err) {
        error.show(err);
      }
    });
  });

  mount(h('section', { class: 'auth-card card' },
    h('p', { class: 'eyebrow' }, 'Code of Conquest'),
    h('h1', {}, registering ? 'Begin your legend' : 'Welcome back, traveller'),
    h('p', { class: 'lede', id: 'auth-intro' }, registering
      ? 'Create an account to build characters and play with an AI Dungeon Master who remembers everything.'
      : 'Sign in to return to your adventures.'),
    form,
    h('p', { class: 'switch' }, registering
      ? ['Already have an account? ', h('a', { href: '#/login' }, 'Sign in')]
      : ['New here? ', h('a', { href: '#/register' }, 'Create an account')])));
  form.querySelector('input')?.focus();
}
