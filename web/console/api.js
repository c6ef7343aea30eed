// The admin API as the console calls it: the bearer token (from the URL
// fragment #token=..., or asked for, kept in sessionStorage for this
// tab only), the operator's name for the nodes' action log (X-Admin-User,
// from #user=... or asked for with the token) and calls whose answers say plainly what happened, including
// "not available on this server" for an endpoint this node lacks.

const TOKEN_KEY = 'shatter-admin-token';
const USER_KEY = 'shatter-admin-user';

// takeTokenFromURL moves #token=...&user=... from the fragment into
// sessionStorage and off the address bar, so the token is not left in
// the history or a screenshot.
export function takeTokenFromURL() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.has('token') && !params.has('user')) return;
  if (params.has('token')) sessionStorage.setItem(TOKEN_KEY, params.get('token'));
  if (params.has('user')) sessionStorage.setItem(USER_KEY, params.get('user'));
  history.replaceState(null, '', location.pathname + location.search);
}

export const token = () => sessionStorage.getItem(TOKEN_KEY) ?? '';
export const user = () => sessionStorage.getItem(USER_KEY) ?? '';

// askToken prompts for the token, then for the operator's name; true if
// a token was entered.
export function askToken() {
  const t = window.prompt('Admin token (the node\'s -admin-token):', token());
  if (t === null) return false;
  sessionStorage.setItem(TOKEN_KEY, t.trim());
  const u = window.prompt('Your name, for the nodes\' action log (optional):', user());
  if (u !== null) sessionStorage.setItem(USER_KEY, u.trim());
  return true;
}

// eventsURL is the live stream's URL: EventSource cannot set headers, so
// the token goes in the query.
export function eventsURL() {
  const t = token();
  return t ? `/events?token=${encodeURIComponent(t)}` : '/events';
}

// call makes one admin API request and never throws. It returns
// { ok, status, data, text, unavailable, unauthorized, message }: data is
// the parsed JSON answer if there is one; unavailable is true when the
// server has no such endpoint (a 404 or 405 that is not a JSON answer:
// the endpoint's own 404s, "no such session", are JSON); message is one
// line for a person.
export async function call(method, path, { body, blob } = {}) {
  const headers = {};
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (user()) headers['X-Admin-User'] = user();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    return { ok: false, status: 0, unavailable: false, unauthorized: false, message: `${method} ${path}: ${err.message}` };
  }
  const out = { ok: resp.ok, status: resp.status, data: null, text: '', unavailable: false, unauthorized: resp.status === 401 };
  const json = (resp.headers.get('Content-Type') ?? '').includes('application/json');
  if (resp.ok && blob) {
    out.blob = await resp.blob();
    out.filename = filenameOf(resp.headers.get('Content-Disposition')) ?? 'download';
  } else {
    out.text = await resp.text().catch(() => '');
    if (json) {
      try {
        out.data = JSON.parse(out.text);
      } catch {
        out.data = null;
      }
    }
  }
  out.unavailable = (resp.status === 404 || resp.status === 405) && out.data === null;
  if (out.unavailable) out.message = `${method} ${path}: not available on this server`;
  else if (out.unauthorized) out.message = `${method} ${path}: unauthorized: set the admin token`;
  else if (!resp.ok) out.message = `${method} ${path}: ${resp.status} ${out.data?.error ?? out.text.trim()}`;
  else out.message = `${method} ${path}: ${out.data ? JSON.stringify(out.data) : 'ok'}`;
  return out;
}

function filenameOf(disposition) {
  const m = disposition?.match(/filename="([^"]+)"/);
  return m ? m[1] : null;
}
