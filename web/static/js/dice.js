// Verifiable dice, recomputed in the browser (docs/DICE.md). Once a turn
// has ended its secret dice_seed is revealed; with it anyone can check that
// sha256(seed) is the commitment published when the turn was accepted, and
// recompute every die of the turn:
//
//   die k with `sides` faces: x = first 8 bytes, big endian, of
//   HMAC-SHA256(key = seed, msg = "<k>:<sides>:<attempt>"), attempt = 0,
//   1, … until x < floor(2^64 / sides) * sides; the die shows x % sides + 1.
//
// k counts dice across all of the turn's rolls in index order. 64-bit
// arithmetic is done with BigInt: a Number would round x. No DOM here, so
// the same file runs under Node for its tests (web/test/).

const TWO_64 = 1n << 64n;
export const VALID_SIDES = [2, 3, 4, 6, 8, 10, 12, 20, 100];
const encoder = new TextEncoder();

function subtle() {
  const s = globalThis.crypto?.subtle;
  // WebCrypto exists only in secure contexts (https, or http://localhost).
  if (!s) throw new Error('This browser cannot check dice here: it needs a secure (https) connection.');
  return s;
}

/** hexToBytes decodes lowercase or uppercase hex; it throws on anything else. */
export function hexToBytes(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error('not hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** commitmentOf is hex(sha256(seed)) for a seed given as hex. */
export async function commitmentOf(seedHex) {
  return bytesToHex(await subtle().digest('SHA-256', hexToBytes(seedHex)));
}

/** acceptLimit is floor(2^64 / sides) * sides: x at or above it is rejected. */
export function acceptLimit(sides) {
  const s = BigInt(sides);
  return (TWO_64 / s) * s;
}

/** seedKey imports a hex seed as an HMAC-SHA256 key. */
export async function seedKey(seedHex) {
  const raw = hexToBytes(seedHex);
  if (raw.length !== 32) throw new Error(`a dice seed is 32 bytes, not ${raw.length}`);
  return subtle().importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

/** dieValue computes die k with `sides` faces of the seed behind key. */
export async function dieValue(key, k, sides) {
  if (!VALID_SIDES.includes(sides)) throw new Error(`a d${sides} does not exist`);
  const limit = acceptLimit(sides);
  for (let attempt = 0; ; attempt++) {
    const mac = await subtle().sign('HMAC', key, encoder.encode(`${k}:${sides}:${attempt}`));
    const x = new DataView(mac).getBigUint64(0, false);
    if (x < limit) return Number(x % BigInt(sides)) + 1;
  }
}

/**
 * parseNotation reads the canonical notation a roll carries (NdM[+|-K],
 * 2d20kh1, 2d20kl1): {count, sides, keep: ''|'kh'|'kl', modifier}, or null.
 */
export function parseNotation(s) {
  const m = /^(\d*)d(\d+)(kh1|kl1)?([+-]\d+)?$/i.exec(String(s ?? '').replace(/\s+/g, ''));
  if (!m) return null;
  return {
    count: m[1] === '' ? 1 : Number(m[1]),
    sides: Number(m[2]),
    keep: m[3] ? m[3].slice(0, 2).toLowerCase() : '',
    modifier: m[4] ? Number(m[4]) : 0,
  };
}

/** keptSum is the sum of the dice that count: all, or the highest/lowest. */
export function keptSum(n, values) {
  if (!values.length) return 0;
  if (n.keep === 'kh') return Math.max(...values);
  if (n.keep === 'kl') return Math.min(...values);
  return values.reduce((a, b) => a + b, 0);
}

/** outcomeOf is a roll's outcome against dc (docs/DICE.md). */
export function outcomeOf(n, values, total, dc) {
  if (n.sides === 20 && (n.count === 1 || n.keep !== '')) {
    const nat = keptSum(n, values);
    if (nat === 20) return 'critical_success';
    if (nat === 1) return 'critical_failure';
  }
  return total >= dc ? 'success' : 'failure';
}

/**
 * verifyRolls checks a revealed seed against its commitment and recomputes
 * every die of rolls (all the rolls of one seed; they are put in index
 * order). It returns {ok, commitmentOk, dice, rolls: [{index, ok, dice:
 * [{k, sides, shown, computed, ok}], problems: [string]}], mismatch}, where
 * mismatch describes the first difference ("roll 1, die 3: shows 18, the
 * seed gives 19") or is null.
 */
export async function verifyRolls({ seed, commitment, rolls }) {
  const result = { ok: false, commitmentOk: null, dice: 0, rolls: [], mismatch: null };
  const note = (text) => {
    if (!result.mismatch) result.mismatch = text;
  };
  let key;
  try {
    key = await seedKey(seed);
  } catch (e) {
    note(`the revealed seed is not valid: ${e.message}`);
    return result;
  }
  if (commitment) {
    result.commitmentOk = (await commitmentOf(seed)) === String(commitment).toLowerCase();
    if (!result.commitmentOk) note('sha256 of the revealed seed is not the commitment published before the turn');
  }
  const ordered = [...rolls].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  let k = 0;
  for (const [i, roll] of ordered.entries()) {
    const r = { index: roll.index ?? i, ok: true, dice: [], problems: [] };
    result.rolls.push(r);
    const problem = (text) => {
      r.ok = false;
      r.problems.push(text);
      note(`roll ${r.index}: ${text}`);
    };
    if ((roll.index ?? i) !== i) problem(`roll ${i} is missing: rolls must be complete to recompute the dice after it`);
    const n = parseNotation(roll.notation);
    if (!n || !VALID_SIDES.includes(n.sides)) {
      problem(`the notation ${JSON.stringify(roll.notation)} is not one the game rolls`);
      k += (roll.dice ?? []).length;
      continue;
    }
    const shown = roll.dice ?? [];
    if (shown.length !== n.count) problem(`${shown.length} dice shown, ${roll.notation} rolls ${n.count}`);
    for (const d of shown) {
      const computed = await dieValue(key, k, n.sides);
      const die = { k, sides: d.sides, shown: d.value, computed, ok: d.sides === n.sides && d.value === computed };
      r.dice.push(die);
      if (d.sides !== n.sides) problem(`die ${k} is a d${d.sides}, ${roll.notation} rolls d${n.sides}`);
      else if (!die.ok) problem(`die ${k} (d${n.sides}) shows ${d.value}, the seed gives ${computed}`);
      k++;
    }
    const values = shown.map((d) => d.value);
    if ((roll.modifier ?? 0) !== n.modifier) problem(`the modifier is ${roll.modifier}, ${roll.notation} adds ${n.modifier}`);
    const total = keptSum(n, values) + n.modifier;
    if (roll.total !== total) problem(`the total is ${roll.total}, the dice give ${total}`);
    if (roll.dc !== undefined && roll.dc !== null) {
      const want = outcomeOf(n, values, roll.total, roll.dc);
      if (roll.outcome !== want) problem(`the outcome is ${roll.outcome}, a ${roll.total} against DC ${roll.dc} is ${want}`);
    }
  }
  result.dice = k;
  result.ok = !result.mismatch;
  return result;
}
