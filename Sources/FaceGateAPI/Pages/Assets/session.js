// The API from the kiosk and admin pages: requests, problem answers, and one signed-in session per browser tab.
// Tokens live in this tab's sessionStorage only (gone when the tab closes) and are refreshed before they expire.

const API = '/api/v1';

/** An API answer: `ok`, `status`, the decoded `body`, and for a problem its `code`, `detail` and `retryAfter` (s). */
export async function request(method, path, { json, body, headers = {}, token, timeoutMs = 20000 } = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(timeoutMs), cache: 'no-store' };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(path.startsWith('/') && !path.startsWith(API) ? API + path : path, init);
  } catch (error) {
    const timedOut = error && error.name === 'TimeoutError';
    return { ok: false, status: 0, code: timedOut ? 'timeout' : 'network_error', retryAfter: 3,
             detail: timedOut ? 'the service did not answer in time' : 'the service cannot be reached' };
  }
  const type = response.headers.get('Content-Type') || '';
  let data = null;
  try {
    if (type.includes('json')) data = await response.json().catch(() => null);
    else if (response.status !== 204) data = await response.blob();
  } catch (error) {
    // The body broke off (the connection, or the time allowed ran out, while a download was coming in).
    const timedOut = error && error.name === 'TimeoutError';
    return { ok: false, status: 0, code: timedOut ? 'timeout' : 'network_error', retryAfter: 3,
             detail: timedOut ? 'the service did not answer in time' : 'the answer broke off' };
  }
  const answer = { ok: response.ok, status: response.status, body: data };
  if (!response.ok) {
    answer.code = (data && data.code) || `http_${response.status}`;
    answer.detail = (data && data.detail) || response.statusText;
    const retryAfter = Number(response.headers.get('Retry-After'));
    answer.retryAfter = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null;
  }
  return answer;
}

/** Thrown when signing in fails; `message` is for people. */
export class SignInError extends Error {}

/**
 * One tab's session: `signIn` checks the account's role against `roles` (a kiosk page never keeps an admin's
 * tokens), `call` adds the access token and refreshes it once when it has expired, `signOut` ends the session at
 * the server and forgets the tokens. `onSignedOut` runs when the session ends by itself (refresh refused).
 */
export class Session {
  constructor(storageKey, roles) {
    this.key = storageKey;
    this.roles = roles;
    this.onSignedOut = () => {};
    this.refreshing = null;
    this.timer = null;
    this.retryDelay = 0;
    this.lastFailure = null;  // the renewal's failure while its retry is pending (calls answer it, not a new try)
    try { this.state = JSON.parse(sessionStorage.getItem(storageKey) || 'null'); } catch { this.state = null; }
    if (this.state) this.schedule();
  }

  get user() { return this.state && this.state.user; }

  async signIn(username, password) {
    const answer = await request('POST', '/auth/login', { json: { username, password } });
    if (!answer.ok) {
      const words = { invalid_credentials: 'Wrong username or password.',
                      rate_limited: `Too many attempts. Try again in ${answer.retryAfter || 60} seconds.` };
      throw new SignInError(words[answer.code] || `Cannot sign in: ${answer.detail}`);
    }
    this.keep(answer.body);
    const me = await this.call('GET', '/auth/me');
    if (!me.ok) {
      this.forget();
      throw new SignInError(`Cannot sign in: ${me.detail}`);
    }
    if (!this.roles.includes(me.body.role)) {
      await this.signOut();
      throw new SignInError(`This page is for ${this.roles.join(' or ')} accounts; "${me.body.username}" is ${me.body.role === 'admin' ? 'an' : 'a'} ${me.body.role} account.`);
    }
    this.state.user = me.body;
    this.save();
    return me.body;
  }

  async signOut() {
    clearTimeout(this.timer);
    if (this.state) await request('POST', '/auth/logout', { token: this.state.access, timeoutMs: 5000 });
    this.forget();
  }

  /**
   * An API call as this session. Signs out (and tells `onSignedOut`) only when the server refuses the session; while
   * the service cannot renew it (database down, overloaded, unreachable) the answer is that failure, with its
   * Retry-After, and the session stays.
   */
  async call(method, path, options = {}) {
    if (!this.state) return { ok: false, status: 401, code: 'signed_out', detail: 'signed out' };
    let answer = await request(method, path, { ...options, token: this.state.access });
    if (answer.status === 401 && this.state && answer.code !== 'invalid_credentials') {
      if (this.lastFailure) return this.lastFailure;  // a renewal retry is pending: no request storm in an outage
      const renewal = await this.refresh();
      if (renewal.ok) answer = await request(method, path, { ...options, token: this.state.access });
      else if (this.state) return renewal;  // not refused: the service could not renew it just now
    }
    if (answer.status === 401 && this.state && answer.code !== 'invalid_credentials') this.end();
    return answer;
  }

  /**
   * Exchanges the refresh token for a new pair; one exchange at a time (a reused token would end the session). A
   * refusal (401) ends the session; any other failure is retried with a growing pause (2 s doubling to a minute, or
   * the Retry-After asked for) for as long as the refresh token is refused by nobody. Returns the answer.
   */
  refresh() {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        const answer = await request('POST', '/auth/refresh', { json: { refresh_token: this.state.refresh } });
        if (!this.state) return answer;  // signed out while the exchange ran: stay signed out
        if (answer.ok) {
          this.retryDelay = 0;
          this.lastFailure = null;
          this.keep(answer.body);
        } else if (answer.status === 401) {
          this.end();
        } else {
          this.retryDelay = Math.min(60000, Math.max(2000, this.retryDelay * 2, (answer.retryAfter || 0) * 1000));
          this.lastFailure = { ...answer, retryAfter: Math.ceil(this.retryDelay / 1000) };
          clearTimeout(this.timer);
          this.timer = setTimeout(() => { this.lastFailure = null; if (this.state) this.refresh(); }, this.retryDelay);
        }
        return answer;
      })().finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  keep(pair) {
    const lifetime = pair.expires_in * 1000;
    this.state = { ...this.state, access: pair.access_token, refresh: pair.refresh_token,
                   lifetime, expiresAt: Date.now() + lifetime };
    this.save();
    this.schedule();
  }

  /** Refreshes when a fifth of the lifetime (at most a minute) is left. */
  schedule() {
    clearTimeout(this.timer);
    const margin = Math.min(60000, (this.state.lifetime || 0) / 5);
    const due = Math.max(1000, this.state.expiresAt - margin - Date.now());
    this.timer = setTimeout(() => { if (this.state) this.refresh(); }, due);
  }

  save() { sessionStorage.setItem(this.key, JSON.stringify(this.state)); }

  forget() {
    clearTimeout(this.timer);
    this.state = null;
    sessionStorage.removeItem(this.key);
  }

  end() {
    this.forget();
    this.onSignedOut();
  }
}

/** Plain words for the API's codes about photos and faces (the API's own `detail` says the specifics). */
export const photoReasons = {
  no_face: 'No face found — use a photo where the face is clearly visible',
  multiple_faces: 'More than one face — use a photo of this person alone',
  face_too_small: 'The face is too small — use a closer photo',
  too_blurry: 'The photo is too blurry — use a sharper one',
  bad_pose: 'The head is turned away — use a photo looking straight at the camera',
  face_belongs_to_other_member: 'This face is already registered to another member',
  duplicate_face: 'This face is already registered for this member',
  unsupported_image_format: 'Not a photo this service reads — use JPEG, PNG or WebP',
  corrupt_image: 'The file is damaged',
  truncated_image: 'The file is incomplete',
  empty_image: 'The file is empty',
  image_too_large: 'The file is too large',
  body_too_large: 'The file is too large',
  image_too_many_pixels: 'The picture has too many pixels — use a smaller one',
  rate_limited: 'Too many requests — wait a moment and try again',
  overloaded: 'The service is busy — try again in a moment',
  database_unavailable: 'The service is unavailable — try again in a moment',
  model_switching: 'The service is switching its face model — try again in a few seconds',
  network_error: 'The service cannot be reached',
  timeout: 'The service did not answer in time',
};

/** Plain words for an answer that is not OK. */
export function plainWords(answer) {
  return photoReasons[answer.code] || answer.detail || `Error ${answer.status}`;
}

/**
 * Wires a sign-in form: calls `session.signIn` and reports failures in the form's message element. Returns a
 * function that shows the form (its parent element) with an optional message and puts the cursor in it.
 */
export function signInForm(form, session, onSignedIn) {
  const message = form.querySelector('.message');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    message.textContent = '';
    try {
      const user = await session.signIn(form.username.value.trim(), form.password.value);
      form.reset();
      form.parentElement.hidden = true;
      onSignedIn(user);
    } catch (error) {
      message.textContent = error instanceof SignInError ? error.message : 'Cannot sign in right now.';
    } finally {
      button.disabled = false;
    }
  });
  return (text = '') => {
    form.parentElement.hidden = false;
    message.textContent = text;
    form.username.focus();
  };
}

/** A canvas drawing of `source` (a video or an image) no larger than `maxSide` on its longer side. */
export function downsized(source, maxSide, width, height) {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  canvas.getContext('2d').drawImage(source, 0, 0, canvas.width, canvas.height);
  return canvas;
}

/** A canvas as a JPEG blob. */
export function jpeg(canvas, quality = 0.85) {
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
}

/** Element helper: `el('td', {class: 'x'}, 'text', child)`; text is always set as text, never as HTML. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}
