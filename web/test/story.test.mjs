// A reload from REST (a stream's `reset`, another tab's undo) keeps the
// pages the player loaded with "Load earlier" (web/static/js/story.js),
// whatever order the two loads' answers arrive in.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

// The browser globals the client's modules touch when they load.
const storage = () => {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
};
globalThis.localStorage = storage();
globalThis.sessionStorage = storage();
globalThis.window = { addEventListener() {}, removeEventListener() {} };
globalThis.document = { addEventListener() {}, removeEventListener() {}, visibilityState: 'visible' };

// A session's messages, oldest first, paged as GET …/messages pages them:
// the newest `limit` before the cursor, oldest first, next_before the
// page's first id while older ones remain. slowLatest delays the newest
// page (no cursor), as a busy server might.
let history = [];
let slowLatest = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
globalThis.fetch = async (path) => {
  const url = new URL(path, 'http://test');
  let body;
  if (url.pathname === '/auth/login') {
    body = { access_token: 'token', player: { id: 'p1' } };
  } else {
    const before = url.searchParams.get('before');
    const limit = Number(url.searchParams.get('limit'));
    if (!before && slowLatest) await sleep(slowLatest);
    const end = before ? history.findIndex((m) => m.id === before) : history.length;
    const start = Math.max(0, end - limit);
    const messages = history.slice(start, end);
    body = { messages, next_before: start > 0 ? messages[0].id : null };
  }
  return { status: 200, ok: true, text: async () => JSON.stringify(body) };
};

const { login } = await import('../static/js/auth.js');
const { Story } = await import('../static/js/story.js');
await login('a@example.test', 'password');

const id = (i) => `m${String(i).padStart(4, '0')}`;
const message = (i) => ({
  id: id(i), session_id: 's1', role: 'player', content: `message ${i}`, turn_id: null,
  created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
});

beforeEach(() => {
  history = Array.from({ length: 120 }, (_, i) => message(i));
  slowLatest = 0;
});

const shown = (s) => [...s.messages.keys()].sort();

test('a reload keeps the earlier pages the player loaded', async () => {
  const s = new Story('s1', () => {});
  await s.loadLatest();
  assert.equal(s.messages.size, 50);
  assert.equal(await s.loadEarlier(), 50);
  assert.equal(shown(s)[0], id(20));

  history.pop(); // the newest exchange is undone elsewhere
  await s.reload();
  assert.equal(shown(s)[0], id(19), 'down to the oldest message shown, and the page that holds it');
  assert.ok(!s.messages.has(id(119)), 'the undone message is gone');
  assert.equal(s.nextBefore, id(19), '"Load earlier" goes on from there');
  assert.equal(await s.loadEarlier(), 19);
  assert.equal(s.messages.size, 119);
  assert.equal(s.nextBefore, null);
  s.close();
});

test('a reload without earlier pages shows the newest page only', async () => {
  const s = new Story('s1', () => {});
  await s.loadLatest();
  history.push(message(120), message(121));
  await s.reload();
  assert.deepEqual(shown(s), history.slice(-50).map((m) => m.id));
  s.close();
});

// race loads the newest page, then starts two loads while the reload's
// newest page is slow, in the order given, and waits for both.
async function race(order) {
  const s = new Story('s1', () => {});
  await s.loadLatest();
  slowLatest = 30;
  const loads = { earlier: () => s.loadEarlier(), reload: () => s.reload() };
  await Promise.all(order.map((name) => loads[name]()));
  s.close();
  return s;
}

test('"Load earlier" and a reload at the same time: the earlier page stays', async () => {
  // The click first; the reload's newest page answers after the earlier page.
  const s = await race(['earlier', 'reload']);
  assert.equal(s.messages.size, 100, 'the newest page and the earlier one');
  assert.equal(shown(s)[0], id(20));
  assert.equal(s.nextBefore, id(20));

  // A reload already out when the click comes: the click pages back from the reloaded log.
  const s2 = await race(['reload', 'earlier']);
  assert.equal(s2.messages.size, 100);
  assert.equal(shown(s2)[0], id(20));
  assert.equal(s2.nextBefore, id(20));
});

test('the log orders messages by time though the server drops trailing zeros of the fraction', async () => {
  const { timeKey } = await import('../static/js/story.js');
  // Go writes 41.120000 s as "41.12Z": as plain strings it would sort after "41.123Z".
  assert.ok(timeKey('2026-01-01T00:00:41.12Z') < timeKey('2026-01-01T00:00:41.123Z'));
  assert.ok(timeKey('2026-01-01T00:00:41Z') < timeKey('2026-01-01T00:00:41.000001Z'));
  assert.equal(timeKey('2026-01-01T01:00:41.5+01:00'), timeKey('2026-01-01T00:00:41.500Z'));

  history = [
    { ...message(1), created_at: '2026-01-01T00:00:41.1234Z' },
    { ...message(2), created_at: '2026-01-01T00:00:41.12345Z' },
    { ...message(3), created_at: '2026-01-01T00:00:41.2Z' },
    { ...message(4), created_at: '2026-01-01T00:00:41.21Z' },
  ];
  const s = new Story('s1', () => {});
  await s.loadLatest();
  assert.deepEqual(s.entries().map((e) => e.message.id), [id(1), id(2), id(3), id(4)]);
  assert.equal(s.latestPlayerMessage().id, id(4));
  s.close();
});

test('another tab\'s undo while a turn is being answered here reloads once that turn ends', async () => {
  const s = new Story('s1', () => {});
  await s.loadLatest();
  const busy = { id: 't1', final: false };
  s.turns.set('t1', busy);
  history.pop(); // undone elsewhere
  s.storyMoved();
  await sleep(700);
  assert.ok(s.messages.has(id(119)), 'no reload under a turn in flight');
  busy.final = true;
  await sleep(700);
  assert.ok(!s.messages.has(id(119)), 'the reload came once the turn ended');
  s.close();
});

test('a merge after a gap drops what was undone in the gap, and keeps what arrived meanwhile', async () => {
  const s = new Story('s1', () => {});
  await s.loadLatest();
  assert.equal(await s.loadEarlier(), 50);
  history.pop(); // undone while no stream was open to say so
  slowLatest = 30;
  const merge = s.loadLatest(); // a fresh subscription's merge
  await sleep(5);
  s.addMessage(message(500)); // delivered by the stream during the fetch
  await merge;
  assert.ok(!s.messages.has(id(119)), 'the undone message is gone');
  assert.ok(s.messages.has(id(500)), 'a message that came during the fetch stays');
  assert.ok(s.messages.has(id(20)), 'earlier pages stay');
  assert.equal(s.messages.size, 100);
  s.close();
});
