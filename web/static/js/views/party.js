// Party play (docs/PARTY.md): the party panel (members, online dots, who is
// typing, invites for the owner, the other players' sheets) and the join
// screen an invite link opens.
import { get, post, patch, del } from '../api.js';
import { h, mount, alertBox, notify } from '../ui.js';
import { friendly } from '../errors.js';
import { go } from '../router.js';
import { currentPlayer } from '../auth.js';

const TYPING_SHOWN_MS = 4000;
const TYPING_EVERY_MS = 3000; // the server takes one every 2 s

/** roundOf is the panel's round from a session's open_round (GET /api/sessions/{id}). */
function roundOf(r) {
  return r ? { id: r.round_id, closesAt: r.closes_at, acted: new Set(r.acted), awaiting: new Set(r.awaiting) } : null;
}

/**
 * partyPanel shows a session's members and keeps them current from the
 * session stream's member.*, presence and typing events (onEvent). A page
 * opened mid-round starts from the session's open_round (openRound).
 */
export function partyPanel(sessionId, { isOwner, mode = 'free', openRound = null }) {
  const me = currentPlayer()?.id;
  const list = h('ul', { class: 'party-members', 'aria-label': 'Party members' });
  const typing = h('p', { class: 'hint party-typing', 'aria-live': 'polite' });
  const error = alertBox();
  const inviteOut = h('p', { class: 'party-invite', hidden: true });
  const inviteBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small' }, 'Invite players');
  // Rounds mode (docs/PARTY.md): the open round and who has acted, from
  // the session's open_round on load and the round.* events after; the
  // owner may close it early.
  const roundLine = h('p', { class: 'hint party-round', 'aria-live': 'polite' },
    mode === 'rounds' ? 'Rounds mode: the DM answers when everyone has acted.' : '');
  const closeRoundBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small', hidden: true }, 'Close the round');
  // The owner chooses the mode: free (each message is a turn) or rounds.
  const roundsToggle = h('input', { type: 'checkbox', id: 'rounds-mode', checked: mode === 'rounds' });
  const roundsLabel = h('label', { for: 'rounds-mode', class: 'rounds-toggle', title: 'Everyone acts, then the DM answers the whole party at once' },
    roundsToggle, ' Play in rounds');
  roundsToggle.addEventListener('change', async () => {
    try {
      const { session } = await patch(`/api/sessions/${sessionId}`, { mode: roundsToggle.checked ? 'rounds' : 'free' });
      roundLine.textContent = session.mode === 'rounds' ? 'Rounds mode: the DM answers when everyone has acted.' : '';
      if (session.mode !== 'rounds') round = null;
      render();
    } catch (e) {
      roundsToggle.checked = !roundsToggle.checked;
      error.show(friendly(e));
    }
  });
  const el = h('section', { class: 'panel party-panel', 'aria-label': 'Party' },
    h('h2', {}, 'Party'), list, typing, error, ...(isOwner ? [inviteBtn, inviteOut] : []),
    roundLine, ...(isOwner ? [roundsLabel, closeRoundBtn] : []));
  let members = [];
  // {id, closesAt, acted: Set, awaiting: Set|null}; awaiting is the
  // server's list (open_round) kept by round.action; null: every member
  // who has not acted.
  let round = roundOf(openRound);
  const typists = new Map();

  const name = (id) => members.find((m) => m.player_id === id)?.display_name ?? 'A player';
  function render() {
    list.replaceChildren(...members.map((m) => {
      const sheet = h('details', { class: 'party-sheet' }, h('summary', {}, 'Sheet'));
      sheet.addEventListener('toggle', async () => {
        if (!sheet.open || sheet.dataset.loaded || !m.character_id) return;
        sheet.dataset.loaded = '1';
        // Every member's character as the engine keeps it.
        const c = m.character;
        sheet.append(h('pre', {}, c ? JSON.stringify(c.sheet, null, 2) : 'No character.'));
      });
      const remove = isOwner && m.player_id !== me
        ? h('button', { type: 'button', class: 'btn btn-quiet btn-small' }, 'Remove') : null;
      remove?.addEventListener('click', async () => {
        try {
          await del(`/api/sessions/${sessionId}/members/${m.player_id}`);
          await refresh();
        } catch (e) {
          error.show(friendly(e));
        }
      });
      return h('li', { class: 'party-member', dataset: { online: String(m.online || m.player_id === me) } },
        h('span', { class: 'online-dot', title: m.online || m.player_id === me ? 'online' : 'offline' }),
        h('span', {}, `${m.display_name}${m.role === 'owner' ? ' (owner)' : ''}${m.player_id === me ? ' — you' : ''}`),
        ...(m.character ? [h('span', { class: 'hint' }, ` · ${m.character.name}`)] : []),
        ...(m.character ? [sheet] : []),
        ...(remove ? [remove] : []));
    }));
    const now = Date.now();
    const who = [...typists].filter(([, at]) => now - at < TYPING_SHOWN_MS).map(([id]) => name(id));
    typing.textContent = who.length ? `${who.join(', ')} ${who.length > 1 ? 'are' : 'is'} typing…` : '';
    if (round) {
      const acted = [...round.acted].map(name);
      const waiting = round.awaiting ? [...round.awaiting].map(name)
        : members.filter((m) => !round.acted.has(m.player_id)).map((m) => m.display_name);
      roundLine.textContent = `Round open (closes ${new Date(round.closesAt).toLocaleTimeString()}). Acted: ${acted.join(', ') || 'nobody yet'}`
        + (waiting.length ? `. Waiting for: ${waiting.join(', ')}.` : '.');
    }
    closeRoundBtn.hidden = !round;
  }

  // refreshRound reads the open round again: after a stream reset (the
  // round.* events may be gone from the history) or a fresh subscription.
  // A round.* event that arrives while it is in flight is newer: it wins.
  let roundEvents = 0;
  async function refreshRound() {
    const before = roundEvents;
    try {
      const { session } = await get(`/api/sessions/${sessionId}`);
      if (roundEvents !== before) return;
      round = roundOf(session.open_round);
      if (session.mode === 'rounds' && !round) roundLine.textContent = 'Rounds mode: the DM answers when everyone has acted.';
      render();
    } catch (e) {
      error.show(friendly(e));
    }
  }

  async function refresh() {
    try {
      ({ members } = await get(`/api/sessions/${sessionId}/members`));
      render();
    } catch (e) {
      error.show(friendly(e));
    }
  }

  inviteBtn.addEventListener('click', async () => {
    try {
      const { invite } = await post(`/api/sessions/${sessionId}/invites`, {});
      const link = `${location.origin}${location.pathname}#/join/${invite.code}`;
      inviteOut.hidden = false;
      inviteOut.replaceChildren('Share this link (valid until ', new Date(invite.expires_at).toLocaleString(), '): ',
        h('input', { readonly: true, value: link, class: 'invite-link', 'aria-label': 'Invite link' }));
      navigator.clipboard?.writeText(link).then(() => notify('Invite link copied.'), () => {});
    } catch (e) {
      error.show(friendly(e));
    }
  });

  closeRoundBtn.addEventListener('click', async () => {
    try {
      await post(`/api/sessions/${sessionId}/rounds/close`, {});
    } catch (e) {
      error.show(friendly(e));
    }
  });

  const timer = setInterval(render, 1000);
  refresh();
  return {
    el,
    nameOf: (m) => (m.author_id && m.author_id !== me ? name(m.author_id) : null),
    refreshRound,
    /** onEvent takes the session stream's party events; true when it was one. */
    onEvent(type, data) {
      switch (type) {
        case 'member.joined':
        case 'member.left':
          if (round) round.awaiting = null; // every member who has not acted, from the new list
          refresh();
          return true;
        case 'presence': {
          const m = members.find((x) => x.player_id === data.player_id);
          if (m) m.online = data.online;
          render();
          return true;
        }
        case 'typing':
          typists.set(data.player_id, Date.now());
          render();
          return true;
        case 'round.opened':
          roundEvents++;
          round = { id: data.round_id, closesAt: data.closes_at, acted: new Set(), awaiting: null };
          render();
          return false;
        case 'round.action':
          roundEvents++;
          if (round?.id === data.round_id) {
            round.acted.add(data.player_id);
            round.awaiting?.delete(data.player_id);
          }
          render();
          return false; // the story shows the action
        case 'round.closed':
          roundEvents++;
          if (round?.id === data.round_id) round = null;
          roundLine.textContent = 'The round is closed: the Dungeon Master answers everyone.';
          render();
          return false;
        default:
          return false;
      }
    },
    close: () => clearInterval(timer),
  };
}

/** typingSignal returns an input handler that tells the party, at most every few seconds. */
export function typingSignal(sessionId) {
  let last = 0;
  return () => {
    const now = Date.now();
    if (now - last < TYPING_EVERY_MS) return;
    last = now;
    post(`/api/sessions/${sessionId}/typing`, {}).catch(() => {});
  };
}

/** joinView: an invite link's screen — choose one of your characters and join. */
export async function joinView({ code, alive }) {
  mount(h('p', { class: 'loading' }, 'Opening the invitation…'));
  let characters = [];
  try {
    ({ characters } = await get('/api/characters'));
  } catch (e) {
    if (alive()) mount(h('section', { class: 'page' }, h('p', { class: 'form-error', role: 'alert' }, friendly(e))));
    return;
  }
  if (!alive()) return;
  const error = alertBox();
  const select = h('select', { id: 'join-character', name: 'character_id', required: true },
    ...characters.map((c) => h('option', { value: c.id }, `${c.name} (${c.class}, level ${c.level})`)));
  const form = h('form', { class: 'join-form' },
    h('label', { for: 'join-character' }, 'Play as'), select,
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Join the party'), error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.clear();
    try {
      const { session } = await post(`/api/invites/${encodeURIComponent(code)}/join`, { character_id: select.value });
      go(`/play/${session.id}`);
    } catch (err) {
      error.show(err.status === 404 ? 'This invitation is no longer valid: ask for a new link.' : friendly(err));
    }
  });
  mount(h('section', { class: 'page' }, h('h1', {}, 'You are invited to an adventure'),
    characters.length ? form : h('p', {}, 'Create a character first: ', h('a', { href: '#/characters' }, 'your characters'), ', then open the link again.')));
}
