// The game view: the story so far, the composer, the DM's reply streaming
// in, and the memory panel.
import { get, post } from '../api.js';
import { h, mount, alertBox, notify, busy } from '../ui.js';
import { friendly, ApiError } from '../errors.js';
import { verifyRolls } from '../dice.js';
import { EventStream } from '../stream.js';
import { Story } from '../story.js';
import { go } from '../router.js';
import { LogView } from './log.js';
import { memoryPanel } from './memory.js';
import { lorePanel } from './lore.js';
import { currentPlayer } from '../auth.js';
import { portrait, describe } from './characters.js';
import { sheetPanel } from './sheetpanel.js';
import { partyPanel, typingSignal } from './party.js';

// A roll typed in the composer: "/roll 2d6+1 for the trap".
const ROLL_COMMAND = /^\/roll(?:\s+(\S+))?(?:\s+(.+))?$/is;

/** rollProblem is what to say when a roll is refused: the API's 400 names the problem. */
export function rollProblem(err, notation) {
  if (err instanceof ApiError && err.status === 400 && err.apiMessage) {
    const why = err.apiMessage.replace(/^[\w.]+: /, '');
    return `Can't roll “${notation}”: ${why}. Try something like 1d20+3, 2d6 or 2d20kh1.`;
  }
  return friendly(err);
}

const MAX_CONTENT = 8000;

export async function gameView({ id, alive }) {
  mount(h('p', { class: 'loading' }, 'Returning to the table…'));
  let session;
  let character = null;
  try {
    ({ session } = await get(`/api/sessions/${id}`));
    // Each member plays their own character (the session's is its owner's).
    const mine = session.owner_id === currentPlayer()?.id ? session.character_id
      : (await get(`/api/sessions/${id}/members`).catch(() => ({ members: [] }))).members.find((m) => m.player_id === currentPlayer()?.id)?.character_id;
    if (mine) ({ character } = await get(`/api/characters/${mine}`).catch(() => ({ character: null })));
  } catch (e) {
    if (alive()) mount(h('section', { class: 'page' }, h('h1', {}, 'Adventure'), h('p', { class: 'form-error', role: 'alert' }, friendly(e)), h('a', { href: '#/sessions' }, 'Back to your adventures')));
    return;
  }
  if (!alive()) return;

  // ---- layout -----------------------------------------------------------
  const connection = h('span', { class: 'connection', role: 'status', 'aria-live': 'polite', dataset: { state: 'connecting' } }, 'Connecting…');
  const panelToggle = h('button', { type: 'button', class: 'btn btn-secondary btn-small panel-toggle', 'aria-expanded': 'false', 'aria-controls': 'side-panel' }, character ? 'Sheet & memory' : 'Memory');
  const earlier = h('button', { type: 'button', class: 'btn btn-quiet load-earlier', hidden: true }, 'Load earlier messages');
  const list = h('ol', { class: 'log', id: 'story-log', 'aria-label': 'The story so far' });
  const empty = h('div', { class: 'log-empty', hidden: true },
    h('p', { class: 'log-empty-title' }, 'The tale has not yet begun.'),
    h('p', {}, 'Describe what your character does, and the Dungeon Master will answer.'));
  const logError = alertBox();
  const pane = h('div', { class: 'log-pane', id: 'log-pane' }, earlier, logError, empty, list);
  const side = h('aside', { class: 'side-panel', id: 'side-panel', 'aria-label': character ? 'Character sheet, memory and context' : 'Memory and context' });

  const textarea = h('textarea', {
    id: 'composer', name: 'content', rows: 2, maxlength: MAX_CONTENT, required: true,
    placeholder: character ? `What does ${character.name} do?` : 'What do you do?',
    'aria-describedby': 'composer-hint',
  });
  const send = h('button', { type: 'submit', class: 'btn btn-primary send' }, 'Send');
  const composerError = alertBox();
  const IDLE_HINT = 'Enter to send, Shift+Enter for a new line, /roll 1d20+3 to roll dice.';
  const hint = h('p', { class: 'hint composer-hint', id: 'composer-hint' }, IDLE_HINT);
  const diceToggle = h('button', { type: 'button', class: 'btn btn-secondary dice-toggle', 'aria-expanded': 'false', 'aria-controls': 'roll-box', title: 'Roll dice' }, h('span', { 'aria-hidden': 'true' }, '⚄'), h('span', { class: 'visually-hidden' }, 'Roll dice'));
  // A whisper: a private message to the DM, answered to you alone.
  const whisper = h('input', { type: 'checkbox', id: 'whisper', name: 'whisper' });
  const whisperLabel = h('label', { for: 'whisper', class: 'whisper-toggle', title: 'Only you and the Dungeon Master see a whisper and its answer' }, whisper, ' Whisper to the DM');
  const composer = h('form', { class: 'composer', 'aria-label': 'Your action' },
    h('label', { for: 'composer', class: 'visually-hidden' }, character ? `What does ${character.name} do?` : 'What do you do?'),
    h('div', { class: 'composer-row' }, textarea, diceToggle, send),
    whisperLabel,
    composerError,
    hint);

  // The roll box: a roll of the player's own, outside any turn.
  const rollNotation = h('input', { id: 'roll-notation', name: 'notation', value: '1d20', maxlength: 32, autocomplete: 'off', spellcheck: 'false', class: 'narrow', 'aria-describedby': 'roll-hint' });
  const rollReason = h('input', { id: 'roll-reason', name: 'reason', maxlength: 200, autocomplete: 'off', placeholder: 'Why? (optional)' });
  const rollSubmit = h('button', { type: 'submit', class: 'btn btn-primary btn-small' }, 'Roll');
  const rollError = alertBox();
  const rollBox = h('form', { class: 'roll-box', id: 'roll-box', hidden: true, 'aria-label': 'Roll dice' },
    h('div', { class: 'roll-box-row' },
      h('label', { for: 'roll-notation' }, 'Dice'), rollNotation,
      h('label', { for: 'roll-reason', class: 'visually-hidden' }, 'Reason'), rollReason,
      rollSubmit),
    h('p', { class: 'hint', id: 'roll-hint' }, 'NdM+K: 1d20+3, 2d6, 2d20kh1 (advantage), 2d20kl1 (disadvantage).'),
    rollError);

  const head = h('header', { class: 'game-head' },
    h('div', { class: 'game-title' },
      h('a', { href: '#/sessions', class: 'back', 'aria-label': 'Back to your adventures' }, '‹'),
      h('div', {},
        h('h1', {}, session.title),
        character
          ? h('p', { class: 'game-char' }, h('a', { href: `#/characters/${character.id}` }, character.name), ` · ${describe(character)}`,
            h('span', { class: 'game-hp' }, character.sheet?.hp ? ` · HP ${character.sheet.hp.current}/${character.sheet.hp.max}` : ''))
          : h('p', { class: 'game-char muted' }, 'No character'))),
    h('div', { class: 'game-tools' }, connection, panelToggle));
  if (character) head.querySelector('.game-title').insertBefore(portrait(character, 'sm'), head.querySelector('.game-title > div'));

  const view = h('section', { class: 'game', 'aria-label': session.title },
    head,
    h('div', { class: 'game-body' }, h('div', { class: 'story-col' }, pane, rollBox, composer), side));
  mount(view);
  document.body.classList.add('playing');

  // ---- story ------------------------------------------------------------
  const story = new Story(id, (what) => {
    // A delta: update that one reply in place.
    const t = what.turn;
    if (t && logView.renderTurn(t, { kind: 'turn', turn: t, message: t.messageId ? story.messages.get(t.messageId) : null })) {
      refreshComposer();
      return;
    }
    renderAll();
  });
  const panel = memoryPanel(id, story);
  // On small screens the panel covers the story; it needs its own way out.
  const closePanel = h('button', { type: 'button', class: 'btn btn-quiet btn-small panel-close', 'aria-label': 'Close the memory panel' }, 'Close ✕');
  closePanel.addEventListener('click', () => {
    openPanel(false);
    panelToggle.focus();
  });
  const sheet = character ? sheetPanel(character) : null;
  const party = partyPanel(id, { isOwner: currentPlayer()?.id === session.owner_id, mode: session.mode, openRound: session.open_round });
  side.append(closePanel, party.el, ...(sheet ? [sheet.el] : []), panel.el);
  // Lore and exports are the owner's (the server answers 404 to others).
  if (currentPlayer()?.id === session.owner_id) side.append(lorePanel(id).el);
  const showSheet = (s, changes) => {
    character.sheet = s;
    sheet.update(s, changes);
    head.querySelector('.game-hp').textContent = s.hp ? ` · HP ${s.hp.current}/${s.hp.max}` : '';
  };
  story.onSheet = (data) => {
    if (!sheet || data.character_id !== character.id || !data.sheet) return;
    showSheet(data.sheet, data.changes ?? []);
  };
  // After a gap in the stream a sheet.changed may have been missed.
  const refreshSheet = async () => {
    if (!sheet) return;
    try {
      const { character: fresh } = await get(`/api/characters/${character.id}`);
      if (fresh?.sheet) showSheet(fresh.sheet, []);
    } catch {
      // The panel keeps what it had; the next sheet.changed brings it up to date.
    }
  };

  const rerenderTurn = (t) => logView.renderTurn(t, { kind: 'turn', turn: t, message: t.messageId ? story.messages.get(t.messageId) : null });

  const logView = new LogView(pane, list, {
    stop: async (turn, button) => {
      button.disabled = true;
      try {
        await story.cancel(turn);
      } catch (e) {
        notify(friendly(e), 'error');
      } finally {
        button.disabled = false;
      }
    },
    remember: (turn) => {
      openPanel(true);
      panel.showContext(turn);
    },
    retry: (key) => story.retry(key),
    discard: (key) => story.discard(key),
    // Story control (docs/STORY.md): the last turn shown (the latest
    // exchange's reply, or its failed retry) carries the controls.
    alternatives: (t) => (t.final && story.alts && story.lastTurnId() === t.id ? story.alts.list : null),
    regenerate: (t, button) => busy(button, 'Asking…', async () => {
      try {
        await story.regenerate(t.id);
      } catch (e) {
        notify(friendly(e), 'error');
      }
    }),
    undo: (t, button) => busy(button, 'Undoing…', async () => {
      try {
        await story.undo();
        notify('Taken back: your last message and its reply.');
      } catch (e) {
        notify(friendly(e), 'error');
      }
    }),
    edit: (t, button) => {
      const last = story.latestPlayerMessage();
      const content = window.prompt('Change your last message (its reply is taken back and the DM answers the new one):', last?.content ?? '');
      if (content === null || !content.trim() || content === last?.content) return;
      busy(button, 'Editing…', async () => {
        try {
          await story.editLatest(content);
        } catch (e) {
          notify(friendly(e), 'error');
        }
      });
    },
    select: (messageId, button) => busy(button, '…', async () => {
      try {
        await story.select(messageId);
      } catch (e) {
        notify(friendly(e), 'error');
      }
    }),
    branch: (messageId, button) => busy(button, 'Branching…', async () => {
      try {
        const s = await story.fork(messageId);
        go(`/play/${s.id}`);
      } catch (e) {
        notify(friendly(e), 'error');
      }
    }),
    who: (roll) => {
      if (roll.actor === 'dm' || !roll.actor) return 'Dungeon Master';
      if (character && roll.actor.character_id === character.id) return character.name;
      return 'A player';
    },
    // The turn as stored: its rolls and, once it has ended, its seed; then
    // every die is recomputed here, in the browser, from that seed.
    verify: async (t) => {
      t.verify = { state: 'checking' };
      rerenderTurn(t);
      try {
        const { turn } = await get(`/api/turns/${t.id}`);
        story.setTurnRolls(t, turn.rolls);
        if (!turn.dice_seed) {
          t.verify = { state: 'waiting', text: 'The dice seed is revealed when the turn ends; try again then.' };
        } else {
          t.verify = { state: 'done', result: await verifyRolls({ seed: turn.dice_seed, commitment: turn.dice_commitment, rolls: t.rolls }) };
        }
      } catch (e) {
        t.verify = { state: 'error', text: e instanceof ApiError ? friendly(e) : e.message };
      }
      rerenderTurn(t);
    },
    // A player's own roll: its session seed with every roll drawn from it
    // (dice numbers run across them all), recomputed here once revealed.
    verifyRoll: async (roll) => {
      roll.verify = { state: 'checking' };
      renderAll();
      try {
        const { seed } = await get(`/api/sessions/${id}/seeds/${roll.seed_commitment}`);
        roll.verify = !seed.dice_seed
          ? { state: 'waiting', text: 'The seed of these rolls is revealed when the next turn of the session begins; try again then.' }
          : { state: 'done', result: await verifyRolls({ seed: seed.dice_seed, commitment: seed.commitment, rolls: seed.rolls }) };
      } catch (e) {
        roll.verify = { state: 'error', text: e instanceof ApiError ? friendly(e) : e.message };
      }
      renderAll();
    },
    loadDice: async (t, button) => {
      await busy(button, 'Loading…', async () => {
        try {
          const { turn } = await get(`/api/turns/${t.id}`);
          story.setTurnRolls(t, turn.rolls);
          if (!t.rolls.length) t.verify = { state: 'none', text: 'No dice were rolled in this turn.' };
        } catch (e) {
          t.verify = { state: 'error', text: friendly(e) };
        }
      });
      rerenderTurn(t);
    },
  }, character ? character.name : 'You');
  logView.nameOf = party.nameOf;

  function renderAll(opts) {
    const entries = story.entries();
    logView.render(entries, opts);
    empty.hidden = !story.loaded || entries.length > 0;
    earlier.hidden = !story.nextBefore;
    if (story.error) logError.show(story.error);
    refreshComposer();
  }

  function refreshComposer() {
    const t = story.inFlight();
    const sending = [...story.pending.values()].some((p) => p.state === 'sending');
    send.disabled = Boolean(t) || sending;
    hint.textContent = t
      ? 'The Dungeon Master is answering. Wait for the reply, or press Stop.'
      : IDLE_HINT;
  }

  // ---- composer ---------------------------------------------------------
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  const typed = typingSignal(id);
  textarea.addEventListener('input', () => {
    if (textarea.value.trim()) typed();
    textarea.style.height = 'auto';
    textarea.style.height = `${Math.min(textarea.scrollHeight, 220)}px`;
  });
  composer.addEventListener('submit', async (e) => {
    e.preventDefault();
    composerError.clear();
    const content = textarea.value;
    if (!content.trim()) return;
    const cmd = ROLL_COMMAND.exec(content.trim());
    if (cmd) {
      if (!cmd[1]) {
        composerError.show('Say which dice to roll, for example /roll 1d20+3 or /roll 2d6 for the trap.');
        return;
      }
      if (await roll(cmd[1], cmd[2]?.trim() ?? '', composerError)) {
        textarea.value = '';
        textarea.style.height = '';
      }
      textarea.focus();
      return;
    }
    if (send.disabled) {
      composerError.show('Please wait for the Dungeon Master to finish, or press Stop.');
      return;
    }
    if (content.length > MAX_CONTENT) {
      composerError.show(`That is too long: please keep it under ${MAX_CONTENT} characters.`);
      return;
    }
    textarea.value = '';
    textarea.style.height = '';
    logView.scrollToEnd();
    const res = await story.send(content, { whisper: whisper.checked });
    if (!res.ok && res.error) {
      if (!textarea.value) textarea.value = content; // let them fix it
      composerError.show(res.error);
    }
    textarea.focus();
  });

  // ---- dice ---------------------------------------------------------------
  // roll posts a roll of the player's own; its card comes with the answer
  // (and again, ignored, with the `roll` event).
  async function roll(notation, reason, errorBox) {
    errorBox.clear();
    try {
      const res = await post(`/api/sessions/${id}/rolls`, reason ? { notation, reason } : { notation });
      if (res?.roll) story.addRoll(res.roll, res.roll.turn_id);
      logView.scrollToEnd();
      return true;
    } catch (e) {
      errorBox.show(rollProblem(e, notation));
      return false;
    }
  }
  diceToggle.addEventListener('click', () => {
    rollBox.hidden = !rollBox.hidden;
    diceToggle.setAttribute('aria-expanded', String(!rollBox.hidden));
    if (!rollBox.hidden) rollNotation.select();
  });
  rollBox.addEventListener('submit', (e) => {
    e.preventDefault();
    const notation = rollNotation.value.trim();
    if (!notation) {
      rollError.show('Say which dice to roll, for example 1d20+3.');
      return;
    }
    busy(rollSubmit, 'Rolling…', async () => {
      if (await roll(notation, rollReason.value.trim(), rollError)) rollReason.value = '';
    });
  });
  rollBox.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      rollBox.hidden = true;
      diceToggle.setAttribute('aria-expanded', 'false');
      diceToggle.focus();
    }
  });

  // ---- panel --------------------------------------------------------------
  const wide = window.matchMedia('(min-width: 960px)');
  function openPanel(open) {
    view.classList.toggle('panel-open', open);
    panelToggle.setAttribute('aria-expanded', String(open));
  }
  openPanel(wide.matches);
  panelToggle.addEventListener('click', () => {
    const open = !view.classList.contains('panel-open');
    openPanel(open);
    if (open && !wide.matches) side.querySelector('#memory-q')?.focus(); // it covers the story on small screens
  });
  side.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !wide.matches) {
      openPanel(false);
      panelToggle.focus();
    }
  });

  earlier.addEventListener('click', async () => {
    earlier.disabled = true;
    try {
      await story.loadEarlier();
      renderAll({ keepOffset: true });
    } catch (err) {
      notify(friendly(err), 'error');
    } finally {
      earlier.disabled = false;
    }
  });

  // ---- live -------------------------------------------------------------
  const setConnection = (state) => {
    connection.dataset.state = state;
    connection.textContent = { open: 'Live', connecting: 'Connecting…', waiting: 'Reconnecting…', closed: 'Offline' }[state] ?? state;
  };
  const live = new EventStream({ session_id: id }, {
    onEvent: (type, data, eid) => {
      if (!party.onEvent(type, data)) story.onSessionEvent(type, data, eid);
    },
    // The history we asked for is gone: start over from REST.
    onReset: () => {
      story.reload();
      refreshSheet();
      party.refreshRound();
    },
    // A fresh subscription (no last id) may have missed events between the
    // REST load and now: merge the latest page again; unfinished turns get
    // replayed from their start.
    onOpen: (resumed) => {
      if (!resumed) {
        story.loadLatest().catch(() => {});
        refreshSheet();
        party.refreshRound();
      }
    },
    onState: setConnection,
    onFatal: (e) => notify(friendly(e), 'error'),
  });

  try {
    await story.loadLatest();
  } catch (e) {
    logError.show(e);
  }
  if (!alive()) {
    story.close();
    return undefined;
  }
  live.start();
  renderAll();
  logView.scrollToEnd();
  textarea.focus({ preventScroll: true });

  return () => {
    live.stop();
    party.close();
    story.close();
    document.body.classList.remove('playing');
  };
}
