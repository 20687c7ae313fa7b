// The story log: renders Story.entries() into an <ol>, keyed so that a
// streaming reply updates one text node instead of rebuilding the list.
import { h, formatTime } from '../ui.js';
import { rollCard, verifyText } from './rolls.js';

const STATUS_TEXT = {
  queued: 'Waiting for the Dungeon Master…',
  embedding: 'The Dungeon Master listens…',
  retrieving: 'Recalling what came before…',
  generating: 'The Dungeon Master speaks…',
  completed: '',
  failed: 'The Dungeon Master could not answer.',
  cancelled: 'You stopped the Dungeon Master.',
};

/** statusText is the words for a turn status. */
export const statusText = (s) => STATUS_TEXT[s] ?? 'Working…';

export class LogView {
  /**
   * pane scrolls; list is the <ol>. actions: {stop(turn), remember(turn),
   * retry(key), discard(key), verify(turn), loadDice(turn), who(roll)}.
   * playerName labels the player's messages.
   */
  constructor(pane, list, actions, playerName) {
    this.pane = pane;
    this.list = list;
    this.actions = actions;
    this.playerName = playerName;
    this.who = actions.who ?? ((roll) => (roll.actor === 'dm' ? 'Dungeon Master' : playerName));
    this.els = new Map(); // key → <li>
  }

  nearBottom() {
    const p = this.pane;
    return p.scrollHeight - p.scrollTop - p.clientHeight < 120;
  }

  scrollToEnd() {
    this.pane.scrollTop = this.pane.scrollHeight;
  }

  /** render reconciles the whole list with entries. */
  render(entries, { keepOffset = false } = {}) {
    const stick = this.nearBottom();
    const fromBottom = this.pane.scrollHeight - this.pane.scrollTop;
    const keep = new Set();
    let prev = null;
    for (const e of entries) {
      keep.add(e.key);
      let el = this.els.get(e.key);
      if (!el || el.dataset.kind !== e.kind) {
        el?.remove();
        el = this.create(e);
        this.els.set(e.key, el);
      }
      this.update(el, e);
      const want = prev ? prev.nextSibling : this.list.firstChild;
      if (want !== el) this.list.insertBefore(el, want);
      prev = el;
    }
    for (const [key, el] of this.els) {
      if (!keep.has(key)) {
        el.remove();
        this.els.delete(key);
      }
    }
    if (keepOffset) this.pane.scrollTop = this.pane.scrollHeight - fromBottom; // earlier messages went on top
    else if (stick) this.scrollToEnd();
  }

  /** renderTurn updates one turn's reply in place (a delta arrived). */
  renderTurn(turn, entry) {
    const el = this.els.get(`turn:${turn.id}`);
    if (!el) return false;
    const stick = this.nearBottom();
    this.update(el, entry ?? { kind: 'turn', turn, message: null });
    if (stick) this.scrollToEnd();
    return true;
  }

  create(e) {
    if (e.kind === 'turn') {
      const text = h('div', { class: 'msg-text', 'aria-live': 'polite' });
      text.append(document.createTextNode(''));
      const status = h('p', { class: 'turn-status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { class: 'turn-status-text' }));
      const stop = h('button', { type: 'button', class: 'btn btn-small btn-danger stop' }, 'Stop');
      stop.addEventListener('click', () => this.actions.stop(el.turn, stop));
      const remember = h('button', { type: 'button', class: 'btn btn-small btn-quiet remember' }, 'What the DM remembered');
      remember.addEventListener('click', () => this.actions.remember(el.turn, remember));
      const verify = h('button', { type: 'button', class: 'btn btn-small btn-secondary verify', hidden: true }, 'Verify the dice');
      verify.addEventListener('click', () => this.actions.verify?.(el.turn, verify));
      const dice = h('button', { type: 'button', class: 'btn btn-small btn-quiet load-dice', hidden: true }, 'Dice');
      dice.addEventListener('click', () => this.actions.loadDice?.(el.turn, dice));
      const story = storyControls(this.actions, () => el);
      const el = h('li', { class: 'msg msg-dm', dataset: { kind: 'turn', role: 'dm' } },
        h('div', { class: 'msg-head' }, h('span', { class: 'msg-author' }, 'Dungeon Master'), h('time', { class: 'msg-time' })),
        h('ol', { class: 'turn-rolls', 'aria-label': 'Dice rolled', hidden: true }),
        status,
        text,
        h('p', { class: 'turn-error', role: 'alert', hidden: true }),
        h('p', { class: 'verify-result', role: 'status', hidden: true }),
        h('div', { class: 'msg-actions' }, stop, verify, dice, remember),
        story);
      return el;
    }
    if (e.kind === 'roll') {
      const verify = h('button', { type: 'button', class: 'btn btn-small btn-secondary verify', hidden: true }, 'Verify the dice');
      const el = h('li', { class: 'msg msg-roll', dataset: { kind: 'roll', role: 'roll' } },
        h('ol', { class: 'turn-rolls', 'aria-label': 'Dice rolled' }),
        h('p', { class: 'verify-result', role: 'status', hidden: true }),
        h('div', { class: 'msg-actions' }, verify));
      verify.addEventListener('click', () => this.actions.verifyRoll?.(el.roll, verify));
      return el;
    }
    if (e.kind === 'pending') {
      const retry = h('button', { type: 'button', class: 'btn btn-small btn-secondary' }, 'Try again');
      const discard = h('button', { type: 'button', class: 'btn btn-small btn-quiet' }, 'Discard');
      const el = h('li', { class: 'msg msg-player pending', dataset: { kind: 'pending', role: 'player' } },
        h('div', { class: 'msg-head' }, h('span', { class: 'msg-author' }, this.playerName), h('span', { class: 'msg-time pending-state' })),
        h('div', { class: 'msg-text' }),
        h('p', { class: 'turn-error', role: 'alert', hidden: true }),
        h('div', { class: 'msg-actions', hidden: true }, retry, discard));
      retry.addEventListener('click', () => this.actions.retry(el.dataset.key));
      discard.addEventListener('click', () => this.actions.discard(el.dataset.key));
      return el;
    }
    const m = e.message;
    const role = m.role === 'player' ? 'player' : m.role === 'dm' ? 'dm' : 'system';
    // A whisper (and the DM's answer to it) is shown apart: only its player sees it.
    const whisper = m.visibility === 'private';
    const author = role === 'player' ? (this.nameOf?.(m) ?? this.playerName) : role === 'dm' ? 'Dungeon Master' : 'The world';
    return h('li', { class: `msg msg-${role}${whisper ? ' msg-whisper' : ''}`, dataset: { kind: 'message', role, messageId: m.id } },
      h('div', { class: 'msg-head' },
        h('span', { class: 'msg-author' }, whisper ? `${author} (whisper)` : author),
        h('time', { class: 'msg-time', datetime: m.created_at }, formatTime(m.created_at))),
      h('div', { class: 'msg-text' }, m.content),
      role === 'system' ? null : h('div', { class: 'msg-actions' }, branchButton(this.actions, () => m.id)));
  }

  update(el, e) {
    if (e.kind === 'roll') {
      // A player's own roll: verifiable from its session seed once that
      // seed is revealed (the next turn of the session reveals it).
      const r = e.roll;
      el.roll = r;
      const v = r.verify;
      const sig = JSON.stringify(r);
      if (el.dataset.sig !== sig) {
        el.dataset.sig = sig;
        const check = v?.state === 'done' ? v.result.rolls.find((x) => x.index === r.index) ?? null : null;
        el.firstChild.replaceChildren(rollCard(r, this.who(r), check));
      }
      const verify = el.querySelector('.verify');
      verify.hidden = !r.seed_commitment;
      verify.disabled = v?.state === 'checking';
      const out = el.querySelector('.verify-result');
      out.hidden = !v;
      out.dataset.state = v?.state === 'done' ? (v.result.ok ? 'ok' : 'bad') : v?.state ?? '';
      if (v) out.textContent = v.state === 'checking' ? 'Recomputing the dice…' : v.state === 'done' ? verifyText(v.result) : v.text;
      return;
    }
    if (e.kind === 'pending') {
      const p = e.pending;
      el.dataset.key = p.key;
      el.dataset.state = p.state;
      el.querySelector('.msg-text').textContent = p.content;
      el.querySelector('.pending-state').textContent = p.state === 'sending' ? 'Sending…' : 'Not sent';
      const err = el.querySelector('.turn-error');
      err.hidden = !p.error;
      err.textContent = p.error ?? '';
      el.querySelector('.msg-actions').hidden = p.state !== 'failed';
      return;
    }
    if (e.kind !== 'turn') return;
    const t = e.turn;
    el.turn = t;
    el.dataset.turnId = t.id;
    el.dataset.state = t.final ? (t.status === 'completed' ? 'done' : t.status) : t.status;
    if (t.messageId) el.dataset.messageId = t.messageId;
    const text = el.querySelector('.msg-text');
    const node = text.firstChild;
    // The common case, a delta: append only the new part.
    if (t.text.startsWith(node.data)) {
      if (t.text.length !== node.data.length) node.appendData(t.text.slice(node.data.length));
    } else {
      node.data = t.text;
    }
    text.setAttribute('aria-busy', String(!t.final)); // read out once complete
    text.hidden = t.text === '' && t.final;
    const time = el.querySelector('.msg-time');
    if (e.message && !time.textContent) {
      time.dateTime = e.message.created_at;
      time.textContent = formatTime(e.message.created_at);
    }
    // The DM's answer to a whisper is private too: shown apart.
    if (e.message?.visibility === 'private' && !el.classList.contains('msg-whisper')) {
      el.classList.add('msg-whisper');
      el.querySelector('.msg-author').textContent = 'Dungeon Master (whisper)';
    }
    const status = el.querySelector('.turn-status');
    const words = t.final ? (t.status === 'cancelled' ? statusText('cancelled') : '') : statusText(t.status);
    status.hidden = !words;
    status.querySelector('.turn-status-text').textContent = words;
    status.classList.toggle('working', !t.final);
    const err = el.querySelector('.turn-error');
    const failed = t.final && t.status === 'failed';
    err.hidden = !failed;
    err.textContent = failed ? failureText(t.error) : '';
    el.querySelector('.stop').hidden = t.final;
    // Context is known once retrieval has run.
    el.querySelector('.remember').hidden = !(t.final ? t.status === 'completed' : t.status === 'generating');
    this.updateRolls(el, t);
    this.updateStory(el, t);
  }

  // updateStory shows undo, regenerate and the flip between alternative
  // replies on the latest exchange, and "branch from here" on every reply.
  updateStory(el, t) {
    const alts = this.actions.alternatives?.(t) ?? null; // non-null on the latest reply only
    const bar = el.querySelector('.story-controls');
    bar.hidden = !t.final;
    const latest = alts !== null;
    bar.querySelector('.regenerate').hidden = !latest;
    bar.querySelector('.undo').hidden = !latest;
    bar.querySelector('.edit').hidden = !latest;
    bar.querySelector('.branch').hidden = !t.messageId;
    const flip = bar.querySelector('.flip');
    // With none selected (a regenerated reply failed), "‹" goes back to
    // the newest earlier reply.
    const sel = latest ? alts.findIndex((a) => a.selected) : -1;
    flip.hidden = !latest || (alts.length < 2 && !(alts.length === 1 && sel < 0));
    if (!flip.hidden) {
      const i = sel < 0 ? alts.length : sel;
      flip.querySelector('.alt-count').textContent = sel < 0 ? `– / ${alts.length}` : `${i + 1} / ${alts.length}`;
      flip.querySelector('.alt-prev').disabled = i === 0;
      flip.querySelector('.alt-next').disabled = i >= alts.length - 1;
      flip.dataset.prev = alts[i - 1]?.id ?? '';
      flip.dataset.next = alts[i + 1]?.id ?? '';
    }
  }

  // updateRolls shows a turn's roll cards and what verifying them found.
  // The seed is revealed only when the turn has ended, so "Verify" waits
  // for that; a turn loaded from history gets its dice on request.
  updateRolls(el, t) {
    const v = t.verify;
    const sig = JSON.stringify([t.rolls, v?.state, v?.result?.mismatch]);
    const list = el.querySelector('.turn-rolls');
    if (list.dataset.sig !== sig) {
      list.dataset.sig = sig;
      const checks = new Map((v?.result?.rolls ?? []).map((r) => [r.index, r]));
      list.replaceChildren(...t.rolls.map((r) => rollCard(r, this.who(r), checks.get(r.index) ?? null)));
    }
    list.hidden = t.rolls.length === 0;
    const verify = el.querySelector('.verify');
    verify.hidden = !(t.final && t.rolls.length > 0);
    verify.disabled = v?.state === 'checking';
    el.querySelector('.load-dice').hidden = !(t.final && t.status === 'completed' && t.rolls.length === 0 && !t.rollsLoaded);
    const out = el.querySelector('.verify-result');
    out.hidden = !v;
    out.dataset.state = v?.state === 'done' ? (v.result.ok ? 'ok' : 'bad') : v?.state ?? '';
    if (v) out.textContent = v.state === 'checking' ? 'Recomputing the dice…' : v.state === 'done' ? verifyText(v.result) : v.text;
  }
}

// storyControls are a reply's undo / regenerate / alternatives / branch
// buttons (docs/STORY.md); the view's actions do the work.
function storyControls(actions, el) {
  const turn = () => el().turn;
  const regen = h('button', { type: 'button', class: 'btn btn-small btn-secondary regenerate', title: 'Ask the Dungeon Master for another reply' }, 'Regenerate');
  regen.addEventListener('click', () => actions.regenerate?.(turn(), regen));
  const undo = h('button', { type: 'button', class: 'btn btn-small btn-quiet undo', title: 'Take back your last message and this reply' }, 'Undo');
  undo.addEventListener('click', () => actions.undo?.(turn(), undo));
  const edit = h('button', { type: 'button', class: 'btn btn-small btn-quiet edit', title: 'Change your last message; the DM answers it again' }, 'Edit');
  edit.addEventListener('click', () => actions.edit?.(turn(), edit));
  const prev = h('button', { type: 'button', class: 'btn btn-small btn-quiet alt-prev', 'aria-label': 'Previous reply' }, '‹');
  const next = h('button', { type: 'button', class: 'btn btn-small btn-quiet alt-next', 'aria-label': 'Next reply' }, '›');
  const flip = h('span', { class: 'flip', role: 'group', 'aria-label': 'Alternative replies' }, prev, h('span', { class: 'alt-count' }), next);
  prev.addEventListener('click', () => flip.dataset.prev && actions.select?.(flip.dataset.prev, prev));
  next.addEventListener('click', () => flip.dataset.next && actions.select?.(flip.dataset.next, next));
  return h('div', { class: 'msg-actions story-controls', hidden: true }, flip, regen, undo, edit, branchButton(actions, () => turn().messageId));
}

function branchButton(actions, messageId) {
  const b = h('button', { type: 'button', class: 'btn btn-small btn-quiet branch', title: 'A new adventure whose story ends here' }, 'Branch from here');
  b.addEventListener('click', () => actions.branch?.(messageId(), b));
  return b;
}

function failureText(error) {
  const reason = {
    unavailable: 'the realm was briefly out of reach',
    rate_limited: 'too many turns at once',
    timeout: 'it took too long',
    deadline_exceeded: 'it took too long',
  }[error?.code];
  return reason
    ? `The Dungeon Master could not answer (${reason}). Please try your action again.`
    : 'The Dungeon Master could not answer this time. Please try your action again.';
}
