// The open ticket's action buttons. A button is shown only when the caller's
// role (docs/protocol.md §4) and the ticket's status allow the step; it is
// disabled while another agent's claim or hard lock would refuse it.

import { $, h, toast, confirmDialog, panelDialog } from './dom.js';

/** [action, label, needs the claim to be free or ours] in toolbar order. */
const BUTTONS = [
  ['accept', 'Accept', true],
  ['assign-me', 'Assign to me', true],
  ['return', 'Return', true],
  ['resolve', 'Resolve', true],
  ['reopen', 'Reopen', true],
  ['transfer', 'Transfer…', true],
  ['archive', 'Archive', true],
  ['lock', 'Lock', true],
  ['unlock', 'Unlock', false],
  ['share', 'Share…', false],
  ['followers', 'Followers…', false],
  ['mark-unread', 'Mark unread', false],
  ['delete', 'Delete', true],
];

export class Actions {
  constructor(ctx, view) {
    this.ctx = ctx;
    this.view = view;
  }

  get me() { return this.ctx.state.me; }

  /** Which actions the caller may take on the ticket as it is now. */
  allowed(detail, presence) {
    const me = this.me;
    const member = me.role === 'admin' || me.inboxes.includes(detail.inbox);
    const sharedWithMe = detail.shared_with.some((agent) => agent.id === me.id);
    const canWork = me.role === 'admin' || (me.role === 'agent' && (member || sharedWithMe));
    const status = detail.status;
    const free = status === 'pending' && !detail.assignee;
    const lock = presence?.lock ?? null;
    return new Set([
      canWork && free && 'accept',
      canWork && !free && detail.assignee !== me.id && 'assign-me',
      canWork && !free && 'return',
      canWork && (status === 'pending' || status === 'working_on') && 'resolve',
      canWork && (status === 'resolved' || status === 'archived') && 'reopen',
      canWork && 'transfer',
      canWork && status !== 'archived' && 'archive',
      canWork && !lock && 'lock',
      lock && (lock.agent.id === me.id || me.role === 'admin') && 'unlock',
      canWork && 'share',
      canWork && 'followers',
      'mark-unread',
      canWork && 'delete',
    ].filter(Boolean));
  }

  /** Why a claim-bound action would be refused right now, or null. */
  #blocked(presence) {
    const holder = presence?.claim?.agent;
    if (holder && holder.id !== this.me.id) return `${holder.name} is working on this — take it over first`;
    const lock = presence?.lock;
    if (lock && lock.agent.id !== this.me.id && this.me.role !== 'admin') return `Locked by ${lock.agent.name}`;
    return null;
  }

  render() {
    const { detail, presence } = this.view;
    const allowed = this.allowed(detail, presence);
    const blocked = this.#blocked(presence);
    $('#ticket-actions').replaceChildren(...BUTTONS.filter(([action]) => allowed.has(action)).map(([action, label, needsClaim]) => {
      const disabled = needsClaim && blocked;
      return h('button', {
        type: 'button',
        class: `action${action === 'delete' ? ' danger' : ''}${action === 'accept' ? ' primary' : ''}`,
        dataset: { action },
        disabled: Boolean(disabled),
        title: disabled || null,
        onclick: () => this.run(action),
      }, label);
    }));
  }

  async run(action) {
    const id = this.view.id;
    const { api } = this.ctx;
    const step = (name) => api.post(`/api/tickets/${id}/${name}`);
    const handlers = {
      accept: () => step('accept'),
      'assign-me': () => api.post(`/api/tickets/${id}/assign`, { agent: this.me.id }),
      return: () => step('return'),
      resolve: () => step('resolve'),
      reopen: () => step('reopen'),
      archive: () => step('archive'),
      lock: () => api.put(`/api/tickets/${id}/lock`),
      unlock: () => api.del(`/api/tickets/${id}/lock`),
      transfer: () => this.#transfer(),
      share: () => this.#people('share'),
      followers: () => this.#people('followers'),
      'mark-unread': () => this.#markUnread(),
      delete: () => this.#delete(),
    };
    try {
      await handlers[action]();
      if (this.view.id === id) await this.view.refresh();
    } catch (error) {
      this.ctx.toastError(error);
    }
  }

  async #markUnread() {
    await this.ctx.api.post(`/api/tickets/${this.view.id}/unread`);
    toast(`#${this.view.detail.number} marked unread.`);
    this.ctx.backToList();
  }

  async #delete() {
    const { number } = this.view.detail;
    if (!await confirmDialog(`Delete #${number}? Nobody will be able to open it any more.`, 'Delete')) return;
    await this.ctx.api.del(`/api/tickets/${this.view.id}`);
    this.ctx.backToList();
  }

  async #transfer() {
    const { detail } = this.view;
    await this.ctx.loadDirectory();
    const inboxes = h('select', { id: 'transfer-inbox' },
      h('option', { value: '' }, 'Same inbox'),
      ...this.ctx.state.inboxes.filter((i) => i.id !== detail.inbox).map((i) => h('option', { value: i.id }, i.name)));
    const agents = this.#agentSelect('transfer-agent', 'Keep the assignee');
    await panelDialog(`Transfer #${detail.number}`, (close) => [
      h('label', {}, 'Inbox', inboxes),
      h('label', {}, 'Agent', agents),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', onclick: close }, 'Cancel'),
        h('button', {
          type: 'button', class: 'primary',
          onclick: async () => {
            const body = {};
            if (inboxes.value) body.inbox = inboxes.value;
            if (agents.value) body.agent = agents.value;
            if (!body.inbox && !body.agent) return toast('Choose an inbox or an agent.', { kind: 'warn' });
            try {
              await this.ctx.api.post(`/api/tickets/${detail.id}/transfer`, body);
              close();
            } catch (error) {
              this.ctx.toastError(error);
            }
          },
        }, 'Transfer')),
    ]);
  }

  /** The followers or shares of the ticket: list, remove, add. */
  async #people(kind) {
    await this.ctx.loadDirectory();
    const { detail } = this.view;
    const id = detail.id;
    const path = kind === 'share' ? 'shares' : 'followers';
    const listed = () => (kind === 'share' ? this.view.detail.shared_with : this.view.detail.followers);
    const list = h('ul', { class: 'people' });
    const select = this.#agentSelect(`${kind}-agent`, 'Choose a colleague…', kind === 'share');
    const draw = () => list.replaceChildren(...(listed().length ? listed().map((agent) => h('li', {},
      h('span', {}, agent.name),
      h('button', { type: 'button', class: 'link', onclick: () => change(() => this.ctx.api.del(`/api/tickets/${id}/${path}/${agent.id}`)) }, 'Remove')))
      : [h('li', { class: 'empty' }, kind === 'share' ? 'Not shared with anyone.' : 'No followers yet.')]));
    const change = async (request) => {
      try {
        await request();
        await this.view.refresh();
        draw();
      } catch (error) {
        this.ctx.toastError(error);
      }
    };
    draw();
    const sharingOff = kind === 'share' && this.ctx.state.settings?.ticket_sharing_enabled === false;
    await panelDialog(kind === 'share' ? `Share #${detail.number}` : `Followers of #${detail.number}`, (close) => [
      list,
      sharingOff && h('p', { class: 'hint' }, 'Ticket sharing is turned off; an admin can turn it on in Settings.'),
      h('div', { class: 'add-row' }, select,
        h('button', {
          type: 'button', class: 'primary',
          onclick: () => select.value && change(() => this.ctx.api.post(`/api/tickets/${id}/${path}`, { agent: select.value })),
        }, kind === 'share' ? 'Share' : 'Add')),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: close }, 'Done')),
    ]);
  }

  #agentSelect(id, placeholder, withoutLight = true) {
    return h('select', { id },
      h('option', { value: '' }, placeholder),
      ...this.ctx.directory.list({ withoutLight }).map((agent) => h('option', { value: agent.id }, agent.name)));
  }
}
