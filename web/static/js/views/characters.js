// Characters: the list with a quick "create", and one character's sheet.
import { post, getPage } from '../api.js';
import { go } from '../router.js';
import { h, mount, field, alertBox, busy, initials, loadMore } from '../ui.js';
import { friendly } from '../errors.js';
import { assetURL } from '../upload.js';
import { ABILITIES, parseAbilities, parseInventory, FieldErrors, sheetControlFor } from './sheetinput.js';

export const CLASSES = ['barbarian', 'bard', 'cleric', 'druid', 'fighter', 'monk', 'paladin', 'ranger', 'rogue', 'sorcerer', 'warlock', 'wizard'];

/** portrait is a character's picture, or their initials until it loads. */
export function portrait(ch, size = 'md') {
  const box = h('div', { class: `portrait portrait-${size}`, 'aria-hidden': 'true' }, h('span', {}, initials(ch.name)));
  if (ch.portrait_asset_id) {
    assetURL(ch.portrait_asset_id).then((url) => {
      if (!url) return;
      const img = h('img', { src: url, alt: '', class: 'portrait-img', dataset: { assetId: ch.portrait_asset_id } });
      img.addEventListener('load', () => box.classList.add('has-img'));
      box.append(img);
    }).catch(() => {});
  }
  return box;
}

export function describe(ch) {
  const cls = ch.class ? ch.class[0].toUpperCase() + ch.class.slice(1) : 'Adventurer';
  return `Level ${ch.level} ${cls}`;
}

export async function charactersView({ alive }) {
  mount(h('p', { class: 'loading' }, 'Gathering your party…'));
  let first;
  try {
    first = await getPage('/api/characters', 'characters');
  } catch (e) {
    if (alive()) mount(h('section', {}, h('h1', {}, 'Characters'), h('p', { class: 'form-error', role: 'alert' }, friendly(e))));
    return;
  }
  if (!alive()) return;

  const error = alertBox();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create character');
  const form = h('form', { class: 'create-form card', 'aria-labelledby': 'new-char-title' },
    h('h2', { id: 'new-char-title' }, 'A new hero'),
    h('div', { class: 'row' },
      field('Name', { name: 'name', required: true, maxlength: 64, autocomplete: 'off' }),
      field('Class', { name: 'class', required: true, maxlength: 32, list: 'classes', autocomplete: 'off' }),
      field('Level', { name: 'level', type: 'number', min: 1, max: 20, value: 1, inputmode: 'numeric', class: 'narrow' })),
    h('datalist', { id: 'classes' }, CLASSES.map((c) => h('option', { value: c }))),
    h('div', { class: 'row' },
      field('Abilities (optional)', { name: 'abilities_line', autocomplete: 'off', spellcheck: 'false', placeholder: 'str 16, dex 14, con 12, int 10, wis 13, cha 8' },
        'Any you leave out start at 10.'),
      field('Hit points', { name: 'hp_max', type: 'number', min: 1, max: 999, value: 10, inputmode: 'numeric', class: 'narrow' }),
      field('Gold', { name: 'gold', type: 'number', min: 0, value: 0, inputmode: 'numeric', class: 'narrow' })),
    field('Starting gear (optional)', { tag: 'textarea', name: 'inventory', rows: 3, placeholder: 'Longsword\nHealing potion x2' }, 'One item a line; “x2” for more than one.'),
    error,
    submit);
  const fieldErrors = new FieldErrors(form, sheetControlFor(form));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.clear();
    fieldErrors.clear();
    const d = new FormData(form);
    const name = String(d.get('name') || '').trim();
    const cls = String(d.get('class') || '').trim();
    if (!name || !cls) {
      error.show('Please give your hero a name and a class.');
      return;
    }
    const level = Number(d.get('level') || 1);
    const { scores, unknown } = parseAbilities(d.get('abilities_line') || '');
    if (unknown.length) {
      error.show(`“${unknown[0]}” is not an ability: use str, dex, con, int, wis and cha with a score, like “str 16”.`);
      return;
    }
    const abilities = Object.fromEntries(ABILITIES.map((a) => [a, scores[a] ?? 10]));
    const hp = Number(d.get('hp_max') || 10);
    const sheet = { abilities, hp: { current: hp, max: hp } };
    // Only what was filled in: a sheet without gear or gold is the default.
    const inventory = parseInventory(d.get('inventory') || '');
    if (inventory.length) sheet.inventory = inventory;
    if (Number(d.get('gold') || 0) !== 0) sheet.gold = Number(d.get('gold'));
    busy(submit, 'Creating…', async () => {
      try {
        const { character } = await post('/api/characters', { name, class: cls, level, sheet });
        go(`/characters/${character.id}`);
      } catch (err) {
        fieldErrors.show(err);
        error.show(err);
      }
    });
  });

  const list = first.items;
  const card = (ch) => h('li', {},
    h('a', { class: 'char-card card', href: `#/characters/${ch.id}` },
      portrait(ch),
      h('span', { class: 'char-card-text' },
        h('span', { class: 'char-name' }, ch.name),
        h('span', { class: 'muted' }, describe(ch)),
        ch.sheet?.hp ? h('span', { class: 'muted small' }, `HP ${ch.sheet.hp.current} / ${ch.sheet.hp.max}`) : null)));
  const grid = h('ul', { class: 'card-grid', 'aria-label': 'Your characters' }, list.map(card));
  const cards = list.length
    ? h('div', {}, grid, loadMore(first.next, (before) => getPage('/api/characters', 'characters', before),
      (more) => grid.append(...more.map(card)), 'More characters'))
    : h('p', { class: 'empty' }, 'No characters yet. Every legend starts with a name.');

  mount(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Characters'), h('p', { class: 'lede' }, 'The heroes you bring to the table.')),
    cards,
    form));
}
