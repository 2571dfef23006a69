// The settings page (#/settings): the agent's profile and the workspace
// settings (everyone may read them, admins may change them). Entering it
// leaves the inbox area, which releases this tab's ticket (`leave`).

import { $, h, toast } from './dom.js';

const FIELDS = [
  ['ticket_sharing_enabled', 'Ticket sharing', 'bool', 'Agents may share tickets with colleagues of other inboxes.'],
  ['sign_replies', 'Sign replies', 'bool', "Public replies carry the author's name."],
  ['hidden_release_s', 'Release claims of hidden tabs after (s)', 'number', 'A tab hidden this long stops holding its ticket.'],
  ['reconnect_grace_s', 'Reconnect grace (s)', 'number', 'A lost connection keeps its claims this long.'],
  ['hard_lock_auto_unlock_s', 'Hard locks expire after (s)', 'number', 'Empty: hard locks never expire.'],
];

export class SettingsPage {
  /** @param ctx {state, api, client, toastError} */
  constructor(ctx) {
    this.ctx = ctx;
    $('#settings-form').addEventListener('submit', (event) => { event.preventDefault(); this.save(); });
  }

  async show() {
    this.#renderProfile();
    try {
      this.ctx.state.settings = await this.ctx.api.get('/api/settings');
    } catch (error) {
      this.ctx.toastError(error);
    }
    this.#renderSettings();
  }

  #renderProfile() {
    const { me, inboxes } = this.ctx.state;
    const names = me.inboxes.map((id) => inboxes.find((i) => i.id === id)?.name ?? id);
    const row = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
    $('#profile').replaceChildren(
      ...row('Name', me.name), ...row('Handle', `@${me.handle}`), ...row('E-mail', me.email ?? '—'),
      ...row('Role', me.role), ...row('Inboxes', names.join(', ') || '—'),
      ...row('Connection', `${this.ctx.client.state}${this.ctx.client.session ? ` (session ${this.ctx.client.session.slice(-8)})` : ''}`));
  }

  #renderSettings() {
    const settings = this.ctx.state.settings ?? {};
    const admin = this.ctx.state.me.role === 'admin';
    $('#settings-fields').replaceChildren(...FIELDS.map(([key, label, type, help]) => {
      const input = type === 'bool'
        ? h('input', { type: 'checkbox', name: key, checked: Boolean(settings[key]), disabled: !admin })
        : h('input', { type: 'number', name: key, min: '0', step: 'any', value: settings[key] ?? '', disabled: !admin });
      return h('label', { class: `field ${type}` },
        h('span', { class: 'field-label' }, label), input, h('small', {}, help));
    }));
    $('#settings-save').hidden = !admin;
    $('#settings-readonly').hidden = admin;
  }

  async save() {
    const form = $('#settings-form');
    const patch = {};
    for (const [key, , type] of FIELDS) {
      const input = form.elements[key];
      if (type === 'bool') patch[key] = input.checked;
      else if (input.value !== '') patch[key] = Number(input.value);
      else if (key === 'hard_lock_auto_unlock_s') patch[key] = null;
    }
    try {
      this.ctx.state.settings = await this.ctx.api.patch('/api/settings', patch);
      this.#renderSettings();
      toast('Settings saved.');
    } catch (error) {
      this.ctx.toastError(error);
    }
  }
}
