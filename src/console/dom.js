// Small DOM helpers shared by the views: element building (text only, never
// HTML strings, so nothing a customer writes can become markup), names,
// times, toasts and the confirmation dialog.

export const $ = (selector, root = document) => root.querySelector(selector);

/**
 * h('button', {class: 'x', dataset: {action: 'accept'}, onclick}, 'Accept')
 * Attributes whose value is false, null or undefined are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else if (key === 'class') element.className = value;
    else element.setAttribute(key, value === true ? '' : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

export function initials(name = '') {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const letters = words.length === 1 ? words[0][0] : words[0][0] + words[words.length - 1][0];
  return letters.toUpperCase();
}

export const STATUS_LABELS = {
  pending: 'Pending',
  working_on: 'Working on',
  resolved: 'Resolved',
  archived: 'Archived',
};

const CHANNEL_KINDS = { chat: 'Chat', email: 'E-mail', api: 'API' };

/**
 * "Chat · Website chat": the channel a customer ticket came through (§9.5),
 * as text, so it reads the same to everyone and to screen readers.
 */
export function channelBadge(channel, attrs = {}) {
  const known = Object.hasOwn(CHANNEL_KINDS, channel.kind);
  const kind = known ? CHANNEL_KINDS[channel.kind] : String(channel.kind);
  return h('span', { class: `channel-badge channel-${known ? channel.kind : 'other'}`, title: `${kind} channel: ${channel.name}`, ...attrs },
    `${kind} · ${channel.name}`);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });

/** "14:05" today, "12 Mar, 14:05" otherwise. */
export function formatTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return (today ? timeFormat : dateFormat).format(date);
}

/** "just now", "5 min ago", "3 h ago", or a date. */
export function relativeTime(iso) {
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return formatTime(iso);
}

// --- toasts ---------------------------------------------------------------

/** At most this many toasts at once, so they never pile up over the page. */
const MAX_TOASTS = 2;

/**
 * Shows a toast in #toasts. `action` ({label, run}) adds a button.
 * Toasts go away by themselves after `timeout` ms, or when clicked away.
 */
export function toast(text, { kind = 'info', action = null, timeout = 6000 } = {}) {
  const close = () => element.remove();
  const element = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', { class: 'toast-text' }, text),
    action && h('button', { type: 'button', class: 'link', onclick: () => { close(); action.run(); } }, action.label),
    h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', onclick: close }, '×'));
  $('#toasts').append(element);
  while ($('#toasts').children.length > MAX_TOASTS) $('#toasts').firstElementChild.remove();
  setTimeout(close, timeout);
  return element;
}

// --- dialogs --------------------------------------------------------------

/** Asks a yes/no question in #confirm-dialog; resolves true for OK. */
export function confirmDialog(text, okLabel = 'OK') {
  const dialog = $('#confirm-dialog');
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = okLabel;
  return new Promise((resolve) => {
    const finish = (answer) => {
      $('#confirm-ok').onclick = $('#confirm-cancel').onclick = dialog.oncancel = null;
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    $('#confirm-ok').onclick = () => finish(true);
    $('#confirm-cancel').onclick = () => finish(false);
    dialog.oncancel = (event) => { event.preventDefault(); finish(false); };
    dialog.showModal();
    $('#confirm-cancel').focus();
  });
}

/**
 * A dialog with custom content (#panel-dialog): `build(close)` returns the
 * body's elements. Resolves when the dialog is closed.
 */
export function panelDialog(title, build) {
  const dialog = $('#panel-dialog');
  return new Promise((resolve) => {
    const close = () => { if (dialog.open) dialog.close(); };
    dialog.onclose = () => { dialog.onclose = null; resolve(); };
    $('#panel-title').textContent = title;
    $('#panel-body').replaceChildren(...build(close).filter(Boolean));
    $('#panel-close').onclick = close;
    dialog.showModal();
  });
}
