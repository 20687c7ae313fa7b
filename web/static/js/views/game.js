// The game view: the story so far, the composer, the DM's reply streaming
// in, and the memory panel.
import { get } from '../api.js';
import { h, mount, alertBox, notify } from '../ui.js';
import { friendly } from '../errors.js';
import { EventStream } from '../stream.js';
import { Story } from '../story.js';
import { LogView } from './log.js';
import { memoryPanel } from './memory.js';
import { lorePanel } from './lore.js';
import { currentPlayer } from '../auth.js';
import { portrait, describe } from './characters.js';

const MAX_CONTENT = 8000;

export async function gameView({ id, alive }) {
  mount(h('p', { class: 'loading' }, 'Returning to the table…'));
  let session;
  let character = null;
  try {
    ({ session } = await get(`/api/sessions/${id}`));
    if (session.character_id) ({ character } = await get(`/api/characters/${session.character_id}`).catch(() => ({ character: null })));
  } catch (e) {
    if (alive()) mount(h('section', { class: 'page' }, h('h1', {}, 'Adventure'), h('p', { class: 'form-error', role: 'alert' }, friendly(e)), h('a', { href: '#/sessions' }, 'Back to your adventures')));
    return;
  }
  if (!alive()) return;

  // ---- layout -----------------------------------------------------------
  const connection = h('span', { class: 'connection', role: 'status', 'aria-live': 'polite', dataset: { state: 'connecting' } }, 'Connecting…');
  const panelToggle = h('button', { type: 'button', class: 'btn btn-secondary btn-small panel-toggle', 'aria-expanded': 'false', 'aria-controls': 'side-panel' }, 'Memory');
  const earlier = h('button', { type: 'button', class: 'btn btn-quiet load-earlier', hidden: true }, 'Load earlier messages');
  const list = h('ol', { class: 'log', id: 'story-log', 'aria-label': 'The story so far' });
  const empty = h('div', { class: 'log-empty', hidden: true },
    h('p', { class: 'log-empty-title' }, 'The tale has not yet begun.'),
    h('p', {}, 'Describe what your character does, and the Dungeon Master will answer.'));
  const logError = alertBox();
  const pane = h('div', { class: 'log-pane', id: 'log-pane' }, earlier, logError, empty, list);
  const side = h('aside', { class: 'side-panel', id: 'side-panel', 'aria-label': 'Memory and context' });

  const textarea = h('textarea', {
    id: 'composer', name: 'content', rows: 2, maxlength: MAX_CONTENT, required: true,
    placeholder: character ? `What does ${character.name} do?` : 'What do you do?',
    'aria-describedby': 'composer-hint',
  });
  const send = h('button', { type: 'submit', class: 'btn btn-primary send' }, 'Send');
  const composerError = alertBox();
  const hint = h('p', { class: 'hint composer-hint', id: 'composer-hint' }, 'Enter to send, Shift+Enter for a new line.');
  const composer = h('form', { class: 'composer', 'aria-label': 'Your action' },
    h('label', { for: 'composer', class: 'visually-hidden' }, character ? `What does ${character.name} do?` : 'What do you do?'),
    h('div', { class: 'composer-row' }, textarea, send),
    composerError,
    hint);

  const head = h('header', { class: 'game-head' },
    h('div', { class: 'game-title' },
      h('a', { href: '#/sessions', class: 'back', 'aria-label': 'Back to your adventures' }, '‹'),
      h('div', {},
        h('h1', {}, session.title),
        character
          ? h('p', { class: 'game-char' }, h('a', { href: `#/characters/${character.id}` }, character.name), ` · ${describe(character)}`,
            character.sheet?.hp ? ` · HP ${character.sheet.hp.current}/${character.sheet.hp.max}` : '')
          : h('p', { class: 'game-char muted' }, 'No character'))),
    h('div', { class: 'game-tools' }, connection, panelToggle));
  if (character) head.querySelector('.game-title').insertBefore(portrait(character, 'sm'), head.querySelector('.game-title > div'));

  const view = h('section', { class: 'game', 'aria-label': session.title },
    head,
    h('div', { class: 'game-body' }, h('div', { class: 'story-col' }, pane, composer), side));
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
  side.append(closePanel, panel.el);
  // Lore and exports are the owner's (the server answers 404 to others).
  if (currentPlayer()?.id === session.owner_id) side.append(lorePanel(id).el);

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
  }, character ? character.name : 'You');

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
      : 'Enter to send, Shift+Enter for a new line.';
  }

  // ---- composer ---------------------------------------------------------
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  textarea.addEventListener('input', () => {
    textarea.style.height = 'auto';
    textarea.style.height = `${Math.min(textarea.scrollHeight, 220)}px`;
  });
  composer.addEventListener('submit', async (e) => {
    e.preventDefault();
    composerError.clear();
    const content = textarea.value;
    if (!content.trim()) return;
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
    const res = await story.send(content);
    if (!res.ok && res.error) {
      if (!textarea.value) textarea.value = content; // let them fix it
      composerError.show(res.error);
    }
    textarea.focus();
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
    onEvent: (type, data, eid) => story.onSessionEvent(type, data, eid),
    // The history we asked for is gone: start over from REST.
    onReset: () => story.reload(),
    // A fresh subscription (no last id) may have missed events between the
    // REST load and now: merge the latest page again; unfinished turns get
    // replayed from their start.
    onOpen: (resumed) => {
      if (!resumed) story.loadLatest().catch(() => {});
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
    story.close();
    document.body.classList.remove('playing');
  };
}
