// Sheet input as a player writes it: inventory as lines ("Healing potion
// x2", or a plain name), abilities as one line ("str 16, dex 14, wis 12"),
// and the API's field errors ("sheet.hp.max: 0 is outside 1..999") shown
// next to the field they name.
import { h } from '../ui.js';
import { ApiError } from '../errors.js';

export const ABILITIES = ['strength', 'dexterity', 'constitution', 'intelligence', 'wisdom', 'charisma'];
const SHORT = { str: 'strength', dex: 'dexterity', con: 'constitution', int: 'intelligence', wis: 'wisdom', cha: 'charisma' };

/** abilityName reads "str", "STR" or "strength" as the full name, or null. */
export function abilityName(word) {
  const w = String(word).toLowerCase();
  return SHORT[w] ?? (ABILITIES.includes(w) ? w : null);
}

/**
 * parseAbilities reads "str 16, dex 14 con:12" into {strength: 16, …}.
 * It returns {scores, unknown: [words it could not read]}.
 */
export function parseAbilities(text) {
  const scores = {};
  const unknown = [];
  for (const m of String(text).matchAll(/([a-z]+)\s*[:=]?\s*(-?\d+)|(\S+)/gi)) {
    if (m[3]) {
      if (!/^[,;]+$/.test(m[3])) unknown.push(m[3].replace(/[,;]+$/, ''));
      continue;
    }
    const name = abilityName(m[1]);
    if (name) scores[name] = Number(m[2]);
    else unknown.push(m[1]);
  }
  return { scores, unknown };
}

/**
 * parseInventory reads one item a line: "Healing potion x2", "2x torch",
 * "rope ×1" become {name, qty}; a plain name stays a string (the API reads
 * it as one of them).
 */
export function parseInventory(text) {
  const out = [];
  for (const raw of String(text).split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    let m = /^(.+?)\s*[x×]\s*(\d+)$/i.exec(line);
    if (m) {
      out.push({ name: m[1].trim(), qty: Number(m[2]) });
      continue;
    }
    m = /^(\d+)\s*[x×]\s+(.+)$/i.exec(line);
    if (m) {
      out.push({ name: m[2].trim(), qty: Number(m[1]) });
      continue;
    }
    out.push(line);
  }
  return out;
}

/** formatInventory writes items back as lines parseInventory reads. */
export function formatInventory(items) {
  return (items ?? []).map((it) => {
    if (typeof it === 'string') return it;
    return it.qty && it.qty !== 1 ? `${it.name} x${it.qty}` : it.name;
  }).join('\n');
}

/** splitFieldError reads "sheet.hp.max: 0 is outside 1..999" as {field, message}. */
export function splitFieldError(err) {
  if (!(err instanceof ApiError) || ![400, 409].includes(err.status)) return null;
  const m = /^([\w.[\]-]+): (.+)$/.exec(err.apiMessage || '');
  return m ? { field: m[1], message: m[2] } : null;
}

/**
 * FieldErrors shows an API field error under the control it names, inside
 * form. controlFor(field) maps an API field name to the control (or null).
 */
export class FieldErrors {
  constructor(form, controlFor) {
    this.form = form;
    this.controlFor = controlFor;
    this.shown = [];
  }

  clear() {
    for (const { control, note } of this.shown) {
      control.removeAttribute('aria-invalid');
      const ids = (control.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== note.id);
      if (ids.length) control.setAttribute('aria-describedby', ids.join(' '));
      else control.removeAttribute('aria-describedby');
      note.remove();
    }
    this.shown = [];
  }

  /** show puts err next to its field; it returns false when err names no field here. */
  show(err) {
    this.clear();
    const fe = splitFieldError(err);
    if (!fe) return false;
    const control = this.controlFor(fe.field.replace(/^sheet\./, ''), fe.field);
    if (!control) return false;
    let text = fe.message;
    const line = /^inventory\[(\d+)\]/.exec(fe.field.replace(/^sheet\./, ''));
    if (line) text = `Line ${Number(line[1]) + 1}: ${text}`;
    const note = h('p', { class: 'field-error', id: `${control.id || control.name}-error` }, text);
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', `${control.getAttribute('aria-describedby') || ''} ${note.id}`.trim());
    control.closest('.field, .ability')?.append(note) ?? control.after(note);
    this.shown.push({ control, note });
    return true;
  }
}

/** sheetControlFor finds a sheet form's control for an API field name. */
export function sheetControlFor(form) {
  return (field) => {
    const ab = /^abilities\.(\w+)$/.exec(field);
    if (ab) {
      const name = abilityName(ab[1]);
      return (name && form.querySelector(`#ab-${name}`)) || form.querySelector('[name=abilities_line]');
    }
    if (field === 'abilities') return form.querySelector('[name=abilities_line]') ?? form.querySelector('#ab-strength');
    const direct = { 'hp.current': 'hp_current', 'hp.max': 'hp_max', hp: 'hp_max', gold: 'gold', notes: 'notes', name: 'name', class: 'class', level: 'level' }[field];
    if (direct) return form.querySelector(`[name=${direct}]`);
    if (field.startsWith('inventory')) return form.querySelector('[name=inventory]');
    return null;
  };
}

/** turnConflict is what a 409 on saving a sheet means (API: engine-owned fields during a turn). */
export const TURN_CONFLICT = 'Your character is in the middle of a turn: wait for the Dungeon Master to finish, then save again.';
