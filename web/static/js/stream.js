// Live events over EventSource, surviving the network.
//
// EventSource cannot send an Authorization header, so each connection
// opens with a short-lived stream ticket (POST /api/stream-tickets) in its
// URL. Its built-in reconnect would re-use that URL — and the ticket may
// have expired by then — so on any error we close it and reconnect
// ourselves: a fresh ticket, and last_event_id=<the last id we handled>,
// after which the server sends exactly the events after it. Ids are
// compared numerically and anything not above the last id is dropped, so
// a replay overlapping what we already have never shows twice.
import { post } from './api.js';
import { ApiError } from './errors.js';

export const EVENT_TYPES = ['turn.status', 'dm.delta', 'dm.done', 'turn.failed', 'turn.cancelled', 'roll', 'sheet.changed', 'message.deleted', 'message.selected', 'reset', 'session.deleted',
  'member.joined', 'member.left', 'presence', 'typing', 'round.opened', 'round.action', 'round.closed'];
// Events sent without an id (never stored): the browser repeats the last
// id for them, so they are never taken for events already seen.
const EPHEMERAL = new Set(['typing']);
export const FINAL_EVENTS = new Set(['dm.done', 'turn.failed', 'turn.cancelled']);

/**
 * compareIds orders stream ids "<ms>-<seq>" (decimal, no leading zeros):
 * numerically, so "9-0" < "10-0", without losing precision on big numbers.
 */
export function compareIds(a, b) {
  const [am = '', as = ''] = String(a).split('-');
  const [bm = '', bs = ''] = String(b).split('-');
  return cmpDecimal(am, bm) || cmpDecimal(as, bs);
}

function cmpDecimal(a, b) {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * EventStream is one resumable SSE subscription: a session's events
 * ({session_id}) or one turn's ({turn_id}, which replays the turn from its
 * start and ends after its final event).
 *
 * Callbacks: onEvent(type, data, id) for every new event in order;
 * onReset(data) when the server no longer has the history we asked for
 * (reload over REST); onOpen(resumed) on every connect (resumed: a
 * last_event_id was sent, so nothing was missed); onState(state) with
 * "connecting" | "open" | "waiting" | "closed".
 */
export class EventStream {
  constructor(scope, { lastEventId = null, onEvent, onReset, onOpen, onState, onFatal } = {}) {
    this.scope = scope;
    this.lastId = lastEventId;
    this.onEvent = onEvent ?? (() => {});
    this.onReset = onReset ?? (() => {});
    this.onOpen = onOpen ?? (() => {});
    this.onState = onState ?? (() => {});
    this.onFatal = onFatal ?? (() => {});
    this.es = null;
    this.stopped = false;
    this.finished = false;
    this.failures = 0;
    this.timer = null;
    this.wake = () => this.reconnectNow();
  }

  start() {
    window.addEventListener('online', this.wake);
    document.addEventListener('visibilitychange', this.wake);
    this.connect();
    return this;
  }

  /** stop closes the stream for good (view left, or no longer needed). */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener('online', this.wake);
    document.removeEventListener('visibilitychange', this.wake);
    this.es?.close();
    this.es = null;
    this.setState('closed');
  }

  /** finish marks a turn stream complete: its end is not an error. */
  finish() {
    this.finished = true;
    this.stop();
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.onState(s);
  }

  async connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.setState('connecting');
    let ticket;
    try {
      ticket = await post('/api/stream-tickets', this.scope);
    } catch (e) {
      if (this.stopped) return;
      if (e instanceof ApiError && [401, 403, 404].includes(e.status)) {
        // Signed out, or the session/turn is gone: retrying cannot help.
        this.stop();
        this.onFatal(e);
        return;
      }
      this.retryLater();
      return;
    }
    if (this.stopped) return;
    let url = ticket.url;
    const resumed = this.lastId !== null;
    if (resumed) url += `${url.includes('?') ? '&' : '?'}last_event_id=${encodeURIComponent(this.lastId)}`;
    const es = new EventSource(url);
    this.es = es;
    es.onopen = () => {
      if (this.es !== es) return;
      this.failures = 0;
      this.setState('open');
      this.onOpen(resumed);
    };
    es.onerror = () => {
      // Closed by the server (a turn stream's end, a restart) or by the
      // network. Never let the browser retry with the old ticket.
      es.close();
      if (this.es !== es) return;
      this.es = null;
      if (this.stopped || this.finished) return;
      this.retryLater();
    };
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (ev) => this.handle(es, type, ev));
    }
  }

  handle(es, type, ev) {
    if (this.es !== es || this.stopped) return;
    const id = ev.lastEventId || null;
    let data = {};
    try {
      data = JSON.parse(ev.data || '{}');
    } catch {
      return;
    }
    if (type === 'reset') {
      // The history we asked for is gone. The reset's id is where to resume
      // from now: it may be lower than ours (the stream expired and started
      // over), so it is taken as is, never dropped as "seen".
      this.lastId = id;
      this.onReset(data);
      return;
    }
    if (type === 'session.deleted') {
      // The session was deleted (by its owner, maybe in another tab): its
      // streams end for good, and so does this one.
      this.stop();
      this.onFatal(new ApiError({ status: 404, code: 'not_found', message: 'This session was deleted.' }));
      return;
    }
    if (EPHEMERAL.has(type)) {
      this.onEvent(type, data, null);
      return;
    }
    if (id && this.lastId && compareIds(id, this.lastId) <= 0) return; // seen already
    if (id) this.lastId = id;
    this.onEvent(type, data, id);
  }

  retryLater() {
    if (this.stopped || this.timer) return;
    this.setState('waiting');
    // 0.5 s, 1 s, 2 s … up to 15 s, with jitter so a restarted server is
    // not hit by every client in the same millisecond.
    const base = Math.min(15000, 500 * 2 ** this.failures);
    this.failures++;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, base / 2 + Math.random() * (base / 2));
  }

  /** reconnectNow skips the back-off wait (the network came back, the tab became visible). */
  reconnectNow() {
    if (document.visibilityState === 'hidden') return;
    if (this.stopped || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.connect();
  }
}
