// Small DOM helpers shared by the views. Text always goes in as text
// (textContent), never as HTML, so nothing a player or the DM writes can
// become markup.
import { friendly } from './errors.js';

/**
 * h builds an element: h('button', {class: 'btn', onclick: fn}, 'Go').
 * Attributes starting with "on" become listeners; true/false toggle
 * boolean attributes; children may be strings, nodes, arrays or null.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') value = v; // after the children: a <select> needs its options first
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  if (value !== undefined) el.value = value;
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** mount replaces the content of <main> with nodes and moves focus to its heading. */
export function mount(...nodes) {
  const main = document.getElementById('main');
  main.replaceChildren(...nodes.flat());
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
  return main;
}

let noticeTimer = null;

/** notify shows a short message in the polite live region at the top. */
export function notify(text, kind = 'info') {
  const area = document.getElementById('notices');
  const el = h('p', { class: `notice notice-${kind}` }, text);
  area.replaceChildren(el);
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

/** alertBox is a form's error slot: role=alert, empty until used. */
export function alertBox() {
  const el = h('p', { class: 'form-error', role: 'alert', hidden: true });
  el.show = (err, overrides) => {
    el.textContent = typeof err === 'string' ? err : friendly(err, overrides);
    el.hidden = false;
  };
  el.clear = () => {
    el.textContent = '';
    el.hidden = true;
  };
  return el;
}

/** busy disables a button while promise runs and shows a working label. */
export async function busy(button, label, fn) {
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  if (label) button.textContent = label;
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = old;
  }
}

/** field is a labelled input: field('Name', {name: 'name', required: true}). */
export function field(label, attrs = {}, hint) {
  const id = attrs.id ?? `f-${Math.random().toString(36).slice(2, 9)}`;
  const hintId = hint ? `${id}-hint` : undefined;
  const { tag = 'input', options = [], ...rest } = attrs;
  const control = h(tag, { id, 'aria-describedby': hintId, ...rest }, ...options);
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null);
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export const formatDate = (s) => (s ? dateFmt.format(new Date(s)) : '');
export const formatTime = (s) => (s ? timeFmt.format(new Date(s)) : '');

/** initials is a portrait placeholder: "Arwen Evenstar" → "AE". */
export function initials(name) {
  return (name || '?').split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join('');
}

/**
 * loadMore is the "Load more" button under a paged list: while there is a
 * next page (next, from getPage), a click fetches it with load(next) →
 * {items, next} and hands the items to append(items); the button goes
 * away after the last page.
 */
export function loadMore(next, load, append, label = 'Load more') {
  const button = h('button', { type: 'button', class: 'btn load-more' }, label);
  const box = h('div', { class: 'load-more-row' }, button);
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  box.append(error);
  if (!next) box.hidden = true;
  button.addEventListener('click', () => {
    error.hidden = true;
    busy(button, 'Loading…', async () => {
      try {
        const page = await load(next);
        append(page.items);
        next = page.next;
        if (!next) box.hidden = true;
      } catch (e) {
        error.textContent = friendly(e);
        error.hidden = false;
      }
    });
  });
  return box;
}
