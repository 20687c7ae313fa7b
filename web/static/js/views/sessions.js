// Adventures (game sessions): the list and a quick "start a new one".
import { post, getPage, getAll } from '../api.js';
import { go } from '../router.js';
import { h, mount, field, alertBox, busy, formatDate, loadMore } from '../ui.js';
import { friendly } from '../errors.js';
import { describe } from './characters.js';
import { importControls } from './lore.js';

export async function sessionsView({ alive }) {
  mount(h('p', { class: 'loading' }, 'Opening the chronicle…'));
  let first;
  let characters;
  try {
    // The sessions come a page at a time (newest first, "Load more" for
    // older ones); the characters, capped per player, all at once for the
    // select and the names.
    [first, characters] = await Promise.all([getPage('/api/sessions', 'sessions'), getAll('/api/characters', 'characters')]);
  } catch (e) {
    if (alive()) mount(h('section', {}, h('h1', {}, 'Adventures'), h('p', { class: 'form-error', role: 'alert' }, friendly(e))));
    return;
  }
  if (!alive()) return;
  const byId = new Map(characters.map((c) => [c.id, c]));
  const sessions = first.items;
  // Titles of the sessions loaded so far, for "Branched from …" (a fork's
  // origin may be on a later page or deleted).
  const sessionById = new Map(sessions.map((s) => [s.id, s]));

  const error = alertBox();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Begin adventure');
  const form = h('form', { class: 'create-form card', 'aria-labelledby': 'new-session-title' },
    h('h2', { id: 'new-session-title' }, 'A new adventure'),
    h('div', { class: 'row' },
      field('Title', { name: 'title', required: true, maxlength: 120, placeholder: 'The Sunken Keep', autocomplete: 'off' }),
      field('Character', {
        tag: 'select', name: 'character_id',
        value: characters[0]?.id ?? '',
        options: [h('option', { value: '' }, 'No character'), ...characters.map((c) => h('option', { value: c.id }, `${c.name} (${describe(c)})`))],
      })),
    characters.length ? null : h('p', { class: 'hint' }, 'Tip: ', h('a', { href: '#/characters' }, 'create a character'), ' first so the Dungeon Master knows who you are.'),
    error,
    submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.clear();
    const d = new FormData(form);
    const title = String(d.get('title') || '').trim();
    if (!title) {
      error.show('Please give your adventure a title.');
      return;
    }
    const body = { title };
    if (d.get('character_id')) body.character_id = d.get('character_id');
    busy(submit, 'Starting…', async () => {
      try {
        const { session } = await post('/api/sessions', body);
        go(`/play/${session.id}`);
      } catch (err) {
        error.show(err);
      }
    });
  });

  const item = (s) => {
    const ch = s.character_id ? byId.get(s.character_id) : null;
    return h('li', {}, h('a', { class: 'session-item card', href: `#/play/${s.id}` },
      h('span', { class: 'session-title' }, s.title),
      h('span', { class: 'muted' }, ch ? `${ch.name}, ${describe(ch).toLowerCase()}` : 'No character'),
      h('span', { class: 'muted small' }, `Begun ${formatDate(s.created_at)}`),
      s.forked_from
        ? h('span', { class: 'muted small forked-from' }, `Branched from ${sessionById.get(s.forked_from)?.title ?? 'another adventure'}`)
        : null));
  };
  const ul = h('ul', { class: 'session-list', 'aria-label': 'Your adventures' }, sessions.map(item));
  const list = sessions.length
    ? h('div', {}, ul, loadMore(first.next, (before) => getPage('/api/sessions', 'sessions', before),
      (more) => {
        more.forEach((s) => sessionById.set(s.id, s));
        ul.append(...more.map(item));
      }, 'Older adventures'))
    : h('p', { class: 'empty' }, 'No adventures yet. The road is waiting.');

  mount(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Adventures'), h('p', { class: 'lede' }, 'Pick up where you left off, or set out anew.')),
    form,
    importControls((kind, made) => go(kind === 'session' ? `/play/${made.id}` : `/characters/${made.id}`)),
    list));
}
