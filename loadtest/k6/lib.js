// Helpers shared by the k6 scripts (no network imports: k6 runs offline here).

// uuidv4 returns a random RFC 4122 version 4 UUID.
export function uuidv4() {
  const h = '0123456789abcdef';
  let s = '';
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) { s += '-'; continue; }
    if (i === 14) { s += '4'; continue; }
    let r = Math.floor(Math.random() * 16);
    if (i === 19) r = (r & 0x3) | 0x8;
    s += h[r];
  }
  return s;
}
