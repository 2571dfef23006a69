// Tandem WebSocket client: one instance per browser tab (one socket, one
// session). It knows nothing about the DOM, so any front end can reuse it.
//
// - Every server frame is dispatched as an event named after its `type`
//   (`event.detail` is the frame), and also as a generic `frame` event.
//   Direct answers (`welcome`, `snapshot`, `opened`, `pong`) are dispatched
//   too, so a front end can keep all its state updates in event handlers.
//   Types the client does not know need no code here: `visitor` (a chat
//   ticket's visitor state, to tabs that have the ticket open, after
//   `opened`; docs/protocol.md §9.6) and `delivery` (an e-mail reply's
//   delivery changed, to tabs that have the ticket open; §9.7) are
//   dispatched like every other frame.
// - Frames with an answer (`subscribe`, `open`, `ping`) return a Promise
//   correlated through `ref`; an `error` answer rejects it with a
//   TandemError and is not dispatched as an `error` event. Every other
//   `error` frame (unsolicited, or answering `force_release` / `draft`) is.
// - The client remembers what the tab wants (inbox, open ticket, hidden).
//   After a lost connection it reconnects with exponential backoff and
//   jitter, resumes its session, and puts the session back into the wanted
//   state: a resumed session is re-subscribed for a fresh snapshot; a new
//   session (resume too late, server restarted) is subscribed and the
//   ticket opened again.
// - Extra events: `state` ({state: "connecting"|"open"|"closed"}),
//   `reconnected` ({resumed}), `close` ({code, reason}), `fatal` ({code,
//   reason}: no more reconnects, e.g. a revoked token).

/** Close codes after which a reconnect cannot help. */
const FATAL_CLOSE = new Map([
  [4401, 'bad or missing token'],
  [4403, 'agent disabled'],
  [1000, 'session resumed in another tab'],
]);

export class TandemError extends Error {
  constructor(code, message, frame = null) {
    super(message);
    this.name = 'TandemError';
    this.code = code;
    this.frame = frame;
  }
}

function defaultUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

export class TandemClient extends EventTarget {
  /**
   * @param {object} [options]
   * @param {string} [options.url] WebSocket URL; default: /ws of this page's host.
   * @param {number} [options.initialDelayMs] first reconnect delay (default 500).
   * @param {number} [options.maxDelayMs] reconnect delay cap (default 15000).
   * @param {number} [options.timeoutMs] how long a request waits for its answer.
   */
  constructor(options = {}) {
    super();
    this.url = options.url ?? defaultUrl();
    this.initialDelayMs = options.initialDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 15000;
    this.timeoutMs = options.timeoutMs ?? 15000;
    this.state = 'closed';
    this.agent = null;
    this.session = null;
    this.token = null;
    // What the tab wants, and what its server session is known to have.
    this.want = { inbox: null, ticket: null, hidden: false };
    this.server = { inbox: null, ticket: null, hidden: false };
    this.ws = null;
    this.stopped = true;
    this.attempt = 0;
    this.retryTimer = null;
    this.welcome = null; // the latest `welcome` since connect()
    this.waiters = [];
    this.pending = new Map();
    this.nextRef = 1;
  }

  // --- connection -------------------------------------------------------

  /** Opens the socket and says hello; resolves with the `welcome` frame. */
  connect(token) {
    if (this.state === 'open' && token === this.token) return Promise.resolve(this.welcome);
    this.token = token;
    this.stopped = false;
    this.welcome = null;
    const welcome = new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.ws) this.#openSocket();
    return welcome;
  }

  /**
   * Closes the socket cleanly (a close frame: the server releases this tab
   * at once) and stops reconnecting. The wanted state is kept, so a later
   * connect() restores it in a new session.
   */
  disconnect() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.ws = null;
    this.session = null;
    this.server = { inbox: null, ticket: null, hidden: false };
    if (ws) ws.close(1000, 'client closed');
    this.#failPending('disconnected');
    this.#settleWaiters('reject', new TandemError('disconnected', 'disconnected'));
    this.#setState('closed');
  }

  #openSocket() {
    clearTimeout(this.retryTimer);
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.#setState('connecting');
    ws.onopen = () => {
      const hello = { type: 'hello', token: this.token };
      if (this.session) hello.resume = this.session;
      this.#request(hello).catch(() => {}); // failures end in a close code
    };
    ws.onmessage = (event) => { if (ws === this.ws) this.#receive(event.data); };
    ws.onclose = (event) => { if (ws === this.ws) this.#lost(event.code, event.reason); };
  }

  #lost(code, reason) {
    this.ws = null;
    this.#failPending('disconnected');
    this.#emit('close', { code, reason });
    this.#setState('closed');
    if (this.stopped) return;
    if (FATAL_CLOSE.has(code)) {
      this.stopped = true;
      const why = reason || FATAL_CLOSE.get(code);
      this.#settleWaiters('reject', new TandemError(`closed_${code}`, why));
      this.#emit('fatal', { code, reason: why });
      return;
    }
    // Exponential, capped, and jittered (half of it random): tabs that lost
    // the same server do not all come back in the same instant.
    const cap = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** this.attempt);
    this.attempt += 1;
    const delay = cap / 2 + Math.random() * (cap / 2);
    this.retryTimer = setTimeout(() => this.#openSocket(), delay);
  }

  /** Reconnects now instead of waiting for the backoff (e.g. on `online`). */
  retryNow() {
    if (!this.stopped && !this.ws) this.#openSocket();
  }

  // --- frames in --------------------------------------------------------

  #receive(text) {
    let frame;
    try { frame = JSON.parse(text); } catch { return; }
    const request = frame.ref != null ? this.pending.get(frame.ref) : undefined;
    if (request) {
      this.pending.delete(frame.ref);
      clearTimeout(request.timer);
      if (frame.type === 'error') {
        const error = new TandemError(frame.code, frame.message, frame);
        if (request.reject) { request.reject(error); return; }
        frame = { ...frame, request: request.frame };
      } else {
        request.resolve?.(frame);
      }
    }
    if (frame.type === 'welcome') this.#welcomed(frame);
    if (frame.type === 'access_revoked' && frame.ticket === this.server.ticket) {
      this.server.ticket = null;
      if (this.want.ticket === frame.ticket) this.want.ticket = null;
    }
    this.#emit(frame.type, frame);
    this.#emit('frame', frame);
  }

  #welcomed(frame) {
    const reconnect = this.welcome !== null;
    this.welcome = frame;
    this.session = frame.session;
    this.agent = frame.agent;
    this.attempt = 0;
    if (!frame.resumed) this.server = { inbox: null, ticket: null, hidden: false };
    this.#setState('open');
    this.#reconcile(frame.resumed);
    this.#settleWaiters('resolve', frame);
    if (reconnect) this.#emit('reconnected', { resumed: frame.resumed });
  }

  /** Brings the server session to the wanted state after a (re)connect. */
  #reconcile(resumed) {
    const { want, server } = this;
    const report = (error) => this.#emit('error', error.frame ?? { type: 'error', code: error.code, message: error.message });
    if (want.hidden !== server.hidden) this.visibility(want.hidden);
    // A resumed session gets a fresh snapshot (subscribing again to the same
    // inbox releases nothing), also when its subscription ended meanwhile.
    if (want.inbox && (resumed || want.inbox !== server.inbox)) this.subscribe(want.inbox).catch(report);
    else if (!want.inbox && server.inbox) this.leave();
    if (want.ticket && want.ticket !== server.ticket) this.open(want.ticket).catch(report);
    else if (!want.ticket && server.ticket) this.close(server.ticket);
  }

  // --- frames out -------------------------------------------------------

  /** Sends a frame and resolves with its direct answer (matched by `ref`). */
  request(frame) {
    if (this.state !== 'open') return Promise.reject(new TandemError('offline', 'not connected'));
    return this.#request(frame);
  }

  #request(frame) {
    const ref = `r${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new TandemError('timeout', `no answer to ${frame.type}`));
      }, this.timeoutMs);
      this.pending.set(ref, { resolve, reject, timer, frame });
      this.ws.send(JSON.stringify({ ...frame, ref }));
    });
  }

  /**
   * Sends a frame that has no answer on success. It carries a `ref` so that
   * an `error` answer can name the frame it refuses (`event.detail.request`).
   */
  send(frame) {
    if (this.state !== 'open') return false;
    const ref = `s${this.nextRef++}`;
    const timer = setTimeout(() => this.pending.delete(ref), this.timeoutMs);
    this.pending.set(ref, { timer, frame });
    this.ws.send(JSON.stringify({ ...frame, ref }));
    return true;
  }

  // Each method records what the tab wants at once, and what the server
  // session has only once the frame is on its way (frames are handled in
  // order), so that a reconnect can send whatever did not go out.

  /** Enters an inbox (the list view); resolves with the `snapshot`. */
  subscribe(inbox) {
    const switching = this.server.inbox && this.server.inbox !== inbox; // releases the ticket
    this.want.inbox = inbox;
    if (switching) this.want.ticket = null;
    const answer = this.request({ type: 'subscribe', inbox });
    if (this.state === 'open' && switching) this.server.ticket = null;
    return answer.then((snapshot) => {
      this.server.inbox = inbox;
      return snapshot;
    });
  }

  /** Leaves the inbox area (e.g. for settings): releases and unsubscribes. */
  leave() {
    this.want.inbox = this.want.ticket = null;
    if (this.send({ type: 'leave' })) this.server.inbox = this.server.ticket = null;
  }

  /** Opens a ticket (claims it if free); resolves with the `opened` frame. */
  open(ticket, { takeOver = false } = {}) {
    this.want.ticket = ticket;
    const answer = this.request({ type: 'open', ticket, take_over: takeOver });
    if (this.state === 'open') this.server.ticket = null; // the previous one goes even if this fails
    return answer.then(
      (opened) => { this.server.ticket = ticket; return opened; },
      (error) => {
        if (error.code !== 'offline' && this.want.ticket === ticket) this.want.ticket = null;
        throw error;
      },
    );
  }

  /** Takes the claim from its current holder and opens the ticket. */
  takeOver(ticket) {
    return this.open(ticket, { takeOver: true });
  }

  /** Back to the list: releases the open ticket. */
  close(ticket) {
    if (this.want.ticket === ticket) this.want.ticket = null;
    if (this.send({ type: 'close', ticket }) && this.server.ticket === ticket) this.server.ticket = null;
  }

  /** Releases another agent's claim without taking it (the "x"). */
  forceRelease(ticket) {
    return this.send({ type: 'force_release', ticket });
  }

  /** Tab hidden or shown (Page Visibility). */
  visibility(hidden) {
    this.want.hidden = Boolean(hidden);
    if (this.server.hidden === this.want.hidden) return;
    if (this.send({ type: 'visibility', hidden: this.want.hidden })) this.server.hidden = this.want.hidden;
  }

  /** Live draft of a reply or note; an empty body clears it. */
  draft(ticket, kind, body) {
    return this.send({ type: 'draft', ticket, kind, body });
  }

  ping() {
    return this.request({ type: 'ping' });
  }

  // --- helpers ----------------------------------------------------------

  #failPending(code) {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject?.(new TandemError(code, code));
    }
    this.pending.clear();
  }

  #settleWaiters(how, value) {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter[how](value);
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.#emit('state', { state });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
