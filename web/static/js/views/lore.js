// The campaign panel: the session's lorebook (add, edit, delete, with the
// server's warnings about keys likely to misfire), its rolling summary
// (read and edit), and exports (JSON or Markdown, downloadable when the
// task has written them).
import { get, post, patch, put, del } from '../api.js';
import { h, alertBox, busy, formatTime } from '../ui.js';
import { uploadAsset } from '../upload.js';

const WARNING_TEXT = {
  short_key: 'is very short and may match where you do not mean it',
  common_word: 'is an everyday word: the entry would be in nearly every prompt',
};

function warningsText(warnings) {
  return (warnings ?? []).map((w) => `“${w.key}” ${WARNING_TEXT[w.code] ?? w.code}.`).join(' ');
}

/** lorePanel builds the lorebook and export section of a session the player owns. */
export function lorePanel(sessionId) {
  const error = alertBox();
  const notice = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite' });
  const list = h('ul', { class: 'lore-list', 'aria-label': 'Lore entries' });
  let editing = null; // the entry being edited, or null for a new one

  const title = h('input', { id: 'lore-title', name: 'title', maxlength: 120, autocomplete: 'off' });
  const keys = h('input', { id: 'lore-keys', name: 'keys', maxlength: 1400, autocomplete: 'off', placeholder: 'Bram, the smith' });
  const content = h('textarea', { id: 'lore-content', name: 'content', rows: 3, maxlength: 4000 });
  const always = h('input', { id: 'lore-always', name: 'always', type: 'checkbox' });
  const enabled = h('input', { id: 'lore-enabled', name: 'enabled', type: 'checkbox', checked: true });
  const save = h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Add entry');
  const cancel = h('button', { type: 'button', class: 'btn btn-quiet', hidden: true }, 'Cancel');
  const form = h('form', { class: 'lore-form', 'aria-label': 'Lore entry' },
    h('div', { class: 'field' }, h('label', { for: 'lore-title' }, 'Title'), title),
    h('div', { class: 'field' }, h('label', { for: 'lore-keys' }, 'Keys (comma-separated; the entry enters the prompt when one is mentioned)'), keys),
    h('div', { class: 'field' }, h('label', { for: 'lore-content' }, 'What the DM should know'), content),
    h('div', { class: 'field field-inline' }, always, h('label', { for: 'lore-always' }, 'Always include')),
    h('div', { class: 'field field-inline' }, enabled, h('label', { for: 'lore-enabled' }, 'Enabled')),
    error, h('div', { class: 'inline' }, save, cancel));

  function reset() {
    editing = null;
    form.reset();
    enabled.checked = true;
    save.textContent = 'Add entry';
    cancel.hidden = true;
  }
  cancel.addEventListener('click', reset);

  function entryItem(e) {
    const edit = h('button', { type: 'button', class: 'btn btn-quiet btn-small' }, 'Edit');
    const remove = h('button', { type: 'button', class: 'btn btn-quiet btn-small' }, 'Delete');
    edit.addEventListener('click', () => {
      editing = e;
      title.value = e.title;
      keys.value = e.keys.join(', ');
      content.value = e.content;
      always.checked = e.always;
      enabled.checked = e.enabled;
      save.textContent = 'Save entry';
      cancel.hidden = false;
      title.focus();
    });
    remove.addEventListener('click', () => busy(remove, 'Deleting…', async () => {
      try {
        await del(`/api/lore/${e.id}`);
        await refresh();
      } catch (err) {
        error.show(err);
      }
    }));
    return h('li', { class: `lore-item${e.enabled ? '' : ' muted'}` },
      h('div', { class: 'memory-meta' }, h('strong', {}, e.title || '(untitled)'),
        e.always ? h('span', { class: 'badge badge-lore' }, 'always') : null,
        e.enabled ? null : h('span', { class: 'badge' }, 'off')),
      h('p', { class: 'small' }, e.keys.length ? `Keys: ${e.keys.join(', ')}` : 'No keys'),
      h('p', { class: 'memory-text' }, e.content),
      h('div', { class: 'inline' }, edit, remove));
  }

  async function refresh() {
    const { lore } = await get(`/api/sessions/${sessionId}/lore`);
    list.replaceChildren(...lore.map(entryItem));
    if (!lore.length) list.append(h('li', { class: 'hint' }, 'No lore yet. Add people, places and facts the DM should keep straight.'));
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    error.clear();
    notice.textContent = '';
    const body = {
      title: title.value, content: content.value, always: always.checked, enabled: enabled.checked,
      keys: keys.value.split(',').map((k) => k.trim()).filter(Boolean),
    };
    busy(save, 'Saving…', async () => {
      try {
        const res = editing ? await patch(`/api/lore/${editing.id}`, body) : await post(`/api/sessions/${sessionId}/lore`, body);
        notice.textContent = res.warnings?.length ? `Saved. ${warningsText(res.warnings)}` : 'Saved.';
        reset();
        await refresh();
      } catch (err) {
        error.show(err);
      }
    });
  });

  // ---- rolling summary ------------------------------------------------
  const sumError = alertBox();
  const sumStatus = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite' });
  const sumText = h('textarea', { id: 'summary-content', name: 'content', rows: 6, maxlength: 8000 });
  const sumSave = h('button', { type: 'submit', class: 'btn btn-secondary btn-small' }, 'Save summary');
  const sumRemove = h('button', { type: 'button', class: 'btn btn-quiet btn-small' }, 'Remove');
  const sumForm = h('form', { class: 'summary-form', 'aria-label': 'Rolling summary' },
    h('div', { class: 'field' }, h('label', { for: 'summary-content' },
      'The story so far (your text stays at the top; the DM adds to it as play goes on)'), sumText),
    sumError, h('div', { class: 'inline' }, sumSave, sumRemove));
  function showSummary(s) {
    sumText.value = s?.content ?? '';
    if (!s) {
      sumStatus.textContent = 'No summary yet: one is written once the story outgrows what the DM keeps in view.';
    } else {
      sumStatus.textContent = `${s.edited ? 'Edited by you; ' : ''}updated ${formatTime(s.updated_at)}.`;
    }
  }
  async function refreshSummary() {
    const { summary } = await get(`/api/sessions/${sessionId}/summary`);
    showSummary(summary);
  }
  async function saveSummary(button, content) {
    sumError.clear();
    await busy(button, 'Saving…', async () => {
      try {
        const { summary } = await put(`/api/sessions/${sessionId}/summary`, { content });
        showSummary(summary);
      } catch (err) {
        sumError.show(err);
      }
    });
  }
  sumForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    saveSummary(sumSave, sumText.value);
  });
  sumRemove.addEventListener('click', () => saveSummary(sumRemove, ''));

  // ---- exports --------------------------------------------------------
  const exportStatus = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite' });
  const exportLinks = h('ul', { class: 'export-list', 'aria-label': 'Exports' });
  function exportButton(format, label) {
    const b = h('button', { type: 'button', class: 'btn btn-secondary btn-small' }, label);
    b.addEventListener('click', () => busy(b, 'Exporting…', async () => {
      try {
        let { export: ex } = await post(`/api/sessions/${sessionId}/exports`, { format });
        exportStatus.textContent = 'Writing the export…';
        for (let i = 0; ex.status === 'pending' && i < 120; i++) {
          await new Promise((r) => setTimeout(r, 500));
          ({ export: ex } = await get(`/api/exports/${ex.id}`));
        }
        if (ex.status === 'ready' && ex.download_url) {
          exportStatus.textContent = 'Ready.';
          exportLinks.prepend(h('li', {}, h('a', { href: ex.download_url, download: '' }, `Download ${label}`)));
        } else {
          exportStatus.textContent = ex.error ? `The export failed: ${ex.error}` : 'The export is taking long; try again later.';
        }
      } catch (err) {
        exportStatus.textContent = '';
        error.show(err);
      }
    }));
    return b;
  }

  refresh().catch((err) => error.show(err));
  refreshSummary().catch((err) => sumError.show(err));
  const el = h('div', { class: 'panel-inner' },
    h('section', { class: 'panel-section', 'aria-labelledby': 'lore-title-h' },
      h('h2', { id: 'lore-title-h' }, 'Lore'), notice, list, form),
    h('section', { class: 'panel-section', 'aria-labelledby': 'summary-title' },
      h('h2', { id: 'summary-title' }, 'Summary'), sumStatus, sumForm),
    h('section', { class: 'panel-section', 'aria-labelledby': 'export-title' },
      h('h2', { id: 'export-title' }, 'Export'),
      h('div', { class: 'inline' }, exportButton('json', 'JSON'), exportButton('markdown', 'Markdown')),
      exportStatus, exportLinks));
  return { el };
}

/**
 * importControls lets a player import a character card (PNG or JSON) or a
 * JSON export of a session; onDone(kind, result) follows a success.
 */
export function importControls(onDone) {
  const error = alertBox();
  const status = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite' });
  function picker(id, label, accept, kind, route, key) {
    const input = h('input', { id, type: 'file', accept });
    input.addEventListener('change', async () => {
      const file = input.files?.[0];
      if (!file) return;
      error.clear();
      status.textContent = 'Uploading…';
      try {
        const asset = await uploadAsset(kind, file, (p) => { status.textContent = `Uploading… ${Math.round(p * 100)}%`; });
        status.textContent = 'Reading…';
        const res = await post(route, { asset_id: asset.id });
        const notes = [...(res.warnings ?? []),
          ...(res.skipped ?? []).map((s) => `${s.count} ${s.what.replace('_', ' ')} not restored: ${s.reason}.`)];
        status.textContent = notes.length ? `Imported. ${notes.join(' ')}` : 'Imported.';
        if (key === 'session') await embeddingProgress(res.session.id, notes);
        onDone(key, res[key]);
      } catch (err) {
        status.textContent = '';
        error.show(err);
      } finally {
        input.value = '';
      }
    });
    return h('div', { class: 'field' }, h('label', { for: id }, label), input);
  }
  // embeddingProgress polls an imported session's embedding until every
  // message is remembered (or the player opens it anyway), showing how far
  // it got: until then memory search finds the old messages by keyword only.
  const bar = h('progress', { id: 'import-progress', max: 1, value: 0, hidden: true, 'aria-label': 'Import progress' });
  const openNow = h('button', { type: 'button', class: 'btn btn-quiet btn-small', hidden: true }, 'Open it now');
  async function embeddingProgress(sessionId, notes) {
    let skip = false;
    const stop = () => { skip = true; };
    openNow.addEventListener('click', stop, { once: true });
    bar.hidden = false;
    openNow.hidden = false;
    try {
      for (let i = 0; !skip && i < 600; i++) {
        const { import: p } = await get(`/api/sessions/${sessionId}/import`);
        bar.max = Math.max(p.total, 1);
        bar.value = p.embedded;
        status.textContent = `${notes.length ? `${notes.join(' ')} ` : ''}Remembering the imported messages… ${p.embedded} of ${p.total}.`;
        if (p.status === 'ready') return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally {
      openNow.removeEventListener('click', stop);
      bar.hidden = true;
      openNow.hidden = true;
    }
  }
  return h('section', { class: 'card import-card', 'aria-labelledby': 'import-title' },
    h('h2', { id: 'import-title' }, 'Import'),
    picker('import-card', 'A character card (Tavern V2/V3, PNG or JSON)', 'image/png,application/json', 'card', '/api/characters/import', 'character'),
    picker('import-export', 'An exported adventure (JSON)', 'application/json', 'export', '/api/sessions/import', 'session'),
    status, h('div', { class: 'inline' }, bar, openNow), error);
}
