// The open ticket: conversation, presence, banners (someone else holds it,
// your claim was lost, hard lock, moved), colleagues' live drafts, and the
// composer. Actions live in actions.js. A chat ticket also shows its channel
// and its visitor's live state, typing and "Seen" (`visitor` frames, §9.6).
// An e-mail ticket shows where replies go, its mails' folds and attachments,
// and each reply's delivery, live from `delivery` frames (§9.7; email.js).

import { $, h, formatTime, toast, STATUS_LABELS, channelBadge } from './dom.js';
import { presenceBadges, presenceAgents } from './presence.js';
import { Composer } from './composer.js';
import { Actions } from './actions.js';
import { emailChannelFacts, messageAddresses, emailBody, attachmentList, saveBlob, deliveryLine, newestDelivery, replyRecipients } from './email.js';

/** What the header says of a chat ticket's visitor; each text holds its state word. */
const VISITOR_STATES = {
  online: 'Visitor online',
  away: 'Visitor away (tab hidden)',
  gone: 'Visitor gone',
};

export class TicketView {
  /** @param ctx {state, api, client, directory, toastError, backToList(), refreshList()} */
  constructor(ctx) {
    this.ctx = ctx;
    this.t = null; // the open ticket's state, or null
    this.composer = new Composer(ctx, this);
    this.actions = new Actions(ctx, this);
    $('#back').addEventListener('click', () => ctx.backToList());
    $('#take-over').addEventListener('click', () => this.takeOver());
    $('#reclaim').addEventListener('click', () => this.reclaim());
    $('#claim-free').addEventListener('click', () => this.reclaim());
    $('#claim-lost-dismiss').addEventListener('click', () => { this.t.claimLost = null; this.render(); });
    $('#moved-dismiss').addEventListener('click', () => { this.t.movedNote = null; this.render(); });
  }

  get id() { return this.t?.id ?? null; }
  get detail() { return this.t?.detail ?? null; }
  get presence() { return this.t ? this.ctx.state.presence.get(this.t.id) : null; }
  get me() { return this.ctx.state.me; }

  /** Opens a ticket: `open` first (so no message frame is missed), then its detail. */
  async open(id) {
    if (this.t?.id === id) return this.reclaim();
    this.composer.flushDraft();
    this.t = {
      id, detail: null, messages: [], drafts: new Map(), claimLost: null, movedNote: null, lastRelease: null, error: null, visitor: null,
      unfolded: new Set(), // the mail folds the agent opened (email.js)
      deliveries: new Map(), // message id → the newest delivery a frame brought
    };
    this.ctx.state.openTicketId = id;
    this.composer.reset(id);
    this.#show();
    try {
      await this.ctx.client.open(id);
    } catch (error) {
      if (error.code !== 'offline' && this.t?.id === id) return this.#fail(error);
    }
    await this.refresh();
  }

  /** Fetches the detail again (after opening, an action, or a reconnect). */
  async refresh() {
    const id = this.id;
    if (!id) return;
    try {
      const detail = await this.ctx.api.get(`/api/tickets/${id}`);
      if (this.t?.id === id) this.#setDetail(detail);
    } catch (error) {
      if (this.t?.id === id) this.#fail(error);
    }
  }

  /** Leaves the ticket (back to the list): the server releases it. */
  close() {
    if (!this.t) return;
    this.composer.flushDraft();
    this.ctx.client.close(this.t.id);
    this.forget();
  }

  /** Forgets the ticket without telling the server (it already knows). */
  forget() {
    this.t = null;
    this.ctx.state.openTicketId = null;
    this.composer.reset(null);
    this.#show();
  }

  /** Opens the same ticket again: claims it if it is free. */
  reclaim() {
    if (!this.t) return;
    this.t.claimLost = null;
    this.ctx.client.open(this.t.id).catch((error) => this.ctx.toastError(error));
    this.render();
  }

  takeOver() {
    if (!this.t) return;
    this.t.claimLost = null;
    this.ctx.client.takeOver(this.t.id).catch((error) => this.ctx.toastError(error));
  }

  #setDetail(detail) {
    const { directory } = this.ctx;
    this.t.detail = detail;
    this.t.error = null;
    // Keep messages whose frames overtook this answer; the rest is the server's.
    const known = new Set(detail.messages.map((m) => m.id));
    const newest = detail.messages.at(-1)?.created_at ?? '';
    const overtaking = this.t.messages.filter((m) => !known.has(m.id) && m.created_at > newest);
    this.t.messages = [];
    for (const message of [...detail.messages, ...overtaking]) this.upsertMessage(message, false);
    directory.seeAll([...detail.participants ?? [], ...detail.followers, ...detail.shared_with]);
    // `opened` already brought the live presence and drafts; the detail
    // stands in when it did not come (the socket was down).
    if (!this.presence) this.ctx.state.presence.set(detail.id, { ticket: detail.id, number: detail.number, inbox: detail.inbox, claim: detail.claim, viewers: detail.viewers, lock: detail.lock });
    if (!this.t.openedDrafts) this.#setDrafts(detail.drafts);
    this.render();
    this.#renderMessages();
    $('#messages').scrollTop = $('#messages').scrollHeight;
  }

  #fail(error) {
    this.t.error = error.code === 'not_found'
      ? 'This ticket does not exist (any more), or you have no access to it.'
      : `Could not open the ticket: ${error.message}`;
    this.render();
  }

  // --- frames -----------------------------------------------------------

  onOpened(frame) {
    if (frame.ticket !== this.id) return;
    this.t.openedDrafts = true;
    this.#setDrafts(frame.drafts);
    if (frame.claimed) this.t.claimLost = null;
    this.render();
  }

  #setDrafts(drafts) {
    this.t.drafts.clear();
    for (const draft of drafts) this.#putDraft(draft);
    this.composer.restoreOwnDrafts(drafts);
  }

  #putDraft(draft) {
    if (draft.agent.id === this.me.id) return; // our own tabs: the composer has it
    this.ctx.directory.see(draft.agent);
    const key = `${draft.agent.id}:${draft.kind}`;
    if (draft.body) this.t.drafts.set(key, draft);
    else this.t.drafts.delete(key);
  }

  onDraft(frame) {
    if (frame.ticket !== this.id) return;
    this.#putDraft(frame);
    this.#renderDrafts();
  }

  onPresence(frame) {
    if (frame.ticket !== this.id) return;
    const change = frame.change;
    if (change?.agent.id === this.me.id) {
      if (change.kind === 'released') this.t.lastRelease = change.reason;
      if (change.kind === 'claimed') this.t.claimLost = this.t.lastRelease = null;
    }
    this.render();
  }

  /**
   * The visitor of this chat ticket: its state, whether it types, and the
   * newest message it has seen. Sent to tabs that have the ticket open, after
   * `opened` and on every change; a new ticket starts with none (open()).
   */
  onVisitor(frame) {
    if (frame.ticket !== this.id) return;
    const seenBefore = this.t.visitor?.seen ?? null;
    this.t.visitor = frame.visitor;
    if (!this.detail) return; // #setDetail renders it all
    this.#renderChannel();
    this.#renderVisitorActivity();
    if ((frame.visitor.seen ?? null) !== seenBefore) this.#renderMessages();
  }

  onClaimLost(frame) {
    if (frame.ticket !== this.id) return;
    this.t.claimLost = { by: frame.by, reason: frame.reason };
    this.t.lastRelease = frame.reason;
    const text = this.#claimLostText();
    toast(text, { kind: 'warn', timeout: 8000 });
    this.render();
  }

  onMessage(frame) {
    if (frame.ticket !== this.id) return;
    this.upsertMessage(frame.message);
    // A customer message arriving on the ticket in front of the agent is read:
    // mark it so (a chat visitor then sees "Seen"). A hidden tab marks it when shown.
    if (frame.message.kind === 'customer') {
      this.t.unseenCustomer = true;
      if (document.visibilityState === 'visible') this.#markSeenRead();
    }
  }

  #markSeenRead() {
    if (!this.t?.unseenCustomer) return;
    this.t.unseenCustomer = false;
    this.ctx.api.post(`/api/tickets/${this.id}/read`).catch(() => {});
  }

  /**
   * A reply's delivery changed (§9.7). Kept by message, so that a detail
   * fetched before the change cannot bring the older state back.
   */
  onDelivery(frame) {
    if (frame.ticket !== this.id) return;
    this.t.deliveries.set(frame.message, frame.delivery);
    const message = this.t.messages.find((m) => m.id === frame.message);
    if (!message) return;
    const failedNow = frame.delivery.state === 'failed' && message.delivery?.state !== 'failed';
    this.upsertMessage({ ...message, delivery: frame.delivery });
    if (failedNow) toast(`A reply on #${this.detail?.number ?? ''} was not delivered: ${frame.delivery.error ?? 'unknown error'}`, { kind: 'error', timeout: 12000 });
  }

  onMessageRemoved(frame) {
    if (frame.ticket !== this.id) return;
    this.t.messages = this.t.messages.filter((m) => m.id !== frame.message);
    this.#renderMessages();
  }

  onTicket(frame) {
    if (frame.ticket.id !== this.id || !this.detail) return;
    // Read marks come outside the inbox's order: they may carry older fields.
    if (frame.change.action === 'read' || frame.change.action === 'unread') return;
    Object.assign(this.t.detail, frame.ticket);
    this.render();
  }

  onTicketMoved(frame) {
    if (frame.ticket !== this.id) return;
    if (frame.action === 'deleted') {
      toast(`#${frame.number}: ${frame.note}`, { kind: 'warn' });
      this.forget();
      this.ctx.backToList();
      return;
    }
    this.t.movedNote = frame.note;
    this.render();
  }

  onAccessRevoked(frame) {
    if (frame.ticket !== this.id) return;
    toast(`You no longer have access to #${this.detail?.number ?? ''}.`, { kind: 'warn' });
    this.forget();
    this.ctx.backToList();
  }

  /** The tab is visible again: take back a claim that hiding released. */
  onVisible() {
    if (this.t?.lastRelease === 'hidden' && !this.presence?.claim && this.me.role !== 'light') this.reclaim();
    this.#markSeenRead();
  }

  // --- messages ---------------------------------------------------------

  upsertMessage(message, render = true) {
    message = withNewestDelivery(message, this.t.deliveries.get(message.id));
    this.ctx.directory.see(message.author);
    this.ctx.directory.seeAll(message.mentions);
    this.ctx.directory.seeNote(message);
    const index = this.t.messages.findIndex((m) => m.id === message.id);
    if (index >= 0) this.t.messages[index] = message;
    else this.t.messages.push(message);
    // Sent messages by time, then scheduled replies by due time (the server's order).
    const key = (m) => (m.state === 'scheduled' ? `1${m.send_at}` : `0${m.created_at}`);
    this.t.messages.sort((a, b) => key(a).localeCompare(key(b)));
    if (render && this.t.detail) this.#renderMessages();
  }

  lastSentMessage() {
    return this.t?.messages.filter((m) => m.state === 'sent').at(-1) ?? null;
  }

  // --- rendering --------------------------------------------------------

  #show() {
    const open = Boolean(this.t);
    $('#ticket-view').hidden = !open;
    $('#empty-pane').hidden = open;
    $('#ticket-view').dataset.ticketId = this.t?.id ?? '';
    if (open) return this.render();
    // Nothing of the last ticket stays behind (its badges would still match selectors).
    for (const id of ['#ticket-presence', '#messages', '#live-drafts', '#ticket-actions', '#ticket-meta', '#ticket-channel', '#visitor-activity']) $(id).replaceChildren();
    for (const id of ['#holder-banner', '#claim-lost-banner', '#free-banner', '#lock-banner', '#moved-banner', '#ticket-channel']) $(id).hidden = true;
  }

  render() {
    if (!this.t) return;
    const { detail } = this.t;
    $('#ticket-view').classList.toggle('loading', !detail && !this.t.error);
    $('#ticket-error').hidden = !this.t.error;
    $('#ticket-error').textContent = this.t.error ?? '';
    $('#ticket-body').hidden = !detail || Boolean(this.t.error);
    this.#renderHeader();
    this.#renderVisitorActivity();
    if (!detail) return;
    this.ctx.directory.seeAll(presenceAgents(this.presence));
    this.#renderBanners();
    this.#renderDrafts();
    this.actions.render();
    this.composer.render();
  }

  #renderHeader() {
    const { detail } = this.t;
    $('#ticket-title').textContent = detail ? `#${detail.number} ${detail.subject}` : 'Loading…';
    $('#ticket-presence').replaceChildren(...presenceBadges(this.presence, this.me.id));
    this.#renderChannel();
    if (!detail) return $('#ticket-meta').replaceChildren();
    const inbox = this.ctx.state.inboxes.find((i) => i.id === detail.inbox);
    const assignee = !detail.assignee ? 'Unassigned'
      : detail.assignee === this.me.id ? 'Assigned to you'
        : `Assigned to ${this.ctx.directory.name(detail.assignee) ?? 'a colleague'}`;
    $('#ticket-meta').replaceChildren(
      h('span', { class: `status status-${detail.status}` }, STATUS_LABELS[detail.status]),
      h('span', { class: 'customer' }, `${detail.customer.name} <${detail.customer.contact}>`),
      h('span', {}, assignee),
      inbox && h('span', {}, inbox.name),
      ...detail.tags.map((tag) => h('span', { class: 'tag' }, tag)));
  }

  /**
   * A customer ticket's channel: an e-mail's address and Cc, or, once a
   * `visitor` frame told it, a chat visitor's state.
   */
  #renderChannel() {
    const line = $('#ticket-channel');
    const channel = this.t.detail?.channel;
    line.hidden = !channel;
    if (!channel) return line.replaceChildren();
    const facts = channel.kind === 'email' ? emailChannelFacts(channel, this.t.detail.customer) : [this.#visitorState()];
    line.replaceChildren(channelBadge(channel, { 'data-test': 'ticket-channel' }), ...facts.filter(Boolean));
  }

  #visitorState() {
    const visitor = this.t.visitor;
    const state = visitor && Object.hasOwn(VISITOR_STATES, visitor.state) ? visitor.state : null;
    return state && h('span', {
      class: `visitor-state ${state}`, 'data-test': 'visitor-state', dataset: { state },
    }, VISITOR_STATES[state]);
  }

  /** "… is typing…" under the conversation, only while the visitor types. */
  #renderVisitorActivity() {
    const visitor = this.t.detail?.channel ? this.t.visitor : null;
    const text = visitor?.typing && visitor.state !== 'gone' ? `${this.t.detail.customer.name} is typing…` : '';
    const box = $('#visitor-activity');
    if (box.textContent === text) return; // unchanged: no churn for screen readers
    this.#keepBottom(() => box.replaceChildren(...(text ? [h('div', { class: 'visitor-typing', 'data-test': 'visitor-typing' },
      h('span', { class: 'typing-dot' }), text)] : [])));
  }

  /**
   * The agent's own newest sent reply, if the visitor has seen it: the
   * visitor's `seen` message is that reply or comes after it in the list.
   */
  #seenReplyId() {
    const seen = this.t.detail?.channel ? this.t.visitor?.seen : null;
    if (!seen) return null;
    const messages = this.t.messages;
    const seenAt = messages.findIndex((m) => m.id === seen);
    if (seenAt < 0) return null;
    const mine = messages.findLastIndex((m) => m.kind === 'reply' && m.state !== 'scheduled' && m.author?.id === this.me.id);
    return mine >= 0 && seenAt >= mine ? messages[mine].id : null;
  }

  #renderBanners() {
    const presence = this.presence;
    const holder = presence?.claim?.agent;
    const light = this.me.role === 'light';
    const otherHolds = holder && holder.id !== this.me.id;

    $('#holder-banner').hidden = !otherHolds;
    if (otherHolds) {
      $('#holder-text').textContent = light
        ? `${holder.name} is working on this — you are viewing it.`
        : `${holder.name} is working on this — take over?`;
      $('#take-over').hidden = light;
    }

    const lost = this.t.claimLost;
    $('#claim-lost-banner').hidden = !lost;
    if (lost) {
      $('#claim-lost-text').textContent = this.#claimLostText();
      $('#reclaim').hidden = Boolean(holder) || light || lost.reason === 'revoked';
    }

    $('#free-banner').hidden = Boolean(holder || lost || light);
    $('#free-text').textContent = this.t.lastRelease === 'hidden'
      ? 'Your claim was released while this tab was hidden.'
      : 'Nobody is working on this ticket.';

    const lock = presence?.lock;
    $('#lock-banner').hidden = !lock;
    if (lock) {
      const who = lock.agent.id === this.me.id ? 'you' : lock.agent.name;
      const until = lock.expires_at ? ` until ${formatTime(lock.expires_at)}` : '';
      const blocked = lock.agent.id !== this.me.id && this.me.role !== 'admin' ? ' Changes are blocked.' : '';
      $('#lock-banner').textContent = `Hard-locked by ${who}${until}.${blocked}`;
    }

    $('#moved-banner').hidden = !this.t.movedNote;
    $('#moved-text').textContent = this.t.movedNote ?? '';
  }

  #claimLostText() {
    const { by, reason } = this.t.claimLost;
    switch (reason) {
      case 'forced': {
        const free = !this.presence?.claim;
        return `${by?.name ?? 'A colleague'} took over this ticket${free ? ' — your claim was released and nobody holds it now.' : '.'}`;
      }
      case 'expired': return 'Your hard lock expired, and your claim on this ticket with it.';
      case 'revoked': return 'Your role changed: you can still view this ticket, but no longer work on it.';
      case 'moved': return `This ticket was moved${by ? ` by ${by.name}` : ''}; your claim was released.`;
      default: return 'You are no longer working on this ticket.';
    }
  }

  #renderMessages() {
    const seen = this.#seenReplyId();
    this.#keepBottom(() => $('#messages').replaceChildren(...this.t.messages.map((message) => this.#message(message, message.id === seen))));
  }

  /** Runs a change to the pane; a conversation read to its end stays at its end. */
  #keepBottom(change) {
    const box = $('#messages');
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    change();
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  #message(message, seen = false) {
    const { detail } = this.t;
    const author = message.kind === 'customer' ? detail.customer.name : message.author?.name ?? 'Unknown';
    const scheduled = message.state === 'scheduled';
    const mayCancel = scheduled && (message.author?.id === this.me.id || this.me.role === 'admin');
    const label = { customer: 'Customer', reply: 'Reply', note: 'Internal note' }[message.kind];
    const undelivered = message.delivery?.state === 'failed';
    return h('article', {
      class: `message ${message.kind}${scheduled ? ' scheduled' : ''}${undelivered ? ' undelivered' : ''}`,
      dataset: { kind: message.kind, messageId: message.id },
    },
    h('header', {},
      h('span', { class: 'author' }, author),
      h('span', { class: 'kind' }, label),
      h('time', { datetime: message.created_at }, formatTime(message.created_at))),
    message.email && messageAddresses(message),
    message.email ? emailBody(message, this.t.unfolded) : h('div', { class: 'body' }, message.body),
    message.signature && h('div', { class: 'signature' }, `— ${message.signature}`),
    attachmentList(message.attachments ?? [], (attachment) => this.#download(attachment)),
    message.delivery && deliveryLine(message.delivery),
    seen && h('div', { class: 'seen', 'data-test': 'seen' }, 'Seen'),
    scheduled && h('div', { class: 'schedule-info' },
      `Scheduled for ${new Date(message.send_at).toLocaleString()}`,
      mayCancel && h('button', { type: 'button', class: 'link', onclick: () => this.#cancelScheduled(message) }, 'Cancel')));
  }

  /** Fetches an attachment with the agent's token and hands it to the browser. */
  async #download(attachment) {
    try {
      saveBlob(await this.ctx.api.blob(`/api/tickets/${this.id}/attachments/${attachment.id}`), attachment.name);
    } catch (error) {
      this.ctx.toastError(error);
    }
  }

  async #cancelScheduled(message) {
    try {
      await this.ctx.api.del(`/api/tickets/${this.id}/messages/${message.id}`);
      this.onMessageRemoved({ ticket: this.id, message: message.id });
    } catch (error) {
      this.ctx.toastError(error);
    }
  }

  #renderDrafts() {
    this.#keepBottom(() => this.#drawDrafts([...this.t.drafts.values()]));
  }

  #drawDrafts(drafts) {
    $('#live-drafts').hidden = drafts.length === 0;
    $('#live-drafts').replaceChildren(...drafts.map((draft) => h('div', {
      class: `draft ${draft.kind}${draft.outdated ? ' outdated' : ''}`,
      dataset: { agent: draft.agent.id, kind: draft.kind },
    },
    h('div', { class: 'draft-head' },
      h('span', { class: 'typing-dot' }),
      h('strong', {}, draft.agent.name),
      ` is writing ${draft.kind === 'note' ? 'an internal note' : 'a reply'}`,
      draft.outdated ? ' (started before the customer\'s latest message)' : ''),
    h('div', { class: 'draft-body' }, draft.body))));
  }

  /** Why sending may be refused right now, shown under the composer. */
  composerHint(mode) {
    const presence = this.presence;
    const lock = presence?.lock;
    if (lock && lock.agent.id !== this.me.id && this.me.role !== 'admin') return `Locked by ${lock.agent.name}: nothing can be sent.`;
    const holder = presence?.claim?.agent;
    if (mode === 'reply' && holder && holder.id !== this.me.id) return `${holder.name} is working on this: take it over to reply. Internal notes are fine.`;
    if (mode === 'note') return 'Only colleagues see internal notes.';
    const channel = this.detail?.channel;
    return channel?.kind === 'email' ? `Ctrl+Enter sends. It goes by e-mail to ${replyRecipients(channel, this.detail.customer)}.` : 'Ctrl+Enter sends.';
  }
}

/** The message with the newer of its own delivery and one a frame brought. */
function withNewestDelivery(message, known) {
  const delivery = newestDelivery(message.delivery, known);
  return delivery === message.delivery ? message : { ...message, delivery };
}
