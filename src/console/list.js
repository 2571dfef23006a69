// The ticket list: one queue (or search results) of the chosen inbox, kept
// live from `ticket`, `ticket_moved` and presence frames. A customer ticket
// shows its channel; an e-mail ticket its customer's address and its Cc.

import { withQuery } from './api.js';
import { $, h, relativeTime, STATUS_LABELS, confirmDialog, channelBadge } from './dom.js';
import { presenceBadges } from './presence.js';
import { emailRowFacts } from './email.js';

/** How long a moved ticket stays in the list with its note. */
const MOVED_MS = 3000;

const CHANGE_NOTES = {
  accepted: 'Accepted',
  assigned: 'Assigned',
  unassigned: 'Unassigned',
  returned: 'Returned to Pending',
  transferred: 'Transferred',
};

export class TicketList {
  /** @param ctx {state, api, client, directory, openTicket(id), toastError(e)} */
  constructor(ctx) {
    this.ctx = ctx;
    this.tickets = [];
    this.nextCursor = null;
    this.search = null; // the query whose results are shown, or null
    this.moved = new Map(); // ticket id → {note, timer}
    this.generation = 0; // drops answers of loads that a newer load replaced
    $('#load-more').addEventListener('click', () => this.loadMore());
  }

  get queue() { return this.ctx.state.queue; }

  /** Loads the first page of the current queue (or the shared tickets). */
  async load() {
    const { api, state } = this.ctx;
    const generation = ++this.generation;
    this.search = null;
    this.#clearMoved();
    if (this.queue !== 'shared' && state.inboxId === 'none') {
      this.tickets = [];
      this.nextCursor = null;
      this.#setStatus('You are not a member of any inbox; tickets shared with you are under "Shared with me".');
      return this.render();
    }
    this.#setStatus('Loading…');
    try {
      const page = this.queue === 'shared'
        ? await api.get('/api/me/shared')
        : await api.get(withQuery(`/api/inboxes/${state.inboxId}/tickets`, { view: this.queue, limit: 50 }));
      if (generation !== this.generation) return;
      this.tickets = page.tickets;
      this.nextCursor = page.next_cursor ?? null;
      this.#setStatus(null);
    } catch (error) {
      if (generation !== this.generation) return;
      this.tickets = [];
      this.nextCursor = null;
      this.#setStatus(`Could not load the list: ${error.message}`);
    }
    this.render();
  }

  async loadMore() {
    const { api, state } = this.ctx;
    if (!this.nextCursor) return;
    const generation = this.generation;
    const page = await api.get(withQuery(`/api/inboxes/${state.inboxId}/tickets`, { view: this.queue, limit: 50, cursor: this.nextCursor }));
    if (generation !== this.generation) return;
    const known = new Set(this.tickets.map((t) => t.id));
    this.tickets.push(...page.tickets.filter((t) => !known.has(t.id)));
    this.nextCursor = page.next_cursor ?? null;
    this.render();
  }

  /** Shows search results instead of the queue (`#22` finds ticket 22). */
  async runSearch(query) {
    if (!query.trim()) return this.load();
    const generation = ++this.generation;
    this.#clearMoved();
    this.#setStatus('Searching…');
    try {
      const { tickets } = await this.ctx.api.get(withQuery('/api/search', { q: query.trim() }));
      if (generation !== this.generation) return;
      this.search = query.trim();
      this.tickets = tickets;
      this.nextCursor = null;
      this.#setStatus(null);
    } catch (error) {
      if (generation === this.generation) this.#setStatus(`Search failed: ${error.message}`);
    }
    this.render();
  }

  // --- live updates -----------------------------------------------------

  /** Does a ticket belong in the queue shown? (Shared tickets stay where they are.) */
  belongs(ticket) {
    const { state } = this.ctx;
    if (this.queue === 'shared') return true;
    if (ticket.inbox !== state.inboxId) return false;
    if (this.queue === 'mine') return ticket.assignee === state.me.id && ticket.status !== 'archived';
    return ticket.status === this.queue;
  }

  onTicket({ ticket, change }) {
    const index = this.tickets.findIndex((t) => t.id === ticket.id);
    // Read marks come outside the inbox's order; take only the mark from them.
    if (change.action === 'read' || change.action === 'unread') {
      if (index >= 0) this.tickets[index] = { ...this.tickets[index], unread: ticket.unread };
    } else if (this.search || this.queue === 'shared') {
      if (index >= 0) this.tickets[index] = ticket;
    } else if (this.belongs(ticket)) {
      this.#unmark(ticket.id);
      if (index >= 0) this.tickets.splice(index, 1);
      this.tickets.push(ticket);
      this.tickets.sort((a, b) => b.updated_at.localeCompare(a.updated_at));
    } else if (index >= 0) {
      // The ticket_moved frame that usually follows brings the server's note.
      this.tickets[index] = ticket;
      if (!this.moved.has(ticket.id)) this.#markMoved(ticket.id, noteFor(change, ticket));
    }
    this.render();
  }

  onTicketMoved(frame) {
    const ticket = this.tickets.find((t) => t.id === frame.ticket);
    if (!ticket) return;
    const leftInbox = frame.action === 'deleted'
      || (frame.action === 'transferred' && frame.to?.inbox && frame.to.inbox.id !== ticket.inbox);
    const leaves = this.queue === 'shared' || this.search ? frame.action === 'deleted'
      : leftInbox || this.moved.has(ticket.id) || !this.belongs(ticket);
    if (leaves) this.#markMoved(ticket.id, frame.note);
    this.render();
  }

  #markMoved(id, note) {
    clearTimeout(this.moved.get(id)?.timer);
    const timer = setTimeout(() => {
      this.moved.delete(id);
      this.tickets = this.tickets.filter((t) => t.id !== id);
      this.render();
    }, MOVED_MS);
    this.moved.set(id, { note, timer });
  }

  #unmark(id) {
    clearTimeout(this.moved.get(id)?.timer);
    this.moved.delete(id);
  }

  #clearMoved() {
    for (const { timer } of this.moved.values()) clearTimeout(timer);
    this.moved.clear();
  }

  // --- rendering --------------------------------------------------------

  #setStatus(text) {
    const status = $('#list-status');
    status.textContent = text ?? '';
    status.hidden = !text;
  }

  render() {
    const { state } = this.ctx;
    const list = $('#ticket-list');
    const rows = this.tickets.map((ticket) => this.#row(ticket));
    list.replaceChildren(...rows);
    if (rows.length === 0 && $('#list-status').hidden) {
      list.append(h('p', { class: 'empty' }, this.search ? 'No ticket matches.' : 'Nothing here right now.'));
    }
    $('#search-banner').hidden = !this.search;
    $('#search-query').textContent = this.search ?? '';
    $('#load-more').hidden = !this.nextCursor || Boolean(this.search);
    for (const tab of document.querySelectorAll('[data-queue]')) {
      tab.classList.toggle('active', tab.dataset.queue === state.queue);
      tab.setAttribute('aria-selected', String(tab.dataset.queue === state.queue));
    }
  }

  #row(ticket) {
    const { state, directory } = this.ctx;
    const moved = this.moved.get(ticket.id);
    const open = state.openTicketId === ticket.id;
    const canForce = state.me.role !== 'light' && !moved;
    const assignee = ticket.assignee && (ticket.assignee === state.me.id ? 'you' : directory.name(ticket.assignee));
    const row = h('div', {
      class: `ticket-row${ticket.unread ? ' unread' : ''}${moved ? ' moved' : ''}${open ? ' selected' : ''}`,
      role: 'listitem', tabindex: '0',
      dataset: { ticketId: ticket.id, number: String(ticket.number) },
      onclick: () => this.ctx.openTicket(ticket.id),
      onkeydown: (event) => { if (event.key === 'Enter') this.ctx.openTicket(ticket.id); },
    },
    h('div', { class: 'row-top' },
      h('span', { class: 'number' }, `#${ticket.number}`),
      h('span', { class: 'subject' }, ticket.subject),
      h('time', { class: 'when', datetime: ticket.updated_at, title: new Date(ticket.updated_at).toLocaleString() }, relativeTime(ticket.updated_at))),
    h('div', { class: 'row-bottom' },
      ticket.channel?.kind === 'email' ? emailRowFacts(ticket) : h('span', { class: 'customer' }, ticket.customer.name),
      ticket.channel && channelBadge(ticket.channel, { 'data-test': 'channel-badge' }),
      h('span', { class: `status status-${ticket.status}` }, STATUS_LABELS[ticket.status] ?? ticket.status),
      assignee && h('span', { class: 'assignee' }, `→ ${assignee}`),
      h('span', { class: 'presence' }, presenceBadges(state.presence.get(ticket.id), state.me.id,
        canForce ? (holder) => this.#forceRelease(ticket, holder) : null))),
    moved && h('div', { class: 'moved-note' }, moved.note));
    return row;
  }

  async #forceRelease(ticket, holder) {
    const ok = await confirmDialog(`Force-release ${holder.name}'s claim on #${ticket.number}?`, 'Release');
    if (ok) this.ctx.client.forceRelease(ticket.id);
  }
}

/** A note for a ticket that left the queue, until the server's own note arrives. */
function noteFor(change, ticket) {
  const what = CHANGE_NOTES[change.action] ?? STATUS_LABELS[ticket.status] ?? 'Updated';
  return change.by ? `${what} by ${change.by.name}` : what;
}
