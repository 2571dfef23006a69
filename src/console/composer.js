// The composer of the open ticket: reply or internal note, @mention
// suggestions, schedule-send, the stale-send guard, and live drafts sent
// to the colleagues viewing the ticket while the agent types.

import { $, h, toast, confirmDialog } from './dom.js';

/** Typing is sent as a draft at most this often (the server coalesces too). */
const DRAFT_EVERY_MS = 250;
/** "@" plus the handle being typed, right before the caret (the server's mention rule). */
const MENTION_AT_CARET = /(?:^|[^\p{L}\p{N}._@-])@([a-z0-9_-]*)$/iu;

export class Composer {
  /** @param ctx {state, api, client, directory, toastError} @param view the TicketView */
  constructor(ctx, view) {
    this.ctx = ctx;
    this.view = view;
    this.form = $('#composer');
    this.body = $('#composer-body');
    this.scheduleAt = $('#schedule-at');
    this.suggestions = $('#mention-suggestions');
    this.reset(null);
    this.form.addEventListener('submit', (event) => { event.preventDefault(); this.send(); });
    this.body.addEventListener('input', () => this.#typed());
    this.body.addEventListener('keydown', (event) => this.#keydown(event));
    this.body.addEventListener('blur', () => setTimeout(() => this.#hideSuggestions(), 150));
    this.body.addEventListener('click', () => this.#updateSuggestions());
    this.scheduleAt.addEventListener('input', () => this.render());
    for (const button of this.form.querySelectorAll('[data-mode]')) {
      button.addEventListener('click', () => this.setMode(button.dataset.mode));
    }
  }

  /** Starts over for another ticket (or none). */
  reset(ticketId) {
    clearTimeout(this.draftTimer);
    this.draftTimer = null;
    this.ticketId = ticketId;
    this.texts = { reply: '', note: '' };
    this.sentDrafts = { reply: '', note: '' };
    this.mode = this.#mayReply() ? 'reply' : 'note';
    this.body.value = '';
    this.scheduleAt.value = '';
    this.#hideSuggestions();
    this.render();
  }

  /** Takes the agent's own drafts (from `opened` or the detail) into the composer. */
  restoreOwnDrafts(drafts) {
    for (const draft of drafts) {
      if (draft.agent.id !== this.ctx.state.me.id || this.texts[draft.kind]) continue;
      this.texts[draft.kind] = this.sentDrafts[draft.kind] = draft.body;
    }
    this.body.value = this.texts[this.mode];
  }

  #mayReply() {
    return this.ctx.state.me?.role !== 'light';
  }

  setMode(mode) {
    if (mode === 'reply' && !this.#mayReply()) return;
    this.flushDraft();
    this.texts[this.mode] = this.body.value;
    this.mode = mode;
    this.body.value = this.texts[mode];
    this.render();
    this.body.focus();
  }

  render() {
    const reply = this.mode === 'reply';
    for (const button of this.form.querySelectorAll('[data-mode]')) {
      const active = button.dataset.mode === this.mode;
      button.classList.toggle('active', active);
      button.setAttribute('aria-pressed', String(active));
      button.hidden = button.dataset.mode === 'reply' && !this.#mayReply();
    }
    this.form.classList.toggle('note-mode', !reply);
    $('#schedule-field').hidden = !reply;
    this.body.placeholder = reply
      ? 'Write a reply to the customer…'
      : 'Write an internal note. @mention colleagues to notify them…';
    $('#send').textContent = !reply ? 'Add note' : this.scheduleAt.value ? 'Schedule reply' : 'Send reply';
    $('#composer-hint').textContent = this.view.composerHint(this.mode);
  }

  // --- live drafts ------------------------------------------------------

  #typed() {
    this.texts[this.mode] = this.body.value;
    this.#updateSuggestions();
    if (!this.draftTimer) this.draftTimer = setTimeout(() => this.flushDraft(), DRAFT_EVERY_MS);
  }

  /** Sends what changed since the last draft frame (an empty body clears it). */
  flushDraft() {
    clearTimeout(this.draftTimer);
    this.draftTimer = null;
    if (!this.ticketId) return;
    const kind = this.mode;
    const text = this.body.value;
    if (text === this.sentDrafts[kind]) return;
    if (this.ctx.client.draft(this.ticketId, kind, text)) this.sentDrafts[kind] = text;
  }

  // --- sending ----------------------------------------------------------

  async send() {
    const text = this.body.value;
    if (!text.trim() || !this.ticketId) return;
    const kind = this.mode;
    const payload = { kind, body: text };
    if (kind === 'reply') {
      if (this.scheduleAt.value) payload.send_at = new Date(this.scheduleAt.value).toISOString();
      // Stale-send guard: the newest message this agent has seen.
      const seen = this.view.lastSentMessage();
      if (seen) payload.after = seen.id;
    }
    $('#send').disabled = true;
    try {
      const message = await this.#post(payload);
      if (!message) return;
      this.#sent(kind, message);
    } catch (error) {
      this.ctx.toastError(error);
    } finally {
      $('#send').disabled = false;
    }
  }

  async #post(payload) {
    const path = `/api/tickets/${this.ticketId}/messages`;
    try {
      return await this.ctx.api.post(path, payload);
    } catch (error) {
      if (error.code !== 'stale') throw error;
      const count = error.newer.length;
      const ok = await confirmDialog(
        `${count} new message${count === 1 ? '' : 's'} arrived while you were writing. Send your reply anyway?`,
        'Send anyway');
      return ok ? this.ctx.api.post(path, { ...payload, force: true }) : null;
    }
  }

  #sent(kind, message) {
    // Sending cleared the server's draft of this kind.
    this.texts[kind] = this.sentDrafts[kind] = '';
    if (this.mode === kind) this.body.value = '';
    this.scheduleAt.value = '';
    this.view.upsertMessage(message);
    for (const skipped of message.skipped_mentions ?? []) {
      const why = skipped.reason === 'no_access' ? 'cannot see this ticket' : 'your role cannot add followers';
      toast(`@${skipped.handle} was not notified: ${why}.`, { kind: 'warn' });
    }
    if (message.state === 'scheduled') toast(`Reply scheduled for ${new Date(message.send_at).toLocaleString()}.`);
    this.render();
  }

  // --- @mentions --------------------------------------------------------

  #updateSuggestions() {
    const before = this.body.value.slice(0, this.body.selectionStart);
    const match = before.match(MENTION_AT_CARET);
    const agents = match ? this.ctx.directory.suggest(match[1], this.ctx.state.me.id) : [];
    if (agents.length === 0) return this.#hideSuggestions();
    this.active = Math.min(this.active ?? 0, agents.length - 1);
    this.suggestions.replaceChildren(...agents.map((agent, i) => {
      const handle = this.ctx.directory.handleOf(agent);
      return h('li', {
        role: 'option', dataset: { handle }, class: i === this.active ? 'active' : '',
        'aria-selected': String(i === this.active),
        onmousedown: (event) => { event.preventDefault(); this.#pick(handle); },
      }, h('span', { class: 'name' }, agent.name), h('span', { class: 'handle' }, `@${handle}`));
    }));
    this.suggestions.hidden = false;
  }

  #hideSuggestions() {
    this.suggestions.hidden = true;
    this.suggestions.replaceChildren();
    this.active = 0;
  }

  #pick(handle) {
    const caret = this.body.selectionStart;
    const before = this.body.value.slice(0, caret).replace(/@[a-z0-9_-]*$/i, `@${handle} `);
    this.body.value = before + this.body.value.slice(caret);
    this.body.setSelectionRange(before.length, before.length);
    this.#hideSuggestions();
    this.#typed();
    this.body.focus();
  }

  #keydown(event) {
    if ((event.ctrlKey || event.metaKey) && event.key === 'Enter') {
      event.preventDefault();
      this.send();
      return;
    }
    if (this.suggestions.hidden) return;
    const items = [...this.suggestions.children];
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      this.active = (this.active + (event.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      this.#updateSuggestions();
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      event.preventDefault();
      this.#pick(items[this.active].dataset.handle);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      this.#hideSuggestions();
    }
  }
}
