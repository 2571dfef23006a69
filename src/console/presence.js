// Who is who and who is where: the agent directory (for names, @mentions
// and pickers) and the presence badges shown in the list and the ticket.

import { h, initials } from './dom.js';

const STORAGE_KEY = 'tandem.agents';
const MENTION = /(?:^|[^\p{L}\p{N}._@-])@([a-z0-9_-]{1,32})/giu;

/**
 * Agents this tab knows of: loaded from GET /api/colleagues (every active
 * agent's id, handle, name and role), and kept current from what the server
 * sends (presence, authors, followers…). An agent not loaded yet (created
 * since) has its handle learnt from notes whose @handles line up with their
 * `mentions`, or guessed from the name until the next load.
 */
export class Directory {
  constructor() {
    this.agents = new Map();
    try {
      for (const agent of JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]')) this.agents.set(agent.id, agent);
    } catch { /* a broken cache is only a cache */ }
  }

  /** Merges what a frame or answer tells about an agent (AgentRef or Agent). */
  see(agent) {
    if (!agent?.id || !agent.name) return;
    const known = this.agents.get(agent.id) ?? {};
    const merged = { ...known, id: agent.id, name: agent.name };
    if (agent.handle) merged.handle = agent.handle;
    if (agent.role) merged.role = agent.role;
    if ('disabled' in agent) merged.disabled = agent.disabled;
    if (JSON.stringify(known) === JSON.stringify(merged)) return;
    this.agents.set(agent.id, merged);
    this.#save();
  }

  seeAll(agents = []) {
    for (const agent of agents) this.see(agent);
  }

  /** Learns handles from a note: its distinct @handles, in order, are its mentions. */
  seeNote(message) {
    if (message.kind !== 'note' || !message.mentions?.length) return;
    const handles = [...new Set([...message.body.matchAll(MENTION)].map((m) => m[1].toLowerCase().replace(/-+$/, '')))];
    if (handles.length !== message.mentions.length) return;
    message.mentions.forEach((agent, i) => this.see({ ...agent, handle: handles[i] }));
  }

  name(id) {
    return this.agents.get(id)?.name ?? null;
  }

  handleOf(agent) {
    return agent.handle ?? agent.name.toLowerCase().normalize('NFD').replace(/[^a-z0-9_-]/g, '');
  }

  /** Active agents, optionally without light agents (who cannot be assigned or shared with). */
  list({ withoutLight = false } = {}) {
    return [...this.agents.values()]
      .filter((agent) => !agent.disabled && !(withoutLight && agent.role === 'light'))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Mention suggestions for what follows an "@". */
  suggest(prefix, excludeId) {
    const query = prefix.toLowerCase();
    return this.list()
      .filter((agent) => agent.id !== excludeId)
      .filter((agent) => this.handleOf(agent).startsWith(query) || agent.name.toLowerCase().startsWith(query))
      .slice(0, 8);
  }

  #save() {
    try { localStorage.setItem(STORAGE_KEY, JSON.stringify([...this.agents.values()])); } catch { /* full or denied */ }
  }
}

/** Every AgentRef a Presence mentions. */
export function presenceAgents(presence) {
  return [presence?.claim?.agent, presence?.lock?.agent, ...(presence?.viewers ?? [])].filter(Boolean);
}

function badge(kind, agent, { dimmed, me, title }) {
  return h('span', {
    class: `badge ${kind}${dimmed ? ' dimmed' : ''}${me ? ' me' : ''}`,
    dataset: { agent: agent.id },
    title: agent.name,
    'aria-label': title,
  }, initials(agent.name));
}

/**
 * The badges of one ticket: the holder (with the "x" when `onForceRelease`
 * is given and someone else holds it), the other viewers, and the lock.
 * A badge is dimmed when every tab of that agent on the ticket is hidden.
 */
export function presenceBadges(presence, meId, onForceRelease = null) {
  if (!presence) return [];
  const hidden = new Set((presence.viewers ?? []).filter((v) => v.hidden).map((v) => v.id));
  const holder = presence.claim?.agent;
  const parts = [];
  if (holder) {
    const away = hidden.has(holder.id);
    parts.push(badge('holder', holder, {
      dimmed: away, me: holder.id === meId,
      title: `${holder.name} is working on this${away ? ' (tab hidden)' : ''}`,
    }));
    if (onForceRelease && holder.id !== meId) {
      parts.push(h('button', {
        type: 'button', class: 'force-release', title: `Release ${holder.name}'s claim`,
        'aria-label': `Release ${holder.name}'s claim`,
        onclick: (event) => { event.stopPropagation(); onForceRelease(holder); },
      }, '×'));
    }
  }
  for (const viewer of presence.viewers ?? []) {
    if (viewer.id === holder?.id) continue;
    parts.push(badge('viewer', viewer, {
      dimmed: viewer.hidden, me: viewer.id === meId,
      title: `${viewer.name} is viewing${viewer.hidden ? ' (tab hidden)' : ''}`,
    }));
  }
  if (presence.lock) {
    parts.push(h('span', {
      class: 'lock-icon', role: 'img',
      title: `Locked by ${presence.lock.agent.name}`, 'aria-label': `Locked by ${presence.lock.agent.name}`,
    }));
  }
  return parts;
}
