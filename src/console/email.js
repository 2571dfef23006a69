// The e-mail side of a ticket (docs/protocol.md §9.7): who a mail came from
// or goes to, a mail's body with the quoted conversation and the signature
// folded away, its attachments, and where a reply is on its way to the
// customer (`delivery`). Everything is built as text, like the rest of the
// console: no part of a mail ever becomes markup.

import { h, formatTime } from './dom.js';

/** What a folded part's toggle offers, by `email.folds[].kind`. */
const FOLD_LABELS = {
  quote: ['Show quoted text', 'Hide quoted text'],
  signature: ['Show signature', 'Hide signature'],
};

const DELIVERY_LABELS = { queued: 'Queued', sent: 'Sent', failed: 'Not delivered' };
/** A delivery only moves forward: queued (attempt after attempt), sent, failed (a bounce fails a sent one). */
const DELIVERY_ORDER = { queued: 0, sent: 1, failed: 2 };

/** "Ada Lovelace <ada@example.com>", or the bare address when it has no name. */
function mailboxText({ name, address }) {
  return name && name !== address ? `${name} <${address}>` : address;
}

function mailboxList(mailboxes) {
  return mailboxes.map(mailboxText).join(', ');
}

/** "812 B", "47.1 KB", "3.2 MB". */
function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

// --- the ticket -------------------------------------------------------------

/**
 * The header's e-mail facts: where replies go (the customer's address) and
 * who is copied on them (the ticket's participants).
 */
export function emailChannelFacts(channel, customer) {
  const participants = channel.participants ?? [];
  return [
    h('span', { class: 'email-to', 'data-test': 'email-customer', title: 'Replies are e-mailed to this address' },
      `Replies to ${customer.contact}`),
    participants.length > 0 && h('span', { class: 'email-cc', 'data-test': 'email-participants' },
      `Cc ${mailboxList(participants)}`),
  ];
}

/** "ada@example.com, Cc Bob Stone <bob@client.example>": who a reply goes to. */
export function replyRecipients(channel, customer) {
  const cc = channel.participants ?? [];
  return cc.length > 0 ? `${customer.contact}, Cc ${mailboxList(cc)}` : customer.contact;
}

/** A list row's customer of an e-mail ticket: name and address, and how many are in Cc. */
export function emailRowFacts(ticket) {
  const participants = ticket.channel.participants ?? [];
  const { name, contact } = ticket.customer;
  return [
    h('span', { class: 'customer', 'data-test': 'row-customer', title: contact }, mailboxText({ name, address: contact })),
    participants.length > 0 && h('span', { class: 'cc-count', 'data-test': 'row-cc', title: `Cc ${mailboxList(participants)}` },
      `+${participants.length} Cc`),
  ];
}

// --- a message --------------------------------------------------------------

/** "From … · Cc …" of a customer's mail, "To … · Cc …" of a reply. */
export function messageAddresses(message) {
  const { from, to, cc } = message.email;
  const parts = message.kind === 'customer'
    ? [from && `From ${mailboxText(from)}`]
    : [to.length > 0 && `To ${mailboxList(to)}`];
  if (cc.length > 0) parts.push(`Cc ${mailboxList(cc)}`);
  const text = parts.filter(Boolean).join(' · ');
  return text && h('div', { class: 'email-addresses', 'data-test': 'email-addresses' }, text);
}

/**
 * A mail's body: its text, with each fold (`email.folds`: line ranges of the
 * body split at "\n") folded behind a toggle. `unfolded` holds the folds the
 * agent opened (`messageId:start`), so they stay open when the conversation
 * is drawn again.
 */
export function emailBody(message, unfolded) {
  const lines = message.body.split('\n');
  const parts = [];
  let shown = 0; // lines before this one are drawn
  for (const fold of validFolds(message.email.folds, lines.length)) {
    if (fold.start > shown) parts.push(textPart(lines.slice(shown, fold.start)));
    parts.push(foldPart(fold, lines.slice(fold.start, fold.end), `${message.id}:${fold.start}`, unfolded));
    shown = fold.end;
  }
  if (shown < lines.length) parts.push(textPart(lines.slice(shown)));
  return h('div', { class: 'body email-body' }, parts);
}

/** The folds in order, within the body, without overlaps (a server bug must not hide text twice). */
function validFolds(folds, lineCount) {
  const sorted = [...folds].sort((a, b) => a.start - b.start);
  const valid = [];
  let end = 0;
  for (const fold of sorted) {
    const start = Math.max(fold.start, end);
    const stop = Math.min(fold.end, lineCount);
    if (start >= stop) continue;
    valid.push({ kind: fold.kind, start, end: stop });
    end = stop;
  }
  return valid;
}

function textPart(lines) {
  return h('div', { class: 'email-text' }, lines.join('\n'));
}

function foldPart(fold, lines, key, unfolded) {
  const [show, hide] = FOLD_LABELS[fold.kind] ?? ['Show more', 'Show less'];
  const text = h('div', { class: 'fold-text' }, lines.join('\n'));
  const label = h('span', { class: 'fold-label' });
  const toggle = h('button', { type: 'button', class: 'fold-toggle', 'data-test': 'fold-toggle' },
    h('span', { class: 'fold-dots', 'aria-hidden': 'true' }, '…'), ' ', label);
  const part = h('div', { class: `fold fold-${fold.kind}`, 'data-test': 'fold', dataset: { fold: fold.kind } }, toggle, text);
  const draw = (open) => {
    text.hidden = !open;
    part.dataset.open = String(open);
    toggle.setAttribute('aria-expanded', String(open));
    label.textContent = open ? hide : show;
  };
  toggle.addEventListener('click', () => {
    const open = !unfolded.has(key);
    if (open) unfolded.add(key);
    else unfolded.delete(key);
    draw(open);
  });
  draw(unfolded.has(key));
  return part;
}

/**
 * A message's files: each kept one a button that downloads it with
 * `download(attachment)`, each dropped one with the reason (e.g. "too large").
 */
export function attachmentList(attachments, download) {
  if (attachments.length === 0) return null;
  return h('ul', { class: 'attachments', 'data-test': 'attachments' }, attachments.map((attachment) => h('li', {
    class: `attachment${attachment.dropped ? ' dropped' : ''}`,
    'data-test': 'attachment',
    dataset: { attachmentId: attachment.id },
  },
  attachment.dropped
    ? h('span', { class: 'attachment-name' }, attachment.name)
    : h('button', {
      type: 'button', class: 'link attachment-name', 'data-test': 'attachment-download',
      title: `Download ${attachment.name}`, onclick: () => download(attachment),
    }, attachment.name),
  h('span', { class: 'attachment-size' }, formatSize(attachment.size)),
  attachment.inline && h('span', { class: 'attachment-inline' }, 'inline image'),
  attachment.dropped && h('span', { class: 'attachment-dropped', 'data-test': 'attachment-dropped' }, attachment.dropped))));
}

/** Hands a fetched file to the browser as a download (never shown in the console's origin). */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  h('a', { href: url, download: name }).click();
  // The download has its bytes once it started; a minute is plenty.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Where a reply is on its way to the customer: queued (attempts so far, the
 * last error, the next attempt), sent, or failed with its reason.
 */
export function deliveryLine(delivery) {
  const { state, error } = delivery;
  const label = DELIVERY_LABELS[state] ?? String(state);
  return h('div', { class: `delivery delivery-${state}`, 'data-test': 'delivery', dataset: { state } },
    h('span', { class: 'delivery-state' }, label), ' ',
    h('span', { class: 'delivery-detail' }, deliveryDetail(delivery)),
    error && state !== 'sent' && [' ', h('span', { class: 'delivery-error', 'data-test': 'delivery-error' }, error)]);
}

/**
 * The later of two states of one reply's delivery (either may be missing):
 * by time, and within the same millisecond by how far it got.
 */
export function newestDelivery(a, b) {
  if (!a || !b) return a ?? b ?? null;
  if (a.updated_at !== b.updated_at) return a.updated_at > b.updated_at ? a : b;
  const progress = (d) => [DELIVERY_ORDER[d.state] ?? 0, d.attempts];
  const [pa, pb] = [progress(a), progress(b)];
  return pb[0] > pa[0] || (pb[0] === pa[0] && pb[1] > pa[1]) ? b : a;
}

function deliveryDetail({ state, attempts, error, updated_at: updatedAt, next_attempt_at: nextAt }) {
  if (state === 'sent') return `by e-mail, ${formatTime(updatedAt)}`;
  if (state === 'failed') return attempts > 0 ? `after ${attemptsText(attempts)}:` : '';
  const tried = attempts > 0 ? `${attemptsText(attempts)} so far` : 'waiting to be sent';
  const next = nextAt ? `, next try at ${formatTime(nextAt)}` : '';
  return `${tried}${next}${error ? '; last error:' : ''}`;
}

function attemptsText(attempts) {
  return `${attempts} attempt${attempts === 1 ? '' : 's'}`;
}
