// The player journey: register, log in, create a character, open a
// session, play MESSAGES turns. Each turn's /api/turns/{id}/events is read
// to its end with a plain GET: k6 has no SSE client, and a turn stream
// ENDS after the turn's final event, so the whole reply is the body.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/k6/journey.js
//   (or: go tool task load)
//
// The server must allow many registrations from one address
// (RATE_REGISTER_PER_IP, RATE_LOGIN_PER_IP) and this many turns per player
// (TURNS_PER_MINUTE_PER_PLAYER); `go tool task load` starts one that does.
import http from 'k6/http';
import { check, fail } from 'k6';
import { Trend, Counter, Rate } from 'k6/metrics';
import { uuidv4 } from './lib.js';

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const MESSAGES = parseInt(__ENV.MESSAGES || '5', 10);

export const options = {
  scenarios: {
    journey: {
      executor: 'per-vu-iterations',
      vus: parseInt(__ENV.VUS || '10', 10),
      iterations: parseInt(__ENV.ITERATIONS || '2', 10),
      maxDuration: __ENV.MAX_DURATION || '5m',
    },
  },
  thresholds: {
    // Every request answered as expected, no turn left unfinished.
    checks: ['rate>0.99'],
    http_req_failed: ['rate<0.01'],
    turns_completed: ['rate>0.99'],
    // POST /messages is the write path: insert, publish, enqueue.
    'http_req_duration{name:post_message}': ['p(95)<250'],
    // POST sent → turn stream ended (whole reply), with the default
    // offline narrator pacing (DM_WORD_DELAY) the task sets.
    turn_seconds: ['p(95)<15'],
  },
};

const turnSeconds = new Trend('turn_seconds');
const turnsCompleted = new Rate('turns_completed');
const deltas = new Counter('dm_deltas');

function json(res) {
  try { return res.json(); } catch (e) { return null; }
}

export default function () {
  const email = `k6-${uuidv4()}@example.test`;
  const password = 'k6 load test password';
  let res = http.post(`${BASE}/auth/register`, JSON.stringify({ email, password, display_name: 'K6' }),
    { headers: { 'Content-Type': 'application/json' }, tags: { name: 'register' } });
  if (!check(res, { 'registered (201)': (r) => r.status === 201 })) fail(`register: ${res.status} ${res.body}`);

  res = http.post(`${BASE}/auth/login`, JSON.stringify({ email, password }),
    { headers: { 'Content-Type': 'application/json' }, tags: { name: 'login' } });
  if (!check(res, { 'logged in (200)': (r) => r.status === 200 })) fail(`login: ${res.status} ${res.body}`);
  const auth = { Authorization: `Bearer ${json(res).access_token}`, 'Content-Type': 'application/json' };

  res = http.post(`${BASE}/api/characters`, JSON.stringify({
    name: 'Brann', class: 'fighter', level: 2,
    sheet: { abilities: { strength: 16, dexterity: 12 }, hp: { current: 18, max: 18 }, inventory: ['axe', 'rope'] },
  }), { headers: auth, tags: { name: 'create_character' } });
  if (!check(res, { 'character created (201)': (r) => r.status === 201 })) fail(`character: ${res.status} ${res.body}`);
  const characterID = json(res).character.id;

  res = http.post(`${BASE}/api/sessions`, JSON.stringify({ title: 'The k6 Marches', character_id: characterID }),
    { headers: auth, tags: { name: 'create_session' } });
  if (!check(res, { 'session created (201)': (r) => r.status === 201 })) fail(`session: ${res.status} ${res.body}`);
  const sessionID = json(res).session.id;

  const actions = ['I push open the heavy door.', 'I search the room for traps.', 'I ask the innkeeper about the missing caravan.',
    'I climb the watchtower and look north.', 'I attack the goblin with my axe.', 'I rest by the fire and tend my wounds.'];
  for (let i = 0; i < MESSAGES; i++) {
    const began = Date.now();
    res = http.post(`${BASE}/api/sessions/${sessionID}/messages`, JSON.stringify({ content: actions[i % actions.length] }),
      { headers: Object.assign({ 'Idempotency-Key': uuidv4() }, auth), tags: { name: 'post_message' } });
    if (!check(res, { 'message accepted (202)': (r) => r.status === 202 })) { turnsCompleted.add(false); continue; }
    const turnID = json(res).turn.id;
    // The turn stream replays from the turn's start and ends after its final event.
    res = http.get(`${BASE}/api/turns/${turnID}/events`, {
      headers: { Authorization: auth.Authorization, Accept: 'text/event-stream' },
      tags: { name: 'turn_events' }, timeout: '120s',
    });
    const done = res.status === 200 && res.body.includes('event: dm.done');
    check(res, {
      'turn stream 200 text/event-stream': (r) => r.status === 200 && String(r.headers['Content-Type']).startsWith('text/event-stream'),
      'turn ended with dm.done': () => done,
    });
    turnsCompleted.add(done);
    if (done) {
      turnSeconds.add((Date.now() - began) / 1000);
      deltas.add((res.body.match(/event: dm\.delta/g) || []).length);
    }
  }
  res = http.get(`${BASE}/api/sessions/${sessionID}/messages?limit=100`, { headers: auth, tags: { name: 'list_messages' } });
  check(res, { 'the story holds every message': (r) => r.status === 200 && json(r).messages.length === 2 * MESSAGES });
}
