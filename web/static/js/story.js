// Story: a session's messages and the turns in flight, kept consistent
// across REST pages, the live session stream and per-turn replay streams.
//
// How a reply is shown exactly once:
// - Messages are kept by id, so a REST page overlapping what we have adds
//   nothing twice.
// - Each turn keeps the id of the last event applied to it and ignores any
//   event not above it; a dm.delta with a higher `attempt` (the worker
//   retried the generation) restarts the reply's text; dm.done replaces the
//   text with the stored message, which is what REST will say too.
// - A turn whose start we may have missed (found unfinished over REST after
//   a reload, or after a reconnect that could not resume) gets its own turn
//   stream, which replays the turn from its start: its text is rebuilt from
//   scratch, and while that stream owns the turn the session stream's copies
//   of the same events are ignored (two streams could interleave).
// - A `reset` (history gone) reloads everything over REST, down to the
//   oldest message the player had paged back to ("Load earlier"): a reload
//   never takes away pages they loaded. Reloads and "Load earlier" run one
//   at a time (pageQueue), so neither answer lands in the middle of the other.
// - Rolls are kept by id on their turn (or, for a player's own roll made
//   outside a turn, on their own), so a roll both streams deliver, or one
//   the POST answer brought first, shows once. `sheet.changed` goes to
//   onSheet whatever state its turn is in: it may follow the turn's end.
import { get, post, qs, newKey } from './api.js';
import { ApiError, friendly } from './errors.js';
import { EventStream, compareIds, FINAL_EVENTS } from './stream.js';

const PAGE = 50;
const FINAL = new Set(['completed', 'failed', 'cancelled']);

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * timeKey makes a timestamp comparable as a string. The server's times are
 * RFC 3339 with up to nine fraction digits and trailing zeros dropped
 * ("…:41.12Z" is later than "…:41.1Z" and earlier than "…:41.123Z", which
 * plain string order gets wrong), so the fraction is padded to nine digits
 * and any offset turned into UTC.
 */
export function timeKey(s) {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(s ?? '');
  if (!m) return s ?? '';
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  const base = m[3] === 'Z' ? m[1] : new Date(`${m[1]}${m[3]}`).toISOString().slice(0, 19);
  return `${base}.${frac}Z`;
}

/** cmp orders two strings by code unit, as the server's order does. */
const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** before orders messages as the server's pages do: by creation time, then id. */
function before(a, b) {
  const ta = timeKey(a.created_at);
  const tb = timeKey(b.created_at);
  return ta < tb || (ta === tb && a.id < b.id);
}

/**
 * reachedOldest: a page (oldest first) holds the message, or starts before
 * it (the message is gone: undone), or nothing is older.
 */
function reachedOldest(page, oldest) {
  const first = page.messages[0];
  return !page.next_before || !first || page.messages.some((m) => m.id === oldest.id)
    || timeKey(first.created_at) < timeKey(oldest.created_at);
}

export class Story {
  /** onChange(what) is called after every change: {full: true} or {turn}. */
  constructor(sessionId, onChange) {
    this.sid = sessionId;
    this.onChange = onChange;
    this.messages = new Map(); // id → message (shown)
    this.archive = new Map(); // id → message fetched only to look it up
    this.turns = new Map(); // turn id → turn state
    this.pending = new Map(); // idempotency key → unsent player message
    this.nextBefore = null;
    this.loaded = false;
    this.pagedBack = false; // "Load earlier" added messages
    this.pageQueue = Promise.resolve();
    this.reconcileTimer = null;
    this.closed = false;
    this.looseRolls = new Map(); // roll id → a player's roll outside a turn
    this.onSheet = () => {}; // set by the view: onSheet(sheet.changed data)
    this.lastSheetKey = null;
    // The alternative replies of the latest exchange (docs/STORY.md):
    // {turnId, list:[message + selected]} once looked up.
    this.alts = null;
  }

  close() {
    this.closed = true;
    clearTimeout(this.reconcileTimer);
    for (const t of this.turns.values()) t.stream?.stop();
  }

  changed(what = { full: true }) {
    if (!this.closed) this.onChange(what);
  }

  // ---- REST -------------------------------------------------------------

  /** serial runs the page loads one at a time, in call order. */
  serial(fn) {
    const run = this.pageQueue.then(fn, fn);
    this.pageQueue = run.catch(() => {});
    return run;
  }

  /**
   * loadLatest fetches the newest page and merges it (reload: start over,
   * keeping what the player paged back to: the pages down to the oldest
   * message shown are fetched again).
   */
  async loadLatest({ reload = false } = {}) {
    const added = await this.serial(async () => {
      const oldest = reload && this.pagedBack ? this.oldestShown() : null;
      const known = new Set(this.messages.keys()); // shown before the fetch
      const pages = [await get(`/api/sessions/${this.sid}/messages${qs({ limit: PAGE })}`)];
      while (oldest && pages.length < 20 && !reachedOldest(pages.at(-1), oldest)) {
        pages.push(await get(`/api/sessions/${this.sid}/messages${qs({ limit: PAGE, before: pages.at(-1).next_before })}`));
      }
      if (this.closed) return null;
      if (reload) {
        for (const t of this.turns.values()) t.stream?.stop();
        this.messages.clear();
        this.turns.clear();
        this.pagedBack = pages.length > 1;
      }
      if (reload || !this.loaded) this.nextBefore = pages.at(-1).next_before ?? null;
      this.loaded = true;
      const list = pages.reverse().flatMap((pg) => pg.messages);
      if (!reload) this.dropVanished(known, list, !pages.at(-1).next_before);
      this.addMessages(list);
      this.changed();
      return list;
    });
    if (!added) return;
    await this.checkTurns(added);
    await this.loadAlternatives();
  }

  /**
   * dropVanished removes, on a merge, the messages shown before the fetch
   * that the server no longer has in the range the fetch covered (from its
   * first message on; everything when it reached the start): an undo or a
   * choice of reply made while no stream was there to say so (a fresh
   * subscription after a gap). Messages that arrived during the fetch stay.
   */
  dropVanished(known, list, fromStart) {
    const ids = new Set(list.map((m) => m.id));
    const first = list[0];
    for (const mid of known) {
      const m = this.messages.get(mid);
      if (!m || ids.has(mid)) continue;
      if (fromStart || (first && before(first, m))) this.messages.delete(mid);
    }
  }

  /** oldestShown is the first message of the log. */
  oldestShown() {
    let first = null;
    for (const m of this.messages.values()) {
      if (!first || before(m, first)) first = m;
    }
    return first;
  }

  // ---- story control (docs/STORY.md) -------------------------------------

  /** latestExchange is the latest player message a turn answers. */
  latestExchange() {
    let last = null;
    for (const m of this.messages.values()) {
      if (m.role === 'player' && m.turn_id && (!last || before(last, m))) last = m;
    }
    return last;
  }

  /** lastTurnId is the turn shown last in the log: where the controls go. */
  lastTurnId() {
    const e = this.entries().filter((x) => x.kind === 'turn').pop();
    return e ? e.turn.id : null;
  }

  /** loadAlternatives looks up the replies of the latest exchange. */
  async loadAlternatives() {
    const pm = this.latestExchange();
    if (!pm) {
      this.alts = null;
      return;
    }
    try {
      const { turn } = await get(`/api/turns/${pm.turn_id}`); // any turn of the exchange lists them all
      if (this.closed) return;
      this.alts = { pm: pm.id, list: turn.alternatives ?? [] };
      this.changed();
    } catch {
      this.alts = null;
    }
  }

  /** undo removes the latest exchange; the sheet goes back. */
  async undo() {
    const res = await post(`/api/sessions/${this.sid}/undo`, {});
    await this.reload();
    return res.removed;
  }

  /** latestPlayerMessage is the newest player message shown, if any. */
  latestPlayerMessage() {
    let out = null;
    for (const m of this.messages.values()) {
      if (m.role === 'player' && (!out || before(out, m))) out = m;
    }
    return out;
  }

  /** editLatest replaces the latest player message (undo + post, one call). */
  async editLatest(content) {
    const { turn } = await post(`/api/sessions/${this.sid}/edit`, { content });
    await this.reload();
    this.replay(this.turn(turn.id), turn.status);
    return turn;
  }

  /** regenerate asks for another reply to the latest exchange. */
  async regenerate(turnId) {
    const { turn } = await post(`/api/turns/${turnId}/regenerate`, {});
    await this.reload();
    this.replay(this.turn(turn.id), turn.status);
    return turn;
  }

  /** select continues the story from another alternative reply. */
  async select(messageId) {
    await post(`/api/messages/${messageId}/select`, {});
    await this.reload();
  }

  /** fork makes a new session whose history ends at messageId. */
  async fork(messageId) {
    const { session } = await post(`/api/sessions/${this.sid}/fork`, { at_message_id: messageId });
    return session;
  }

  /** storyMoved reloads shortly after another tab undid or selected. */
  storyMoved() {
    clearTimeout(this.movedTimer);
    this.movedTimer = setTimeout(() => {
      if (this.closed) return;
      // A turn still being answered here keeps its stream: reload once it
      // ends rather than never (the story did move).
      if (this.inFlight()) this.storyMoved();
      else this.reload();
    }, 300);
  }

  /** loadEarlier prepends the page before the oldest shown message. */
  async loadEarlier() {
    const page = await this.serial(async () => {
      // After a reload that ran first, nextBefore is that reload's.
      if (!this.nextBefore) return null;
      const pg = await get(`/api/sessions/${this.sid}/messages${qs({ limit: PAGE, before: this.nextBefore })}`);
      if (this.closed) return null;
      this.nextBefore = pg.next_before ?? null;
      this.pagedBack ||= pg.messages.length > 0;
      this.addMessages(pg.messages);
      this.changed();
      return pg;
    });
    if (!page) return 0;
    await this.checkTurns(page.messages);
    return page.messages.length;
  }

  /** reload starts over from REST (after a `reset`). */
  async reload() {
    try {
      await this.loadLatest({ reload: true });
    } catch (e) {
      this.error = friendly(e);
      this.changed();
    }
  }

  addMessages(list) {
    for (const m of list) this.addMessage(m);
  }

  addMessage(m) {
    this.messages.set(m.id, m);
    if (m.role === 'dm' && m.turn_id) {
      const t = this.turn(m.turn_id);
      t.text = m.content;
      t.status = 'completed';
      t.messageId = m.id;
      this.end(t);
    }
  }

  // checkTurns looks up the turns of player messages that have no reply
  // yet: finished ones say how they ended, unfinished ones are replayed.
  async checkTurns(list) {
    const replied = new Set([...this.messages.values()].filter((m) => m.role === 'dm' && m.turn_id).map((m) => m.turn_id));
    const open = list.filter((m) => m.role === 'player' && m.turn_id && !replied.has(m.turn_id))
      .map((m) => m.turn_id)
      .filter((id) => {
        const t = this.turns.get(id);
        if (!t) return true;
        // Finished, already replaying, or followed live on the session
        // stream (which resumes with its last id, so misses nothing).
        return !(t.final || t.stream || (t.source === 'session' && t.lastId !== null));
      });
    await Promise.all(open.map(async (id) => {
      let turn;
      try {
        ({ turn } = await get(`/api/turns/${id}`));
      } catch {
        return;
      }
      if (this.closed) return;
      const t = this.turn(id);
      if (FINAL.has(turn.status)) {
        if (turn.status === 'completed' && turn.dm_message_id && !this.messages.has(turn.dm_message_id)) {
          // It ended between our page and this look-up: the reply is stored now.
          this.reconcileSoon(() => !this.messages.has(turn.dm_message_id));
        } else if (turn.status !== 'completed' || !turn.dm_message_id) {
          // (completed without a reply: its reply was set aside as an alternative)
          t.status = turn.status;
          t.error = turn.error ?? null;
          this.end(t);
        }
        this.changed({ turn: t });
      } else {
        this.replay(t, turn.status);
      }
    }));
  }

  /** lookup finds messages by id, paging back through older history if needed. */
  async lookup(ids) {
    const found = new Map();
    const missing = () => ids.filter((id) => !found.has(id));
    const take = () => {
      for (const id of missing()) {
        const m = this.messages.get(id) ?? this.archive.get(id);
        if (m) found.set(id, m);
      }
    };
    take();
    let before = this.archiveBefore === undefined ? this.nextBefore : this.archiveBefore;
    for (let pages = 0; missing().length && before && pages < 20; pages++) {
      const page = await get(`/api/sessions/${this.sid}/messages${qs({ limit: 100, before })}`);
      for (const m of page.messages) this.archive.set(m.id, m);
      before = page.next_before ?? null;
      this.archiveBefore = before;
      take();
    }
    return found;
  }

  // ---- turns ------------------------------------------------------------

  turn(id) {
    let t = this.turns.get(id);
    if (!t) {
      t = { id, status: 'queued', text: '', attempt: -1, lastId: null, final: false, error: null, source: 'session', stream: null, rolls: [], rollsLoaded: false, verify: null };
      this.turns.set(id, t);
    }
    return t;
  }

  end(t) {
    t.final = true;
    if (t.stream) {
      t.stream.finish();
      t.stream = null;
    }
  }

  /** inFlight is the turn still being answered, if any. */
  inFlight() {
    for (const t of this.turns.values()) if (!t.final) return t;
    return null;
  }

  // replay gives a turn its own stream from the turn's start, rebuilding
  // the reply from scratch; the session stream stops feeding it.
  replay(t, status) {
    t.stream?.stop();
    Object.assign(t, { text: '', attempt: -1, lastId: null, source: 'turn', status: status ?? t.status });
    this.changed({ turn: t });
    t.stream = new EventStream({ turn_id: t.id }, {
      onEvent: (type, data, id) => {
        if (!this.side(type, data, t.id)) this.apply(t, type, data, id);
      },
      onReset: () => this.reload(),
      onFatal: () => {},
    }).start();
  }

  /** onSessionEvent routes one event of the live session stream. */
  onSessionEvent(type, data, id) {
    // A player's own roll belongs to no turn (its turn_id may come as the nil UUID).
    let tid = data.turn_id ?? (type === 'roll' ? data.roll?.turn_id : undefined);
    if (tid === NIL_UUID) tid = type === 'roll' ? data.roll?.turn_id : undefined;
    if (this.side(type, data, tid)) return;
    if (!tid) return;
    const known = this.turns.get(tid);
    if (known && known.source === 'turn' && !known.final) return; // its turn stream has it
    const t = this.turn(tid);
    this.apply(t, type, data, id);
    // A turn started elsewhere (another tab): fetch its player message. Our
    // own send's events can beat its POST's answer; that answer brings it.
    if (!known && !this.hasPlayerMessage(tid) && ![...this.pending.values()].some((p) => p.state === 'sending')) {
      this.reconcileSoon(() => !this.hasPlayerMessage(tid));
    }
  }

  // side handles the events that are not part of a turn's reply: rolls and
  // sheet changes. It returns true when it took the event.
  side(type, data, tid) {
    if (type === 'message.deleted' || type === 'message.selected') {
      this.storyMoved();
      return true;
    }
    if (type === 'sheet.changed') {
      const key = `${data.turn_id}:${JSON.stringify(data.changes ?? [])}`;
      if (key !== this.lastSheetKey) {
        this.lastSheetKey = key;
        if (!this.closed) this.onSheet(data);
      }
      return true;
    }
    if (type === 'roll') {
      if (data.roll) this.addRoll(data.roll, tid);
      return true;
    }
    if (type === 'round.action') {
      // Another member's action in rounds mode: shown at once (its turn
      // comes when the round closes).
      if (data.message_id && !this.messages.has(data.message_id)) {
        this.messages.set(data.message_id, { id: data.message_id, session_id: this.sid, role: 'player', content: data.content ?? '',
          author_id: data.player_id, turn_id: null, visibility: 'public', created_at: new Date().toISOString() });
        this.changed();
      }
      return true;
    }
    if (type === 'round.opened' || type === 'round.closed') return true;
    return false;
  }

  /** addRoll records a roll on its turn (or on its own), once. */
  addRoll(roll, turnId = roll.turn_id) {
    if (!turnId) {
      if (roll.id && this.looseRolls.has(roll.id)) return;
      this.looseRolls.set(roll.id ?? `local-${this.looseRolls.size}`, { ...roll, seen_at: roll.created_at ?? new Date().toISOString() });
      this.changed();
      return;
    }
    const t = this.turn(turnId);
    if (t.rolls.some((r) => (roll.id && r.id === roll.id) || (r.index === roll.index && r.index !== undefined))) return;
    t.rolls = [...t.rolls, roll].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    t.verify = null; // a new roll: any earlier check is stale
    this.changed({ turn: t });
  }

  /** setTurnRolls replaces a turn's rolls with the stored ones (GET /api/turns/{id}). */
  setTurnRolls(t, rolls) {
    t.rolls = [...(rolls ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    t.rollsLoaded = true;
  }

  hasPlayerMessage(turnId) {
    for (const m of this.messages.values()) if (m.turn_id === turnId && m.role === 'player') return true;
    return false;
  }

  apply(t, type, data, id) {
    if (t.final) return;
    if (id && t.lastId && compareIds(id, t.lastId) <= 0) return;
    if (id) t.lastId = id;
    switch (type) {
      case 'turn.status':
        t.status = data.status;
        break;
      case 'dm.delta': {
        const attempt = Number(data.attempt ?? 0);
        if (attempt < t.attempt) return;
        if (attempt > t.attempt) {
          t.attempt = attempt;
          t.text = '';
        }
        t.text += data.text ?? '';
        t.status = 'generating';
        break;
      }
      case 'dm.done':
        this.addMessage(data.message); // sets the text to the stored reply
        this.changed();
        this.loadAlternatives(); // a regenerated reply adds one
        return;
      case 'turn.failed':
        t.status = 'failed';
        t.error = data.error ?? null;
        break;
      case 'turn.cancelled':
        t.status = 'cancelled';
        break;
      default:
        return;
    }
    if (FINAL_EVENTS.has(type)) {
      this.end(t);
      this.loadAlternatives(); // the controls move to the last turn shown
    }
    this.changed({ turn: t });
  }

  /** reconcileSoon merges the latest page again shortly, if still needed(). */
  reconcileSoon(needed = () => true) {
    clearTimeout(this.reconcileTimer);
    this.reconcileTimer = setTimeout(() => {
      if (!this.closed && needed()) this.loadLatest().catch(() => {});
    }, 400);
  }

  /** cancel asks the server to stop a turn. */
  async cancel(t) {
    try {
      const { turn } = await post(`/api/turns/${t.id}/cancel`, {});
      if (FINAL.has(turn.status) && !t.final && turn.status !== 'completed') {
        t.status = turn.status;
        this.end(t);
        this.changed({ turn: t });
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) return; // it had already ended
      throw e;
    }
  }

  // ---- sending ----------------------------------------------------------

  /** send posts a player message; a retried POST re-uses its Idempotency-Key. */
  async send(content, { whisper = false } = {}) {
    const p = { key: newKey(), content, whisper, state: 'sending', error: null, created: new Date().toISOString() };
    this.pending.set(p.key, p);
    this.changed();
    return this.deliver(p);
  }

  async deliver(p) {
    p.state = 'sending';
    p.error = null;
    this.changed();
    for (let attempt = 0; ; attempt++) {
      try {
        const body = p.whisper ? { content: p.content, visibility: 'private' } : { content: p.content };
        const res = await post(`/api/sessions/${this.sid}/messages`, body, { headers: { 'Idempotency-Key': p.key } });
        this.pending.delete(p.key);
        this.messages.set(res.message.id, res.message);
        // Rounds mode: an action has no turn of its own until its round closes.
        if (res.turn) {
          const t = this.turn(res.turn.id);
          if (t.lastId === null && !t.final) t.status = res.turn.status;
        }
        this.changed();
        return { ok: true };
      } catch (e) {
        const retryable = e instanceof ApiError && (e.code === 'network' || e.status >= 500 || e.status === 429);
        if (retryable && attempt < 3 && !this.closed) {
          await sleep(e.status === 429 && e.retryAfter ? e.retryAfter * 1000 : 600 * 2 ** attempt);
          continue;
        }
        if (retryable) {
          p.state = 'failed';
          p.error = friendly(e);
          this.changed();
          return { ok: false, kept: true };
        }
        this.pending.delete(p.key);
        this.changed();
        return { ok: false, error: e };
      }
    }
  }

  retry(key) {
    const p = this.pending.get(key);
    if (p) this.deliver(p);
  }

  discard(key) {
    this.pending.delete(key);
    this.changed();
  }

  // ---- what to show ------------------------------------------------------

  /**
   * entries lists what the log shows, oldest first: messages, the reply of
   * each turn right after its player message, then unsent messages.
   */
  entries() {
    const msgs = [...this.messages.values()].sort((a, b) =>
      cmp(timeKey(a.created_at), timeKey(b.created_at)) || (a.role === 'player' ? -1 : 1) - (b.role === 'player' ? -1 : 1) || a.id.localeCompare(b.id));
    const out = [];
    const placed = new Set();
    // A player's own rolls go where they happened among the messages.
    const loose = [...this.looseRolls.entries()].sort((a, b) => cmp(timeKey(a[1].seen_at), timeKey(b[1].seen_at)));
    let li = 0;
    const rollsBefore = (at) => {
      while (li < loose.length && (at === null || timeKey(loose[li][1].seen_at) < timeKey(at))) {
        const [key, roll] = loose[li++];
        out.push({ key: `roll:${key}`, kind: 'roll', roll });
      }
    };
    for (const m of msgs) {
      rollsBefore(m.created_at);
      if (m.role === 'dm' && m.turn_id) {
        if (placed.has(m.turn_id)) continue;
        placed.add(m.turn_id);
        out.push({ key: `turn:${m.turn_id}`, kind: 'turn', turn: this.turn(m.turn_id), message: m });
        continue;
      }
      out.push({ key: `msg:${m.id}`, kind: 'message', message: m });
      if (m.role === 'player' && m.turn_id && this.turns.has(m.turn_id) && !placed.has(m.turn_id)) {
        const hasReply = msgs.some((x) => x.role === 'dm' && x.turn_id === m.turn_id);
        const t = this.turns.get(m.turn_id);
        if (!hasReply) {
          placed.add(m.turn_id);
          // A completed turn without its reply: the reply was set aside as an
          // alternative (regenerate); the selected one is another turn's.
          if (!(t.final && t.status === 'completed' && !t.text)) {
            out.push({ key: `turn:${m.turn_id}`, kind: 'turn', turn: t, message: null });
          }
        }
      }
    }
    for (const t of this.turns.values()) {
      if (!placed.has(t.id)) out.push({ key: `turn:${t.id}`, kind: 'turn', turn: t, message: null });
    }
    rollsBefore(null);
    for (const p of this.pending.values()) out.push({ key: `pending:${p.key}`, kind: 'pending', pending: p });
    return out;
  }
}
