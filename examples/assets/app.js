// The SIP Interconnect sample page on sipdial's HTTP API.
//
// Flow: create (or join) the room's session, connect to it with OpenTok.js and publish
// the camera, sort incoming streams into the WebRTC and SIP panels by their connection
// data, and drive SIP calls through the server: dial, list, DTMF, hang up. The page never
// holds a moderator token or SIP credentials: every call-control action goes through the
// server, which decides what this page may do.
//
// Call states arrive live over Server-Sent Events (`GET {prefix}/events`): the server
// learns them from the platform's callbacks (dialing, ringing, active, on hold, ended
// with the far end's reason and SIP code). The browser's EventSource reconnects by
// itself and resumes with Last-Event-ID; when the stream cannot be opened at all, the
// page reconnects with a back-off, polls meanwhile and offers a Refresh button.
'use strict';

(() => {
  const config = readConfig();
  // The API's path relative to this page (the server says where, the page's own URL
  // says below which mount): `/app/` + `sip` → `/app/sip`.
  const api = new URL(config.apiPath || '.', document.baseURI).pathname.replace(/\/$/, '');
  const $ = (id) => document.getElementById(id);

  const ui = {
    errors: $('errors'),
    status: $('status'),
    sessionId: $('session-id'),
    picker: $('target-picker'),
    target: $('target'),
    start: $('start-call'),
    endAll: $('end-calls'),
    calls: $('calls'),
    callsEmpty: $('calls-empty'),
    ended: $('ended-calls'),
    endedSection: $('ended-section'),
    live: $('live-status'),
    refresh: $('refresh-calls'),
    publisher: $('publisher'),
    publisherNote: $('publisher-note'),
    webrtc: $('webrtc-streams'),
    sip: $('sip-streams'),
    servedBy: $('served-by'),
  };

  const state = {
    room: new URLSearchParams(location.search).get('room') || undefined,
    sessionId: null,
    apiKey: null,
    targets: [],
    calls: new Map(), // active call id -> { call, element }
    ended: new Map(), // ended call id -> { call, element }, most recent MAX_ENDED
    hungUpHere: new Set(), // calls this page hung up: their end is not news
    polling: null,
    refreshing: null,
    events: null, // the EventSource
    live: 'off', // off | connecting | live | reconnecting | unavailable
    retryMs: 0,
    retryTimer: null,
  };

  const MAX_ERRORS = 4;
  const MAX_ENDED = 5;
  const STATE_LABELS = {
    dialing: 'dialing',
    ringing: 'ringing',
    active: 'active',
    on_hold: 'on hold',
    ended: 'ended',
  };
  // A late event never moves a call backwards (the server guarantees it too; the page
  // also merges list refreshes with live events, which can cross).
  const STATE_RANK = { dialing: 0, ringing: 1, active: 2, on_hold: 2, ended: 9 };
  const DTMF_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
  // The server's one-word outcome of an ended call, for people.
  const OUTCOME_LABELS = {
    completed: 'Completed',
    busy: 'Busy',
    no_answer: 'No answer',
    rejected: 'Rejected',
    failed: 'Failed',
    canceled: 'Canceled',
    max_duration: 'Hit the time limit',
    expired: 'Expired',
  };

  function readConfig() {
    const node = document.getElementById('sipdial-config');
    try {
      return JSON.parse(node ? node.textContent : '{}');
    } catch (e) {
      return {};
    }
  }

  // ---- API ---------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  async function request(method, path, body, headers) {
    const init = {
      method,
      headers: { Accept: 'application/json', ...(headers || {}) },
      credentials: 'same-origin',
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(api + path, init);
    } catch (e) {
      throw new ApiError(0, 'network_error', 'The server could not be reached (' + e.message + ').');
    }
    const text = res.status === 204 ? '' : await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(
        res.status,
        err.code || 'http_' + res.status,
        err.message || res.statusText || 'The request failed.',
        res.headers.get('Retry-After'),
      );
    }
    return data;
  }

  const listOf = (data, key) => (Array.isArray(data) ? data : (data && data[key]) || []);

  // ---- messages ----------------------------------------------------------------------

  function showError(action, err) {
    const box = document.createElement('div');
    box.className = 'error';
    const text = document.createElement('p');
    const what = document.createElement('strong');
    what.textContent = action + ' failed';
    text.append(what);
    if (err instanceof ApiError) {
      const code = err.status ? err.status + ' ' + err.code : err.code;
      const message = /[.!?]$/.test(err.message) ? err.message : err.message + '.';
      text.append(' (' + code + '): ' + message);
      if (err.status === 429) {
        text.append(
          err.retryAfter
            ? ' Try again in ' + err.retryAfter + ' s.'
            : ' Try again in a moment.',
        );
      }
    } else {
      text.append(': ' + (err && err.message ? err.message : String(err)));
    }
    const dismiss = document.createElement('button');
    dismiss.type = 'button';
    dismiss.className = 'dismiss';
    dismiss.textContent = 'Dismiss';
    dismiss.setAttribute('aria-label', 'Dismiss this error');
    dismiss.addEventListener('click', () => box.remove());
    box.append(text, dismiss);
    ui.errors.prepend(box);
    while (ui.errors.children.length > MAX_ERRORS) ui.errors.lastElementChild.remove();
    if (window.console) console.warn(action + ' failed', err);
  }

  function say(message) {
    ui.status.textContent = message;
  }

  // ---- targets -----------------------------------------------------------------------

  function renderTargets() {
    ui.target.replaceChildren();
    for (const t of state.targets) {
      const option = document.createElement('option');
      option.value = t.name;
      option.textContent = t.label || t.name;
      ui.target.append(option);
    }
    ui.picker.hidden = state.targets.length < 2;
    ui.start.disabled = !state.sessionId || state.targets.length === 0;
    if (state.targets.length === 0) say('No SIP target is configured on the server.');
  }

  function targetLabel(name) {
    const t = state.targets.find((x) => x.name === name);
    return t ? t.label || t.name : name || 'SIP call';
  }

  // ---- calls ------------------------------------------------------------------------

  function isEnded(call) {
    return call.state === 'ended' || Boolean(call.endedAt);
  }

  function formatTime(ms) {
    if (typeof ms !== 'number') return '';
    return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  // "Busy Here (SIP 486)", "Hung up", or the code alone.
  function endText(call) {
    const reason = call.endReason || '';
    const code = typeof call.sipCode === 'number' ? 'SIP ' + call.sipCode : '';
    if (reason && code) return reason + ' (' + code + ')';
    return reason || code || 'Ended';
  }

  // "42 s", "3 min 05 s", "1 h 02 min".
  function formatDuration(ms) {
    const s = Math.round(ms / 1000);
    if (s < 60) return s + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + String(s % 60).padStart(2, '0') + ' s';
    return Math.floor(m / 60) + ' h ' + String(m % 60).padStart(2, '0') + ' min';
  }

  // "No answer", "Completed · talked 42 s": empty until the server gives the outcome.
  function outcomeText(call) {
    if (!call.outcome) return '';
    const label = OUTCOME_LABELS[call.outcome] || call.outcome;
    return typeof call.durationMs === 'number' ? label + ' · talked ' + formatDuration(call.durationMs) : label;
  }

  function buildCallElement(call) {
    const li = document.createElement('li');
    li.className = 'call';
    li.dataset.callId = call.id;
    const label = targetLabel(call.target);

    const head = document.createElement('div');
    head.className = 'call-head';
    const name = document.createElement('span');
    name.className = 'call-target';
    name.textContent = label;
    const badge = document.createElement('span');
    badge.className = 'call-state';
    head.append(name, badge);

    const meta = document.createElement('p');
    meta.className = 'call-meta';
    const idCode = document.createElement('code');
    idCode.textContent = call.id;
    meta.append('Call ', idCode, call.createdAt ? ' · started ' + formatTime(call.createdAt) : '');

    const actions = document.createElement('div');
    actions.className = 'call-actions';
    const hangup = document.createElement('button');
    hangup.type = 'button';
    hangup.className = 'hangup danger';
    hangup.textContent = 'Hang up';
    hangup.setAttribute('aria-label', 'Hang up the call to ' + label);
    hangup.addEventListener('click', () => hangUp(call.id, hangup));

    const keypad = document.createElement('details');
    keypad.className = 'dtmf';
    const summary = document.createElement('summary');
    summary.textContent = 'DTMF keypad';
    const pad = document.createElement('div');
    pad.className = 'keypad';
    pad.setAttribute('role', 'group');
    pad.setAttribute('aria-label', 'DTMF keypad for the call to ' + label);
    const dtmfStatus = document.createElement('p');
    dtmfStatus.className = 'dtmf-status';
    dtmfStatus.setAttribute('role', 'status');
    for (const key of DTMF_KEYS) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'key';
      b.textContent = key;
      b.dataset.digit = key;
      b.setAttribute('aria-label', 'Send DTMF ' + key);
      b.addEventListener('click', () => sendDtmf(call.id, key, dtmfStatus));
      pad.append(b);
    }
    keypad.append(summary, pad, dtmfStatus);

    // Force-mute: the platform offers no unmute, so the button stays pressed.
    const mute = document.createElement('button');
    mute.type = 'button';
    mute.className = 'mute';
    mute.textContent = 'Mute';
    mute.setAttribute('aria-label', 'Mute the call to ' + label);
    mute.setAttribute('aria-pressed', 'false');
    mute.addEventListener('click', () => muteCall(call.id, mute));
    actions.append(hangup, mute, keypad);

    li.append(head, meta, actions);
    return li;
  }

  function setBadge(li, s) {
    const badge = li.querySelector('.call-state');
    badge.textContent = STATE_LABELS[s] || s || 'unknown';
    badge.dataset.state = s || 'unknown';
  }

  function buildEndedElement(call) {
    const li = document.createElement('li');
    li.className = 'ended-call';
    li.dataset.callId = call.id;
    const head = document.createElement('div');
    head.className = 'call-head';
    const name = document.createElement('span');
    name.className = 'call-target';
    name.textContent = targetLabel(call.target);
    const badge = document.createElement('span');
    badge.className = 'call-state';
    head.append(name, badge);
    const reason = document.createElement('p');
    reason.className = 'end-reason';
    const outcome = document.createElement('p');
    outcome.className = 'call-outcome';
    li.append(head, reason, outcome);
    return li;
  }

  function updateEndedElement(li, call) {
    setBadge(li, 'ended');
    const when = call.endedAt ? ' · ' + formatTime(call.endedAt) : '';
    li.querySelector('.end-reason').textContent = endText(call) + when;
    li.dataset.sipCode = typeof call.sipCode === 'number' ? String(call.sipCode) : '';
    const outcome = li.querySelector('.call-outcome');
    outcome.textContent = outcomeText(call);
    outcome.hidden = !call.outcome;
    li.dataset.outcome = call.outcome || '';
    li.dataset.durationMs = typeof call.durationMs === 'number' ? String(call.durationMs) : '';
  }

  // Whether `next` may replace what the page shows for the same call.
  function isNewer(next, known) {
    if (!known) return true;
    if (isEnded(known)) {
      // Final: only more detail about the end (the platform's reason after our hang-up).
      return isEnded(next) && (next.sipCode !== known.sipCode || next.endReason !== known.endReason
        || next.outcome !== known.outcome || next.durationMs !== known.durationMs);
    }
    if (isEnded(next)) return true;
    const a = typeof next.updatedAt === 'number' ? next.updatedAt : 0;
    const b = typeof known.updatedAt === 'number' ? known.updatedAt : 0;
    if (a !== b) return a > b;
    return (STATE_RANK[next.state] || 0) >= (STATE_RANK[known.state] || 0);
  }

  function focusAway(element) {
    if (element.contains(document.activeElement)) ui.start.focus();
  }

  function announce(before, call) {
    if (state.hungUpHere.has(call.id)) return;
    const who = 'The call to ' + targetLabel(call.target);
    if (isEnded(call)) {
      const outcome = outcomeText(call);
      say(who + ' ended: ' + endText(call) + (outcome ? ' · ' + outcome : '') + '.');
    }
    else if (before && before.state !== call.state) say(who + ' is ' + (STATE_LABELS[call.state] || call.state) + '.');
  }

  // Applies one call as the server reports it, keeping each element (and so an open
  // keypad and keyboard focus) across updates.
  function applyCall(call, quiet) {
    if (!call || !call.id) return;
    const active = state.calls.get(call.id);
    const ended = state.ended.get(call.id);
    const known = ended ? ended.call : active && active.call;
    if (!isNewer(call, known)) return;
    if (!quiet) announce(known, call);
    if (isEnded(call)) {
      if (active) {
        focusAway(active.element);
        active.element.remove();
        state.calls.delete(call.id);
      }
      let entry = ended;
      if (!entry) {
        entry = { call, element: buildEndedElement(call) };
        state.ended.set(call.id, entry);
        ui.ended.prepend(entry.element);
      }
      entry.call = call;
      updateEndedElement(entry.element, call);
      trimEnded();
    } else {
      let entry = active;
      if (!entry) {
        entry = { call, element: buildCallElement(call) };
        state.calls.set(call.id, entry);
        ui.calls.append(entry.element);
      }
      entry.call = call;
      setBadge(entry.element, call.state);
    }
    updateCallsChrome();
  }

  function trimEnded() {
    const byEnd = [...state.ended.values()].sort(
      (x, y) => (y.call.endedAt || y.call.updatedAt || 0) - (x.call.endedAt || x.call.updatedAt || 0),
    );
    for (const entry of byEnd.slice(MAX_ENDED)) {
      entry.element.remove();
      state.ended.delete(entry.call.id);
    }
    for (const entry of byEnd.slice(0, MAX_ENDED).reverse()) ui.ended.prepend(entry.element);
  }

  function updateCallsChrome() {
    const count = state.calls.size;
    ui.callsEmpty.hidden = count > 0;
    ui.endAll.disabled = count === 0;
    ui.endedSection.hidden = state.ended.size === 0;
  }

  // A full list (the SSE snapshot or GET /calls?all=true): calls missing from it that
  // the page shows as active are gone; ended calls stay in the recent list.
  function applyList(calls) {
    const listed = new Set(calls.map((c) => c.id));
    for (const [id, entry] of state.calls) {
      if (!listed.has(id)) {
        focusAway(entry.element);
        entry.element.remove();
        state.calls.delete(id);
      }
    }
    for (const call of calls) applyCall(call, true);
    updateCallsChrome();
  }

  // One refresh at a time: a slow answer is never overwritten by an older one.
  function refreshCalls() {
    if (!state.sessionId) return Promise.resolve();
    if (state.refreshing) return state.refreshing;
    state.refreshing = request('GET', '/calls?all=true&sessionId=' + encodeURIComponent(state.sessionId))
      .then((data) => applyList(listOf(data, 'calls')))
      .catch((err) => showError('Refreshing the call list', err))
      .finally(() => {
        state.refreshing = null;
      });
    return state.refreshing;
  }

  function startPolling() {
    if (state.polling) return;
    const every = Number(config.pollIntervalMs) > 0 ? Number(config.pollIntervalMs) : 2000;
    state.polling = setInterval(() => {
      if (!document.hidden) refreshCalls();
    }, every);
  }

  function stopPolling() {
    if (state.polling) clearInterval(state.polling);
    state.polling = null;
  }

  // ---- live updates (Server-Sent Events) ----------------------------------------------

  const LIVE_TEXT = {
    connecting: 'Connecting to live call updates…',
    live: 'Live: call states update as they happen.',
    reconnecting: 'Live updates interrupted; reconnecting…',
    unavailable: 'Live updates are unavailable; the list refreshes every few seconds.',
  };

  function setLive(mode) {
    state.live = mode;
    ui.live.dataset.live = mode;
    ui.live.textContent = LIVE_TEXT[mode] || '';
    // Without a live stream the list is polled, and can be refreshed by hand.
    ui.refresh.hidden = mode === 'live' || mode === 'connecting';
    if (mode === 'live') stopPolling();
    else if (mode !== 'connecting') startPolling();
  }

  function parseData(event) {
    try {
      return JSON.parse(event.data);
    } catch (e) {
      return null;
    }
  }

  function connectEvents() {
    if (state.retryTimer) clearTimeout(state.retryTimer);
    state.retryTimer = null;
    if (!window.EventSource || config.sse === false) {
      setLive('unavailable');
      return;
    }
    if (state.events) state.events.close();
    setLive(state.live === 'off' ? 'connecting' : 'reconnecting');
    const source = new EventSource(api + '/events?sessionId=' + encodeURIComponent(state.sessionId));
    state.events = source;
    // For people and tests reading the page: how many streams the page opened (the
    // browser's own reconnects reuse one) and the last event id it saw.
    ui.live.dataset.connects = String(Number(ui.live.dataset.connects || 0) + 1);
    const seen = (event) => {
      if (event.lastEventId) ui.live.dataset.lastEventId = event.lastEventId;
    };
    source.addEventListener('open', () => {
      state.retryMs = 0;
      setLive('live');
    });
    source.addEventListener('snapshot', (event) => {
      seen(event);
      const data = parseData(event);
      if (data) applyList(listOf(data, 'calls'));
      setLive('live');
    });
    source.addEventListener('call', (event) => {
      seen(event);
      const call = parseData(event);
      if (call) applyCall(call, false);
    });
    source.addEventListener('error', () => {
      if (state.events !== source) return;
      if (source.readyState === EventSource.CONNECTING) {
        // The server closed the stream or the network dropped: the browser reconnects
        // by itself and resumes with Last-Event-ID. Poll until it is back.
        setLive('reconnecting');
        return;
      }
      // Closed for good (an error status, not an event stream): back off and reopen.
      source.close();
      state.events = null;
      setLive('unavailable');
      state.retryMs = Math.min(state.retryMs ? state.retryMs * 2 : 1000, 30000);
      state.retryTimer = setTimeout(connectEvents, state.retryMs);
    });
  }

  // A fresh Idempotency-Key per Start SIP Call: the server answers a retry with the same
  // key with the call the first attempt placed (or 409 while it is still being placed),
  // so retrying after a lost answer never rings the far end twice.
  function newIdempotencyKey() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // Whether a dial's failure leaves it unknown if the call was placed (or says the first
  // attempt is still running): then the same request is sent again with the same key.
  const DIAL_RETRIES = 3;
  const retryableDial = (err) =>
    err instanceof ApiError &&
    (err.status === 0 || err.status === 503 || err.code === 'idempotency_key_in_use');

  async function startCall() {
    const body = { sessionId: state.sessionId };
    if (state.targets.length > 0) body.target = ui.target.value || state.targets[0].name;
    const headers = { 'Idempotency-Key': newIdempotencyKey() };
    ui.start.disabled = true;
    say('Dialing ' + targetLabel(body.target) + '…');
    try {
      let call;
      for (let attempt = 0; ; attempt++) {
        try {
          call = await request('POST', '/dial', body, headers);
          break;
        } catch (err) {
          if (attempt >= DIAL_RETRIES || !retryableDial(err)) throw err;
          const waitS = Number(err.retryAfter) || 2 ** attempt;
          say('Dialing ' + targetLabel(body.target) + '… (retrying in ' + waitS + ' s)');
          await new Promise((done) => setTimeout(done, waitS * 1000));
        }
      }
      say('Dialed ' + targetLabel(call.target || body.target) + '.');
      applyCall(call, true);
      if (state.live !== 'live') await refreshCalls();
    } catch (err) {
      say('');
      showError('Start SIP Call', err);
    } finally {
      ui.start.disabled = !state.sessionId || state.targets.length === 0;
    }
  }

  // The call as it is after our own hang-up, until the server says more.
  function hungUp(id) {
    state.hungUpHere.add(id);
    const entry = state.calls.get(id);
    if (!entry) return;
    applyCall({ ...entry.call, state: 'ended', endedAt: Date.now(), endReason: entry.call.endReason || 'Hung up' }, true);
  }

  async function hangUp(id, button) {
    if (button) button.disabled = true;
    state.hungUpHere.add(id);
    try {
      await request('DELETE', '/calls/' + encodeURIComponent(id));
      say('Hung up the call to ' + targetLabel(state.calls.get(id)?.call.target) + '.');
      hungUp(id);
      if (state.live !== 'live') await refreshCalls();
    } catch (err) {
      state.hungUpHere.delete(id);
      showError('Hang up', err);
      if (button) button.disabled = false;
    }
  }

  async function muteCall(id, button) {
    button.disabled = true;
    try {
      await request('POST', '/calls/' + encodeURIComponent(id) + '/mute');
      button.textContent = 'Muted';
      button.setAttribute('aria-pressed', 'true');
      say('Muted the call to ' + targetLabel(state.calls.get(id)?.call.target) + '.');
    } catch (err) {
      showError('Mute', err);
      button.disabled = false;
    }
  }

  async function sendDtmf(id, digits, statusNode) {
    statusNode.textContent = 'Sending ' + digits + '…';
    try {
      await request('POST', '/calls/' + encodeURIComponent(id) + '/dtmf', { digits });
      statusNode.textContent = 'Sent DTMF ' + digits + '.';
    } catch (err) {
      statusNode.textContent = '';
      showError('Send DTMF ' + digits, err);
    }
  }

  // Ends every active call of the session through the server, including calls placed
  // from another tab, and reports each failure on its own.
  async function endAllCalls() {
    ui.endAll.disabled = true;
    try {
      const data = await request(
        'GET',
        '/calls?sessionId=' + encodeURIComponent(state.sessionId),
      );
      const active = listOf(data, 'calls').filter((c) => !isEnded(c));
      if (active.length === 0) {
        say('There are no active SIP calls.');
      } else {
        say('Ending ' + active.length + ' SIP call' + (active.length === 1 ? '' : 's') + '…');
        for (const c of active) state.hungUpHere.add(c.id);
        const results = await Promise.allSettled(
          active.map((c) => request('DELETE', '/calls/' + encodeURIComponent(c.id))),
        );
        const failed = results.filter((r) => r.status === 'rejected');
        for (const f of failed) showError('End SIP Calls', f.reason);
        active.forEach((c, i) => {
          if (results[i].status === 'fulfilled') {
            if (!state.calls.has(c.id)) applyCall(c, true);
            hungUp(c.id);
          }
        });
        say(
          'Ended ' + (active.length - failed.length) + ' of ' + active.length + ' SIP call' +
            (active.length === 1 ? '' : 's') + '.',
        );
      }
    } catch (err) {
      showError('End SIP Calls', err);
    } finally {
      if (state.live !== 'live') await refreshCalls();
      ui.endAll.disabled = state.calls.size === 0;
    }
  }

  // ---- video -------------------------------------------------------------------------

  function noteIn(container, text) {
    let note = container.querySelector('.video-note');
    if (!note) {
      note = document.createElement('p');
      note.className = 'video-note';
      container.prepend(note);
    }
    note.textContent = text;
    note.hidden = false;
  }

  // `reason` goes in the publisher box; `short` in the stream panels.
  function videoUnavailable(reason, short) {
    const tail = ' SIP calls still work from the controls on this page.';
    noteIn(ui.publisher, reason + tail);
    noteIn(ui.webrtc, 'No streams: ' + (short || reason));
    noteIn(ui.sip, 'No streams: ' + (short || reason));
    document.body.classList.add('no-video');
  }

  function loadScript(url, timeoutMs) {
    return new Promise((resolve, reject) => {
      if (window.OT) return resolve(window.OT);
      const s = document.createElement('script');
      const timer = setTimeout(
        () => reject(new Error('no answer within ' + Math.round(timeoutMs / 1000) + ' s')),
        timeoutMs,
      );
      s.src = url;
      s.async = true;
      s.onload = () => {
        clearTimeout(timer);
        if (window.OT) resolve(window.OT);
        else reject(new Error('the script did not define OT'));
      };
      s.onerror = () => {
        clearTimeout(timer);
        reject(new Error('the request failed'));
      };
      document.head.append(s);
    });
  }

  // The server marks the SIP leg's connection data (`sip=true`, as the original
  // sample did); accept both that form and a JSON object with `sip: true`.
  function isSipStream(stream) {
    const data = (stream && stream.connection && stream.connection.data) || '';
    if (/(^|[&;,\s])sip=true($|[&;,\s])/.test(data)) return true;
    try {
      const parsed = JSON.parse(data);
      return Boolean(parsed && parsed.sip === true);
    } catch (e) {
      return false;
    }
  }

  function updateStreamNotes() {
    for (const panel of [ui.webrtc, ui.sip]) {
      const note = panel.querySelector('.video-note');
      if (note) note.hidden = panel.querySelector('.stream') !== null;
    }
  }

  async function startVideo() {
    if (config.demo) {
      videoUnavailable(
        'Video is off in demo mode: the session exists only in the server’s local stand-in for the platform, not in the Vonage Video cloud.',
        'video is off in demo mode.',
      );
      return;
    }
    let OT;
    try {
      OT = await loadScript(config.opentokJsUrl, 15000);
    } catch (e) {
      videoUnavailable(
        'OpenTok.js could not be loaded from ' + config.opentokJsUrl + ' (' + e.message + ').',
        'OpenTok.js could not be loaded.',
      );
      return;
    }
    if (OT.checkSystemRequirements && OT.checkSystemRequirements() !== 1) {
      videoUnavailable('This browser does not support WebRTC video.');
      return;
    }
    let token;
    try {
      token = await request('POST', '/token', { sessionId: state.sessionId });
    } catch (err) {
      showError('Getting a video token', err);
      videoUnavailable('No token for the video session.');
      return;
    }
    const session = OT.initSession(state.apiKey, state.sessionId);
    session.on('streamCreated', (event) => {
      const sip = isSipStream(event.stream);
      const panel = sip ? ui.sip : ui.webrtc;
      const box = document.createElement('div');
      box.className = 'stream';
      box.id = 'stream-' + event.stream.streamId;
      panel.append(box);
      updateStreamNotes();
      session.subscribe(
        event.stream,
        box,
        { insertMode: 'append', width: '100%', height: '100%' },
        (err) => err && showError('Subscribing to a stream', err),
      );
    });
    session.on('streamDestroyed', (event) => {
      const box = document.getElementById('stream-' + event.stream.streamId);
      if (box) box.remove();
      updateStreamNotes();
    });
    session.on('sessionDisconnected', () => videoUnavailable('Disconnected from the video session.'));
    session.connect(token.token, (err) => {
      if (err) {
        videoUnavailable(
          'Could not connect to the video session (' + err.message + ').',
          'not connected to the video session.',
        );
        return;
      }
      ui.publisherNote.hidden = true;
      const publisher = OT.initPublisher(
        ui.publisher,
        { insertMode: 'append', width: '100%', height: '100%', name: 'Browser' },
        (perr) => {
          if (perr) {
            ui.publisherNote.hidden = false;
            noteIn(ui.publisher, 'The camera could not be published (' + perr.message + ').');
          }
        },
      );
      session.publish(publisher, (perr) => perr && showError('Publishing the camera', perr));
    });
  }

  // ---- start -------------------------------------------------------------------------

  async function start() {
    if (config.servedBy) ui.servedBy.textContent = config.servedBy;
    ui.start.addEventListener('click', startCall);
    ui.endAll.addEventListener('click', endAllCalls);
    ui.refresh.addEventListener('click', () => refreshCalls());
    updateCallsChrome();

    try {
      const body = state.room ? { room: state.room } : {};
      const session = await request('POST', '/session', body);
      state.sessionId = session.sessionId;
      state.apiKey = session.apiKey;
      ui.sessionId.textContent = session.sessionId;
      ui.sessionId.title = 'Room ' + (session.room || 'default');
    } catch (err) {
      showError('Creating the session', err);
      videoUnavailable('There is no session to join.');
      return;
    }

    try {
      state.targets = listOf(await request('GET', '/targets'), 'targets');
    } catch (err) {
      showError('Loading the SIP targets', err);
    }
    renderTargets();
    await refreshCalls();
    connectEvents();
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && state.live !== 'live') refreshCalls();
    });
    document.body.dataset.ready = 'true';
    startVideo();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
