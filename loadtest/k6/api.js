// API-only scenario: the REST surface without turns, at a constant arrival
// rate. setup() registers a pool of players (Argon2id is deliberately
// slow, so logins are not part of the loop); each iteration reads and
// writes as a player browsing the app does.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/k6/api.js
import http from 'k6/http';
import { check } from 'k6';
import { uuidv4 } from './lib.js';

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const PLAYERS = parseInt(__ENV.PLAYERS || '20', 10);

export const options = {
  scenarios: {
    api: {
      executor: 'constant-arrival-rate',
      rate: parseInt(__ENV.RATE || '100', 10),
      timeUnit: '1s',
      duration: __ENV.DURATION || '30s',
      preAllocatedVUs: 20,
      maxVUs: 100,
    },
  },
  thresholds: {
    checks: ['rate>0.99'],
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<100', 'p(99)<300'],
    'http_req_duration{name:get_me}': ['p(95)<50'],
    dropped_iterations: ['count<10'],
  },
  setupTimeout: '120s',
};

export function setup() {
  const players = [];
  for (let i = 0; i < PLAYERS; i++) {
    const email = `k6-api-${uuidv4()}@example.test`;
    const res = http.post(`${BASE}/auth/register`, JSON.stringify({ email, password: 'k6 load test password', display_name: 'K6' }),
      { headers: { 'Content-Type': 'application/json' } });
    if (res.status !== 201) throw new Error(`register: ${res.status} ${res.body}`);
    const token = res.json().access_token;
    const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const s = http.post(`${BASE}/api/sessions`, JSON.stringify({ title: 'API only' }), { headers: auth });
    if (s.status !== 201) throw new Error(`session: ${s.status} ${s.body}`);
    players.push({ token, session: s.json().session.id });
  }
  return { players };
}

export default function (data) {
  const p = data.players[Math.floor(Math.random() * data.players.length)];
  const auth = { Authorization: `Bearer ${p.token}`, 'Content-Type': 'application/json' };
  const pick = Math.random();
  let res;
  if (pick < 0.3) {
    res = http.get(`${BASE}/auth/me`, { headers: auth, tags: { name: 'get_me' } });
    check(res, { 'me 200': (r) => r.status === 200 });
  } else if (pick < 0.5) {
    res = http.get(`${BASE}/api/sessions`, { headers: auth, tags: { name: 'list_sessions' } });
    check(res, { 'sessions 200': (r) => r.status === 200 });
  } else if (pick < 0.7) {
    res = http.get(`${BASE}/api/sessions/${p.session}/messages?limit=50`, { headers: auth, tags: { name: 'list_messages' } });
    check(res, { 'messages 200': (r) => r.status === 200 });
  } else if (pick < 0.85) {
    res = http.get(`${BASE}/api/characters`, { headers: auth, tags: { name: 'list_characters' } });
    check(res, { 'characters 200': (r) => r.status === 200 });
  } else if (pick < 0.95) {
    res = http.post(`${BASE}/api/characters`, JSON.stringify({ name: 'Quill', class: 'bard' }), { headers: auth, tags: { name: 'create_character' } });
    check(res, { 'character 201': (r) => r.status === 201 });
  } else {
    res = http.get(`${BASE}/api/sessions/${p.session}/memory?q=${encodeURIComponent('the old bridge')}&k=5`, { headers: auth, tags: { name: 'memory_search' } });
    check(res, { 'memory 200': (r) => r.status === 200 });
  }
}
