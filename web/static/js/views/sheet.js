// One character's sheet: identity, abilities, hit points, inventory, notes
// and portrait.
import { get, getBlob, patch, qs } from '../api.js';
import { h, mount, field, alertBox, busy, notify, formatDate } from '../ui.js';
import { friendly } from '../errors.js';
import { uploadAsset, uploadProblem, PORTRAIT_TYPES } from '../upload.js';
import { portrait, describe, CLASSES } from './characters.js';
import { ABILITIES, parseAbilities, parseInventory, formatInventory, FieldErrors, sheetControlFor, TURN_CONFLICT } from './sheetinput.js';
import { describeChange } from './sheetpanel.js';
const MAX_PORTRAIT_BYTES = 5 << 20;

const modifier = (score) => {
  const m = Math.floor((score - 10) / 2);
  return m >= 0 ? `+${m}` : `${m}`;
};

export async function sheetView({ id, alive }) {
  mount(h('p', { class: 'loading' }, 'Unrolling the character sheet…'));
  let ch;
  try {
    ({ character: ch } = await get(`/api/characters/${id}`));
  } catch (e) {
    if (alive()) mount(h('section', {}, h('h1', {}, 'Character'), h('p', { class: 'form-error', role: 'alert' }, friendly(e)), h('a', { href: '#/characters' }, 'Back to characters')));
    return;
  }
  if (!alive()) return;
  let sheet = ch.sheet ?? {};
  const title = h('h1', {}, ch.name);
  const subtitle = h('p', { class: 'lede' }, describe(ch));

  // Abilities: blank means "not set" (the DM treats it as an average 10).
  const abilityInputs = ABILITIES.map((a) => {
    const score = sheet.abilities?.[a];
    const mod = h('output', { class: 'mod', 'aria-live': 'off' }, score ? modifier(score) : '');
    const input = h('input', {
      id: `ab-${a}`, name: a, type: 'number', min: 1, max: 30, inputmode: 'numeric', value: score ?? '',
      'aria-describedby': `ab-${a}-mod`,
    });
    mod.id = `ab-${a}-mod`;
    input.addEventListener('input', () => { mod.textContent = input.value ? modifier(Number(input.value)) : ''; });
    return { a, input, el: h('div', { class: 'ability' }, h('label', { for: input.id }, a.slice(0, 3).toUpperCase(), h('span', { class: 'visually-hidden' }, ` (${a})`)), input, mod) };
  });

  const error = alertBox();
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save sheet');
  const form = h('form', { class: 'sheet-form stack', 'aria-labelledby': 'sheet-title' },
    h('h2', { id: 'sheet-title', class: 'visually-hidden' }, 'Character sheet'),
    h('fieldset', {}, h('legend', {}, 'Who they are'),
      h('div', { class: 'row' },
        field('Name', { name: 'name', required: true, maxlength: 64, value: ch.name }),
        field('Class', { name: 'class', required: true, maxlength: 32, list: 'classes', value: ch.class }),
        field('Level', { name: 'level', type: 'number', min: 1, max: 20, value: ch.level, class: 'narrow', inputmode: 'numeric' })),
      h('datalist', { id: 'classes' }, CLASSES.map((c) => h('option', { value: c })))),
    h('fieldset', {}, h('legend', {}, 'Abilities'),
      h('p', { class: 'hint' }, 'Scores from 1 to 30. Leave one blank for an average 10.'),
      h('div', { class: 'abilities' }, abilityInputs.map((x) => x.el)),
      field('Or type them in one line', { name: 'abilities_line', autocomplete: 'off', spellcheck: 'false', placeholder: 'str 16, dex 14, con 12, int 10, wis 13, cha 8' },
        'Short (str, dex, con, int, wis, cha) or full names; fills the boxes above.')),
    h('fieldset', {}, h('legend', {}, 'Hit points'),
      h('div', { class: 'row' },
        field('Current', { name: 'hp_current', type: 'number', value: sheet.hp?.current ?? '', class: 'narrow', inputmode: 'numeric' }),
        field('Maximum', { name: 'hp_max', type: 'number', min: 1, max: 999, value: sheet.hp?.max ?? '', class: 'narrow', inputmode: 'numeric' }),
        field('Gold', { name: 'gold', type: 'number', min: 0, value: sheet.gold ?? 0, class: 'narrow', inputmode: 'numeric' }))),
    h('fieldset', {}, h('legend', {}, 'Inventory'),
      field('Items, one per line', { tag: 'textarea', name: 'inventory', rows: 5, value: formatInventory(sheet.inventory) },
        'A name, or a name and how many: “Healing potion x2”.')),
    h('fieldset', {}, h('legend', {}, 'Notes'),
      field('Backstory, bonds, secrets', { tag: 'textarea', name: 'notes', rows: 5, maxlength: 4000, value: sheet.notes ?? '' })),
    error,
    h('div', { class: 'actions' }, save, h('a', { class: 'btn btn-quiet', href: '#/characters' }, 'Back to characters')));

  // The one-line form fills the boxes as it is typed.
  const abilitiesLine = form.querySelector('[name=abilities_line]');
  abilitiesLine.addEventListener('input', () => {
    const { scores } = parseAbilities(abilitiesLine.value);
    for (const { a, input } of abilityInputs) {
      if (scores[a] === undefined) continue;
      input.value = String(scores[a]);
      input.dispatchEvent(new Event('input'));
    }
  });
  const fieldErrors = new FieldErrors(form, sheetControlFor(form));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.clear();
    fieldErrors.clear();
    const d = new FormData(form);
    const { unknown } = parseAbilities(abilitiesLine.value);
    if (unknown.length) {
      error.show(`“${unknown[0]}” is not an ability: use str, dex, con, int, wis and cha with a score, like “str 16”.`);
      abilitiesLine.focus();
      return;
    }
    const abilities = {};
    for (const { a, input } of abilityInputs) if (input.value !== '') abilities[a] = Number(input.value);
    // The whole sheet goes back: what this form does not edit (conditions,
    // XP, AC…) as it was, so saving never wipes what the game recorded.
    const next = {
      ...sheet,
      abilities,
      inventory: parseInventory(d.get('inventory') || ''),
      notes: String(d.get('notes') || ''),
    };
    // Gold is sent when it says something: set before, or set now.
    if (d.get('gold') !== '' && (sheet.gold !== undefined || Number(d.get('gold')) !== 0)) next.gold = Number(d.get('gold'));
    else delete next.gold;
    const cur = d.get('hp_current');
    const max = d.get('hp_max');
    if (cur !== '' || max !== '') {
      if (cur === '' || max === '') {
        error.show('Please fill in both current and maximum hit points, or neither.');
        return;
      }
      next.hp = { current: Number(cur), max: Number(max) };
    } else {
      delete next.hp;
    }
    busy(save, 'Saving…', async () => {
      try {
        const { character } = await patch(`/api/characters/${ch.id}`, {
          name: String(d.get('name') || '').trim(),
          class: String(d.get('class') || '').trim(),
          level: Number(d.get('level') || 1),
          sheet: next,
        });
        ch = character;
        sheet = ch.sheet ?? {};
        title.textContent = ch.name;
        subtitle.textContent = describe(ch);
        form.querySelector('[name=inventory]').value = formatInventory(ch.sheet?.inventory);
        notify('Character sheet saved.', 'success');
        history.reload();
      } catch (err) {
        fieldErrors.show(err);
        error.show(err, { 'status:409': TURN_CONFLICT });
      }
    });
  });

  const history = historyPanel(ch.id);
  mount(h('section', { class: 'page sheet-page' },
    h('div', { class: 'page-head sheet-head' },
      h('div', {}, title, subtitle), cardButton(ch)),
    h('div', { class: 'sheet-layout' },
      portraitPanel(ch, (updated) => { ch = updated; }),
      h('div', { class: 'stack' }, h('div', { class: 'card' }, form), history.el))));
  history.reload();
}

const HISTORY_PAGE = 20;

// historyPanel lists what the rules engine changed on the sheet, newest
// first, a page at a time.
function historyPanel(id) {
  const list = h('ol', { class: 'history-list', id: 'history-list' });
  const more = h('button', { type: 'button', class: 'btn btn-secondary btn-small', id: 'history-more', hidden: true }, 'Load more');
  const empty = h('p', { class: 'muted', hidden: true }, 'Nothing has changed in play yet.');
  const error = alertBox();
  let before = null;
  async function load(reset) {
    try {
      const page = await get(`/api/characters/${id}/history${qs({ limit: HISTORY_PAGE, before: reset ? null : before })}`);
      if (reset) list.replaceChildren();
      error.clear();
      for (const c of page.changes ?? []) {
        list.append(h('li', { dataset: { changeId: c.id, path: c.path } },
          h('strong', {}, describeChange(c)),
          c.reason ? h('span', {}, `— ${c.reason}`) : null,
          h('time', { datetime: c.at }, formatDate(c.at))));
      }
      before = page.next_before ?? null;
      more.hidden = !before;
      empty.hidden = list.children.length > 0;
    } catch (e) {
      error.show(e);
    }
  }
  more.addEventListener('click', () => busy(more, 'Loading…', () => load(false)));
  return {
    el: h('section', { class: 'card history', 'aria-labelledby': 'history-title' },
      h('h2', { id: 'history-title' }, 'History'),
      h('p', { class: 'hint' }, 'What the rules engine changed in play: hit points, gold, items, conditions.'),
      empty, list, error, more),
    reload: () => load(true),
  };
}

// portraitPanel shows the portrait and uploads a new one: presigned upload
// with progress, complete, then the character points at the new asset.
function portraitPanel(ch, onChange) {
  const holder = h('div', { class: 'portrait-holder' }, portrait(ch, 'lg'));
  const progress = h('progress', { max: 100, value: 0, id: 'portrait-progress', hidden: true, 'aria-label': 'Upload progress' });
  const status = h('p', { class: 'hint', id: 'portrait-status', role: 'status', 'aria-live': 'polite' });
  const error = alertBox();
  const input = h('input', { type: 'file', id: 'portrait-file', name: 'portrait', accept: PORTRAIT_TYPES.join(','), class: 'file-input' });
  const label = h('label', { for: 'portrait-file', class: 'btn btn-secondary file-label' }, ch.portrait_asset_id ? 'Change portrait' : 'Upload a portrait');

  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    if (!file) return;
    error.clear();
    if (!PORTRAIT_TYPES.includes(file.type)) {
      error.show('Please choose a PNG, JPEG or WebP image.');
      input.value = '';
      return;
    }
    if (file.size > MAX_PORTRAIT_BYTES) {
      error.show('That image is larger than 5 MB. Please choose a smaller one.');
      input.value = '';
      return;
    }
    input.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    status.textContent = 'Uploading…';
    try {
      const asset = await uploadAsset('portrait', file, (f) => {
        progress.value = Math.round(f * 100);
      });
      status.textContent = 'Checking the image…';
      const { character } = await patch(`/api/characters/${ch.id}`, { portrait_asset_id: asset.id });
      onChange(character);
      ch = character;
      holder.replaceChildren(portrait(character, 'lg'));
      label.textContent = 'Change portrait';
      status.textContent = 'Portrait saved.';
      holder.dataset.state = 'ready';
    } catch (err) {
      status.textContent = '';
      error.show(uploadProblem(err) ?? friendly(err));
    } finally {
      input.disabled = false;
      input.value = '';
      progress.hidden = progress.value < 100;
    }
  });

  return h('aside', { class: 'card portrait-panel', 'aria-label': 'Portrait' },
    holder,
    h('div', { class: 'portrait-controls' }, input, label,
      h('p', { class: 'hint' }, 'PNG, JPEG or WebP, up to 5\u00a0MB.'),
      progress, status, error));
}

// cardButton downloads the character as a Tavern character card (V3, PNG
// with the portrait as its image), for other role-play tools.
function cardButton(ch) {
  const b = h('button', { type: 'button', class: 'btn btn-secondary btn-small card-download' }, 'Download card (PNG)');
  b.addEventListener('click', () => busy(b, 'Preparing…', async () => {
    try {
      const blob = await getBlob(`/api/characters/${ch.id}/card`);
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `${ch.name.replace(/[^\p{L}\p{N} _-]/gu, '').trim() || 'character'}.png` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      notify(friendly(err), 'error');
    }
  }));
  return b;
}
