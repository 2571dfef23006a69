// The bell: unread count, the notifications panel, and toasts for the
// notifications that ask for attention (mentions, assignments, shares…).

import { withQuery } from './api.js';
import { $, h, toast, relativeTime } from './dom.js';

/** Kinds that pop up as a toast; `update` only counts (followers get many). */
const TOAST_KINDS = new Set(['mention', 'assigned', 'shared', 'unshared', 'lock_expired', 'scheduled_cancelled']);

export class Notifications {
  /** @param ctx {api, directory, openTicket(id), toastError} */
  constructor(ctx) {
    this.ctx = ctx;
    this.items = [];
    this.unread = 0;
    $('#bell').addEventListener('click', (event) => { event.stopPropagation(); this.toggle(); });
    $('#notifications-read-all').addEventListener('click', () => this.markRead(null));
    $('#notifications').addEventListener('click', (event) => event.stopPropagation());
    document.addEventListener('click', () => this.toggle(false));
    document.addEventListener('keydown', (event) => { if (event.key === 'Escape') this.toggle(false); });
  }

  /** Loads the newest notifications and the unread count (again after a reconnect). */
  async load() {
    try {
      const [items, unread] = await Promise.all([
        this.ctx.api.get(withQuery('/api/me/notifications', { limit: 30 })),
        this.ctx.api.get(withQuery('/api/me/notifications', { unread: true, limit: 200 })),
      ]);
      this.items = items;
      this.unread = unread.length;
      for (const item of items) this.ctx.directory.see(item.by);
      this.render();
    } catch (error) {
      this.ctx.toastError(error);
    }
  }

  clear() {
    this.items = [];
    this.unread = 0;
    this.toggle(false);
    this.render();
  }

  /** A live `notification` frame. */
  onNotification({ notification }) {
    if (this.items.some((n) => n.id === notification.id)) return;
    this.ctx.directory.see(notification.by);
    this.items.unshift(notification);
    if (!notification.read) this.unread += 1;
    this.render();
    if (TOAST_KINDS.has(notification.kind)) {
      toast(notification.text, {
        kind: notification.kind === 'mention' ? 'mention' : 'info',
        action: notification.kind === 'unshared' ? null
          : { label: 'Open', run: () => this.#open(notification) },
        timeout: 8000,
      });
    }
  }

  toggle(open = $('#notifications').hidden) {
    $('#notifications').hidden = !open;
    $('#bell').setAttribute('aria-expanded', String(open));
  }

  /** Marks the given notifications read (null: all of them). */
  async markRead(ids) {
    try {
      await this.ctx.api.post('/api/me/notifications/read', ids ? { ids } : {});
      for (const item of this.items) if (!ids || ids.includes(item.id)) item.read = true;
      this.unread = ids ? Math.max(0, this.unread - ids.length) : 0;
      this.render();
    } catch (error) {
      this.ctx.toastError(error);
    }
  }

  async #open(notification) {
    this.toggle(false);
    if (!notification.read) await this.markRead([notification.id]);
    this.ctx.openTicket(notification.ticket.id);
  }

  render() {
    $('#bell-count').textContent = String(this.unread);
    $('#bell-count').classList.toggle('zero', this.unread === 0);
    $('#bell').setAttribute('aria-label', `Notifications: ${this.unread} unread`);
    $('#notifications-read-all').disabled = this.unread === 0;
    const list = $('#notification-list');
    if (this.items.length === 0) {
      list.replaceChildren(h('li', { class: 'empty' }, 'No notifications yet.'));
      return;
    }
    list.replaceChildren(...this.items.map((item) => h('li', {
      class: `notification ${item.kind}${item.read ? '' : ' unread'}`,
      dataset: { notificationId: item.id, kind: item.kind },
      tabindex: '0',
      onclick: () => this.#open(item),
      onkeydown: (event) => { if (event.key === 'Enter') this.#open(item); },
    },
    h('span', { class: 'notification-text' }, item.text),
    h('time', { datetime: item.created_at }, relativeTime(item.created_at)))));
  }
}
