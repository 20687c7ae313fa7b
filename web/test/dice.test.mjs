// The browser's dice verifier against the golden values of internal/dice
// (TestGoldenDerivation, docs/DICE.md), computed independently with
// Python's hmac module. Run by web/js_test.go: node --test web/test/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitmentOf, seedKey, dieValue, acceptLimit, parseNotation, verifyRolls } from '../static/js/dice.js';

const SEED = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const COMMITMENT = '630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd';
const GOLDEN = [[20, 9], [20, 19], [6, 2], [100, 24], [2, 1], [8, 6]];

test('commitment is hex(sha256(seed))', async () => {
  assert.equal(await commitmentOf(SEED), COMMITMENT);
});

test('dice 0..5 of the golden seed', async () => {
  const key = await seedKey(SEED);
  for (const [k, [sides, value]] of GOLDEN.entries()) {
    assert.equal(await dieValue(key, k, sides), value, `die ${k} (d${sides})`);
  }
});

test('accept limit is floor(2^64/sides)*sides, exactly', () => {
  // The same figures as internal/dice's TestAcceptLimit; 2^64 = 18446744073709551616.
  assert.equal(acceptLimit(3), 18446744073709551615n);
  assert.equal(acceptLimit(6), 18446744073709551612n);
  assert.equal(acceptLimit(20), 18446744073709551600n);
  assert.equal(acceptLimit(100), 18446744073709551600n);
  for (const s of [2, 4, 8]) assert.equal(acceptLimit(s), 1n << 64n, `d${s} accepts every x`);
});

test('a bad die size or seed is refused', async () => {
  const key = await seedKey(SEED);
  await assert.rejects(dieValue(key, 0, 7), /d7 does not exist/);
  await assert.rejects(seedKey('00ff'), /32 bytes/);
});

test('notation', () => {
  assert.deepEqual(parseNotation('2d20kh1+5'), { count: 2, sides: 20, keep: 'kh', modifier: 5 });
  assert.deepEqual(parseNotation('d20'), { count: 1, sides: 20, keep: '', modifier: 0 });
  assert.deepEqual(parseNotation('3d6-1'), { count: 3, sides: 6, keep: '', modifier: -1 });
  assert.equal(parseNotation('fireball'), null);
});

// The golden dice as a turn's rolls: 2d20kh1+3 against DC 12 (dice 0, 1 → 9, 19),
// 1d6 (die 2 → 2), 1d100-4 (die 3 → 24).
const rolls = () => [
  { index: 0, notation: '2d20kh1+3', dice: [{ sides: 20, value: 9 }, { sides: 20, value: 19 }], modifier: 3, total: 22, dc: 12, outcome: 'success' },
  { index: 1, notation: '1d6', dice: [{ sides: 6, value: 2 }], modifier: 0, total: 2 },
  { index: 2, notation: '1d100-4', dice: [{ sides: 100, value: 24 }], modifier: -4, total: 20 },
];

test('a genuine turn verifies', async () => {
  // Out of order on purpose: the verifier orders by index.
  const r = await verifyRolls({ seed: SEED, commitment: COMMITMENT, rolls: rolls().reverse() });
  assert.equal(r.mismatch, null);
  assert.equal(r.ok, true);
  assert.equal(r.commitmentOk, true);
  assert.equal(r.dice, 4);
  assert.deepEqual(r.rolls.flatMap((x) => x.dice.map((d) => d.computed)), [9, 19, 2, 24]);
});

test('a changed die is named', async () => {
  const rs = rolls();
  rs[0].dice[1].value = 18;
  rs[0].total = 21;
  const r = await verifyRolls({ seed: SEED, commitment: COMMITMENT, rolls: rs });
  assert.equal(r.ok, false);
  assert.equal(r.mismatch, 'roll 0: die 1 (d20) shows 18, the seed gives 19');
  assert.deepEqual(r.rolls[0].dice.map((d) => d.ok), [true, false]);
  assert.equal(r.rolls[1].ok, true, 'later rolls are still checked');
});

test('a wrong total, outcome or commitment is named', async () => {
  let rs = rolls();
  rs[1].total = 3;
  assert.equal((await verifyRolls({ seed: SEED, rolls: rs })).mismatch, 'roll 1: the total is 3, the dice give 2');
  rs = rolls();
  rs[0].outcome = 'failure';
  assert.match((await verifyRolls({ seed: SEED, rolls: rs })).mismatch, /roll 0: the outcome is failure, a 22 against DC 12 is success/);
  const r = await verifyRolls({ seed: SEED, commitment: COMMITMENT.replace(/^6/, '7'), rolls: rolls() });
  assert.equal(r.ok, false);
  assert.equal(r.commitmentOk, false);
  assert.match(r.mismatch, /commitment/);
});

test('a missing roll is named, not miscounted silently', async () => {
  const r = await verifyRolls({ seed: SEED, rolls: rolls().slice(1) });
  assert.equal(r.ok, false);
  assert.match(r.mismatch, /roll 0 is missing/);
});
