// Sheet input as players write it, and changes as the sheet panel and the
// history say them (web/static/js/views/sheetinput.js, sheetpanel.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInventory, formatInventory, parseAbilities, splitFieldError } from '../static/js/views/sheetinput.js';
import { describeChange, itemsOf } from '../static/js/views/sheetpanel.js';
import { ApiError } from '../static/js/errors.js';

test('inventory lines: "x2", "2x", "×3" and plain names', () => {
  assert.deepEqual(parseInventory('Healing potion x2\n  rope \n\n2x Torch\nArrows ×20\nBox of x-rays'), [
    { name: 'Healing potion', qty: 2 }, 'rope', { name: 'Torch', qty: 2 }, { name: 'Arrows', qty: 20 }, 'Box of x-rays',
  ]);
  const back = formatInventory([{ name: 'healing potion', qty: 2 }, { name: 'rope', qty: 1 }, 'torch']);
  assert.equal(back, 'healing potion x2\nrope\ntorch');
  assert.deepEqual(parseInventory(back), [{ name: 'healing potion', qty: 2 }, 'rope', 'torch'], 'what is shown reads back the same');
});

test('abilities in one line, short or full names', () => {
  assert.deepEqual(parseAbilities('str 16, DEX 14 con:12 wisdom=13'), {
    scores: { strength: 16, dexterity: 14, constitution: 12, wisdom: 13 }, unknown: [],
  });
  assert.deepEqual(parseAbilities('luck 7, str 9').unknown, ['luck']);
  assert.deepEqual(parseAbilities('str sixteen').unknown, ['str', 'sixteen']);
});

test('a field error names its field', () => {
  const e = new ApiError({ status: 400, code: 'invalid_request', message: 'sheet.inventory[2].qty: 0 is outside 1..99' });
  assert.deepEqual(splitFieldError(e), { field: 'sheet.inventory[2].qty', message: '0 is outside 1..99' });
  assert.equal(splitFieldError(new ApiError({ status: 500, message: 'x: y' })), null);
});

test('changes in words', () => {
  assert.equal(describeChange({ path: 'hp.current', from: 4, to: 11 }), 'HP 4 → 11');
  assert.equal(describeChange({ path: 'inventory.healing potion', from: 2, to: 1 }), 'Healing potion ×2 → ×1');
  assert.equal(describeChange({ path: 'inventory.rope', from: 1, to: 0 }), 'Rope: gone');
  assert.equal(describeChange({ path: 'inventory.dagger', from: 0, to: 1 }), 'Dagger ×1: gained');
  assert.equal(describeChange({ path: 'conditions.poisoned', from: 0, to: 1 }), 'Now poisoned');
  assert.equal(describeChange({ path: 'gold', from: 10, to: 4 }), 'Gold 10 → 4');
  assert.deepEqual(itemsOf(['rope', { name: 'torch', qty: 3 }]), [{ name: 'rope', qty: 1 }, { name: 'torch', qty: 3 }]);
});
