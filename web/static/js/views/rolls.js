// Roll cards: one roll's dice, modifier, total, DC and outcome, and the
// marks a verification leaves on each die (✓ matches the revealed seed,
// ✗ does not). The arithmetic of verification is in ../dice.js.
import { h } from '../ui.js';
import { parseNotation } from '../dice.js';

const OUTCOME_TEXT = {
  success: 'Success',
  failure: 'Failure',
  critical_success: 'Critical success!',
  critical_failure: 'Critical failure!',
};

/** signedMod writes a modifier as "+3", "−2" or nothing for 0. */
export function signedMod(m) {
  if (!m) return '';
  return m > 0 ? `+${m}` : `−${-m}`;
}

// dropped marks the die an advantage/disadvantage roll did not keep.
function droppedIndex(roll) {
  const n = parseNotation(roll.notation);
  const values = (roll.dice ?? []).map((d) => d.value);
  if (!n || !n.keep || values.length < 2) return -1;
  const keep = n.keep === 'kh' ? Math.max(...values) : Math.min(...values);
  return values.indexOf(keep) === 0 ? 1 : 0;
}

/**
 * rollCard renders a roll. who names the roller ("Dungeon Master", "You");
 * check is the verification of this roll ({dice:[{ok, computed}], ok}) or
 * null.
 */
export function rollCard(roll, who, check = null) {
  const drop = droppedIndex(roll);
  const dice = (roll.dice ?? []).map((d, i) => {
    const c = check?.dice?.[i];
    const label = `d${d.sides}: ${d.value}${i === drop ? ' (not kept)' : ''}${c ? (c.ok ? ', matches the seed' : `, the seed gives ${c.computed}`) : ''}`;
    return h('span', {
      class: `die die-d${d.sides}${i === drop ? ' die-dropped' : ''}`,
      dataset: { sides: d.sides, check: c ? (c.ok ? 'ok' : 'bad') : undefined },
      title: label,
      'aria-label': label,
    }, String(d.value), c ? h('span', { class: 'die-mark', 'aria-hidden': 'true' }, c.ok ? '✓' : `✗${c.computed}`) : null);
  });
  const outcome = roll.outcome ? h('span', { class: 'roll-outcome' }, OUTCOME_TEXT[roll.outcome] ?? roll.outcome) : null;
  return h('li', { class: 'roll-card', dataset: { outcome: roll.outcome || 'none', index: roll.index ?? '', rollId: roll.id ?? '', check: check ? (check.ok ? 'ok' : 'bad') : undefined } },
    h('div', { class: 'roll-head' },
      h('span', { class: 'roll-icon', 'aria-hidden': 'true' }, '⚄'),
      h('span', { class: 'roll-who' }, who),
      h('span', { class: 'roll-notation' }, roll.notation),
      roll.reason ? h('span', { class: 'roll-reason' }, `— ${roll.reason}`) : null),
    h('div', { class: 'roll-body' },
      h('span', { class: 'dice' }, dice),
      roll.modifier ? h('span', { class: 'roll-mod' }, signedMod(roll.modifier)) : null,
      h('span', { class: 'roll-eq', 'aria-hidden': 'true' }, '='),
      h('strong', { class: 'roll-total', 'aria-label': `total ${roll.total}` }, String(roll.total)),
      roll.dc !== undefined && roll.dc !== null ? h('span', { class: 'roll-dc' }, `vs DC ${roll.dc}`) : null,
      outcome));
}

/** verifyText sums up a verification in a sentence. */
export function verifyText(result) {
  if (result.ok) {
    const dice = result.dice === 1 ? '1 die' : `${result.dice} dice`;
    return `✓ Verified: all ${dice} match the revealed seed${result.commitmentOk ? ', and the seed matches the commitment published before the turn' : ''}.`;
  }
  return `✗ Does not verify: ${result.mismatch}.`;
}
