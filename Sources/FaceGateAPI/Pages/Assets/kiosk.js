// The kiosk: a kiosk account signs in once; then the camera runs, and when the picture has been steady for a moment
// (or on a tap) the kiosk checks the person in. Under the organisation's liveness policy `off` it takes one frame,
// downsized to at most 800 px, and posts it to POST /api/v1/checkins. Under `challenge` (the default) it first asks
// the service for a challenge (a direction to turn the head), shows a large arrow and the words, and after a moment
// takes 23 frames over 1.5 s and posts the 8 that follow the motion best with the challenge's id: a printed photo
// cannot turn its head. The outcome is shown large and the kiosk returns to ready by itself. Only the recognised
// member's name is ever shown: a member whose membership is not active is greeted and sent to the desk; a face the
// service is not sure of gets the PIN pad (digits not shown, tries left); "Use my member number" checks the face
// against that member only.
import { Session, signInForm, downsized, jpeg } from './session.js';

const session = new Session('facegate.kiosk', ['kiosk']);
const $ = (id) => document.getElementById(id);
const video = $('video'), outcome = $('outcome');

/** How long each outcome stays before the kiosk is ready again (ms). */
const HOLD = { welcome: 4000, 'not-recognised': 5000, hint: 3000, error: 5000, inactive: 6000, liveness: 5000 };
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
/**
 * The head-turn challenge: the time the person gets to read the arrow before the first frame (ms); TURN_TAKEN frames
 * taken evenly over TURN_CAPTURE_MS (first to last frame, about 15 a second); TURN_FRAMES of them sent (the service
 * takes 2 to 8), chosen where the picture moved (`chooseFrames`). The service's `ChallengeCapture` says the same and why.
 */
const TURN_LEAD_MS = 400, TURN_TAKEN = 23, TURN_CAPTURE_MS = 1500, TURN_FRAMES = 8;
/** How often the organisation's liveness policy is read again while the kiosk runs (ms). */
const POLICY_REFRESH_MS = 5 * 60 * 1000;
/**
 * Where on the screen the arrow for a challenge's `turn` points. `turn` is the person's own left or right. The
 * preview is mirrored (CSS), like a mirror: facing the screen, a person turning to their own left sees themselves
 * turn towards the screen's left. So the arrow points the same way as the words, and is drawn outside the mirrored
 * video, never flipped with it.
 */
/** The arrow's outline (viewBox 0 0 100 100) for each turn, which is also the screen side it points to: the tip alone on
 * one side, the shaft's end on the other. */
const ARROW_POINTS = {
  left: '4,50 44,12 44,34 96,34 96,66 44,66 44,88',
  right: '96,50 56,12 56,34 4,34 4,66 56,66 56,88' };

const sampler = document.createElement('canvas');
sampler.width = SAMPLE_W;
sampler.height = SAMPLE_H;
const sampleContext = sampler.getContext('2d', { willReadFrequently: true });

let stream = null, samplingTimer = null, resetTimer = null, retryTimer = null;
let busy = false, previous = null, steadyFor = 0, armed = true, emptyScene = null;
/** The pad on screen: { kind: 'pin', confirmation } or { kind: 'code' }; null when none. Whether a check-in is on
 * its way to the service or a challenge is being captured (the member number pad opens any other time, over an
 * outcome shown too). */
let pad = null, padTimer = null, sending = false;
/**
 * The organisation's liveness policy: 'challenge', 'off', or null while unknown (not read yet, or the service could
 * not say). Unknown, the kiosk sends one photo and the service says when it wants a challenge (422
 * `liveness_required`). `policyReading` is the read in progress.
 */
let policy = null, policyReading = null, policyTimer = null;
/** Counts camera starts and stops: a capture begun under another count is abandoned. */
let station = 0;

function show(state, headline, detail = '') {
  outcome.dataset.state = state;
  delete outcome.dataset.reason;
  delete outcome.dataset.turn;
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
  hideTurn();
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

function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// MARK: - The organisation's liveness policy

/** Reads the organisation's liveness policy (one read at a time); resolves to it, or null when it cannot be read. */
function readPolicy() {
  const organization = session.user && session.user.organization_id;
  if (!organization) return Promise.resolve(policy);
  if (!policyReading) {
    policyReading = session.call('GET', `/organizations/${encodeURIComponent(organization)}`, { timeoutMs: 10000 })
      .then((answer) => {
        if (answer.ok && answer.body) {
          // A service without the setting has no challenge to offer: the single photo, as before.
          policy = answer.body.liveness === undefined || answer.body.liveness === 'off' ? 'off' : 'challenge';
          outcome.dataset.liveness = policy;
        }
        return policy;
      })
      .finally(() => { policyReading = null; });
  }
  return policyReading;
}

/** The policy for the check-in about to be made: read first when not known yet. */
async function currentPolicy() {
  return policy || await readPolicy();
}

// MARK: - Taking the picture

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
  const scene = frame || sample();
  show('checking', 'One moment…');
  sending = true;
  const now = station;
  const asked = await currentPolicy();
  if (now !== station) return;
  if (asked === 'challenge') return challenge({ frame: scene, code, begun: started });
  const photo = await jpeg(downsized(video, MAX_SIDE, video.videoWidth, video.videoHeight), QUALITY);
  send({ photo, frame: scene, started, begun: started, code });
}

/**
 * The head-turn challenge: asks the service for one, shows the arrow and the words, waits TURN_LEAD_MS, takes frames
 * over TURN_CAPTURE_MS (the dots fill meanwhile) and sends TURN_FRAMES of them with its id.
 * `attempt`: { frame (the scene's grey sample), code (member number or null), begun (when the kiosk began this
 * check-in), required (a 422 liveness_required led here: not again) }.
 */
async function challenge(attempt) {
  const now = station;
  sending = true;
  const answer = await session.call('POST', '/checkins/challenges', { timeoutMs: 10000 });
  if (!session.user || now !== station) return;
  if (!answer.ok) {
    sending = false;
    return failed(answer, () => challenge({ ...attempt, begun: performance.now() }));
  }
  const turn = answer.body && answer.body.turn;
  if (!answer.body || !answer.body.challenge_id || !ARROW_POINTS[turn]) {
    sending = false;
    return hold('error', 'Sorry, that did not work', 'Please see the front desk.');
  }
  const expiresAt = performance.now() + Math.max(1, Number(answer.body.expires_in) || 30) * 1000;
  showTurn(turn);
  await pause(TURN_LEAD_MS);
  const captured = await captureFrames(now);
  if (now !== station) return;
  if (!captured) {
    sending = false;
    return hold('error', 'The camera stopped', 'Please see the front desk.');
  }
  hideTurn();
  const taken = { ...attempt, challenge: { id: answer.body.challenge_id, turn, expiresAt }, frames: captured.frames,
                  samples: captured.samples, started: captured.takenAt };
  // A picture that never changed (a dark or frozen camera) gives one frame: nothing the service could judge.
  if (captured.frames.length < 2) {
    sending = false;
    return livenessRefused(taken, 'face_missing');
  }
  show('checking', 'One moment…');
  send(taken);
}

/** Takes the challenge's frames (unmirrored, as the camera sees them): { frames (JPEG blobs of those sent), samples
 * (their grey copies), takenAt (when the last was taken) }; null when the camera stopped or the kiosk was signed out
 * meanwhile. */
async function captureFrames(now) {
  const canvases = [], samples = [];
  const begin = performance.now(), gap = TURN_CAPTURE_MS / (TURN_TAKEN - 1);
  for (let i = 0; i < TURN_TAKEN; i++) {
    const wait = begin + i * gap - performance.now();
    if (wait > 0) await pause(wait);
    if (now !== station || !video.videoWidth) return null;
    progress(Math.floor((TURN_FRAMES * (i + 1)) / TURN_TAKEN));
    // The same picture as the last frame taken is no new camera frame (a camera slower than the taking): not kept.
    const grey = sample();
    if (samples.length && difference(grey, samples[samples.length - 1]) === 0) continue;
    canvases.push(downsized(video, MAX_SIDE, video.videoWidth, video.videoHeight));
    samples.push(grey);
  }
  const takenAt = performance.now();
  const chosen = chooseFrames(samples.map((s, i) => (i === 0 ? 0 : difference(samples[i - 1], s))), TURN_FRAMES);
  const frames = await Promise.all(chosen.map((i) => jpeg(canvases[i], QUALITY)));
  return { frames, samples: chosen.map((i) => samples[i]), takenAt };
}

/**
 * The indices (ascending) of the `count` frames to send, given each frame's motion from the one before: the first and
 * the last, and between them the frames that cut the capture into stretches whose largest motion is as small as it
 * can be (the moving part gets the frames); then, while fewer are chosen, the middle of the longest stretch between
 * two chosen frames. The same rule as the service's `ChallengeCapture.select`, which its evaluation captures with.
 */
function chooseFrames(motion, count) {
  const n = motion.length;
  if (n <= count || count < 2) return motion.map((_, i) => i);
  const steps = motion.slice(1).map((m) => Math.max(0, m));
  let low = Math.max(...steps), high = steps.reduce((a, b) => a + b, 0);
  for (let i = 0; i < 60; i++) {
    const middle = (low + high) / 2;
    if (cuts(steps, middle).length <= count - 2) high = middle; else low = middle;
  }
  const chosen = new Set([0, n - 1, ...cuts(steps, high)]);
  while (chosen.size < count) {
    const sorted = [...chosen].sort((a, b) => a - b);
    let from = 0, to = 0;
    for (let i = 1; i < sorted.length; i++) if (sorted[i] - sorted[i - 1] > to - from) [from, to] = [sorted[i - 1], sorted[i]];
    if (to - from < 2) break;
    chosen.add(Math.floor((from + to) / 2));
  }
  return [...chosen].sort((a, b) => a - b);
}

/** The frames where stretches of `steps` (the motion from each frame to the next) whose motion stays within `limit`
 * meet, taken greedily from the first frame. */
function cuts(steps, limit) {
  const found = [];
  let stretch = 0;
  steps.forEach((step, frame) => {
    if (stretch > 0 && stretch + step > limit) {
      found.push(frame);
      stretch = step;
    } else {
      stretch += step;
    }
  });
  return found;
}

function showTurn(turn) {
  const overlay = $('turn');
  overlay.dataset.turn = turn;
  $('turn-arrow').dataset.points = turn;
  $('turn-arrow-shape').setAttribute('points', ARROW_POINTS[turn]);
  progress(0);
  overlay.hidden = false;
  show('turn', `Turn your head slowly to your ${turn}`, 'Keep your face in the picture.');
  outcome.dataset.turn = turn;
}

function hideTurn() {
  $('turn').hidden = true;
}

/** Fills the first `taken` dots of the capture's progress (one dot per frame). */
function progress(taken) {
  const bar = $('turn-progress');
  if (bar.children.length !== TURN_FRAMES) {
    bar.replaceChildren(...Array.from({ length: TURN_FRAMES }, () => document.createElement('li')));
    bar.setAttribute('aria-valuemax', String(TURN_FRAMES));
  }
  bar.setAttribute('aria-valuenow', String(taken));
  [...bar.children].forEach((dot, i) => dot.classList.toggle('done', i < taken));
}

// MARK: - Sending and the answer

/** The request body of an attempt: one JPEG, or the challenge's frames as multipart `image` parts in order. */
function body(attempt) {
  if (!attempt.challenge) return { body: attempt.photo, headers: { 'Content-Type': 'image/jpeg' } };
  const form = new FormData();
  form.append('challenge_id', attempt.challenge.id);
  if (attempt.code) form.append('member_code', attempt.code);
  attempt.frames.forEach((frame, i) => form.append('image', frame, `frame-${i + 1}.jpg`));
  return { body: form };
}

/**
 * Posts an attempt: { photo } or { challenge: { id, turn, expiresAt }, frames, samples }, with the scene's grey
 * `frame`, the member number `code` (or null), `started` (the photo or the last frame taken: the latency shown in
 * `data-latency-ms`) and `begun` (when the kiosk began, before any challenge: `data-total-ms`).
 */
async function send(attempt) {
  const { frame, started, code } = attempt;
  const path = code ? `/checkins?member_code=${encodeURIComponent(code)}` : '/checkins';
  sending = true;
  const answer = await session.call('POST', path, { ...body(attempt), timeoutMs: 15000 })
    .finally(() => { sending = false; });
  if (!session.user) return; // signed out meanwhile
  outcome.dataset.latencyMs = String(Math.round(performance.now() - started));
  outcome.dataset.totalMs = String(Math.round(performance.now() - (attempt.begun || started)));
  if (answer.status === 202 && answer.body && answer.body.code === 'needs_confirmation') {
    return openPad({ kind: 'pin', confirmation: answer.body.confirmation_id });
  }
  if (answer.ok) return welcome(answer);
  switch (answer.code) {
    case 'membership_inactive':
      return inactive(answer);
    case 'checkin_refused_by_validator':
      return refusedByGym(answer);
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
    case 'liveness_failed':
      return livenessRefused(attempt, answer.body && answer.body.reason);
    case 'challenge_invalid':
      return refused('challenge_invalid', 'That took too long.', 'Please try again.');
    case 'liveness_required':
      return livenessRequired(attempt);
  }
  return failed(answer, () => again(attempt));
}

/** What to do about an answer that is no outcome: a countdown for 429/503/none, nothing once signed out, else an error. */
function failed(answer, retryWith) {
  if (answer.status === 429 || answer.status === 503 || answer.status === 0) {
    const seconds = Math.min(30, Math.max(1, Math.round(answer.retryAfter || 3)));
    const state = answer.status === 429 || answer.code === 'overloaded' ? 'busy' : 'unavailable';
    return retry(state, seconds, retryWith);
  }
  if (answer.status === 401 || answer.status === 403) return; // the session has ended: the sign-in form is shown
  hold('error', 'Sorry, that did not work', 'Please see the front desk.');
}

/** Sends an attempt again after a countdown: the same photo, or the same frames while their challenge is still
 * valid (a new challenge, turned anew, once it is not). */
function again(attempt) {
  if (attempt.challenge && performance.now() > attempt.challenge.expiresAt - 2000) {
    return challenge({ frame: attempt.frame, code: attempt.code, begun: performance.now() });
  }
  return send({ ...attempt, started: performance.now(), begun: performance.now() });
}

/** The service wants a challenge for this kiosk (its policy changed, or was not known): read the policy again and,
 * while the person is still there, ask them to turn at once. */
async function livenessRequired(attempt) {
  policy = null;
  const now = station;
  const asked = await readPolicy();
  if (now !== station || !session.user) return;
  if (asked === 'challenge' && !attempt.required) {
    return challenge({ frame: attempt.frame, code: attempt.code, begun: performance.now(), required: true });
  }
  hold('error', 'Sorry, that did not work', 'Please see the front desk.');
}

/** Why the frames were not a live head turning the asked way, in plain words. */
function livenessRefused(attempt, reason) {
  const turn = attempt.challenge ? attempt.challenge.turn : 'left';
  // A still scene with no face in any frame is the empty entrance: not sent again until it changes.
  if (reason === 'face_missing' && attempt.samples
      && attempt.samples.every((s) => difference(s, attempt.samples[0]) < MOTION)) emptyScene = attempt.frame;
  const words = {
    no_turn: [`Please turn your head slowly to your ${turn}`, 'Look at the camera to try again.'],
    wrong_direction: [`That was the other way — please turn to your ${turn}`, 'Look at the camera to try again.'],
    flat_face: ['We could not see a real face turning.', 'Please try again, or see the front desk.'],
    not_continuous: ['Please turn slowly and keep your face in view.', 'Look at the camera to try again.'],
    different_people: ['Only one person at a time, please.', 'Step up to the camera alone.'],
    face_missing: ['Please keep your face in the picture.', 'Look at the camera to try again.'],
  }[reason] || ['We could not check that it is really you.', 'Please try again, or see the front desk.'];
  return refused(reason || 'liveness_failed', ...words);
}

/** A liveness refusal: shown in state `liveness` with the reason in `data-reason`, then ready again. */
function refused(reason, headline, detail) {
  hold('liveness', headline, detail);
  outcome.dataset.reason = reason;
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

/** The gym's own software said no (the validation call): its words for the member, as the service passed them on. */
function refusedByGym(answer) {
  const member = answer.body && answer.body.member;
  hold('inactive', member ? `Hello, ${member.name}` : 'Hello',
    (answer.body && answer.body.message) || 'Please see the front desk.');
}

// MARK: - The pads

/** Shows the PIN pad (digits not echoed) or the member number pad; the camera waits meanwhile. */
function openPad(which, note = '') {
  clearTimeout(resetTimer);
  clearTimeout(retryTimer);
  hideTurn();
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
    case 'checkin_refused_by_validator': return refusedByGym(answer);
    case 'not_found': return hold('not-recognised', 'That took too long', 'Please look at the camera again.');
    case 'pin_ambiguous': return hold('not-recognised', 'Please see the front desk', 'We could not tell who you are.');
  }
  hold('error', 'Sorry, that did not work', 'Please see the front desk.');
}

function hold(state, headline, detail) {
  hideTurn();
  show(state, headline, detail);
  resetTimer = setTimeout(ready, HOLD[state]);
}

/** Shows a countdown, then tries again (`again`). */
function retry(state, seconds, again) {
  hideTurn();
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

// MARK: - The camera and the session

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
  station += 1;
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
  station += 1;
  closePad();
  hideTurn();
  clearInterval(samplingTimer);
  clearInterval(policyTimer);
  clearTimeout(resetTimer);
  clearTimeout(retryTimer);
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  video.srcObject = null;
  busy = false;
  sending = false;
  policy = null;
}

function showStation(user) {
  $('station').hidden = false;
  $('who').textContent = `Kiosk: ${user.username}`;
  // The policy is read while the camera starts, and again now and then (an admin may change it).
  readPolicy();
  clearInterval(policyTimer);
  policyTimer = setInterval(readPolicy, POLICY_REFRESH_MS);
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
