// verify-cli reads {cases:[{seed, commitment, rolls}]} (JSON) from the
// file named by argv[2] and prints, as JSON, what the browser's verifier
// says of each: [{ok, commitmentOk, dice, mismatch}]. web/js_test.go feeds
// it rolls made by internal/dice, to cross-check the two implementations.
import { readFileSync } from 'node:fs';
import { verifyRolls } from '../static/js/dice.js';

const { cases } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = [];
for (const c of cases) {
  const r = await verifyRolls(c);
  out.push({ ok: r.ok, commitmentOk: r.commitmentOk, dice: r.dice, mismatch: r.mismatch });
}
process.stdout.write(JSON.stringify(out));
