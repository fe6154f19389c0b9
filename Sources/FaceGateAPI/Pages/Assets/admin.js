// The admin page: staff (admin or operator) sign in; members are searched, paged, created, edited (membership, last
// day, PIN) and erased; faces are registered from files or the camera, shown (thumbnails fetched with the token) and
// deleted; staff check a member in by hand; check-ins are listed with filters and exported as CSV for a date range;
// every check-in attempt is listed by outcome; admins export a member's own data, manage staff and kiosk accounts,
// set the organisation's time zone and liveness policy, and manage its webhooks and validation call. One view at a
// time, chosen by the address's #hash.
import { Session, signInForm, downsized, jpeg, plainWords, el } from './session.js';

const session = new Session('facegate.admin', ['admin', 'operator']);
const $ = (id) => document.getElementById(id);
const view = $('view');
const PAGE = 25;
/** Blob URLs of the thumbnails on screen, released when the view changes. */
let thumbnails = [];
/** The camera of the member view, stopped when the view changes. */
let cameraStream = null;

// MARK: - Shared pieces

function announce(text) {
  $('announce').textContent = '';
  setTimeout(() => { $('announce').textContent = text; }, 50);
}

function message(kind = 'error', text = '') {
  return el('p', { class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

function say(node, kind, text) {
  node.className = `message ${kind}`;
  node.textContent = text;
}

function field(label, input, hint) {
  return [el('label', { for: input.id }, label, hint ? el('span', { class: 'field-hint' }, ` (${hint})`) : null), input];
}

function dateTime(iso) {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '';
}

/** Saves `blob` as a file named `name` (the browser's download), without leaving the page. */
function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** Asks in the page's dialog; resolves true when confirmed. */
function confirmAction(title, text, yes) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-yes').textContent = yes;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true }));
}

/** A page of rows with Previous/Next over the API's cursors. `load(cursor)` answers `{rows, next}`. */
function pager(load, render, empty) {
  const cursors = [null];
  let index = 0;
  const body = el('tbody');
  const status = el('p', { class: 'muted', role: 'status' });
  const previous = el('button', { type: 'button', class: 'secondary', onclick: () => go(index - 1) }, 'Previous');
  const next = el('button', { type: 'button', class: 'secondary', onclick: () => go(index + 1) }, 'Next');
  async function go(to) {
    const answer = await load(cursors[to]);
    if (!answer.ok) {
      status.textContent = `Cannot load: ${plainWords(answer)}`;
      return;
    }
    index = to;
    cursors[index + 1] = answer.next;
    body.replaceChildren(...answer.rows.map(render));
    status.textContent = answer.rows.length ? `Page ${index + 1}` : empty;
    previous.disabled = index === 0;
    next.disabled = !answer.next;
  }
  return { body, status, controls: el('div', { class: 'pager' }, previous, next), reload: () => go(0) };
}

function table(caption, headings, body) {
  return el('div', { class: 'table-wrap' }, el('table', {},
    el('caption', { class: 'visually-hidden' }, caption),
    el('thead', {}, el('tr', {}, headings.map((h) => el('th', { scope: 'col', class: h.endsWith('%') ? 'number' : null }, h)))),
    body));
}

// MARK: - Members

function membersView(params) {
  const search = el('input', { id: 'search', type: 'search', value: params.get('q') || '',
                               placeholder: 'Name, member number or email', autocomplete: 'off' });
  const list = pager(async (cursor) => {
    const query = new URLSearchParams({ limit: PAGE });
    if (search.value.trim()) query.set('q', search.value.trim());
    if (cursor) query.set('cursor', cursor);
    const answer = await session.call('GET', `/members?${query}`);
    return answer.ok ? { ok: true, rows: answer.body.members, next: answer.body.next_cursor } : answer;
  }, (member) => el('tr', {},
    el('td', {}, el('a', { href: `#members/${member.id}` }, member.name)),
    el('td', {}, member.external_id || ''),
    el('td', {}, member.email || ''),
    el('td', { class: 'number' }, member.face_count),
  ), 'No members found.');

  let typing = null;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => { history.replaceState(null, '', `#members?q=${encodeURIComponent(search.value)}`); list.reload(); }, 300);
  });

  const form = memberForm({}, async (fields, feedback) => {
    const answer = await session.call('POST', '/members', { json: fields });
    if (!answer.ok) return say(feedback, 'error', plainWords(answer));
    announce(`${answer.body.name} created`);
    location.hash = `#members/${answer.body.id}`;
  }, 'Create member');
  const creating = el('div', { class: 'card', hidden: true }, el('h2', {}, 'New member'), form);
  form.addEventListener('reset', () => { creating.hidden = true; });

  view.replaceChildren(el('section', { 'aria-labelledby': 'members-title' },
    el('h1', { id: 'members-title', tabindex: '-1' }, 'Members'),
    el('div', { class: 'toolbar' },
      el('div', { class: 'grow' }, field('Search members', search)),
      el('button', { type: 'button', onclick: () => { creating.hidden = false; form.elements.name.focus(); } }, 'New member')),
    creating,
    table('Members', ['Name', 'Member number', 'Email', 'Faces'], list.body),
    list.status, list.controls));
  list.reload();
}

const MEMBERSHIP = { active: 'Active', paused: 'Paused', cancelled: 'Cancelled' };

/**
 * The member fields as a form; `submit(fields, feedbackElement)` on save. Empty optional fields are sent as null; the
 * PIN only when one is typed (it is never shown again).
 */
function memberForm(member, submit, label) {
  const id = (name) => `${name}-${member.id || 'new'}`;
  const name = el('input', { id: id('name'), name: 'name', required: true, value: member.name || '', autocomplete: 'off' });
  const external = el('input', { id: id('external'), name: 'external_id', value: member.external_id || '', autocomplete: 'off' });
  const email = el('input', { id: id('email'), name: 'email', type: 'email', value: member.email || '', autocomplete: 'off' });
  const status = el('select', { id: id('status'), name: 'status' },
    Object.entries(MEMBERSHIP).map(([value, text]) => el('option', { value, selected: (member.status || 'active') === value }, text)));
  const validUntil = el('input', { id: id('valid-until'), name: 'valid_until', type: 'date', value: member.valid_until || '' });
  const pin = el('input', { id: id('pin'), name: 'pin', type: 'password', inputmode: 'numeric', autocomplete: 'new-password',
                            pattern: '[0-9]{4,8}', maxlength: 8 });
  const feedback = message();
  const form = el('form', { novalidate: true },
    field('Name', name), field('Member number', external, 'optional'), field('Email', email, 'optional'),
    field('Membership', status), field('Last day', validUntil, 'optional: the membership ends after it'),
    field(member.has_pin ? 'New PIN' : 'PIN', pin,
          member.has_pin ? 'leave empty to keep the PIN' : 'optional, 4 to 8 digits: asked when the face is not sure'),
    feedback,
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, label),
       member.id ? null : el('button', { type: 'reset', class: 'secondary' }, 'Cancel')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    say(feedback, 'error', '');
    if (!name.value.trim()) {
      say(feedback, 'error', 'A name is needed.');
      return name.focus();
    }
    if (pin.value && !/^[0-9]{4,8}$/.test(pin.value)) {
      say(feedback, 'error', 'A PIN has 4 to 8 digits.');
      return pin.focus();
    }
    const fields = { name: name.value.trim(), external_id: external.value.trim() || null,
                     email: email.value.trim() || null, status: status.value, valid_until: validUntil.value || null };
    if (pin.value) fields.pin = pin.value;
    await submit(fields, feedback);
    pin.value = '';
  });
  return form;
}

/** The member's PIN state, with staff's Unlock and Remove. */
function pinState(member, changed) {
  const feedback = message('ok');
  const change = async (fields, done) => {
    const answer = await session.call('PATCH', `/members/${member.id}`, { json: fields });
    if (!answer.ok) return say(feedback, 'error', plainWords(answer));
    say(feedback, 'ok', done);
    changed(answer.body);
  };
  const text = !member.has_pin ? 'No PIN: a face the service is not sure of goes to the front desk.'
    : member.pin_locked ? 'The PIN is locked after too many wrong tries. Unlock it once you know who is asking.'
      : 'A PIN is set.';
  return el('div', { class: 'pin-state' }, el('p', { 'data-pin': member.pin_locked ? 'locked' : member.has_pin ? 'set' : 'none' }, text),
    member.pin_locked ? el('button', { type: 'button', class: 'secondary', onclick: () => change({ pin_locked: false }, 'PIN unlocked.') }, 'Unlock PIN') : null,
    member.has_pin ? el('button', { type: 'button', class: 'link', onclick: () => change({ pin: null }, 'PIN removed.') }, 'Remove PIN') : null,
    feedback);
}

async function memberView(id) {
  const answer = await session.call('GET', `/members/${id}`);
  if (!answer.ok) {
    view.replaceChildren(el('h1', { tabindex: '-1' }, answer.status === 404 ? 'No such member' : 'Cannot load the member'),
      el('p', {}, answer.status === 404 ? 'This member does not exist or was erased.' : plainWords(answer)),
      el('a', { href: '#members' }, 'Back to members'));
    return;
  }
  const member = answer.body;
  const title = el('h1', { id: 'member-title', tabindex: '-1' }, member.name);
  const pinBox = el('div');
  const showPIN = (current) => pinBox.replaceChildren(pinState(current, showPIN));
  showPIN(member);
  const details = memberForm(member, async (fields, feedback) => {
    const saved = await session.call('PATCH', `/members/${id}`, { json: fields });
    if (!saved.ok) return say(feedback, 'error', plainWords(saved));
    title.textContent = saved.body.name;
    showPIN(saved.body);
    say(feedback, 'ok', 'Saved.');
  }, 'Save');
  // Staff check the member in by hand, saying why (recorded with their account and audited).
  const reason = el('input', { id: 'manual-reason', autocomplete: 'off', maxlength: 500 });
  const manualFeedback = message('ok');
  const manual = el('form', { novalidate: true, class: 'manual' }, field('Reason', reason, 'e.g. "forgot card, ID checked"'),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'secondary' }, 'Check in by hand')), manualFeedback);
  manual.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!reason.value.trim()) { say(manualFeedback, 'error', 'Say why, for the record.'); return reason.focus(); }
    const answer = await session.call('POST', '/checkins', { json: { member_id: id, reason: reason.value.trim() } });
    if (!answer.ok) return say(manualFeedback, 'error', plainWords(answer));
    reason.value = '';
    say(manualFeedback, 'ok', answer.status === 201 ? `${member.name} is checked in.` : `${member.name} was already checked in.`);
  });

  const faces = el('ul', { class: 'faces', 'aria-label': 'Registered faces' });
  const facesStatus = el('p', { class: 'muted', role: 'status' });
  const results = el('ul', { class: 'results', 'aria-label': 'Registration results', 'aria-live': 'polite' });
  const files = el('input', { id: 'photos', type: 'file', accept: 'image/jpeg,image/png,image/webp', multiple: true });
  files.addEventListener('change', async () => {
    for (const file of [...files.files]) await register(file, file.name);
    files.value = '';
    showFaces();
  });

  async function register(photo, label) {
    const line = el('li', { 'data-status': 'pending' }, `${label}: registering…`);
    results.prepend(line);
    const form = new FormData();
    form.append('image', photo, label);
    const answer = await session.call('POST', `/members/${id}/faces`, { body: form, timeoutMs: 60000 });
    if (answer.ok) {
      line.dataset.status = 'ok';
      line.replaceChildren(`${label}: registered`);
    } else {
      line.dataset.status = 'refused';
      line.dataset.code = answer.code;
      line.replaceChildren(`${label}: not registered — ${plainWords(answer)}`,
                           answer.detail ? el('span', { class: 'why' }, answer.detail) : null);
    }
  }

  async function showFaces() {
    const list = await session.call('GET', `/members/${id}/faces`);
    if (!list.ok) return say(facesStatus, 'error', `Cannot load the faces: ${plainWords(list)}`);
    thumbnails.forEach(URL.revokeObjectURL);
    thumbnails = [];
    facesStatus.className = 'muted';
    const count = list.body.faces.length;
    facesStatus.textContent = count === 0
      ? 'No face registered yet: this member cannot check in by face. Register two or three photos.'
      : count === 1
        ? '1 face registered. Add one or two more photos, in other light or from another day: the member is matched by the closest photo, so check-ins succeed more often.'
        : `${count} faces registered.`;
    faces.replaceChildren(...list.body.faces.map((face, n) => {
      const image = el('img', { alt: `Face ${n + 1} of ${member.name}`, width: 150, height: 150 });
      session.call('GET', `/members/${id}/faces/${face.face_id}/thumbnail`).then((chip) => {
        if (!chip.ok) return image.setAttribute('alt', `Face ${n + 1}: thumbnail unavailable`);
        const url = URL.createObjectURL(chip.body);
        thumbnails.push(url);
        image.src = url;
      });
      return el('li', { 'data-face-id': face.face_id }, image, el('small', {}, dateTime(face.created_at)),
        el('button', { type: 'button', class: 'link', 'aria-label': `Delete face ${n + 1}`, onclick: async () => {
          if (!await confirmAction('Delete this face?', `Face ${n + 1} of ${member.name} will be deleted.`, 'Delete face')) return;
          const gone = await session.call('DELETE', `/members/${id}/faces/${face.face_id}`);
          if (!gone.ok) return say(facesStatus, 'error', `Cannot delete: ${plainWords(gone)}`);
          announce('Face deleted');
          showFaces();
        } }, 'Delete'));
    }));
  }

  const camera = cameraBox((photo) => register(photo, `Camera photo ${new Date().toLocaleTimeString()}`).then(showFaces));
  const erase = el('button', { type: 'button', class: 'danger', onclick: async () => {
    if (!await confirmAction(`Erase ${member.name}?`,
      'The member, every registered face and their check-in history are deleted for good. This cannot be undone.',
      'Erase member')) return;
    const gone = await session.call('DELETE', `/members/${id}`);
    if (!gone.ok) return announce(`Cannot erase: ${plainWords(gone)}`);
    announce(`${member.name} erased`);
    location.hash = '#members';
  } }, 'Erase member…');

  const exportStatus = el('p', { class: 'muted', role: 'status' });
  const exportData = el('button', { type: 'button', class: 'secondary', onclick: async () => {
    exportData.disabled = true;
    exportStatus.textContent = 'Preparing the export…';
    let data;
    try {
      data = await session.call('GET', `/members/${id}/export`, { timeoutMs: 60000 });
    } finally {
      exportData.disabled = false;
    }
    if (!data.ok) return say(exportStatus, 'error', `Cannot export: ${plainWords(data)}`);
    download(new Blob([JSON.stringify(data.body, null, 2)], { type: 'application/json' }), `member-${id}.json`);
    say(exportStatus, 'ok', 'Exported (the export is recorded in the audit log).');
  } }, "Export this member's data");
  const exportCard = session.user.role !== 'admin' ? null : el('div', { class: 'card' }, el('h2', {}, 'Their data'),
    el('p', { class: 'muted' }, 'For a request by the member to see or take their data: one file with their details, '
      + 'their registered faces (when and how each was made, not the faces themselves), their check-ins and the '
      + 'audit log entries about them.'),
    el('div', { class: 'actions' }, exportData), exportStatus);

  view.replaceChildren(el('section', { 'aria-labelledby': 'member-title' },
    el('p', {}, el('a', { href: '#members' }, '← Members'), ' · ',
      el('a', { href: `#checkins?member=${id}&name=${encodeURIComponent(member.name)}` }, 'Check-ins of this member')),
    title,
    el('div', { class: 'grid-2' },
      el('div', { class: 'card' }, el('h2', {}, 'Details'), details, pinBox),
      el('div', { class: 'card' }, el('h2', {}, 'Register faces'),
        el('p', { class: 'muted' }, 'Register two or three photos of the member facing the camera, taken in different '
          + 'light or on different days. Each check-in is matched against the closest of them, so a member with more '
          + 'than one photo is turned away less often, while strangers are kept out at the same rate.'),
        field('Photos', files, 'JPEG, PNG or WebP; several at once'), camera.node, results)),
    el('div', { class: 'card' }, el('h2', {}, 'Faces'), facesStatus, faces),
    el('div', { class: 'card' }, el('h2', {}, 'Check in by hand'),
      el('p', { class: 'muted' }, 'When the face and the PIN do not do, check the member in yourself: your account and '
        + 'the reason are recorded. A membership that is not active is still refused.'), manual),
    exportCard,
    el('div', { class: 'card' }, el('h2', {}, 'Erase'),
      el('p', { class: 'muted' }, 'Erasing removes the member and all their biometric data.'), erase)));
  showFaces();
}

/** The camera for registration: opened on demand, a photo at full resolution on "Take photo". */
function cameraBox(onPhoto) {
  const video = el('video', { autoplay: true, muted: true, playsinline: true, 'aria-label': 'Camera preview' });
  const status = message();
  const take = el('button', { type: 'button', onclick: async () => {
    take.disabled = true;
    await onPhoto(await jpeg(downsized(video, 1600, video.videoWidth, video.videoHeight), 0.92));
    take.disabled = false;
  } }, 'Take photo');
  const close = el('button', { type: 'button', class: 'secondary', onclick: () => stop() }, 'Close camera');
  const open = el('button', { type: 'button', class: 'secondary', onclick: async () => {
    try {
      cameraStream = await navigator.mediaDevices.getUserMedia({ audio: false, video: { width: { ideal: 1920 } } });
    } catch {
      return say(status, 'error', 'The camera is not available (allow camera access for this page).');
    }
    video.srcObject = cameraStream;
    live.hidden = false;
    open.hidden = true;
    take.focus();
  } }, 'Use the camera');
  const live = el('div', { class: 'capture-box', hidden: true }, video, el('div', { class: 'actions' }, take, close));
  function stop() {
    stopCamera();
    live.hidden = true;
    open.hidden = false;
  }
  return { node: el('div', { class: 'actions' }, open, live, status) };
}

function stopCamera() {
  if (cameraStream) cameraStream.getTracks().forEach((track) => track.stop());
  cameraStream = null;
}

// MARK: - Check-ins

function checkinsView(params) {
  const member = params.get('member');
  const from = el('input', { id: 'from', type: 'date', value: params.get('from') || '' });
  const to = el('input', { id: 'to', type: 'date', value: params.get('to') || '' });
  /** The chosen dates as the API's `from` and `to`: whole local days, from the start of "from" to the end of "to". */
  function range(query) {
    if (from.value) query.set('from', new Date(`${from.value}T00:00`).toISOString());
    if (to.value) {
      const end = new Date(`${to.value}T00:00`);
      end.setDate(end.getDate() + 1);
      query.set('to', end.toISOString());
    }
    return query;
  }
  const list = pager(async (cursor) => {
    const query = range(new URLSearchParams({ limit: PAGE }));
    if (member) query.set('member_id', member);
    if (cursor) query.set('cursor', cursor);
    const answer = await session.call('GET', `/checkins?${query}`);
    return answer.ok ? { ok: true, rows: answer.body.checkins, next: answer.body.next_cursor } : answer;
  }, (checkin) => el('tr', {},
    el('td', {}, dateTime(checkin.checked_in_at)),
    el('td', {}, el('a', { href: `#members/${checkin.member.id}` }, checkin.member.name)),
    el('td', {}, checkin.member.external_id || ''),
    el('td', {}, METHODS[checkin.method] || checkin.method),
    el('td', { class: 'number' }, checkin.similarity === undefined ? '' : `${Math.round(checkin.similarity * 100)}`),
  ), 'No check-ins for these filters.');
  const apply = () => {
    const query = new URLSearchParams(params);
    for (const [key, input] of [['from', from], ['to', to]]) input.value ? query.set(key, input.value) : query.delete(key);
    history.replaceState(null, '', `#checkins?${query}`);
    list.reload();
  };
  from.addEventListener('change', apply);
  to.addEventListener('change', apply);
  // Every member's check-ins between the dates (all of them without dates), oldest first, for billing.
  const exportStatus = el('p', { class: 'muted', role: 'status' });
  const exportButton = el('button', { type: 'button', class: 'secondary', onclick: async () => {
    exportButton.disabled = true;
    exportStatus.textContent = 'Preparing the export…';
    let file;
    try {
      file = await session.call('GET', `/checkins/export?${range(new URLSearchParams({ format: 'csv' }))}`,
                                { timeoutMs: 300000 });
    } finally {
      exportButton.disabled = false;
    }
    if (!file.ok) return say(exportStatus, 'error', `Cannot export: ${plainWords(file)}`);
    download(file.body, `checkins${from.value ? `-from-${from.value}` : ''}${to.value ? `-to-${to.value}` : ''}.csv`);
    say(exportStatus, 'ok', 'Exported.');
  } }, 'Export check-ins (CSV)');
  view.replaceChildren(el('section', { 'aria-labelledby': 'checkins-title' },
    el('h1', { id: 'checkins-title', tabindex: '-1' }, 'Check-ins'),
    el('div', { class: 'toolbar' },
      member ? el('p', {}, 'Member: ', el('strong', {}, params.get('name') || member), ' ',
                  el('a', { href: '#checkins' }, 'show everyone')) : null,
      // The export is of every member (a member's own data is exported from their page).
      el('div', {}, field('From', from)), el('div', {}, field('To', to)), member ? null : exportButton),
    exportStatus,
    table('Check-ins, newest first', ['When', 'Member', 'Member number', 'How', 'Similarity %'], list.body),
    list.status, list.controls));
  list.reload();
}

const METHODS = { face: 'Face', code_face: 'Member number + face', face_pin: 'Face + PIN', manual: 'By hand' };
/** Outcomes of check-in attempts in plain words (the others are shown by their code). */
const OUTCOMES = {
  checked_in: 'Checked in', repeat: 'Already checked in', no_match: 'Not recognised',
  needs_confirmation: 'Asked for the PIN', wrong_pin: 'Wrong PIN', membership_inactive: 'Membership not active',
  checkin_refused_by_validator: 'Refused by the validation call',
  no_face: 'No face', rate_limited: 'Too many tries', pin_ambiguous: 'PIN fits several members',
  liveness_failed: 'Head turn not accepted',
};

function attemptsView(params) {
  const outcome = el('select', { id: 'outcome-filter' }, el('option', { value: '' }, 'Every outcome'),
    Object.entries(OUTCOMES).map(([value, text]) => el('option', { value, selected: params.get('outcome') === value }, text)));
  const list = pager(async (cursor) => {
    const query = new URLSearchParams({ limit: PAGE });
    if (outcome.value) query.set('outcome', outcome.value);
    if (cursor) query.set('cursor', cursor);
    const answer = await session.call('GET', `/checkins/attempts?${query}`);
    return answer.ok ? { ok: true, rows: answer.body.attempts, next: answer.body.next_cursor } : answer;
  }, (attempt) => el('tr', { 'data-outcome': attempt.outcome },
    el('td', {}, dateTime(attempt.occurred_at)),
    el('td', {}, OUTCOMES[attempt.outcome] || attempt.outcome, attempt.reason ? el('small', { class: 'why' }, ` (${attempt.reason})`) : null),
    el('td', {}, METHODS[attempt.method] || attempt.method),
    el('td', {}, attempt.member ? el('a', { href: `#members/${attempt.member.id}` }, attempt.member.name) : ''),
    el('td', { class: 'number' }, attempt.distance === undefined ? '' : attempt.distance.toFixed(3)),
  ), 'No attempts for this filter.');
  outcome.addEventListener('change', () => {
    history.replaceState(null, '', outcome.value ? `#attempts?outcome=${outcome.value}` : '#attempts');
    list.reload();
  });
  view.replaceChildren(el('section', { 'aria-labelledby': 'attempts-title' },
    el('h1', { id: 'attempts-title', tabindex: '-1' }, 'Check-in attempts'),
    el('p', { class: 'muted' }, 'Every attempt at the door, let in or not, with the member it was about (the nearest one for a face not recognised). No photos are kept.'),
    el('div', { class: 'toolbar' }, el('div', {}, field('Outcome', outcome))),
    table('Check-in attempts, newest first', ['When', 'Outcome', 'How', 'Member', 'Distance'], list.body),
    list.status, list.controls));
  list.reload();
}

// MARK: - Staff and kiosk accounts (admins)

async function usersView() {
  if (session.user.role !== 'admin') {
    view.replaceChildren(el('h1', { tabindex: '-1' }, 'Staff and kiosks'), el('p', {}, 'Only admins manage accounts.'));
    return;
  }
  const feedback = message();
  const rows = el('tbody');
  async function load() {
    const answer = await session.call('GET', '/users');
    if (!answer.ok) return say(feedback, 'error', `Cannot load the accounts: ${plainWords(answer)}`);
    rows.replaceChildren(...answer.body.users.map(userRow));
  }
  async function change(user, fields, done) {
    const answer = await session.call('PATCH', `/users/${user.id}`, { json: fields });
    if (!answer.ok) return say(feedback, 'error', plainWords(answer));
    say(feedback, 'ok', done);
    load();
  }
  function userRow(user) {
    const self = user.id === session.user.id;
    const role = el('select', { id: `role-${user.id}`, 'aria-label': `Role of ${user.username}`, disabled: self },
      ['admin', 'operator', 'kiosk'].map((r) => el('option', { value: r, selected: r === user.role }, r)));
    role.addEventListener('change', () => change(user, { role: role.value }, `${user.username} is now ${role.value}.`));
    return el('tr', {},
      el('td', {}, user.username, self ? el('span', { class: 'muted' }, ' (you)') : null),
      el('td', {}, role),
      el('td', {}, user.email || ''),
      el('td', {}, el('span', { class: user.disabled ? 'badge off' : 'badge' }, user.disabled ? 'Disabled' : 'Active')),
      el('td', {}, self ? null : [
        el('button', { type: 'button', class: 'link', onclick: () => change(user, { disabled: !user.disabled },
          `${user.username} is ${user.disabled ? 'enabled' : 'disabled'}.`) }, user.disabled ? 'Enable' : 'Disable'),
        el('button', { type: 'button', class: 'link', onclick: async () => {
          if (!await confirmAction(`Delete ${user.username}?`, 'The account is deleted and signed out everywhere.', 'Delete account')) return;
          const gone = await session.call('DELETE', `/users/${user.id}`);
          if (!gone.ok) return say(feedback, 'error', plainWords(gone));
          say(feedback, 'ok', `${user.username} deleted.`);
          load();
        } }, 'Delete')]));
  }

  const username = el('input', { id: 'new-username', required: true, autocomplete: 'off', autocapitalize: 'none' });
  const password = el('input', { id: 'new-password', type: 'password', required: true, autocomplete: 'new-password', minlength: 12 });
  const role = el('select', { id: 'new-role' }, ['operator', 'kiosk', 'admin'].map((r) => el('option', { value: r }, r)));
  const email = el('input', { id: 'new-email', type: 'email', autocomplete: 'off' });
  const createFeedback = message();
  const create = el('form', { novalidate: true },
    field('Username', username), field('Password', password, 'at least 12 characters'), field('Role', role),
    field('Email', email, 'optional'), createFeedback, el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Create account')));
  create.addEventListener('submit', async (event) => {
    event.preventDefault();
    const answer = await session.call('POST', '/users', { json: {
      username: username.value.trim(), password: password.value, role: role.value, ...(email.value.trim() ? { email: email.value.trim() } : {}) } });
    if (!answer.ok) return say(createFeedback, 'error', plainWords(answer));
    say(createFeedback, 'ok', `${answer.body.username} created.`);
    create.reset();
    load();
  });

  view.replaceChildren(el('section', { 'aria-labelledby': 'users-title' },
    el('h1', { id: 'users-title', tabindex: '-1' }, 'Staff and kiosks'),
    table('Accounts', ['Username', 'Role', 'Email', 'Status', 'Actions'], rows), feedback,
    el('div', { class: 'card narrow' }, el('h2', {}, 'New account'), create)));
  load();
}

// MARK: - The organisation's settings (admins)

/** The organisation's liveness policies, in words (`challenge` is the default). */
const LIVENESS = {
  challenge: 'Challenge: turn the head (default)',
  off: 'Off: the terminals bring their own liveness',
};

async function organisationView() {
  if (session.user.role !== 'admin') {
    view.replaceChildren(el('h1', { tabindex: '-1' }, 'Organisation'),
      el('p', {}, "Only admins change the organisation's settings."));
    return;
  }
  const path = `/organizations/${encodeURIComponent(session.user.organization_id)}`;
  const answer = await session.call('GET', path);
  if (!answer.ok) {
    view.replaceChildren(el('h1', { tabindex: '-1' }, 'Organisation'),
      el('p', {}, `Cannot load the organisation: ${plainWords(answer)}`));
    return;
  }
  let organisation = answer.body;
  const name = el('dd', { id: 'org-name' });
  const created = el('dd', { id: 'org-created' });
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const timeZone = el('input', { id: 'org-time-zone', list: 'org-time-zones', autocomplete: 'off', spellcheck: 'false',
                                 autocapitalize: 'none', required: true });
  const known = el('datalist', { id: 'org-time-zones' }, ['UTC', ...zones].map((zone) => el('option', { value: zone })));
  const liveness = el('select', { id: 'org-liveness' },
    Object.entries(LIVENESS).map(([value, text]) => el('option', { value }, text)));
  const feedback = message();
  function showValues() {
    name.textContent = organisation.name;
    created.textContent = dateTime(organisation.created_at);
    timeZone.value = organisation.time_zone || '';
    // A service that does not report the setting has none to change.
    liveness.value = organisation.liveness || 'challenge';
    liveness.disabled = organisation.liveness === undefined;
  }
  showValues();
  const form = el('form', { novalidate: true },
    field('Time zone', timeZone, "IANA name, e.g. Europe/Berlin: a membership's last day ends at its midnight"), known,
    field('Liveness at the kiosks', liveness),
    el('p', { class: 'field-hint', id: 'org-liveness-hint' },
      'Challenge: the kiosk asks each person to turn their head a given way and sends several frames, so a printed '
      + 'photo or a photo on a phone cannot check in as a member. Choose Off only when your terminals detect liveness '
      + 'themselves (for example infrared or 3D cameras): kiosks then send a single photo.'),
    feedback,
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Save settings')));
  liveness.setAttribute('aria-describedby', 'org-liveness-hint');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    say(feedback, 'error', '');
    const fields = {};
    if (timeZone.value.trim() !== organisation.time_zone) fields.time_zone = timeZone.value.trim();
    if (!liveness.disabled && liveness.value !== (organisation.liveness || 'challenge')) fields.liveness = liveness.value;
    if (!Object.keys(fields).length) return say(feedback, 'ok', 'Nothing to save: the settings are unchanged.');
    if (!fields.time_zone && fields.time_zone !== undefined) {
      say(feedback, 'error', 'A time zone is needed, e.g. Europe/Berlin or UTC.');
      return timeZone.focus();
    }
    if (fields.liveness === 'off' && !await confirmAction('Turn the head-turn check off?',
      'Kiosks will send a single photo again: a printed photo of a member could then check in as them, unless your '
      + 'terminals detect liveness themselves.', 'Turn it off')) {
      liveness.value = organisation.liveness;
      return;
    }
    const saved = await session.call('PATCH', path, { json: fields });
    if (!saved.ok) return say(feedback, 'error', `Not saved: ${saved.detail || plainWords(saved)}`);
    organisation = saved.body;
    showValues();
    say(feedback, 'ok', 'Saved.');
    announce('Organisation settings saved');
  });
  view.replaceChildren(el('section', { 'aria-labelledby': 'organisation-title' },
    el('h1', { id: 'organisation-title', tabindex: '-1' }, 'Organisation'),
    el('div', { class: 'card narrow' },
      el('dl', { class: 'facts' }, el('dt', {}, 'Name'), name, el('dt', {}, 'Created'), created),
      form)));
}

// MARK: - Webhooks and the validation call (admins)

/** The events an endpoint can subscribe to, in words. */
const WEBHOOK_EVENTS = {
  'checkin.recorded': 'A member checked in',
  'checkin.refused': 'A check-in was refused',
  'member.created': 'Member added',
  'member.updated': 'Member changed',
  'member.erased': 'Member erased',
  'face.enrolled': 'Face registered',
  'face.deleted': 'Face removed',
};

/** Shows a signing secret once, with what to do with it. */
function secretNote(secret, what) {
  return el('div', { class: 'message ok', role: 'status', id: 'webhook-secret' },
    el('p', {}, `The signing secret of ${what}, shown this once: copy it into your system now.`),
    el('code', { class: 'secret' }, secret));
}

async function webhooksView() {
  if (session.user.role !== 'admin') {
    view.replaceChildren(el('h1', { tabindex: '-1' }, 'Webhooks'), el('p', {}, 'Only admins manage webhooks.'));
    return;
  }
  const feedback = message();
  const secretSlot = el('div');
  const rows = el('tbody');
  const deliveries = el('div', { id: 'webhook-deliveries' });

  async function load() {
    const answer = await session.call('GET', '/webhooks');
    if (!answer.ok) return say(feedback, 'error', `Cannot load the webhooks: ${plainWords(answer)}`);
    rows.replaceChildren(...answer.body.webhooks.map(endpointRow));
    if (!answer.body.webhooks.length) rows.replaceChildren(el('tr', {}, el('td', { colspan: 4 }, 'No endpoints yet.')));
  }
  async function change(endpoint, fields, done) {
    const answer = await session.call('PATCH', `/webhooks/${endpoint.id}`, { json: fields });
    if (!answer.ok) return say(feedback, 'error', plainWords(answer));
    say(feedback, 'ok', done);
    if (answer.body.secret) secretSlot.replaceChildren(secretNote(answer.body.secret, endpoint.url));
    load();
  }
  function endpointRow(endpoint) {
    const status = endpoint.enabled ? el('span', { class: 'badge' }, 'Enabled')
      : el('span', {}, el('span', { class: 'badge off' }, 'Disabled'),
        endpoint.disabled_reason ? el('span', { class: 'muted' }, ` ${endpoint.disabled_reason}`) : null);
    return el('tr', { 'data-webhook': endpoint.id },
      el('td', {}, el('span', { class: 'url' }, endpoint.url),
        endpoint.description ? el('div', { class: 'muted' }, endpoint.description) : null),
      el('td', {}, endpoint.events.map((e) => WEBHOOK_EVENTS[e] || e).join(', ')),
      el('td', {}, status),
      el('td', {}, [
        el('button', { type: 'button', class: 'link', onclick: () => showDeliveries(endpoint) }, 'Deliveries'),
        el('button', { type: 'button', class: 'link', onclick: async () => {
          const answer = await session.call('POST', `/webhooks/${endpoint.id}/ping`);
          if (!answer.ok) return say(feedback, 'error', plainWords(answer));
          say(feedback, 'ok', 'Ping sent: see its delivery below.');
          showDeliveries(endpoint);
        } }, 'Send ping'),
        el('button', { type: 'button', class: 'link', onclick: () => change(endpoint, { enabled: !endpoint.enabled },
          endpoint.enabled ? 'Disabled: nothing is sent to it.' : 'Enabled: waiting events are sent again.') },
          endpoint.enabled ? 'Disable' : 'Enable'),
        el('button', { type: 'button', class: 'link', onclick: async () => {
          if (!await confirmAction('Make a new signing secret?', 'The old secret keeps signing beside the new one for '
            + '24 hours, so that your system can switch over.', 'New secret')) return;
          change(endpoint, { rotate_secret: true }, 'New secret made; the old one signs too for 24 hours.');
        } }, 'New secret'),
        el('button', { type: 'button', class: 'link', onclick: async () => {
          if (!await confirmAction('Delete this endpoint?', `Nothing more is sent to ${endpoint.url}, and its deliveries are forgotten.`,
            'Delete endpoint')) return;
          const gone = await session.call('DELETE', `/webhooks/${endpoint.id}`);
          if (!gone.ok) return say(feedback, 'error', plainWords(gone));
          say(feedback, 'ok', 'Endpoint deleted.');
          deliveries.replaceChildren();
          load();
        } }, 'Delete')]));
  }
  async function showDeliveries(endpoint) {
    const answer = await session.call('GET', `/webhooks/${endpoint.id}/deliveries?limit=50`);
    if (!answer.ok) return say(feedback, 'error', plainWords(answer));
    const body = el('tbody', {}, answer.body.deliveries.map((d) => {
      const last = d.history[0];
      const result = last ? (last.error || `HTTP ${last.status_code}`) : 'not tried yet';
      return el('tr', { 'data-delivery': d.id, 'data-state': d.state },
        el('td', {}, dateTime(d.created_at)), el('td', {}, d.event_type),
        el('td', {}, { pending: 'Waiting', delivered: 'Delivered', failed: 'Failed' }[d.state] || d.state),
        el('td', { class: 'number' }, String(d.attempts)),
        el('td', {}, last ? `${result} (${last.duration_ms} ms)` : result),
        el('td', {}, el('button', { type: 'button', class: 'link', onclick: async () => {
          const again = await session.call('POST', `/webhooks/${endpoint.id}/deliveries/${d.id}/redeliver`);
          if (!again.ok) return say(feedback, 'error', plainWords(again));
          say(feedback, 'ok', 'Sent again.');
          setTimeout(() => showDeliveries(endpoint), 1000);
        } }, 'Send again')));
    }));
    if (!answer.body.deliveries.length) body.replaceChildren(el('tr', {}, el('td', { colspan: 6 }, 'Nothing sent yet.')));
    deliveries.replaceChildren(el('h2', {}, `Deliveries to ${endpoint.url}`),
      el('button', { type: 'button', class: 'secondary', onclick: () => showDeliveries(endpoint) }, 'Refresh'),
      table(`Deliveries to ${endpoint.url}, newest first`, ['When', 'Event', 'State', 'Tries', 'Last answer', ''], body));
  }

  const url = el('input', { id: 'webhook-url', type: 'url', required: true, autocomplete: 'off', spellcheck: 'false',
                            placeholder: 'the https address your system receives events at' });
  const description = el('input', { id: 'webhook-description', autocomplete: 'off', maxlength: 500 });
  const boxes = Object.entries(WEBHOOK_EVENTS).map(([value, text]) =>
    el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'webhook-event', value,
                                                  checked: value.startsWith('checkin.') }), ` ${text}`));
  const createFeedback = message();
  const create = el('form', { novalidate: true },
    field('URL', url, 'https; your system receives each event as a signed POST'), field('Description', description, 'optional'),
    el('fieldset', {}, el('legend', {}, 'Events'), boxes), createFeedback,
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Add endpoint')));
  create.addEventListener('submit', async (event) => {
    event.preventDefault();
    const events = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    if (!url.value.trim()) { say(createFeedback, 'error', 'A URL is needed.'); return url.focus(); }
    if (!events.length) return say(createFeedback, 'error', 'Choose at least one event.');
    const answer = await session.call('POST', '/webhooks', { json: {
      url: url.value.trim(), events, description: description.value.trim() } });
    if (!answer.ok) return say(createFeedback, 'error', answer.detail || plainWords(answer));
    say(createFeedback, 'ok', 'Endpoint added.');
    secretSlot.replaceChildren(secretNote(answer.body.secret, answer.body.url));
    create.reset();
    load();
  });

  // The validation call: the organisation's own software asked before each check-in.
  const orgPath = `/organizations/${encodeURIComponent(session.user.organization_id)}`;
  const validation = el('input', { id: 'validation-url', type: 'url', autocomplete: 'off', spellcheck: 'false',
                                   placeholder: 'the https address your system answers at' });
  const validationFeedback = message();
  const organisation = await session.call('GET', orgPath);
  let savedValidation = organisation.ok ? organisation.body.checkin_validation_url || '' : '';
  validation.value = savedValidation;
  const validationForm = el('form', { novalidate: true },
    field('Validation URL', validation, 'empty: nobody is asked'),
    el('p', { class: 'field-hint' }, 'Before a recognised member is checked in, this URL is sent the member (signed); it '
      + 'answers 2xx to let them in, or 403 with {"message": "…"} to turn them away with that message on the kiosk.'),
    validationFeedback, el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Save')));
  validationForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = validation.value.trim() || null;
    if ((value || '') === savedValidation) return say(validationFeedback, 'ok', 'Nothing to save: the URL is unchanged.');
    const saved = await session.call('PATCH', orgPath, { json: { checkin_validation_url: value } });
    if (!saved.ok) return say(validationFeedback, 'error', `Not saved: ${saved.detail || plainWords(saved)}`);
    savedValidation = value || '';
    say(validationFeedback, 'ok', value ? 'Saved: each check-in asks it first.' : 'Removed: nobody is asked.');
    if (saved.body.checkin_validation_secret) {
      secretSlot.replaceChildren(secretNote(saved.body.checkin_validation_secret, 'the validation call'));
    }
  });

  view.replaceChildren(el('section', { 'aria-labelledby': 'webhooks-title' },
    el('h1', { id: 'webhooks-title', tabindex: '-1' }, 'Webhooks'),
    el('p', { class: 'muted' }, 'Tell your own software: each event is sent to your endpoints as a signed POST, retried '
      + 'for a day until it is taken.'),
    secretSlot, feedback,
    table('Webhook endpoints', ['Endpoint', 'Events', 'Status', 'Actions'], rows),
    deliveries,
    el('div', { class: 'card narrow' }, el('h2', {}, 'New endpoint'), create),
    el('div', { class: 'card narrow' }, el('h2', {}, 'Validation before each check-in'), validationForm)));
  load();
}

// MARK: - Navigation and sign-in

function route() {
  if (!session.user) return;
  stopCamera();
  thumbnails.forEach(URL.revokeObjectURL);
  thumbnails = [];
  const [path, query = ''] = location.hash.slice(1).split('?');
  const params = new URLSearchParams(query);
  const [section, id] = path.split('/');
  const current = ['checkins', 'attempts', 'users', 'organisation', 'webhooks'].includes(section) ? section : 'members';
  for (const link of document.querySelectorAll('nav a')) {
    if (link.dataset.section === current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${{ members: 'Members', checkins: 'Check-ins', attempts: 'Check-in attempts', users: 'Staff and kiosks',
                        organisation: 'Organisation', webhooks: 'Webhooks' }[current]} — facegate`;
  if (current === 'checkins') checkinsView(params);
  else if (current === 'attempts') attemptsView(params);
  else if (current === 'users') usersView();
  else if (current === 'organisation') organisationView();
  else if (current === 'webhooks') webhooksView();
  // Only an id goes into a request path: anything else in the address (`..\users\…`) is no member.
  else if (id && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) memberView(id);
  else if (id) view.replaceChildren(el('h1', { tabindex: '-1' }, 'No such member'), el('a', { href: '#members' }, 'Back to members'));
  else membersView(params);
  setTimeout(() => { const heading = view.querySelector('h1'); if (heading) heading.focus(); }, 0);
}

function showApp(user) {
  $('app').hidden = false;
  $('who').textContent = `${user.username} (${user.role})`;
  $('nav-users').parentElement.hidden = user.role !== 'admin';
  $('nav-organisation').parentElement.hidden = user.role !== 'admin';
  $('nav-webhooks').parentElement.hidden = user.role !== 'admin';
  route();
}

const askSignIn = signInForm($('signin-form'), session, showApp);

function showSignIn(text = '') {
  stopCamera();
  view.replaceChildren();
  $('app').hidden = true;
  askSignIn(text);
}

session.onSignedOut = () => showSignIn('Your session has ended. Sign in again.');
window.addEventListener('hashchange', route);
$('signout').addEventListener('click', async () => {
  await session.signOut();
  showSignIn();
});
if (session.user) showApp(session.user);
else showSignIn();
