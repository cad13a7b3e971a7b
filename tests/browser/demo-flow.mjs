// Drives an example app's page in Debian's headless Chromium (playwright-core, no
// browser download) through the whole SIP flow, and saves screenshots.
//
//   node demo-flow.mjs --url=http://127.0.0.1:PORT/ --screenshot=target/artifacts/x.png \
//        [--expect-targets=N] [--pick=LABEL] [--video=demo|unavailable] \
//        [--scenario=controls|lifecycle|policies] [--expect-end=TEXT] [--expect-busy=TEXT]
//        [--ring-timeout=LABEL] [--time-limit=LABEL] [--mute] [--sip-timing]
//        [--access-token=TOKEN]
//
// --video=demo (default): demo mode, banner shown, no request leaves the app.
// --video=unavailable: real mode whose OpenTok.js cannot load: no banner, the video
// panels say so, and the SIP controls still work.
// --scenario=controls (default): every control of the page (dial, live progression,
// DTMF, hang up, End SIP Calls, a call from elsewhere, rate limit, accessibility,
// phone width).
// --scenario=lifecycle: two calls whose far end is scripted by the caller (the
// platform's callbacks): the first must ring, be answered and end with --expect-end
// (e.g. "Normal Clearing (SIP 700)"); the second must ring and end with --expect-busy
// (e.g. "Busy Here (SIP 486)") without ever being active. The page never hangs up.
// --scenario=policies: the server's own call policies, in demo mode on real SIP: a call
// to the target labelled --ring-timeout (a far end that never answers) rings and is
// ended by sipdial with the outcome "No answer"; a call to --time-limit is answered and
// ended by sipdial at its maximum duration ("Hit the time limit", with the talk time).
// With --mute the answered call is muted from its Mute button first.
//
// --access-token=TOKEN: the app runs with SIPDIAL_ACCESS_TOKEN: the page first asks for
// the token (a wrong one is refused), then sets its HttpOnly SameSite=Strict cookie and
// the flow goes on with it; the script's own requests send it as a Bearer header.
//
// Env: CHROMIUM_PATH (default /usr/bin/chromium). Exits 1 on the first failed step,
// printing what the page showed. The Rust tests in examples/*-demo/tests/browser.rs start
// the demo binaries and call this script.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, '').split('=');
    return [k, v.join('=') || 'true'];
  }),
);
const baseUrl = args.url;
const screenshot = args.screenshot;
const expectTargets = Number(args['expect-targets'] || 1);
const pickLabel = args.pick;
const videoMode = args.video || 'demo';
// Whether calls progress by themselves (demo mode's FakeDialer, or a scripted platform
// sending callbacks); `--progression=no` for a platform that sends none.
const progression = (args.progression || 'yes') !== 'no';
// Demo mode on real SIP: the bundled SIP endpoint rings at ~1 s and answers at ~3 s, so
// the page must not show those states earlier (a timer-free check that they came from
// the endpoint's 180 and 200, whose timing the Rust side sets).
const sipTiming = args['sip-timing'] === 'true';
const scenario = args.scenario || 'controls';
if (!['controls', 'lifecycle', 'policies'].includes(scenario)) {
  console.error('--scenario must be controls, lifecycle or policies');
  process.exit(2);
}
if (!['demo', 'unavailable'].includes(videoMode)) {
  console.error('--video must be demo or unavailable');
  process.exit(2);
}
if (!baseUrl || !screenshot) {
  console.error('usage: node demo-flow.mjs --url=URL --screenshot=PATH [--expect-targets=N] [--pick=LABEL]');
  process.exit(2);
}
const origin = new URL(baseUrl).origin;
const accessToken = args['access-token'];
if (accessToken) {
  // The script's own requests, "from another client", carry the token as a header.
  const plainFetch = globalThis.fetch;
  globalThis.__plainFetch = plainFetch;
  globalThis.fetch = (url, init = {}) =>
    plainFetch(url, { ...init, headers: { ...(init.headers || {}), Authorization: 'Bearer ' + accessToken } });
}
// While the page asks for the token, its 401 is expected.
let tokenStep = false;
let apiBase = null;
const STEP_TIMEOUT = 15000;

// `GET url` without any credential (no cookie, no header): the status.
async function plainStatus(url) {
  const res = await (accessToken ? plainFetchOf() : fetch)(url);
  return res.status;
}
function plainFetchOf() {
  return globalThis.__plainFetch;
}
function apiBaseGuess() {
  return new URL('sip/targets', baseUrl).href;
}

let step = 0;
function ok(what) {
  step += 1;
  console.log(`ok ${step} - ${what}`);
}

const userDataDir = mkdtempSync(path.join(tmpdir(), 'sipdial-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
  ],
});

const pageErrors = [];
const consoleErrors = []; // { text, url }
const foreignRequests = [];
let page;

async function fail(message) {
  console.error(`not ok ${step + 1} - ${message}`);
  if (page) {
    try {
      const text = await page.evaluate(() => document.body.innerText);
      console.error('--- page text ---\n' + text);
      await page.screenshot({ path: screenshot.replace(/\.png$/, '-failure.png'), fullPage: true });
    } catch (e) {
      console.error('(could not read the page: ' + e.message + ')');
    }
  }
  if (pageErrors.length) console.error('--- page errors ---\n' + pageErrors.join('\n'));
  if (consoleErrors.length) {
    console.error('--- console errors ---\n' + consoleErrors.map((e) => `${e.text} (${e.url})`).join('\n'));
  }
  await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}

async function waitFor(description, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: STEP_TIMEOUT, polling: 50 });
  } catch (e) {
    await fail(`${description} (timed out)`);
  }
}

function check(condition, description) {
  if (!condition) return fail(description);
  return Promise.resolve();
}

const callCount = () => page.locator('#calls li.call').count();
const waitForCalls = (n, why) =>
  waitFor(`${why}: expected ${n} call(s) listed`, (k) => document.querySelectorAll('#calls li.call').length === k, n);
const startEnabled = () =>
  waitFor('Start SIP Call enabled again', () => !document.getElementById('start-call').disabled);

// The platform may report the connection's end before callDestroyed's reason: wait for
// the reason to arrive.
const waitForEndReason = (id, text) =>
  waitFor(`the ended call ${id} shows the far end's reason "${text}"`, ([k, t]) => {
    const r = document.querySelector(`#ended-calls li.ended-call[data-call-id="${k}"] .end-reason`);
    return r && r.textContent.includes(t);
  }, [id, text]);

// Records every state each call's badge shows, in order, from now on.
const watchStates = () =>
  page.evaluate(() => {
    window.__callStates = {};
    const record = () => {
      for (const li of document.querySelectorAll('#calls li.call, #ended-calls li.ended-call')) {
        const s = li.querySelector('.call-state')?.dataset.state;
        if (!s) continue;
        const seq = (window.__callStates[li.dataset.callId] ||= []);
        if (seq[seq.length - 1] !== s) seq.push(s);
      }
    };
    record();
    new MutationObserver(record).observe(document.getElementById('calls-section'), {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
    });
  });
const statesOf = (id) => page.evaluate((k) => (window.__callStates || {})[k] || [], id);
const RANK = { dialing: 0, ringing: 1, active: 2, on_hold: 2, ended: 9 };
const neverBackwards = (seq) => seq.every((s, i) => i === 0 || RANK[s] >= RANK[seq[i - 1]] || (s === 'active' && seq[i - 1] === 'on_hold'));
const waitForState = (id, st, why) =>
  waitFor(`${why}: call ${id} shows ${st}`, ([k, want]) => {
    const li = document.querySelector(`#calls li.call[data-call-id="${k}"], #ended-calls li.ended-call[data-call-id="${k}"]`);
    return li && li.querySelector('.call-state')?.dataset.state === want;
  }, [id, st]);

const waitForOutcome = (id, outcome) =>
  waitFor(`call ${id} ended with the outcome ${outcome}`, ([k, o]) =>
    document.querySelector(`#ended-calls li.ended-call[data-call-id="${k}"]`)?.dataset.outcome === o, [id, outcome]);

// The lifecycle scenario: the far end is scripted by the caller through the platform's
// callbacks; this page only dials and watches.
async function lifecycle() {
  const expectEnd = args['expect-end'];
  const expectBusy = args['expect-busy'];
  if (!expectEnd || !expectBusy) await fail('--scenario=lifecycle needs --expect-end and --expect-busy');

  // Call 1: rings, is answered, the far end hangs up.
  await page.getByRole('button', { name: 'Start SIP Call' }).click();
  await waitForCalls(1, 'after Start SIP Call');
  const first = await page.locator('#calls li.call').first().getAttribute('data-call-id');
  await waitForState(first, 'ringing', 'the platform reports ringing');
  ok('ringing (from the platform\'s callUpdated RINGING)');
  await waitForState(first, 'active', 'the platform reports the answer');
  ok('active (from callUpdated ACTIVE)');
  await waitForState(first, 'ended', 'the far end hangs up');
  await waitForCalls(0, 'the ended call left the active list');
  await waitForEndReason(first, expectEnd);
  const firstEnd = (await page.locator(`#ended-calls li.ended-call[data-call-id="${first}"] .end-reason`).innerText()).trim();
  await waitFor('the status line announced the end', (t) => document.getElementById('status').textContent.includes(t), expectEnd);
  const firstSeq = await statesOf(first);
  await check(firstSeq.includes('ringing') && firstSeq.includes('active'), `call 1 was seen ringing and active (${firstSeq.join(' > ')})`);
  await check(neverBackwards(firstSeq) && firstSeq[firstSeq.length - 1] === 'ended', `call 1 only moved forwards (${firstSeq.join(' > ')})`);
  await waitForOutcome(first, 'completed');
  ok(`call 1: ${firstSeq.join(' → ')}: "${firstEnd}", outcome completed`);

  // Call 2: rings, the far end is busy.
  await startEnabled();
  await page.getByRole('button', { name: 'Start SIP Call' }).click();
  await waitForCalls(1, 'after the second Start SIP Call');
  const second = await page.locator('#calls li.call').first().getAttribute('data-call-id');
  await check(second !== first, 'a new call');
  await waitForState(second, 'ringing', 'the second call rings');
  await waitForState(second, 'ended', 'the far end is busy');
  await waitForEndReason(second, expectBusy);
  const secondEnd = (await page.locator(`#ended-calls li.ended-call[data-call-id="${second}"] .end-reason`).innerText()).trim();
  const secondSeq = await statesOf(second);
  await check(!secondSeq.includes('active'), `the busy call was never active (${secondSeq.join(' > ')})`);
  await check(neverBackwards(secondSeq), `call 2 only moved forwards (${secondSeq.join(' > ')})`);
  await waitForOutcome(second, 'busy');
  const busyText = (await page.locator(`#ended-calls li.ended-call[data-call-id="${second}"] .call-outcome`).innerText()).trim();
  await check(busyText === 'Busy', `the busy call's outcome reads "Busy" ("${busyText}")`);
  ok(`call 2: ${secondSeq.join(' → ')}: "${secondEnd}", outcome busy`);

  await check((await page.locator('#ended-calls li.ended-call').count()) === 2, 'both calls are listed as ended');
  await check((await page.locator('#errors .error').count()) === 0, 'no error on the page');
  await page.screenshot({ path: screenshot, fullPage: true });
  ok('screenshot of the ended calls with their reasons');
}

// The policies scenario: sipdial itself ends both calls, by its ring timeout and by its
// maximum duration; the page never hangs up.
async function policies() {
  const ringLabel = args['ring-timeout'];
  const limitLabel = args['time-limit'];
  if (!ringLabel || !limitLabel) await fail('--scenario=policies needs --ring-timeout and --time-limit');
  const outcomeOf = (id) =>
    page.evaluate((k) => {
      const li = document.querySelector(`#ended-calls li.ended-call[data-call-id="${k}"]`);
      return li && { outcome: li.dataset.outcome, durationMs: li.dataset.durationMs,
        text: li.querySelector('.call-outcome').textContent, visible: !li.querySelector('.call-outcome').hidden };
    }, id);
  const dialPicked = async (label) => {
    await startEnabled();
    await page.getByLabel('Call', { exact: true }).selectOption({ label });
    await page.getByRole('button', { name: 'Start SIP Call' }).click();
    await waitForCalls(1, `after Start SIP Call to ${label}`);
    return page.locator('#calls li.call').first().getAttribute('data-call-id');
  };

  // Ring timeout: rings, never answered, ended by sipdial.
  const ringing = await dialPicked(ringLabel);
  await waitForState(ringing, 'ringing', 'the far end rings');
  await waitForState(ringing, 'ended', 'the ring timeout ends the call');
  await waitForOutcome(ringing, 'no_answer');
  const noAnswer = await outcomeOf(ringing);
  const ringSeq = await statesOf(ringing);
  await check(!ringSeq.includes('active'), `the unanswered call was never active (${ringSeq.join(' > ')})`);
  await check(noAnswer.visible && noAnswer.text.startsWith('No answer'), `the page says "No answer" (${noAnswer.text})`);
  await check(noAnswer.durationMs === '', `an unanswered call has no talk time (${noAnswer.durationMs})`);
  ok(`ring timeout: ${ringSeq.join(' → ')}: "${noAnswer.text}"`);

  // Maximum duration: answered, ended by sipdial once the limit is reached.
  const limited = await dialPicked(limitLabel);
  await waitForState(limited, 'active', 'the far end answers');
  if (args.mute === 'true') {
    const mute = page.locator(`#calls li.call[data-call-id="${limited}"] button.mute`);
    await mute.click();
    await waitFor('the Mute button says Muted', (k) => {
      const b = document.querySelector(`#calls li.call[data-call-id="${k}"] button.mute`);
      return !b || (b.textContent === 'Muted' && b.getAttribute('aria-pressed') === 'true');
    }, limited);
    await check((await page.locator('#errors .error').count()) === 0, 'muting raised no error');
    ok('the live call was muted from its Mute button');
  }
  await waitForState(limited, 'ended', 'the maximum duration ends the call');
  await waitForOutcome(limited, 'max_duration');
  const maxed = await outcomeOf(limited);
  const talked = Number(maxed.durationMs);
  await check(maxed.visible && maxed.text.startsWith('Hit the time limit · talked '), `the page says the limit ended it (${maxed.text})`);
  await check(talked >= 1000 && talked < 10000, `the talk time is the limit's (${talked} ms)`);
  const limitSeq = await statesOf(limited);
  await check(limitSeq.includes('active') && neverBackwards(limitSeq), `answered, then ended (${limitSeq.join(' > ')})`);
  ok(`time limit: ${limitSeq.join(' → ')}: "${maxed.text}"`);

  await check((await page.locator('#ended-calls li.ended-call').count()) === 2, 'both calls are listed as ended');
  await check((await page.locator('#errors .error').count()) === 0, 'no error on the page');
  await page.screenshot({ path: screenshot, fullPage: true });
  ok('screenshot of both outcomes');
}

// Checks that end every scenario: nothing left the app, no script error.
async function finish() {
  await check(foreignRequests.length === 0, `the page requested other origins: ${foreignRequests.join(', ')}`);
  const unexpected = consoleErrors.filter((e) => !(videoMode === 'unavailable' && e.url === opentokJsHref));
  pageErrors.push(...unexpected.map((e) => `console: ${e.text} (${e.url})`));
  await check(pageErrors.length === 0, 'no script errors on the page' + (pageErrors.length ? ': ' + pageErrors.join('; ') : ''));
  ok('no script error and no request outside the app');
  console.log(`${step} passed, 0 failed`);
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

let opentokJsHref = null;
// While the flow breaks the event stream on purpose, the browser's complaints about it
// are expected.
let sseProvoked = false;
// The first dial's answer is dropped on purpose (the page must retry with its key).
let dialProvoked = false;
// The Idempotency-Key of every POST /dial the page sent, in order.
const dialKeys = [];

try {
  page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    // The browser logs every non-2xx fetch; the 429s are provoked on purpose below and
    // must show up on the page instead (checked there).
    const provoked =
      /Failed to load resource: .* status of 429/.test(m.text()) ||
      (sseProvoked && (m.location().url || '').includes('/sip/events')) ||
      (sseProvoked && /EventSource/.test(m.text())) ||
      (dialProvoked && /ERR_CONNECTION_RESET|Failed to fetch/.test(m.text())) ||
      (tokenStep && /Failed to load resource: .* status of 401/.test(m.text()));
    if (m.type() === 'error' && !provoked) consoleErrors.push({ text: m.text(), url: m.location().url });
  });
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin !== origin && u.protocol.startsWith('http')) foreignRequests.push(r.url());
    if (r.method() === 'POST' && u.pathname.endsWith('/dial')) dialKeys.push(r.headers()['idempotency-key']);
  });

  // ---- the access token, asked for once ------------------------------------------------
  if (accessToken) {
    tokenStep = true;
    const asked = await page.goto(baseUrl, { waitUntil: 'domcontentloaded' });
    await check(asked && asked.status() === 401, `without the token the page asks for it (${asked && asked.status()})`);
    await check((await page.locator('#app, #start-call').count()) === 0, 'the page itself is not served');
    await page.fill('#access-token', 'not-the-access-token-0123');
    await Promise.all([page.waitForNavigation(), page.click('#access-submit')]);
    await check(await page.locator('#access-error').isVisible(), 'a wrong token is refused');
    await page.fill('#access-token', accessToken);
    const [arrived] = await Promise.all([page.waitForNavigation(), page.click('#access-submit')]);
    await check(arrived && arrived.status() === 200, `the right token opens the page (${arrived && arrived.status()})`);
    await check(!page.url().includes('access_token'), `the token left the address bar (${page.url()})`);
    const cookie = (await context.cookies(baseUrl)).find((c) => c.name === 'sipdial_access');
    await check(cookie && cookie.httpOnly && cookie.sameSite === 'Strict',
      `the page set an HttpOnly SameSite=Strict cookie (${JSON.stringify(cookie && { httpOnly: cookie.httpOnly, sameSite: cookie.sameSite })})`);
    const bare = await plainStatus(apiBaseGuess());
    await check(bare === 401, `the API without the cookie or token answers 401 (${bare})`);
    tokenStep = false;
    ok('the page asked for the access token once and keeps it in an HttpOnly cookie');
  }

  // ---- load ---------------------------------------------------------------------------
  const response = await page.goto(baseUrl, { waitUntil: 'domcontentloaded' });
  await check(response && response.status() === 200, `GET / answered ${response && response.status()}`);
  await waitFor('the page finished starting (session, targets, calls)', () => document.body.dataset.ready === 'true');
  ok('page loaded and created its session');

  for (const text of ['Your Publisher', 'Start SIP Call', 'End SIP Calls', 'WebRTC Streams', 'SIP Streams']) {
    await check((await page.getByText(text, { exact: true }).count()) > 0, `"${text}" is on the page`);
  }
  ok('original layout: publisher, SIP buttons, WebRTC and SIP panels');

  const banner = page.locator('#demo-banner');
  const config = await page.evaluate(() => JSON.parse(document.getElementById('sipdial-config').textContent));
  const opentokJs = new URL(config.opentokJsUrl, baseUrl).href;
  // The API below wherever the page is mounted, found the way the page finds it.
  apiBase = new URL(config.apiPath || '.', baseUrl).href.replace(/\/$/, '');
  await check(apiBase.startsWith(baseUrl.replace(/\/$/, '')),
    `the API (${apiBase}) is below the page's mount (${baseUrl})`);
  opentokJsHref = opentokJs;
  if (videoMode === 'demo') {
    await check(config.demo === true, 'the page config says demo mode');
    await check(await banner.isVisible(), 'the demo-mode banner is visible');
    await check((await banner.innerText()).includes('Demo mode'), 'the banner says demo mode');
    const publisherNote = await page.locator('#publisher .video-note').innerText();
    await check(/demo mode/i.test(publisherNote), `the publisher panel explains there is no video (${publisherNote})`);
    await check(/SIP calls still work/.test(publisherNote), 'the publisher panel says SIP still works');
    ok('demo banner shown and video panels say why there is no video');
  } else {
    await check(config.demo === false, 'the page config says real mode');
    await check((await banner.count()) === 0, 'no demo banner with credentials');
    await waitFor('the publisher panel reports that OpenTok.js failed', () =>
      /OpenTok\.js could not be loaded/.test(document.querySelector('#publisher .video-note')?.textContent || ''));
    const publisherNote = await page.locator('#publisher .video-note').innerText();
    await check(/SIP calls still work/.test(publisherNote), 'the publisher panel says SIP still works');
    for (const panel of ['#webrtc-streams', '#sip-streams']) {
      const note = await page.locator(panel + ' .video-note').innerText();
      await check(/OpenTok\.js could not be loaded/.test(note), `${panel} says why it is empty (${note})`);
    }
    ok(`real mode without OpenTok.js (${config.opentokJsUrl}): no banner, panels say so`);
  }

  const sessionId = (await page.locator('#session-id').innerText()).trim();
  await check(sessionId.length > 10, `a session id is shown (${sessionId})`);
  await check((await page.locator('#errors .error').count()) === 0, 'no error at start');

  // ---- targets ------------------------------------------------------------------------
  const picker = page.locator('#target-picker');
  if (expectTargets > 1) {
    await check(await picker.isVisible(), 'the target picker is shown for several targets');
    const options = await page.locator('#target option').allInnerTexts();
    await check(options.length === expectTargets, `picker lists ${expectTargets} targets (got ${options.join(', ')})`);
    if (pickLabel) {
      await page.getByLabel('Call', { exact: true }).selectOption({ label: pickLabel });
    }
    ok(`target picker lists ${options.join(', ')}`);
  } else {
    await check(!(await picker.isVisible()), 'no target picker for a single target');
    ok('single target: no picker');
  }

  // ---- live updates --------------------------------------------------------------------
  await waitFor('live call updates connected', () => document.getElementById('live-status').dataset.live === 'live');
  await check(await page.locator('#refresh-calls').isHidden(), 'no Refresh button while live');
  ok('live call updates connected (Server-Sent Events)');
  await watchStates();

  if (scenario === 'lifecycle') {
    await lifecycle();
    await finish();
    process.exit(0);
  }
  if (scenario === 'policies') {
    await policies();
    await finish();
    process.exit(0);
  }

  // ---- one call: state, DTMF, hang up --------------------------------------------------
  await check((await page.locator('#calls-empty').isVisible()), 'the empty-list note shows before any call');
  // Timed from the click: the endpoint's timers start when its INVITE arrives, after
  // the click, whereas the page's later steps (list, state) take longer under load.
  // The first dial reaches the server (which places the call) but its answer is lost
  // on the way back: the page retries with the same Idempotency-Key and gets that call,
  // not a second one.
  dialProvoked = true;
  await page.route(
    (url) => url.pathname.endsWith('/dial'),
    async (route) => {
      await route.fetch();
      await route.abort('connectionreset');
    },
    { times: 1 },
  );
  const clickedAt = Date.now();
  await page.getByRole('button', { name: 'Start SIP Call' }).click();
  await waitForCalls(1, 'after Start SIP Call');
  await waitFor('the page retried the lost dial', () => !document.getElementById('start-call').disabled);
  dialProvoked = false;
  await check(
    dialKeys.length === 2 && /^[0-9a-f-]{32,36}$/.test(dialKeys[0] || '') && dialKeys[0] === dialKeys[1],
    `the lost dial was retried once with the same Idempotency-Key (${JSON.stringify(dialKeys)})`,
  );
  await check((await page.locator('#calls li.call').count()) === 1, 'the retry placed no second call');
  ok('a Start SIP Call whose answer was lost was retried with its key: one call');
  await waitFor('the call shows a state', () => {
    const s = document.querySelector('#calls li.call .call-state');
    return s && s.textContent.trim().length > 0 && s.textContent !== 'unknown';
  });
  const firstCall = page.locator('#calls li.call').first();
  const state = (await firstCall.locator('.call-state').innerText()).trim();
  const label = (await firstCall.locator('.call-target').innerText()).trim();
  if (pickLabel) await check(label === pickLabel, `the call is to the picked target (${label})`);
  ok(`call listed: ${label}, state ${state}`);

  const firstId = await firstCall.getAttribute('data-call-id');
  if (progression) {
    await waitForState(firstId, 'ringing', 'the far end rings');
    const ringAfter = Date.now() - clickedAt;
    await waitForState(firstId, 'active', 'the far end answers');
    const answerAfter = Date.now() - clickedAt;
    if (sipTiming) {
      await check(ringAfter >= 600 && answerAfter >= 2400 && answerAfter > ringAfter,
        `ringing at ~1 s and active at ~3 s, from the SIP endpoint (${ringAfter} ms, ${answerAfter} ms)`);
      ok(`SIP timing: 180 Ringing after ${ringAfter} ms, 200 OK after ${answerAfter} ms`);
    }
    const seen = await statesOf(firstId);
    await check(
      seen.join(' > ') === 'dialing > ringing > active',
      `the call went dialing > ringing > active live (${seen.join(' > ')})`,
    );
    ok(`live progression: ${seen.join(' → ')}`);
  }

  await firstCall.locator('summary', { hasText: 'DTMF keypad' }).click();
  await firstCall.getByRole('button', { name: 'Send DTMF 5' }).click();
  await waitFor('DTMF 5 acknowledged', () =>
    document.querySelector('#calls li.call .dtmf-status')?.textContent === 'Sent DTMF 5.');
  await firstCall.getByRole('button', { name: 'Send DTMF #' }).click();
  await waitFor('DTMF # acknowledged', () =>
    document.querySelector('#calls li.call .dtmf-status')?.textContent === 'Sent DTMF #.');
  ok('DTMF 5 and # sent through the server');

  await firstCall.getByRole('button', { name: /^Mute the call/ }).click();
  await waitFor('the Mute button says Muted', () => {
    const b = document.querySelector('#calls li.call button.mute');
    return b && b.textContent === 'Muted' && b.getAttribute('aria-pressed') === 'true' && b.disabled;
  });
  await check((await page.locator('#errors .error').count()) === 0, 'muting raised no error');
  ok('muted the call through the server (force-mute)');

  await firstCall.getByRole('button', { name: /^Hang up/ }).click();
  await waitForCalls(0, 'after Hang up');
  await check(await page.locator('#calls-empty').isVisible(), 'the empty-list note is back');
  await waitForState(firstId, 'ended', 'the hung-up call is listed as ended');
  const endedText = (await page.locator(`#ended-calls li.ended-call[data-call-id="${firstId}"] .end-reason`).innerText()).trim();
  await check(endedText.length > 0, 'the ended call says why it ended');
  ok(`hung up one call; active list empty; ended list says "${endedText}"`);
  // Answered, then hung up by us: completed, with the time it talked.
  await waitFor('the hung-up call shows its outcome', (k) =>
    document.querySelector(`#ended-calls li.ended-call[data-call-id="${k}"]`)?.dataset.outcome === 'completed', firstId);
  const outcomeText = (await page.locator(`#ended-calls li.ended-call[data-call-id="${firstId}"] .call-outcome`).innerText()).trim();
  await check(/^Completed · talked \d+ s$/.test(outcomeText), `the outcome and talk time are shown ("${outcomeText}")`);
  ok(`the ended call shows "${outcomeText}"`);

  // ---- two calls, End SIP Calls ---------------------------------------------------------
  for (const n of [1, 2]) {
    await startEnabled();
    await page.getByRole('button', { name: 'Start SIP Call' }).click();
    await waitForCalls(n, `after starting call ${n}`);
  }
  ok('two calls listed');
  await page.getByRole('button', { name: 'End SIP Calls' }).click();
  await waitForCalls(0, 'after End SIP Calls');
  await waitFor('the status reports both calls ended', () =>
    /Ended 2 of 2 SIP calls/.test(document.getElementById('status').textContent));
  await check(await page.locator('#end-calls').isDisabled(), 'End SIP Calls is disabled with no call');
  ok('End SIP Calls hung up both; list empty');

  // ---- a call placed elsewhere shows up by polling -------------------------------------
  const dial = await fetch(apiBase + '/dial', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: origin },
    body: JSON.stringify({ sessionId }),
  });
  await check(dial.status === 201, `a dial from outside the page answered ${dial.status}`);
  await waitForCalls(1, 'the call list updates itself');
  ok('a call placed from another client appeared live');

  // ---- live updates survive the server closing the stream ------------------------------
  // After a reload, the page's first stream is answered here with the real call list and
  // the last event id the page had seen, then ends, as a server or proxy closing it
  // would. The browser must reconnect by itself (sending Last-Event-ID, which the
  // server resumes from) and the page must stay live without opening a new stream.
  const lastId = await page.locator('#live-status').getAttribute('data-last-event-id');
  await check(Boolean(lastId), `the page saw event ids (${lastId})`);
  const listed = await (await fetch(apiBase + '/calls?sessionId=' + encodeURIComponent(sessionId))).json();
  let streamRequests = 0;
  sseProvoked = true;
  await page.route('**/sip/events**', async (route) => {
    streamRequests += 1;
    if (streamRequests === 1) {
      await route.fulfill({
        status: 200,
        headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' },
        body: `retry: 300\nid: ${lastId}\nevent: snapshot\ndata: ${JSON.stringify({ calls: listed.calls })}\n\n`,
      });
    } else {
      await route.continue();
    }
  });
  await page.reload({ waitUntil: 'domcontentloaded' });
  await waitFor('the page restarted', () => document.body.dataset.ready === 'true');
  const reopenDeadline = Date.now() + STEP_TIMEOUT;
  while (streamRequests < 2 && Date.now() < reopenDeadline) await page.waitForTimeout(50);
  await check(streamRequests >= 2, `the browser reopened the stream by itself (${streamRequests} request(s))`);
  await waitFor('live again after the reconnect', () => document.getElementById('live-status').dataset.live === 'live');
  await check(
    (await page.locator('#live-status').getAttribute('data-connects')) === '1',
    'the browser reconnected the same EventSource (so with Last-Event-ID), the page did not open another',
  );
  await page.unroute('**/sip/events**');
  await waitForCalls(1, 'the call list after the reconnect');
  const afterResume = await fetch(apiBase + '/dial', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: origin },
    body: JSON.stringify({ sessionId }),
  });
  await check(afterResume.status === 201, `a dial from outside answered ${afterResume.status}`);
  await waitForCalls(2, 'a change after the resume arrives live');
  ok(`the stream closed by the server reopened by itself (Last-Event-ID ${lastId}) and stays live`);

  // ---- no event stream at all: polling, a Refresh button, and a retry -----------------
  await page.route('**/sip/events**', (route) =>
    route.fulfill({ status: 503, headers: { 'Content-Type': 'text/plain' }, body: 'unavailable' }));
  await page.reload({ waitUntil: 'domcontentloaded' });
  await waitFor('the page restarted', () => document.body.dataset.ready === 'true');
  await waitFor('the page says live updates are unavailable', () =>
    document.getElementById('live-status').dataset.live === 'unavailable');
  await check(await page.locator('#refresh-calls').isVisible(), 'a Refresh button is offered');
  const sessionNow = (await page.locator('#session-id').innerText()).trim();
  const polled = await fetch(apiBase + '/dial', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: origin },
    body: JSON.stringify({ sessionId: sessionNow }),
  });
  await check(polled.status === 201, `a dial from outside answered ${polled.status}`);
  await waitForCalls(3, 'the list is polled without the stream');
  await page.getByRole('button', { name: 'Refresh' }).click();
  await check((await page.locator('#errors .error').count()) === 0, 'Refresh works without error');
  ok('without the stream the list is polled and can be refreshed by hand');
  await page.unroute('**/sip/events**');
  await waitFor('the page reconnects once the stream is back', () =>
    document.getElementById('live-status').dataset.live === 'live');
  await check(await page.locator('#refresh-calls').isHidden(), 'no Refresh button once live again');
  sseProvoked = false;
  ok('the stream came back by itself (retry with back-off)');

  // ---- rate limit rendered on the page ------------------------------------------------
  let clicks = 0;
  while ((await page.locator('#errors .error').count()) === 0 && clicks < 12) {
    await startEnabled();
    await page.getByRole('button', { name: 'Start SIP Call' }).click();
    clicks += 1;
    await startEnabled();
  }
  const errorText = await page.locator('#errors .error').first().innerText().catch(() => '');
  await check(/429/.test(errorText), `a 429 error is shown on the page (after ${clicks} clicks: "${errorText}")`);
  await check(/Start SIP Call failed/.test(errorText), 'the error names the action');
  await check(await page.locator('#errors').getAttribute('role') === 'alert', 'errors are in a role=alert region');
  const active = await callCount();
  await check(active >= 1 && active <= 3, `the active calls stay within the limit (${active})`);
  ok(`rate limit shown after ${clicks} more dial(s): ${errorText.replace(/\s+/g, ' ')}`);

  // The screenshot shows the error and an open keypad.
  await page.locator('#calls li.call summary').first().click();
  await page.screenshot({ path: screenshot, fullPage: true });

  await page.getByRole('button', { name: 'Dismiss this error' }).first().click();
  await check((await page.locator('#errors .error').count()) === 0, 'the error can be dismissed');

  // ---- accessibility basics -------------------------------------------------------------
  const unnamed = await page.evaluate(() =>
    [...document.querySelectorAll('button, select')].filter((el) => {
      const name = el.getAttribute('aria-label') || el.textContent.trim() || (el.labels && el.labels[0]?.textContent);
      return !name;
    }).length,
  );
  await check(unnamed === 0, `${unnamed} control(s) without an accessible name`);
  await page.locator('#start-call').focus();
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  const outline = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return document.activeElement.id + ' ' + s.outlineStyle + ' ' + s.outlineWidth;
  });
  await check(/solid 3px/.test(outline), `keyboard focus is visible (${outline})`);
  ok('controls are named and keyboard focus is visible');

  await check(foreignRequests.length === 0, `the page requested other origins: ${foreignRequests.join(', ')}`);
  // In `unavailable` mode the one expected console error is OpenTok.js failing to load.
  const unexpected = consoleErrors.filter((e) => !(videoMode === 'unavailable' && e.url === opentokJs));
  pageErrors.push(...unexpected.map((e) => `console: ${e.text} (${e.url})`));
  await check(pageErrors.length === 0, 'no script errors on the page');
  ok('no script error and no request outside the app');

  // ---- phone width ---------------------------------------------------------------------
  await page.setViewportSize({ width: 375, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await check(overflow <= 0, `no horizontal scrolling at phone width (overflow ${overflow}px)`);
  const startBox = await page.locator('#start-call').boundingBox();
  await check(startBox && startBox.height >= 44, 'touch-sized buttons at phone width');
  await page.screenshot({ path: screenshot.replace(/\.png$/, '-phone.png'), fullPage: true });
  ok('usable at phone width');

  console.log(`${step} passed, 0 failed`);
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
} catch (e) {
  await fail('unexpected error: ' + (e && e.stack ? e.stack : e));
}
