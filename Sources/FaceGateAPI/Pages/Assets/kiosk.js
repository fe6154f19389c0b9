// The kiosk: a kiosk account signs in once; then the camera runs, a frame is taken when the picture has been steady
// for a moment (or on a tap), downsized to at most 800 px, and posted to POST /api/v1/checkins. The outcome is
// shown large and the kiosk returns to ready by itself. Only the recognised member's name is ever shown: a member
// whose membership is not active is greeted and sent to the desk; a face the service is not sure of gets the PIN
// pad (digits not shown, tries left); "Use my member number" checks the face against that member only.
import { Session, signInForm, downsized, jpeg } from './session.js';

const session = new Session('facegate.kiosk', ['kiosk']);
const $ = (id) => document.getElementById(id);
const video = $('video'), outcome = $('outcome');

/** How long each outcome stays before the kiosk is ready again (ms). */
const HOLD = { welcome: 4000, 'not-recognised': 5000, hint: 3000, error: 5000, inactive: 6000 };
/** A pad nobody types on closes after this long (ms). */
const PAD_IDLE_MS = 30000;
/** Why a recognised member may not come in, in plain words. */
const INACTIVE = {
  paused: 'Your membership is paused.', cancelled: 'Your membership has been cancelled.',
  expired: 'Your membership has ended.' };
/** Longest side of the photo sent (px) and its JPEG quality. */
const MAX_SIDE = 800, QUALITY = 0.85;
/** Motion sampling: a 32×24 grey copy of the picture every 150 ms. */
const SAMPLE_W = 32, SAMPLE_H = 24, SAMPLE_MS = 150;
/** Mean grey-level change that counts as movement; samples in a row that count as steady; least contrast of a scene worth sending. */
const MOTION = 5, STEADY_SAMPLES = 4, MIN_CONTRAST = 10;

const sampler = document.createElement('canvas');
sampler.width = SAMPLE_W;
sampler.height = SAMPLE_H;
const sampleContext = sampler.getContext('2d', { willReadFrequently: true });

let stream = null, samplingTimer = null, resetTimer = null, retryTimer = null;
let busy = false, previous = null, steadyFor = 0, armed = true, emptyScene = null;
/** The pad on screen: { kind: 'pin', confirmation } or { kind: 'code' }; null when none. Whether a check-in is on
 * its way to the service (the member number pad opens any other time, over an outcome shown too). */
let pad = null, padTimer = null, sending = false;

function show(state, headline, detail = '') {
  outcome.dataset.state = state;
  outcome.replaceChildren(document.createTextNode(headline));
  if (detail) {
    const small = document.createElement('small');
    small.textContent = detail;
    outcome.append(small);
  }
}

function ready() {
  clearTimeout(resetTimer);
  clearTimeout(retryTimer);
  busy = false;
  show('ready', 'Look at the camera', 'or tap Check in');
}

/** A grey 32×24 copy of the current picture. */
function sample() {
  sampleContext.drawImage(video, 0, 0, SAMPLE_W, SAMPLE_H);
  const rgba = sampleContext.getImageData(0, 0, SAMPLE_W, SAMPLE_H).data;
  const grey = new Float32Array(SAMPLE_W * SAMPLE_H);
  for (let i = 0; i < grey.length; i++) grey[i] = 0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2];
  return grey;
}

function difference(a, b) {
  let total = 0;
  for (let i = 0; i < a.length; i++) total += Math.abs(a[i] - b[i]);
  return total / a.length;
}

function contrast(grey) {
  const mean = grey.reduce((sum, v) => sum + v, 0) / grey.length;
  return Math.sqrt(grey.reduce((sum, v) => sum + (v - mean) ** 2, 0) / grey.length);
}

/**
 * Takes a photo when the picture has been steady for STEADY_SAMPLES samples after moving (or since the start). A
 * scene that already gave "no face" (the empty entrance) is not sent again until something changes in it.
 */
function watch() {
  if (video.readyState < 2 || !video.videoWidth) return;
  const frame = sample();
  const moved = previous === null || difference(frame, previous) > MOTION;
  previous = frame;
  if (moved) {
    steadyFor = 0;
    armed = true;
    return;
  }
  steadyFor += 1;
  if (busy || !armed || steadyFor < STEADY_SAMPLES || contrast(frame) < MIN_CONTRAST) return;
  if (emptyScene && difference(frame, emptyScene) < MOTION) return;
  armed = false;
  checkIn(frame);
}

async function checkIn(frame = null, code = null) {
  if ((busy && !code) || !video.videoWidth) return;
  busy = true;
  const started = performance.now();
  show('checking', 'One moment…');
  const photo = await jpeg(downsized(video, MAX_SIDE, video.videoWidth, video.videoHeight), QUALITY);
  send(photo, frame || sample(), started, code);
}

async function send(photo, frame, started, code = null) {
  const path = code ? `/checkins?member_code=${encodeURIComponent(code)}` : '/checkins';
  sending = true;
  const answer = await session.call('POST', path, {
    body: photo, headers: { 'Content-Type': 'image/jpeg' }, timeoutMs: 15000 }).finally(() => { sending = false; });
  if (!session.user) return; // signed out meanwhile
  outcome.dataset.latencyMs = String(Math.round(performance.now() - started));
  if (answer.status === 202 && answer.body && answer.body.code === 'needs_confirmation') {
    return openPad({ kind: 'pin', confirmation: answer.body.confirmation_id });
  }
  if (answer.ok) return welcome(answer);
  switch (answer.code) {
    case 'membership_inactive':
      return inactive(answer);
    case 'no_match':
      if (code) return hold('not-recognised', 'Number and face do not match', 'Please try again, or see the front desk.');
      return hold('not-recognised', 'Not recognised', 'Please see the front desk, or use your member number.');
    case 'no_face':
      emptyScene = frame;
      return hold('hint', 'No face found', 'Step closer and look at the camera.');
    case 'multiple_faces':
      return hold('hint', 'One person at a time, please', 'Step up to the camera alone.');
    case 'face_too_small':
      return hold('hint', 'Step closer', 'Your face is too far from the camera.');
    case 'too_blurry':
      return hold('hint', 'Hold still', 'The picture was blurred.');
    case 'bad_pose':
      return hold('hint', 'Look straight at the camera', '');
  }
  if (answer.status === 429 || answer.status === 503 || answer.status === 0) {
    const seconds = Math.min(30, Math.max(1, Math.round(answer.retryAfter || 3)));
    const state = answer.status === 429 || answer.code === 'overloaded' ? 'busy' : 'unavailable';
    return retry(state, seconds, () => send(photo, frame, performance.now()));
  }
  if (answer.status === 401 || answer.status === 403) return; // the session has ended: the sign-in form is shown
  hold('error', 'Sorry, that did not work', 'Please see the front desk.');
}

function welcome(answer) {
  emptyScene = null;
  const name = answer.body.member.name;
  hold('welcome', `Welcome, ${name}!`, answer.status === 201 ? 'You are checked in.' : 'You are already checked in.');
}

function inactive(answer) {
  const member = answer.body && answer.body.member;
  hold('inactive', member ? `Hello, ${member.name}` : 'Hello',
    `${INACTIVE[answer.body && answer.body.reason] || 'Your membership is not active.'} Please see the front desk.`);
}

/** Shows the PIN pad (digits not echoed) or the member number pad; the camera waits meanwhile. */
function openPad(which, note = '') {
  clearTimeout(resetTimer);
  clearTimeout(retryTimer);
  busy = true;
  pad = which;
  const entry = $('pad-entry');
  entry.value = '';
  entry.type = which.kind === 'pin' ? 'password' : 'text';
  entry.inputMode = 'numeric';
  $('pad-label').textContent = which.kind === 'pin' ? 'Enter your PIN' : 'Your member number';
  $('pad-ok').textContent = which.kind === 'pin' ? 'OK' : 'Check in';
  $('pad-note').textContent = note;
  $('pad').hidden = false;
  if (which.kind === 'pin') show('pin', 'Almost there', 'Enter your PIN to check in.');
  else show('pin', 'Check in with your member number', 'Type it, then look at the camera and press Check in.');
  entry.focus();
  idlePad();
}

function idlePad() {
  clearTimeout(padTimer);
  padTimer = setTimeout(() => { closePad(); ready(); }, PAD_IDLE_MS);
}

function closePad() {
  clearTimeout(padTimer);
  pad = null;
  $('pad').hidden = true;
  $('pad-entry').value = '';
}

async function submitPad() {
  const which = pad, entry = $('pad-entry').value.trim();
  if (!which) return;
  if (which.kind === 'code') {
    if (!entry) { $('pad-note').textContent = 'Type your member number first.'; return; }
    closePad();
    return checkIn(null, entry);
  }
  if (!/^[0-9]{4,8}$/.test(entry)) { $('pad-note').textContent = 'A PIN has 4 to 8 digits.'; return; }
  $('pad-note').textContent = '';
  show('checking', 'One moment…');
  const answer = await session.call('POST', `/checkins/confirmations/${which.confirmation}`, { json: { pin: entry } });
  if (!session.user || pad !== which) return;
  if (answer.ok) { closePad(); return welcome(answer); }
  if (answer.code === 'wrong_pin' && answer.body.attempts_left > 0) {
    const left = answer.body.attempts_left;
    return openPad(which, `That PIN is not right. ${left} ${left === 1 ? 'try' : 'tries'} left.`);
  }
  closePad();
  switch (answer.code) {
    case 'wrong_pin': return hold('not-recognised', 'That PIN is not right', 'Please see the front desk.');
    case 'membership_inactive': return inactive(answer);
    case 'not_found': return hold('not-recognised', 'That took too long', 'Please look at the camera again.');
    case 'pin_ambiguous': return hold('not-recognised', 'Please see the front desk', 'We could not tell who you are.');
  }
  hold('error', 'Sorry, that did not work', 'Please see the front desk.');
}

function hold(state, headline, detail) {
  show(state, headline, detail);
  resetTimer = setTimeout(ready, HOLD[state]);
}

/** Shows a countdown, then sends the same photo again. */
function retry(state, seconds, again) {
  const headline = state === 'busy' ? 'Busy right now' : 'Service unavailable';
  const tick = (left) => {
    if (left <= 0) {
      show('checking', 'Trying again…');
      return again();
    }
    show(state, headline, `Trying again in ${left} s`);
    retryTimer = setTimeout(() => tick(left - 1), 1000);
  };
  tick(seconds);
}

async function startCamera() {
  show('starting', 'Starting the camera…');
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false, video: { facingMode: 'user', width: { ideal: 1280 }, height: { ideal: 720 } } });
  } catch (error) {
    show('error', 'The camera is not available', 'Allow camera access for this page, then tap here.');
    outcome.addEventListener('click', startCamera, { once: true });
    return;
  }
  video.srcObject = stream;
  await video.play().catch(() => {});
  previous = null;
  armed = true;
  ready();
  clearInterval(samplingTimer);
  samplingTimer = setInterval(watch, SAMPLE_MS);
  if (navigator.wakeLock) navigator.wakeLock.request('screen').catch(() => {});
}

function stopCamera() {
  closePad();
  clearInterval(samplingTimer);
  clearTimeout(resetTimer);
  clearTimeout(retryTimer);
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  video.srcObject = null;
  busy = false;
}

function showStation(user) {
  $('station').hidden = false;
  $('who').textContent = `Kiosk: ${user.username}`;
  startCamera();
}

const askSignIn = signInForm($('signin-form'), session, showStation);

function showSignIn(message = '') {
  stopCamera();
  $('station').hidden = true;
  askSignIn(message);
}

session.onSignedOut = () => showSignIn('The kiosk was signed out. Sign in again to continue.');
$('capture').addEventListener('click', () => {
  if (pad && pad.kind === 'code') return submitPad();
  if (!pad) checkIn();
});
$('code').addEventListener('click', () => { if (!sending) openPad({ kind: 'code' }); });
$('pad').addEventListener('submit', (event) => { event.preventDefault(); submitPad(); });
$('pad-cancel').addEventListener('click', () => { closePad(); ready(); });
$('pad-entry').addEventListener('input', idlePad);
$('keys').addEventListener('click', (event) => {
  const key = event.target.dataset && event.target.dataset.key;
  if (!key) return;
  const entry = $('pad-entry');
  entry.value = key === 'back' ? entry.value.slice(0, -1) : (entry.value + key).slice(0, 200);
  idlePad();
});
video.addEventListener('click', () => { if (!pad) checkIn(); });
$('signout').addEventListener('click', async () => {
  if (!confirm('Sign this kiosk out? Members cannot check in until it is signed in again.')) return;
  await session.signOut();
  showSignIn();
});
if (session.user) showStation(session.user);
else showSignIn();
