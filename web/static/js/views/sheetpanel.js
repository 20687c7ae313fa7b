// The live character sheet beside the story: hit points, gold, XP and
// level, conditions and inventory, redrawn from each `sheet.changed` with
// a short highlight of what changed and why.
import { h } from '../ui.js';

const HIGHLIGHT_MS = 6000;

/** itemsOf reads an inventory in either form (API: {name, qty}; round 1: strings). */
export function itemsOf(inventory) {
  return (inventory ?? []).map((it) => (typeof it === 'string' ? { name: it, qty: 1 } : { name: it.name, qty: it.qty ?? 1 }));
}

const cap = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

/** describeChange says a change as a player would: "HP 6 → 10". */
export function describeChange(c) {
  const [head, ...rest] = String(c.path).split('.');
  const name = rest.join('.');
  switch (head) {
    case 'hp':
      return `${name === 'max' ? 'Max HP' : 'HP'} ${c.from} → ${c.to}`;
    case 'gold':
      return `Gold ${c.from} → ${c.to}`;
    case 'xp':
      return `XP ${c.from} → ${c.to}`;
    case 'level':
      return `Level ${c.from} → ${c.to}`;
    case 'inventory':
      if (c.to === 0) return `${cap(name)}: gone`;
      if (c.from === 0) return `${cap(name)} ×${c.to}: gained`;
      return `${cap(name)} ×${c.from} → ×${c.to}`;
    case 'conditions':
      return c.to ? `Now ${name}` : `No longer ${name}`;
    default:
      return `${c.path} ${c.from} → ${c.to}`;
  }
}

// hpLevel colours the bar by the fraction left.
function hpLevel(cur, max) {
  const f = max > 0 ? cur / max : 0;
  if (f <= 0) return 'down';
  if (f <= 0.25) return 'low';
  if (f <= 0.5) return 'mid';
  return 'ok';
}

/**
 * sheetPanel returns {el, update(sheet, changes?)} for a character. With
 * changes (a `sheet.changed`), the parts they touched flash and the list
 * of changes with their reasons shows under the heading.
 */
export function sheetPanel(character) {
  const hpFill = h('div', { class: 'hp-fill' });
  const hpBar = h('div', { class: 'hp-bar', role: 'meter', 'aria-valuemin': 0, 'aria-label': 'Hit points' }, hpFill);
  const hpText = h('span', { class: 'hp-text' });
  const gold = h('span', { class: 'stat-value', dataset: { path: 'gold' } });
  const xp = h('span', { class: 'stat-value', dataset: { path: 'xp' } });
  const level = h('span', { class: 'stat-value', dataset: { path: 'level' } });
  const ac = h('span', { class: 'stat-value', dataset: { path: 'ac' } });
  const conditions = h('ul', { class: 'chips', 'aria-label': 'Conditions' });
  const inventory = h('ul', { class: 'inventory', 'aria-label': 'Inventory' });
  const recent = h('ul', { class: 'sheet-changes', 'aria-live': 'polite', 'aria-label': 'What just changed', hidden: true });
  const el = h('section', { class: 'sheet-panel', id: 'sheet-panel', 'aria-labelledby': 'sheet-panel-title' },
    h('h2', { id: 'sheet-panel-title' }, character.name),
    recent,
    h('div', { class: 'hp', dataset: { path: 'hp.current' } }, h('div', { class: 'hp-label' }, h('span', {}, 'HP'), hpText), hpBar),
    h('dl', { class: 'stats' },
      h('div', {}, h('dt', {}, 'Gold'), h('dd', {}, gold)),
      h('div', {}, h('dt', {}, 'XP'), h('dd', {}, xp)),
      h('div', {}, h('dt', {}, 'Level'), h('dd', {}, level)),
      h('div', {}, h('dt', {}, 'AC'), h('dd', {}, ac))),
    h('h3', {}, 'Conditions'), conditions,
    h('h3', {}, 'Inventory'), inventory);
  let fadeTimer = null;

  function update(sheet, changes = []) {
    sheet = sheet ?? {};
    const hp = sheet.hp ?? {};
    const cur = hp.current ?? 0;
    const max = hp.max ?? 0;
    hpText.textContent = max ? `${cur} / ${max}` : '—';
    hpBar.setAttribute('aria-valuemax', String(max));
    hpBar.setAttribute('aria-valuenow', String(cur));
    hpBar.dataset.level = hpLevel(cur, max);
    hpFill.style.width = `${max > 0 ? Math.max(0, Math.min(100, (100 * cur) / max)) : 0}%`;
    gold.textContent = String(sheet.gold ?? 0);
    xp.textContent = String(sheet.xp ?? 0);
    level.textContent = String(sheet.level ?? character.level ?? 1);
    ac.textContent = sheet.ac ? String(sheet.ac) : '—';
    const conds = sheet.conditions ?? [];
    conditions.replaceChildren(...(conds.length
      ? conds.map((c) => h('li', { class: 'chip', dataset: { path: `conditions.${c}` } }, c))
      : [h('li', { class: 'muted small' }, 'None')]));
    const items = itemsOf(sheet.inventory);
    inventory.replaceChildren(...(items.length
      ? items.map((it) => h('li', { dataset: { item: it.name.toLowerCase(), path: `inventory.${it.name.toLowerCase()}` } },
        h('span', { class: 'item-name' }, it.name), h('span', { class: 'qty', 'aria-label': `quantity ${it.qty}` }, `×${it.qty}`)))
      : [h('li', { class: 'muted small' }, 'Nothing carried')]));

    if (!changes.length) return;
    recent.replaceChildren(...changes.map((c) => h('li', { dataset: { change: c.path } },
      h('strong', {}, describeChange(c)), c.reason ? ` — ${c.reason}` : '')));
    recent.hidden = false;
    for (const c of changes) {
      const path = c.path.startsWith('hp.') ? 'hp.current' : c.path.toLowerCase();
      const target = el.querySelector(`[data-path="${CSS.escape(path)}"]`);
      if (!target) continue;
      target.classList.remove('flash', 'up', 'down');
      void target.offsetWidth; // restart the animation
      target.classList.add('flash', c.to > c.from ? 'up' : 'down');
    }
    clearTimeout(fadeTimer);
    fadeTimer = setTimeout(() => {
      el.querySelectorAll('.flash').forEach((x) => x.classList.remove('flash', 'up', 'down'));
      recent.classList.add('faded');
    }, HIGHLIGHT_MS);
    recent.classList.remove('faded');
  }

  update(character.sheet);
  return { el, update };
}
