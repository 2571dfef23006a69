// The agent console: sign-in, hash routing (#/inbox/ID, #/ticket/ID,
// #/settings), and the wiring between the WebSocket client, the REST API
// and the views. The socket lifecycle is the product, so it is all here:
// visibility frames, a clean close on pagehide, `leave` for the settings
// page, `close` when going back to the list, and refreshing what a lost
// connection may have missed.

import { TandemClient } from './tandem-client.js';
import { createApi } from './api.js';
import { $, h, initials, toast } from './dom.js';
import { Directory } from './presence.js';
import { TicketList } from './list.js';
import { TicketView } from './ticket.js';
import { Notifications } from './notify.js';
import { SettingsPage } from './settings.js';

// sessionStorage: per tab, so two windows can be two agents.
const TOKEN_KEY = 'tandem.token';
const INBOX_KEY = 'tandem.inbox';
const QUEUE_KEY = 'tandem.queue';

const state = {
  me: null,
  inboxes: [],
  inboxId: null,
  queue: sessionStorage.getItem(QUEUE_KEY) ?? 'pending',
  area: null, // 'inbox' while subscribed, 'settings' after `leave`
  presence: new Map(), // ticket id → latest Presence (with its inbox)
  openTicketId: null,
  settings: null,
};

const client = new TandemClient();
const api = createApi(() => sessionStorage.getItem(TOKEN_KEY), () => signOut('Your session ended. Please sign in again.'));
const directory = new Directory();
let directoryLoaded = false;

const ctx = { state, api, client, directory, toastError, openTicket, backToList, loadDirectory };
const list = new TicketList(ctx);
const ticket = new TicketView(ctx);
const notifications = new Notifications(ctx);
const settingsPage = new SettingsPage(ctx);

// --- sign-in --------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const login = $('#login-name').value.trim();
  const password = $('#login-password').value;
  if (!login || !password) return showLoginError('Enter your handle or e-mail and your password.');
  $('#login-submit').disabled = true;
  try {
    const { token } = await api.post('/api/login', { login, password });
    sessionStorage.setItem(TOKEN_KEY, token);
    $('#login-password').value = '';
    await start(token);
  } catch (error) {
    showLoginError(error.code === 'rate_limited' ? 'Too many failed attempts. Try again in a minute.'
      : error.code === 'unauthorized' ? 'Wrong handle, e-mail or password.'
        : `Could not sign in: ${error.message}`);
  } finally {
    $('#login-submit').disabled = false;
  }
}

function showLoginError(text) {
  $('#login-error').textContent = text;
  $('#login-error').hidden = !text;
}

function showLogin(message = '') {
  document.body.dataset.state = 'login';
  showLoginError(message);
  $('#login-name').focus();
}

/** With a token: who am I, my inboxes, then the socket and the route. */
async function start(token) {
  try {
    const [me, inboxes, settings] = await Promise.all([
      api.get('/api/me'), api.get('/api/inboxes'), api.get('/api/settings')]);
    Object.assign(state, { me, inboxes, settings });
  } catch (error) {
    if (error.status !== 401) showLogin(`Could not load the console: ${error.message}`);
    return;
  }
  directory.see(state.me);
  document.body.dataset.state = 'app';
  renderMe();
  renderInboxPicker();
  client.visibility(isHidden());
  client.connect(token).catch(() => {}); // failures arrive as `fatal`
  loadDirectory();
  notifications.load();
  route();
}

/**
 * Back to the sign-in screen. Safe to call more than once (several requests
 * may answer 401 together). An ended session keeps the route, so signing in
 * again returns to it; logging out starts from the default inbox.
 */
function signOut(message = '', { keepRoute = true } = {}) {
  state.me = null;
  client.leave(); // forget the wanted inbox and ticket: the next agent starts clean
  client.disconnect();
  sessionStorage.removeItem(TOKEN_KEY);
  ticket.forget();
  state.presence.clear();
  state.area = null;
  notifications.clear();
  $('#toasts').replaceChildren();
  if (!keepRoute) history.replaceState(null, '', location.pathname);
  showLogin(message);
}

async function logOut() {
  // Close cleanly first (releases at once): the server also ends the sockets of a revoked token.
  client.leave();
  client.disconnect();
  await api.post('/api/logout').catch(() => {});
  signOut('', { keepRoute: false });
}

/** Every colleague's id, handle, name and role, for @mentions and the pickers. */
async function loadDirectory() {
  if (directoryLoaded) return;
  try {
    directory.seeAll(await api.get('/api/colleagues'));
    directoryLoaded = true;
  } catch (error) {
    toastError(error);
  }
}

// --- routing --------------------------------------------------------------

function defaultInbox() {
  const stored = sessionStorage.getItem(INBOX_KEY);
  return state.inboxes.some((i) => i.id === stored) ? stored : state.inboxes[0]?.id ?? 'none';
}

async function route() {
  if (!state.me) return;
  const [, area, id] = location.hash.match(/^#\/(inbox|ticket|settings)(?:\/([^/?#]+))?/) ?? [];
  if (!area || (area !== 'settings' && !id)) {
    location.replace(`#/inbox/${defaultInbox()}`);
    return;
  }
  if (area === 'settings') return showSettings();
  showWorkspace();
  if (area === 'inbox') {
    ticket.close();
    await enterInbox(id);
  } else {
    if (state.area !== 'inbox') await enterInbox(await inboxOf(id));
    const opening = ticket.open(id);
    list.render();
    await opening;
  }
}

/** Subscribes to an inbox (unless this tab already is) and loads its list. */
async function enterInbox(id) {
  if (id === state.inboxId && state.area === 'inbox') return;
  state.inboxId = id;
  state.area = 'inbox';
  sessionStorage.setItem(INBOX_KEY, id);
  $('#inbox-picker').value = id;
  if (id !== 'none') client.subscribe(id).catch(ignoreOffline);
  else state.queue = 'shared';
  await list.load();
}

/** A link straight to a ticket shows the list of its inbox, if the agent is a member. */
async function inboxOf(ticketId) {
  const fallback = state.inboxId ?? defaultInbox();
  try {
    const { inbox } = await api.get(`/api/tickets/${ticketId}`);
    return state.inboxes.some((i) => i.id === inbox) ? inbox : fallback;
  } catch {
    return fallback; // opening it will say what is wrong
  }
}

function showWorkspace() {
  $('#workspace').hidden = false;
  $('#settings-page').hidden = true;
  $('#nav-settings').classList.remove('active');
}

/** Another area of the console: `leave` releases the ticket and the inbox. */
function showSettings() {
  if (state.area !== 'settings') {
    client.leave();
    ticket.forget();
    state.area = 'settings';
  }
  $('#workspace').hidden = true;
  $('#settings-page').hidden = false;
  $('#nav-settings').classList.add('active');
  settingsPage.show();
}

function openTicket(id) {
  if (location.hash === `#/ticket/${id}`) ticket.open(id); // same ticket: claim it again if free
  else location.hash = `#/ticket/${id}`;
}

function backToList() {
  location.hash = `#/inbox/${state.inboxId ?? defaultInbox()}`;
}

// --- header ---------------------------------------------------------------

function renderMe() {
  $('#me-name').textContent = state.me.name;
  $('#me-role').textContent = state.me.role;
  $('#me-avatar').textContent = initials(state.me.name);
}

function renderInboxPicker() {
  const picker = $('#inbox-picker');
  picker.replaceChildren(...state.inboxes.map((inbox) => h('option', { value: inbox.id }, inbox.name)));
  if (state.inboxes.length === 0) picker.append(h('option', { value: 'none' }, 'No inbox'));
  picker.value = state.inboxId ?? defaultInbox();
}

function renderConnection(socketState) {
  document.body.dataset.socket = socketState;
  const text = { open: 'Live', connecting: 'Connecting…', closed: 'Offline — reconnecting' }[socketState];
  $('#connection').textContent = state.me ? text : '';
  $('#connection').className = `connection ${socketState}`;
}

// --- socket frames --------------------------------------------------------

function setPresence(presence, inbox) {
  const empty = !presence.claim && !presence.lock && presence.viewers.length === 0;
  if (empty) state.presence.delete(presence.ticket);
  else state.presence.set(presence.ticket, { ...presence, inbox });
}

const frameHandlers = {
  welcome: ({ agent }) => {
    if (!state.me) return;
    state.me = { ...state.me, ...agent };
    renderMe();
  },
  snapshot: ({ inbox, presence }) => {
    for (const [id, known] of state.presence) if (known.inbox === inbox) state.presence.delete(id);
    for (const entry of presence) setPresence(entry, inbox);
    list.render();
    ticket.render();
  },
  presence: (frame) => {
    setPresence(frame, frame.inbox);
    list.render();
    ticket.onPresence(frame);
  },
  opened: (frame) => {
    setPresence(frame.presence, state.presence.get(frame.ticket)?.inbox ?? ticket.detail?.inbox);
    list.render();
    ticket.onOpened(frame);
  },
  claim_lost: (frame) => ticket.onClaimLost(frame),
  draft: (frame) => ticket.onDraft(frame),
  message: (frame) => ticket.onMessage(frame),
  message_removed: (frame) => ticket.onMessageRemoved(frame),
  ticket: (frame) => {
    list.onTicket(frame);
    ticket.onTicket(frame);
  },
  ticket_moved: (frame) => {
    directory.see(frame.by);
    list.onTicketMoved(frame);
    ticket.onTicketMoved(frame);
  },
  notification: (frame) => {
    notifications.onNotification(frame);
    const { kind } = frame.notification;
    if (state.queue === 'shared' && (kind === 'shared' || kind === 'unshared')) list.load();
  },
  access_revoked: (frame) => ticket.onAccessRevoked(frame),
  visitor: (frame) => ticket.onVisitor(frame),
  delivery: (frame) => ticket.onDelivery(frame),
  error: (frame) => {
    toast(frame.message, { kind: 'error' });
    // An error without a request: the subscription ended (inboxes or role changed).
    if (!frame.request && frame.code === 'forbidden') refreshAccess();
  },
};

function bindClient() {
  for (const [type, handler] of Object.entries(frameHandlers)) {
    client.addEventListener(type, (event) => handler(event.detail));
  }
  client.addEventListener('state', (event) => renderConnection(event.detail.state));
  client.addEventListener('reconnected', refreshAfterGap);
  client.addEventListener('fatal', (event) => {
    if (event.detail.code === 4401 || event.detail.code === 4403) signOut(`Signed out: ${event.detail.reason}.`);
    else toast(`Disconnected: ${event.detail.reason}. Reload the page to reconnect.`, { kind: 'error', timeout: 20000 });
  });
}

/** Nothing is replayed after a gap in the connection: fetch what may have changed. */
function refreshAfterGap() {
  if (state.area === 'inbox' && !list.search) list.load();
  ticket.refresh();
  notifications.load();
}

/** The agent's inboxes or role changed: start over from what it may see now. */
async function refreshAccess() {
  try {
    [state.me, state.inboxes] = await Promise.all([api.get('/api/me'), api.get('/api/inboxes')]);
    renderMe();
    renderInboxPicker();
    state.area = null;
    if (state.inboxes.some((i) => i.id === state.inboxId)) route();
    else location.hash = `#/inbox/${defaultInbox()}`;
  } catch (error) {
    toastError(error);
  }
}

// --- page lifecycle -------------------------------------------------------

/** Read at event time, so tests (and browsers) that redefine them are honoured. */
function isHidden() {
  return document.visibilityState === 'hidden' || document.hidden === true;
}

function bindLifecycle() {
  document.addEventListener('visibilitychange', () => {
    if (!state.me) return;
    const hidden = isHidden();
    client.visibility(hidden);
    if (!hidden) ticket.onVisible();
  });
  // Closing the tab: a clean close frame releases this tab's claim at once.
  window.addEventListener('pagehide', () => client.disconnect());
  // Back from the back/forward cache: a new session, restored by the client.
  window.addEventListener('pageshow', (event) => {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (event.persisted && token && state.me) client.connect(token).then(refreshAfterGap, () => {});
  });
  window.addEventListener('online', () => client.retryNow());
  window.addEventListener('hashchange', route);
}

// --- helpers --------------------------------------------------------------

function ignoreOffline(error) {
  if (error.code !== 'offline') toastError(error);
}

/** One toast for a failed request, worded for people. */
function toastError(error) {
  const holder = error.holder?.name;
  const text = error.code === 'ticket_claimed' ? `${holder} is working on this ticket — take it over first.`
    : error.code === 'ticket_locked' ? `${holder} holds a hard lock on this ticket.`
      : error.code === 'sharing_disabled' ? 'Ticket sharing is turned off (an admin can turn it on in Settings).'
        : error.code === 'offline' ? 'Not connected — reconnecting…'
          : error.message;
  toast(text, { kind: 'error' });
}

function bindStatic() {
  $('#login-form').addEventListener('submit', signIn);
  $('#logout').addEventListener('click', logOut);
  $('#inbox-picker').addEventListener('change', (event) => { location.hash = `#/inbox/${event.target.value}`; });
  for (const tab of document.querySelectorAll('[data-queue]')) {
    tab.addEventListener('click', () => {
      state.queue = tab.dataset.queue;
      sessionStorage.setItem(QUEUE_KEY, state.queue);
      $('#search').value = '';
      list.load();
    });
  }
  $('#search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    list.runSearch($('#search').value);
  });
  $('#search-clear').addEventListener('click', () => {
    $('#search').value = '';
    list.load();
  });
}

bindStatic();
bindClient();
bindLifecycle();
const token = sessionStorage.getItem(TOKEN_KEY);
if (token) start(token);
else showLogin();
