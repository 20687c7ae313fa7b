// The side panel: search the session's memory, and see what the DM
// remembered for a given turn (the retrieved context, with scores).
import { get, qs } from '../api.js';
import { h, alertBox, busy, formatTime } from '../ui.js';
import { friendly } from '../errors.js';

const SOURCE_TEXT = {
  vector: 'similar meaning',
  keyword: 'same words',
  hybrid: 'meaning and words',
  recent: 'just said',
  lore: 'lore',
  summary: 'summary',
};

// summaryItem is the session's rolling summary in a turn's context.
function summaryItem(c) {
  return h('li', { class: 'memory-item' },
    h('div', { class: 'memory-meta' },
      h('span', { class: 'memory-who' }, 'The story so far'),
      h('span', { class: 'badge badge-summary' }, 'summary')),
    h('p', { class: 'memory-text summary-text' }, c.content ?? ''));
}

// loreItem is a lorebook entry in a turn's context, with why it matched.
function loreItem(c) {
  return h('li', { class: 'memory-item' },
    h('div', { class: 'memory-meta' },
      h('span', { class: 'memory-who' }, c.title || 'Lore'),
      h('span', { class: 'badge badge-lore' }, c.matched ? `lore · matched “${c.matched}”` : 'lore · always')),
    h('p', { class: 'memory-text' }, c.content ?? ''));
}

function memoryItem(m, { score, source } = {}) {
  const who = m ? (m.role === 'player' ? 'You' : m.role === 'dm' ? 'Dungeon Master' : 'The world') : '';
  return h('li', { class: 'memory-item' },
    h('div', { class: 'memory-meta' },
      h('span', { class: 'memory-who' }, who || 'An older message'),
      source ? h('span', { class: `badge badge-${source}` }, SOURCE_TEXT[source] ?? source) : null,
      // Recent messages are in the prompt for being recent, not for a score.
      typeof score === 'number' && source !== 'recent' ? h('span', { class: 'memory-score', title: 'How closely it matched' }, `match ${score.toFixed(2)}`) : null),
    h('p', { class: 'memory-text' }, m ? m.content : 'This message is too far back to show here.'),
    m ? h('time', { class: 'memory-time', datetime: m.created_at }, formatTime(m.created_at)) : null);
}

/** memoryPanel builds the panel; showContext(turn) fills "What the DM remembered". */
export function memoryPanel(sessionId, story) {
  const error = alertBox();
  const results = h('ol', { class: 'memory-list', 'aria-label': 'Memory search results' });
  const summary = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite' });
  const q = h('input', { id: 'memory-q', name: 'q', type: 'search', maxlength: 1000, placeholder: 'the chest, the troll…', autocomplete: 'off' });
  const k = h('select', { id: 'memory-k', name: 'k', value: '8' }, [4, 8, 16, 32].map((n) => h('option', { value: String(n) }, String(n))));
  const submit = h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Search');
  const form = h('form', { class: 'memory-form', role: 'search', 'aria-label': 'Search the memory' },
    h('div', { class: 'field' }, h('label', { for: 'memory-q' }, 'Search what the DM remembers'),
      h('div', { class: 'inline' }, q, submit)),
    h('div', { class: 'field field-inline' }, h('label', { for: 'memory-k' }, 'Results'), k),
    error);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.clear();
    if (!q.value.trim()) {
      error.show('Type a few words to search for.');
      q.focus();
      return;
    }
    busy(submit, 'Searching…', async () => {
      try {
        const res = await get(`/api/sessions/${sessionId}/memory${qs({ q: q.value.trim(), k: k.value })}`);
        results.replaceChildren(...res.results.map((r) => memoryItem(r.message, { score: r.score, source: r.source })));
        summary.textContent = res.results.length
          ? `${res.results.length} ${res.results.length === 1 ? 'memory' : 'memories'} found.`
          : 'Nothing like that has happened yet.';
      } catch (err) {
        error.show(err);
      }
    });
  });

  const ctxHeading = h('h2', { id: 'context-title', tabindex: '-1' }, 'What the DM remembered');
  const ctxIntro = h('p', { class: 'hint' });
  const ctxList = h('ol', { class: 'memory-list', 'aria-labelledby': 'context-title' });
  const ctxError = alertBox();
  const ctxSection = h('section', { class: 'panel-section', id: 'context-section', 'aria-labelledby': 'context-title', hidden: true },
    ctxHeading, ctxIntro, ctxError, ctxList);

  async function showContext(turn) {
    ctxSection.hidden = false;
    ctxError.clear();
    ctxList.replaceChildren();
    ctxIntro.textContent = 'Looking…';
    ctxHeading.focus();
    try {
      const { turn: full } = await get(`/api/turns/${turn.id}`);
      const items = full.context ?? [];
      if (!items.length) {
        ctxIntro.textContent = 'Nothing earlier came to mind for this turn.';
        return;
      }
      const found = await story.lookup(items.filter((c) => c.message_id).map((c) => c.message_id));
      const player = story.messages.get(full.player_message_id);
      ctxIntro.textContent = player
        ? `For “${player.content.length > 80 ? `${player.content.slice(0, 80)}…` : player.content}”, these ${items.length} moments were in the DM's mind:`
        : `These ${items.length} moments were in the DM's mind:`;
      const item = (c) => {
        if (c.source === 'lore') return loreItem(c);
        if (c.source === 'summary') return summaryItem(c);
        return memoryItem(found.get(c.message_id), c);
      };
      ctxList.replaceChildren(...items.map(item));
    } catch (err) {
      ctxIntro.textContent = '';
      ctxError.show(err);
    }
  }

  const el = h('div', { class: 'panel-inner' },
    ctxSection,
    h('section', { class: 'panel-section', 'aria-labelledby': 'memory-title' },
      h('h2', { id: 'memory-title' }, 'Memory'),
      form, summary, results));
  return { el, showContext };
}
