// Tandem live-chat widget, served as GET /widget.js (docs/protocol.md §9).
// One classic script: no imports, no build step, no third-party code.
//
//   <script src="https://tandem.example/widget.js" data-channel="KEY" async></script>
//
// This file owns everything a customer sees and does:
// - the launcher button and the chat panel, drawn in an open shadow root on
//   the host element #tandem-chat (`all: initial` on the host), so the page's
//   CSS cannot reach in and the widget's CSS cannot leak out;
// - the visitor socket, /ws/visitor on the server that served this script:
//   hello and welcome, reconnects with backoff, app-level pings, and the
//   visitor token in localStorage (`tandem.visitor.KEY`);
// - the outbox: a message shows at once, stays in localStorage
//   (`tandem.outbox.KEY`) until its answer comes, and is resent with the same
//   client_id after every reconnect (the server makes that exactly-once);
// - typing, read and visibility frames, the offline contact form, and the
//   page API window.Tandem = {identify, open, close}.
// Bodies and every other text from the server are set with textContent only,
// never parsed as HTML. Tests reach the elements through `data-tandem` hooks.
(function () {
  'use strict';

  const script = document.currentScript || document.querySelector('script[data-channel]');
  const KEY = script && script.dataset.channel;
  if (!KEY) { console.warn('Tandem: the widget script needs a data-channel attribute'); return; }
  if (document.getElementById('tandem-chat')) return; // the script was included twice

  const server = new URL(script.src || location.href, location.href);
  const WS_URL = `${server.protocol === 'https:' ? 'wss:' : 'ws:'}//${server.host}/ws/visitor`;
  const TOKEN_KEY = `tandem.visitor.${KEY}`;
  const OUTBOX_KEY = `tandem.outbox.${KEY}`;
  const FATAL_CLOSE = [4401, 4403]; // identity refused, channel unavailable: retrying cannot help
  const FIRST_DELAY_MS = 500;
  const MAX_DELAY_MS = 15000;
  const PING_MS = 25000; // under the server's three-heartbeat liveness rule (3 × 10 s)
  const TYPING_EVERY_MS = 2000;
  const TYPING_IDLE_MS = 3000;
  // Characters per message. Keeps a message frame (at most 3 bytes a
  // character, plus the envelope) within 16 KiB, under visitor.max_frame_bytes.
  const MAX_BODY = 5000;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const ICON_CHAT = 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z';
  const ICON_CLOSE = 'M6 6l12 12M18 6L6 18';
  const ICON_SEND = 'M3 20l18-8L3 4v6l12 2-12 2z';

  // --- state -----------------------------------------------------------------

  const storage = {
    get(key) { try { return localStorage.getItem(key); } catch (e) { return null; } },
    set(key, value) {
      try {
        if (value === null) localStorage.removeItem(key); else localStorage.setItem(key, value);
      } catch (e) { /* storage blocked: the chat works, it just forgets on reload */ }
    },
  };

  const state = {
    identity: identityFromTag(),
    visitor: null, // welcome.visitor, updated by contact answers
    channel: null, // welcome.channel: name, greeting, offline_message
    online: true,
    connection: 'connecting', // connecting | open | reconnecting | unavailable
    conversations: new Map(), // id → {id, status, read, messages: VisitorMessage[] oldest first}
    held: new Set(), // ids of every message held: incoming messages are deduped here
    newest: null, // newest message held, {id, time}: the hello's last_message
    current: null, // id of the conversation on screen; null before the first message
    outbox: loadOutbox(), // own messages without an answer yet: {client_id, body, who, sent, failed}
    open: false,
    unread: 0, // replies that came while the panel was closed or the page hidden
    typing: '', // "Bianca is typing…" or ''
    contactError: '',
    readSent: new Map(), // conversation id → reply id last sent in a `read` frame
  };

  let ws = null;
  let welcomed = false;
  let attempt = 0;
  let retryTimer = 0;
  let pingTimer = 0;
  let awaitingPong = false;
  let helloIdentity; // JSON of the identity the last hello carried (undefined before any)
  let serverHidden = false;
  let nextRef = 1;
  let typingSentAt = 0;
  let typingIdleTimer = 0;

  function identityFromTag() {
    const data = script.dataset;
    return normalizeIdentity({
      identifier: data.identifier, identifier_hash: data.identifierHash, name: data.name, email: data.email,
    });
  }

  function normalizeIdentity(value) {
    if (!value || !value.identifier) return null;
    if (!value.identifier_hash) console.warn('Tandem: an identity needs identifier_hash (see protocol §9.4)');
    const identity = { identifier: String(value.identifier), identifier_hash: String(value.identifier_hash || '') };
    if (value.name) identity.name = String(value.name);
    if (value.email) identity.email = String(value.email);
    return identity;
  }

  function loadOutbox() {
    try {
      const items = JSON.parse(storage.get(OUTBOX_KEY) || '[]');
      return Array.isArray(items) ? items.filter((item) => item && item.client_id && item.body)
        .map((item) => ({ client_id: item.client_id, body: item.body, who: item.who || '', sent: false, failed: false }))
        : [];
    } catch (e) { return []; }
  }

  function saveOutbox() {
    const items = state.outbox.filter((item) => !item.failed)
      .map((item) => ({ client_id: item.client_id, body: item.body, who: item.who }));
    storage.set(OUTBOX_KEY, items.length ? JSON.stringify(items) : null);
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
    else for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(Math.random() * 256);
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  }

  /** Who writes: the verified identifier, or '' for the anonymous visitor of this browser. */
  const whoOf = (identity) => (identity ? identity.identifier : '');
  const timeOf = (message) => Date.parse(message.created_at) || 0;
  const currentConversation = () => (state.current && state.conversations.get(state.current)) || null;
  const isClosed = (id) => { const conv = id && state.conversations.get(id); return !conv || conv.status === 'closed'; };

  function upsertConversation(data) {
    let conv = state.conversations.get(data.id);
    if (!conv) {
      conv = { id: data.id, status: 'open', read: null, messages: [] };
      state.conversations.set(data.id, conv);
    }
    if (data.status) conv.status = data.status;
    if (data.read !== undefined) conv.read = data.read;
    for (const message of data.messages || []) addMessage(conv, message);
    return conv;
  }

  /** Adds a message unless it is held already; answers whether it was new. */
  function addMessage(conv, message) {
    if (message.client_id) acknowledge(message.client_id);
    if (state.held.has(message.id)) return false;
    state.held.add(message.id);
    const time = timeOf(message);
    let i = conv.messages.length;
    while (i > 0 && timeOf(conv.messages[i - 1]) > time) i -= 1;
    conv.messages.splice(i, 0, message);
    if (!state.newest || time >= state.newest.time) state.newest = { id: message.id, time };
    return true;
  }

  function acknowledge(clientId) {
    const before = state.outbox.length;
    state.outbox = state.outbox.filter((item) => item.client_id !== clientId);
    if (state.outbox.length !== before) saveOutbox();
  }

  /** Drops what another visitor saw (the identity changed on this page). */
  function forget() {
    state.conversations.clear();
    state.held.clear();
    state.readSent.clear();
    state.newest = state.current = null;
    state.unread = 0;
    state.typing = '';
  }

  // --- socket ----------------------------------------------------------------

  function connect() {
    clearTimeout(retryTimer);
    if (ws) return;
    const socket = new WebSocket(WS_URL);
    ws = socket;
    welcomed = false;
    socket.onopen = () => {
      helloIdentity = JSON.stringify(state.identity);
      serverHidden = document.hidden;
      socket.send(JSON.stringify({
        type: 'hello',
        channel: KEY,
        visitor_token: storage.get(TOKEN_KEY),
        identity: state.identity,
        last_message: state.newest ? state.newest.id : null,
        hidden: serverHidden,
        ref: 'hello',
      }));
    };
    socket.onmessage = (event) => { if (socket === ws) receive(event.data); };
    socket.onclose = (event) => { if (socket === ws) lost(event.code); };
  }

  /** Sends a frame once welcomed; answers whether it went out. */
  function send(frame) {
    if (!welcomed || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function lost(code) {
    ws = null;
    welcomed = false;
    clearInterval(pingTimer);
    state.typing = '';
    if (code === 1009) { // a frame was too big: do not resend it forever
      for (const item of state.outbox) if (item.sent) item.failed = true;
      saveOutbox();
    }
    if (FATAL_CLOSE.includes(code)) {
      state.connection = 'unavailable';
    } else {
      state.connection = state.visitor ? 'reconnecting' : 'connecting';
      // Exponential, capped, and half of it random, so that visitors who lost
      // the same server do not all come back in the same instant.
      const cap = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt);
      attempt += 1;
      retryTimer = setTimeout(connect, cap / 2 + Math.random() * (cap / 2));
    }
    render();
  }

  /** Gives up on the current socket (dead, or the identity changed): reconnects now or after the backoff. */
  function restart(now) {
    const socket = ws;
    ws = null;
    if (socket) socket.close(1000);
    lost(1006);
    if (now) connect();
  }

  function startPings() {
    clearInterval(pingTimer);
    awaitingPong = false;
    pingTimer = setInterval(() => {
      if (awaitingPong) { restart(false); return; } // no pong for a whole period: the link is dead
      awaitingPong = send({ type: 'ping', ref: `ping-${nextRef++}` });
    }, PING_MS);
  }

  function sendItem(item) {
    if (send({ type: 'message', body: item.body, client_id: item.client_id, ref: item.client_id })) item.sent = true;
  }

  // --- frames in -------------------------------------------------------------

  function receive(text) {
    let frame;
    try { frame = JSON.parse(text); } catch (e) { return; }
    const handler = Object.prototype.hasOwnProperty.call(handlers, frame.type) && handlers[frame.type];
    if (!handler) return;
    handler(frame);
    render();
  }

  const handlers = {
    welcome(frame) {
      if (state.visitor && state.visitor.id !== frame.visitor.id) forget();
      // A verified visitor's token is not kept: whoever uses this browser
      // next, signed out, must not continue that person's conversations.
      if (helloIdentity === 'null') storage.set(TOKEN_KEY, frame.visitor_token);
      welcomed = true;
      attempt = 0;
      state.connection = 'open';
      state.visitor = frame.visitor;
      state.channel = frame.channel;
      state.online = frame.online;
      const conversations = frame.conversations || [];
      for (const data of conversations) upsertConversation(data);
      const open = conversations.find((data) => data.status !== 'closed');
      if (open) state.current = open.id;
      // Messages written under another identity never go out as this one.
      const who = whoOf(JSON.parse(helloIdentity));
      state.outbox = state.outbox.filter((item) => item.who === who);
      for (const item of state.outbox) item.sent = false;
      saveOutbox();
      if (document.hidden !== serverHidden && send({ type: 'visibility', hidden: document.hidden })) serverHidden = document.hidden;
      for (const item of state.outbox) if (!item.failed) sendItem(item);
      startPings();
      markRead();
    },

    message(frame) {
      const conv = upsertConversation({ id: frame.conversation });
      const mine = frame.message.kind === 'customer';
      const fresh = addMessage(conv, frame.message);
      // The visitor's messages always go to its open conversation.
      if (mine || isClosed(state.current)) state.current = conv.id;
      if (mine && conv.status === 'resolved') conv.status = 'open'; // the server reopens it
      if (!fresh || mine || conv.id !== state.current) return;
      state.typing = '';
      if (!state.open || document.hidden) state.unread += 1;
      markRead();
    },

    typing(frame) {
      if (frame.conversation !== state.current) return;
      state.typing = frame.typing ? `${frame.agent ? frame.agent.name : 'Someone'} is typing…` : '';
    },

    availability(frame) { state.online = frame.online; },

    read(frame) {
      const conv = state.conversations.get(frame.conversation);
      if (conv) conv.read = frame.message;
    },

    conversation(frame) {
      const conv = upsertConversation(frame.conversation);
      if (conv.status !== 'closed' && isClosed(state.current)) state.current = conv.id;
    },

    contact(frame) {
      state.visitor = frame.visitor;
      state.contactError = '';
    },

    pong() { awaitingPong = false; },

    error(frame) {
      const item = state.outbox.find((entry) => entry.client_id === frame.ref);
      if (item) {
        item.failed = true;
        item.sent = false;
        saveOutbox();
      } else if (String(frame.ref).startsWith('contact-')) {
        state.contactError = frame.message || 'That did not work. Please check the address.';
      } else {
        console.warn('Tandem:', frame.code, frame.message);
      }
    },
  };

  // --- frames out ------------------------------------------------------------

  function submitMessage(event) {
    event.preventDefault();
    const body = view.input.value;
    if (!body.trim() || state.connection === 'unavailable') return;
    stopTyping();
    const item = { client_id: newClientId(), body, who: whoOf(state.identity), sent: false, failed: false };
    state.outbox.push(item);
    saveOutbox();
    sendItem(item); // if not connected, the welcome after the reconnect sends it
    view.input.value = '';
    growInput();
    render(true);
  }

  function retry(clientId) {
    const item = state.outbox.find((entry) => entry.client_id === clientId);
    if (!item) return;
    item.failed = false;
    saveOutbox();
    sendItem(item);
    render();
  }

  function typed() {
    growInput();
    if (!view.input.value.trim()) { stopTyping(); return; }
    const now = Date.now();
    if (now - typingSentAt >= TYPING_EVERY_MS && send({ type: 'typing', typing: true })) typingSentAt = now;
    clearTimeout(typingIdleTimer);
    typingIdleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typingIdleTimer);
    if (typingSentAt && send({ type: 'typing', typing: false })) typingSentAt = 0;
  }

  /** Marks the newest agent reply read while the visitor can see it. */
  function markRead() {
    const conv = currentConversation();
    if (!conv || !state.open || document.hidden || !welcomed) return;
    let reply = null;
    for (let i = conv.messages.length - 1; i >= 0 && !reply; i -= 1) {
      if (conv.messages[i].kind === 'reply') reply = conv.messages[i];
    }
    if (!reply || state.readSent.get(conv.id) === reply.id) return;
    if (send({ type: 'read', conversation: conv.id, message: reply.id })) state.readSent.set(conv.id, reply.id);
  }

  function submitContact(event) {
    event.preventDefault();
    if (!view.email.checkValidity()) { view.email.reportValidity(); return; }
    const frame = { type: 'contact', email: view.email.value.trim(), ref: `contact-${nextRef++}` };
    if (view.name.value.trim()) frame.name = view.name.value.trim();
    state.contactError = send(frame) ? '' : 'Not connected. Please try again in a moment.';
    render();
  }

  function onVisibility() {
    if (send({ type: 'visibility', hidden: document.hidden })) serverHidden = document.hidden;
    if (!document.hidden && state.open) state.unread = 0;
    markRead();
    render();
  }

  // --- view ------------------------------------------------------------------

  /** h('p', {class: 'x', onclick}, 'text', child): children are text or nodes, never HTML. */
  function h(tag, attrs, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
      else if (key === 'class') element.className = value;
      else element.setAttribute(key, value === true ? '' : value);
    }
    element.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
    return element;
  }

  function icon(path, name) {
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', `icon icon-${name}`);
    const shape = document.createElementNS(SVG_NS, 'path');
    shape.setAttribute('d', path);
    svg.append(shape);
    return svg;
  }

  const view = {};
  const bubbles = new Map(); // key → message element, reused across renders
  const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

  function build() {
    const host = h('div', { id: 'tandem-chat' });
    const root = host.attachShadow({ mode: 'open' });
    try { // a constructed sheet is not blocked by the page's style-src policy
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.append(h('style', {}, CSS));
    }
    view.root = root;
    view.title = h('h2', { id: 'title', class: 'title' }, 'Chat');
    view.close = h('button', { type: 'button', class: 'close', 'aria-label': 'Close chat', 'data-tandem': 'close', onclick: () => setOpen(false) }, icon(ICON_CLOSE, 'close'));
    view.status = h('p', { class: 'status', role: 'status', 'data-tandem': 'status' });
    view.greeting = h('p', { class: 'greeting', 'data-tandem': 'greeting', hidden: true });
    view.log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages', 'data-tandem': 'messages' });
    view.typing = h('p', { class: 'typing', role: 'status', 'data-tandem': 'typing' });
    view.scroller = h('div', { class: 'scroller' }, view.greeting, view.log, view.typing);

    view.offlineText = h('p', {});
    view.email = h('input', { type: 'email', required: true, maxlength: 200, autocomplete: 'email', 'data-tandem': 'email' });
    view.name = h('input', { type: 'text', maxlength: 100, autocomplete: 'name', 'data-tandem': 'name' });
    view.contactError = h('p', { class: 'error', role: 'alert' });
    view.contactForm = h('form', { class: 'contact', novalidate: true, onsubmit: submitContact },
      h('label', {}, h('span', {}, 'Your e-mail'), view.email),
      h('label', {}, h('span', {}, 'Your name (optional)'), view.name),
      view.contactError,
      h('button', { type: 'submit', class: 'primary', 'data-tandem': 'contact-send' }, 'Send'));
    view.contactDone = h('p', { class: 'done', role: 'status' });
    view.offline = h('div', { class: 'offline', 'data-tandem': 'offline', hidden: true },
      view.offlineText, view.contactForm, view.contactDone);

    view.input = h('textarea', {
      id: 'input', rows: 1, maxlength: MAX_BODY, placeholder: 'Write a message…', 'data-tandem': 'input',
      oninput: typed, onkeydown: (event) => {
        if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) submitMessage(event);
      },
    });
    view.send = h('button', { type: 'submit', class: 'send', 'aria-label': 'Send message', 'data-tandem': 'send' }, icon(ICON_SEND, 'send'));
    view.composer = h('form', { class: 'composer', onsubmit: submitMessage },
      h('label', { for: 'input', class: 'sr' }, 'Message'), view.input, view.send);

    view.panel = h('section', {
      id: 'panel', class: 'panel', role: 'dialog', 'aria-labelledby': 'title', 'data-tandem': 'panel', hidden: true,
    }, h('header', {}, view.title, view.close), view.status, view.scroller, view.offline, view.composer);

    view.launcherText = h('span', { class: 'sr' }, 'Chat with us');
    view.badge = h('span', { class: 'badge', 'aria-hidden': 'true', hidden: true });
    view.launcher = h('button', {
      type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'panel', 'data-tandem': 'launcher',
      onclick: () => setOpen(!state.open),
    }, icon(ICON_CHAT, 'chat'), icon(ICON_CLOSE, 'close'), view.launcherText, view.badge);

    const onKey = (event) => {
      if (event.key === 'Escape' && state.open) { event.stopPropagation(); setOpen(false); }
    };
    root.append(h('div', { class: 'root', onkeydown: onKey }, view.panel, view.launcher));
    document.body.append(host);
  }

  function setOpen(open, moveFocus = true) {
    if (state.open === open) return;
    state.open = open;
    if (open && !document.hidden) state.unread = 0;
    render(open);
    if (open) markRead();
    if (!moveFocus) return;
    if (open) (view.input.disabled ? view.close : view.input).focus();
    else if (view.root.activeElement) view.launcher.focus();
  }

  /** Draws the state. `toEnd` scrolls the messages to the newest one. */
  function render(toEnd) {
    if (!view.root) return;
    const channel = state.channel || {};
    const unavailable = state.connection === 'unavailable';
    view.title.textContent = channel.name || 'Chat';
    view.panel.hidden = !state.open;
    view.launcher.setAttribute('aria-expanded', String(state.open));
    view.launcherText.textContent = state.unread ? `Chat with us, ${state.unread} new` : 'Chat with us';
    setText(view.badge, state.unread > 9 ? '9+' : String(state.unread));
    view.badge.hidden = !state.unread || state.open;

    const [statusName, statusText] = status();
    view.status.dataset.state = statusName;
    setText(view.status, statusText);
    setText(view.greeting, channel.greeting || '');
    view.greeting.hidden = !channel.greeting;
    setText(view.typing, state.typing);

    const scroller = view.scroller;
    const atEnd = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    renderLog();
    if (toEnd || atEnd) scroller.scrollTop = scroller.scrollHeight;

    view.offline.hidden = !state.channel || state.online || unavailable;
    setText(view.offlineText, channel.offline_message || 'Nobody is available right now. Leave your e-mail and we will answer.');
    const email = state.visitor && state.visitor.email;
    view.contactForm.hidden = Boolean(email);
    setText(view.contactDone, email ? `Thanks! We will answer at ${email}.` : '');
    setText(view.contactError, state.contactError);
    view.input.disabled = view.send.disabled = unavailable;
  }

  function status() {
    const conv = currentConversation();
    switch (state.connection) {
      case 'unavailable': return ['unavailable', 'Chat unavailable'];
      case 'connecting': return ['connecting', 'Connecting…'];
      case 'reconnecting': return ['reconnecting', 'Reconnecting…'];
      default:
        if (conv && conv.status === 'resolved') return ['resolved', 'This conversation is resolved. Write again to reopen it.'];
        if (conv && conv.status === 'closed') return ['closed', 'This conversation is closed. A new message starts a new one.'];
        return ['ready', ''];
    }
  }

  /** Puts the message elements in order, reusing existing ones so only new ones are announced. */
  function renderLog() {
    const conv = currentConversation();
    const messages = conv ? conv.messages : [];
    let seenUpTo = -1;
    if (conv && conv.read) seenUpTo = messages.findIndex((message) => message.id === conv.read);
    const items = messages.map((message, i) => ({ message, seen: i <= seenUpTo }));
    for (const item of state.outbox) items.push({ pending: item });

    let cursor = view.log.firstChild;
    for (const item of items) {
      const element = bubble(item);
      if (element === cursor) cursor = cursor.nextSibling;
      else view.log.insertBefore(element, cursor);
    }
    while (cursor) { // everything after the last wanted element is no longer wanted
      const next = cursor.nextSibling;
      bubbles.delete(cursor.tandemKey);
      cursor.remove();
      cursor = next;
    }
  }

  function bubble({ message, seen, pending }) {
    const data = pending || message;
    const key = data.client_id ? `c:${data.client_id}` : `m:${data.id}`;
    let element = bubbles.get(key);
    if (!element) {
      element = h('div', { 'data-tandem': 'message' },
        h('span', { class: 'who' }), h('div', { class: 'body' }), h('span', { class: 'meta' }));
      element.tandemKey = key;
      bubbles.set(key, element);
    }
    const mine = Boolean(pending) || message.kind === 'customer';
    const phase = pending ? (pending.failed ? 'failed' : 'sending') : mine ? (seen ? 'seen' : 'sent') : '';
    element.className = `message ${mine ? 'mine' : 'theirs'}`;
    element.dataset.kind = pending ? 'customer' : message.kind;
    if (message) element.dataset.id = message.id;
    if (data.client_id) element.dataset.clientId = data.client_id;
    if (phase) element.dataset.state = phase; else delete element.dataset.state;
    const [who, body, meta] = element.children;
    setText(who, mine ? 'You' : message.signature || 'Support team');
    setText(body, data.body);
    const time = message && timeOf(message) ? clock.format(timeOf(message)) : '';
    const label = { sending: 'Sending…', sent: 'Sent', seen: 'Seen', failed: 'Not sent' }[phase] || '';
    setText(meta, [time, label].filter(Boolean).join(' · '));
    if (phase === 'failed') {
      meta.append(' ', h('button', { type: 'button', class: 'retry', 'data-tandem': 'retry', onclick: () => retry(pending.client_id) }, 'Retry'));
    }
    return element;
  }

  function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  function growInput() {
    view.input.style.height = 'auto';
    view.input.style.height = `${Math.min(view.input.scrollHeight + 2, 120)}px`;
  }

  // --- page API and start ----------------------------------------------------

  window.Tandem = {
    /** Sets the signed identity {identifier, identifier_hash, name?, email?}; null for anonymous. */
    identify(identity) {
      state.identity = normalizeIdentity(identity);
      // Before the first hello, or unchanged: the next hello carries it anyway.
      if (helloIdentity === undefined || JSON.stringify(state.identity) === helloIdentity) return;
      forget(); // another person: the hello with the new identity brings its own conversations
      if (state.connection === 'unavailable') { // e.g. `identity required`: try again with this one
        state.connection = 'connecting';
        attempt = 0;
        connect();
      } else if (ws) {
        restart(true);
      } // else a reconnect is already scheduled, and its hello takes the new identity
      render();
    },
    open() { setOpen(true); },
    close() { setOpen(false); },
  };

  function start() {
    build();
    document.addEventListener('visibilitychange', onVisibility);
    window.addEventListener('online', () => { if (!ws && state.connection !== 'unavailable') connect(); });
    if (script.dataset.open === 'true') setOpen(true, false);
    render();
    connect();
  }

  const CSS = `
:host { all: initial !important; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.root {
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 14px; line-height: 1.45; color: #1d2330; text-align: left;
}
button, input, textarea { font: inherit; color: inherit; margin: 0; }
button { cursor: pointer; }
button:disabled { cursor: not-allowed; opacity: 0.5; }
:focus-visible { outline: 3px solid #8fa9ee; outline-offset: 2px; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.icon { width: 22px; height: 22px; display: block; }
.icon-chat path, .icon-send path { fill: currentColor; }
.icon-close path { fill: none; stroke: currentColor; stroke-width: 2.2; stroke-linecap: round; }

.launcher {
  position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  width: 56px; height: 56px; padding: 0; border: 0; border-radius: 50%;
  display: grid; place-items: center; background: #2f5bd3; color: #fff;
  box-shadow: 0 4px 16px rgb(16 24 40 / 25%);
}
.launcher:hover { background: #264bb0; }
.launcher .icon { width: 26px; height: 26px; grid-area: 1 / 1; }
.launcher .icon-close, .launcher[aria-expanded="true"] .icon-chat { display: none; }
.launcher[aria-expanded="true"] .icon-close { display: block; }
.badge {
  position: absolute; top: -3px; right: -3px; min-width: 20px; height: 20px; padding: 0 5px;
  border-radius: 10px; background: #b42318; color: #fff; font-size: 12px; font-weight: 700; line-height: 20px;
}

.panel {
  position: fixed; right: 20px; bottom: 88px; z-index: 2147483000;
  width: 370px; max-width: calc(100vw - 40px); height: 560px; max-height: calc(100vh - 108px);
  display: flex; flex-direction: column; overflow: hidden;
  background: #fff; border: 1px solid #e2e5ea; border-radius: 12px; box-shadow: 0 8px 32px rgb(16 24 40 / 20%);
}
header { display: flex; align-items: center; gap: 8px; padding: 10px 10px 10px 16px; background: #2f5bd3; color: #fff; }
.title { flex: 1; margin: 0; font-size: 16px; font-weight: 600; line-height: 1.3; }
.close { padding: 6px; border: 0; border-radius: 6px; background: transparent; color: inherit; }
.close:hover { background: rgb(255 255 255 / 15%); }
.status { margin: 0; padding: 6px 16px; font-size: 12.5px; background: #fff4e0; color: #8a4e00; }
.status:empty { display: none; }
.status[data-state="resolved"], .status[data-state="closed"] { background: #e7f5ec; color: #157f3d; }
.status[data-state="unavailable"] { background: #fdecea; color: #b42318; }
.scroller { flex: 1; overflow-y: auto; padding: 14px; background: #f5f6f8; display: flex; flex-direction: column; gap: 10px; }
.greeting { margin: 0; padding: 10px 12px; background: #fff; border: 1px solid #e2e5ea; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
.log { display: flex; flex-direction: column; gap: 10px; }
.message { display: flex; flex-direction: column; max-width: 85%; }
.message.mine { align-self: flex-end; align-items: flex-end; }
.message.theirs { align-self: flex-start; align-items: flex-start; }
.who { margin: 0 4px 2px; font-size: 12px; font-weight: 600; color: #667085; }
.body { padding: 8px 12px; border-radius: 14px; white-space: pre-wrap; overflow-wrap: anywhere; }
.mine .body { background: #2f5bd3; color: #fff; border-bottom-right-radius: 4px; }
.theirs .body { background: #fff; border: 1px solid #e2e5ea; border-bottom-left-radius: 4px; }
.message[data-state="sending"] .body { opacity: 0.7; }
.message[data-state="failed"] .body { background: #fdecea; color: #b42318; }
.meta { margin: 2px 4px 0; font-size: 11.5px; color: #667085; }
.retry { padding: 0 2px; border: 0; background: none; color: #2f5bd3; font-weight: 600; text-decoration: underline; }
.typing { margin: 0; font-size: 12.5px; font-style: italic; color: #667085; }
.typing:empty { display: none; }

.offline { display: grid; gap: 8px; padding: 12px 16px; border-top: 1px solid #e2e5ea; background: #fffdf7; }
.offline p { margin: 0; }
.contact { display: grid; gap: 8px; }
.contact label { display: grid; gap: 2px; font-size: 12.5px; color: #667085; }
.error { color: #b42318; font-size: 12.5px; }
.error:empty, .done:empty { display: none; }
.done { color: #157f3d; }
input, textarea { width: 100%; padding: 7px 10px; border: 1px solid #cdd2da; border-radius: 8px; background: #fff; color: #1d2330; }
.primary { justify-self: start; padding: 7px 16px; border: 0; border-radius: 8px; background: #2f5bd3; color: #fff; font-weight: 600; }
.composer { display: flex; align-items: flex-end; gap: 8px; padding: 10px 12px; border-top: 1px solid #e2e5ea; }
.composer textarea { flex: 1; max-height: 120px; resize: none; }
.send { width: 38px; height: 38px; padding: 0; border: 0; border-radius: 8px; display: grid; place-items: center; background: #2f5bd3; color: #fff; }

@media (max-width: 480px) {
  .panel { inset: 0; width: auto; max-width: none; height: auto; max-height: none; border: 0; border-radius: 0; }
  .launcher[aria-expanded="true"] { display: none; }
  input, textarea { font-size: 16px; }
}
`;

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
