// jwt-sso administration console.
//
// A plain script (no build step, nothing from the internet) served with a strict
// Content-Security-Policy: no inline scripts, styles or event handlers. Every value
// that comes from the API (names, claims, messages, hints: text written by
// administrators or taken from tokens) is put into the page with `textContent`,
// `createElement` or an input's `value`, never as HTML. A secret is never put into
// the page: the API sends `{"redacted":true}` and the form sends that back unless
// the administrator types a new secret.
//
// The credential is kept in sessionStorage (this tab only): the admin token,
// sent as `Authorization: Bearer …`, or a session that a single sign-on token
// started through `POST /api/auth/login`, sent as `X-Auth-Token`. It never goes
// into a URL or a cookie.
//
// Layout of this file, one part per concern:
//   the API · text (messages in the administrator's language) · page chrome
//   (views, pages, banner, warnings, dialogs) · sign in · the list · the form
//   (simple fields from FIELDS; key source, secrets, algorithms, prompts and
//   role rules by hand; the host's catalogue of roles and user types) · keys
//   (what a pasted key allows) · delete · enable/disable · test a token (the
//   checklist beside the decoded token) · recent logins · start.
// A new page (recent logins, role rules, a token debugger…) adds a
// `<section class="view">` to index.html, one entry to PAGES (its nav label
// and an `open` function that loads and shows it), and its own part here that
// uses api(), el(), richText(), warningList(), showBanner() and openDialog().

'use strict';

(() => {
  const API = '/api/admin/configs';
  const CATALOG = '/api/admin/catalog';
  const TOKEN_KEY = 'jwt-sso.admin-token';
  const SESSION_KEY = 'jwt-sso.session';
  const LOGIN = '/api/auth/login';
  const LOGOUT = '/api/auth/logout';
  const JWT_LOGIN_MODE = 67108864;

  // The allowlist's algorithms (CONTRACT section 1) by key family, in the
  // order the form shows them: one line per family.
  const ALGORITHM_FAMILIES = [
    { family: 'hmac', label: 'HMAC', algorithms: ['HS256', 'HS384', 'HS512'] },
    { family: 'rsa', label: 'RSA', algorithms: ['RS256', 'RS384', 'RS512'] },
    { family: 'rsa-pss', label: 'RSA-PSS', algorithms: ['PS256', 'PS384', 'PS512'] },
    { family: 'ecdsa', label: 'ECDSA', algorithms: ['ES256', 'ES384'] },
    { family: 'eddsa', label: 'EdDSA', algorithms: ['EdDSA', 'Ed25519'] },
  ];
  const ALGORITHMS = ALGORITHM_FAMILIES.flatMap((f) => f.algorithms);
  const HMAC = ['HS256', 'HS384', 'HS512'];
  const ASYMMETRIC = ALGORITHMS.filter((a) => !HMAC.includes(a));
  const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
  const ED25519 = ['EdDSA', 'Ed25519'];
  // The shortest secret each HMAC algorithm accepts, in bytes (CONTRACT section 1).
  const SECRET_BYTES = { HS256: 32, HS384: 48, HS512: 64 };

  const PROMPT_KINDS = ['text', 'numeric', 'date'];
  const PROMPT_KIND_NAMES = { text: 'Text', numeric: 'Numeric', date: 'Date' };
  const SOURCE_NAMES = {
    static: 'Static key',
    jwks: 'Inline JWKS',
    jwks_uri: 'JWKS URI',
    issuer: 'Issuer discovery',
  };
  const TITLES = {
    duplicate_name: 'A configuration with this name already exists',
    version_conflict: 'Someone else saved this configuration in the meantime',
    precondition_required: 'The server needs the configuration\'s version to save it',
    confirmation_required: 'The deletion was not confirmed',
    unknown_config: 'This configuration does not exist (any more)',
    unauthorized: 'Not signed in',
    forbidden: 'Not allowed',
    config: 'The configuration is not valid',
    network: 'The server could not be reached',
    store: 'The change could not be saved',
  };

  // The form's plain fields: where each lives in the configuration (`path`),
  // its input, how it is read and written, and its default. `advanced` ones
  // sit in the folded "Advanced options" and are counted in its summary when
  // they differ from their default. A new plain field (e.g. bearer,
  // logout_url) is a row in index.html plus one line here.
  //   text: always sent, trimmed · optional: sent when not empty ·
  //   number: sent when not empty · bool: a checkbox · choice: a select ·
  //   list: comma-separated, sent as an array · usertype / roles: a select
  //   or checkboxes from the host's catalogue, else free text · sync: the
  //   `sync_on_login` boxes, sent back in the form they came in.
  const FIELDS = [
    { path: 'enabled', id: 'f-enabled', type: 'bool', fallback: true, name: 'Enabled' },
    { path: 'name', id: 'f-name', type: 'text', fallback: '' },
    { path: 'token_name', id: 'f-token_name', type: 'text', fallback: 'token' },
    { path: 'issuer', id: 'f-issuer', type: 'optional', fallback: '' },
    { path: 'audience', id: 'f-audience', type: 'optional', fallback: '' },
    { path: 'expiration_time', id: 'f-expiration_time', type: 'number', fallback: 86400 },
    { path: 'claims.user_id', id: 'f-claims-user_id', type: 'optional', fallback: '' },
    { path: 'claims.name', id: 'f-claims-name', type: 'optional', fallback: '' },
    { path: 'claims.email', id: 'f-claims-email', type: 'optional', fallback: '' },
    { path: 'claims.roles', id: 'f-claims-roles', type: 'optional', fallback: '' },
    { path: 'user_type', id: 'f-user_type', type: 'usertype', fallback: 'reader' },
    { path: 'initial_roles', id: 'f-initial_roles', type: 'roles', fallback: [] },
    { path: 'role_rules_required', id: 'f-role_rules_required', type: 'bool', fallback: false, advanced: true, name: 'Require a matching rule' },
    { path: 'bearer', id: 'f-bearer', type: 'bool', fallback: false, advanced: true, name: 'Accept as a bearer token on protected routes' },
    { path: 'logout_url', id: 'f-logout_url', type: 'optional', fallback: '', advanced: true },
    { path: 'may_grant_admin', id: 'f-may_grant_admin', type: 'bool', fallback: false, advanced: true, name: 'Tokens may grant the administrator role' },
    { path: 'leeway', id: 'f-leeway', type: 'number', fallback: 60, advanced: true },
    { path: 'max_token_bytes', id: 'f-max_token_bytes', type: 'number', fallback: 16384, advanced: true },
    { path: 'single_use', id: 'f-single_use', type: 'bool', fallback: false, advanced: true, name: 'Single use' },
    { path: 'create_users', id: 'f-create_users', type: 'bool', fallback: true, advanced: true, name: 'Create users on first login' },
    { path: 'sync_on_login', id: 'f-sync_on_login', type: 'sync', fallback: false, advanced: true, name: 'Sync on every login' },
    { path: 'user_scope', id: 'f-user_scope', type: 'choice', fallback: 'own', advanced: true },
    { path: 'user_id_normalize', id: 'f-user_id_normalize', type: 'choice', fallback: 'none', advanced: true },
  ];
  // Members the form edits itself, besides FIELDS; any other member of a
  // loaded configuration (e.g. `id`, or a field a newer server knows) is sent
  // back as it came. `created_by` and `last_modified` are the server's.
  const FORM_MEMBERS = new Set(['key_source', 'algorithms', 'system_prompts', 'role_rules', 'claims', 'created_by', 'last_modified',
    ...FIELDS.map((f) => f.path.split('.')[0])]);
  // `sync_on_login`'s boxes, in the order the API lists the fields; `true`
  // stands for the first three.
  const SYNC_FIELDS = ['name', 'email', 'roles', 'user_type'];
  const SYNC_TRUE = ['name', 'email', 'roles'];
  // A rotation holds at most this many secrets (CONTRACT section 1).
  const MAX_SECRETS = 3;
  // A role rule's members the form edits; any other is sent back as it came.
  const RULE_MEMBERS = ['claim', 'value', 'roles', 'user_type'];

  const $ = (id) => document.getElementById(id);
  const state = {
    configs: [],
    // While editing: the configuration's name and ETag, and the members the
    // form does not show (sent back unchanged).
    editing: null,
    extra: {},
    // The secrets, one row each: `stored` is the entry's position in the
    // stored configuration (its value never shown: `kept` is what the API
    // sent, normally {"redacted":true}), null for one typed here; `format`
    // and `value` as the form shows them. `secretArray`: whether the loaded
    // secret was an array (a rotation).
    secrets: [{ stored: null, kept: undefined, format: 'text', value: '' }],
    secretArray: false,
    // The host's roles and user types (GET /api/admin/catalog; empty: any).
    catalog: null,
    // `sync_on_login` as loaded, sent back as it came when unchanged.
    syncLoaded: undefined,
    // The algorithms checked, kept across re-rendering of the choices.
    algorithms: new Set(),
    testing: null,
    deleting: null,
    disabling: null,
    // The `before` of the next page of recent logins.
    eventsNext: null,
  };

  // ---------------------------------------------------------------- the API

  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && typeof body === 'object' && body.error && typeof body.error === 'object') ? body.error : {};
      super(typeof e.message === 'string' ? e.message : `The server answered ${status}.`);
      this.status = status;
      this.kind = typeof e.kind === 'string' ? e.kind : (status ? `http_${status}` : 'network');
      this.hint = typeof e.hint === 'string' ? e.hint : '';
      this.field = typeof e.field === 'string' ? e.field : null;
      // The problem alone, without "invalid configuration: <field>: ": from
      // the server when it sends it, else taken off the message.
      this.problem = typeof e.problem === 'string' ? e.problem : withoutPrefix(this.message, this.field);
    }
  }

  function withoutPrefix(message, field) {
    let rest = message;
    const prefix = 'invalid configuration: ';
    if (rest.startsWith(prefix)) rest = rest.slice(prefix.length);
    if (field && rest.startsWith(`${field}: `)) rest = rest.slice(field.length + 2);
    return rest;
  }

  function adminToken() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function sessionToken() {
    return sessionStorage.getItem(SESSION_KEY);
  }

  function configUrl(name) {
    return `${API}/${encodeURIComponent(name)}`;
  }

  async function api(method, path, options = {}) {
    const headers = { Accept: 'application/json' };
    const token = adminToken();
    const session = sessionToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (session) headers['X-Auth-Token'] = session;
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (options.etag) headers['If-Match'] = options.etag;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        credentials: 'omit',
        cache: 'no-store',
        redirect: 'error',
      });
    } catch (_) {
      throw new ApiError(0, { error: { kind: 'network', message: 'The server could not be reached. Is it running?' } });
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = null; }
    }
    if (!response.ok) {
      const error = new ApiError(response.status, data);
      if (response.status === 401) signedOut('You are signed out (the credential was not accepted or the session ended). Sign in again.');
      throw error;
    }
    return {
      status: response.status,
      data,
      etag: response.headers.get('ETag'),
      warnings: parseWarnings(response.headers.get('X-Config-Warnings')),
    };
  }

  // The configuration's load-time warnings (missing audience, unroutable…):
  // a JSON array of strings in the `X-Config-Warnings` header.
  function parseWarnings(header) {
    if (!header) return [];
    try {
      const list = JSON.parse(header);
      return Array.isArray(list) ? list.filter((w) => typeof w === 'string') : [];
    } catch (_) {
      return [];
    }
  }

  // ---------------------------------------------------------------- text

  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined) continue;
      if (key === 'text') node.textContent = value;
      else if (key === 'className') node.className = value;
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key in node && typeof value !== 'string') node[key] = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  // The short name the administrator sees for a configuration field (its
  // form label), by field path, e.g. `token_name` → "Token Name". Built from
  // the form once: a field added to index.html is named without more code.
  let fieldNames = null;
  function fieldName(path) {
    if (fieldNames === null) {
      fieldNames = new Map();
      const spec = new Map(FIELDS.map((f) => [f.path, f]));
      for (const input of document.querySelectorAll('#config-form [data-field]')) {
        const path = input.dataset.field;
        if (!path || path.startsWith('system_prompts')) continue;
        let label = (spec.has(path) && spec.get(path).name) || input.dataset.name || '';
        if (!label && input.labels && input.labels.length > 0) label = ownText(input.labels[0]);
        const by = input.getAttribute('aria-labelledby');
        if (!label && by) label = ownText($(by));
        if (!label) continue;
        fieldNames.set(path, label);
        // `key_source.secret` is also just `secret` in messages.
        const alias = /^key_source\.(secret|public_key_pem|jwks|url)$/.exec(path);
        if (alias) fieldNames.set(alias[1], label);
      }
      fieldNames.set('key_source', 'Key source');
      fieldNames.set('system_prompts', 'System prompts');
    }
    return fieldNames.get(path);
  }

  // A label's text without the notes inside it (e.g. "(unchanged)").
  function ownText(node) {
    if (!node) return '';
    return [...node.childNodes]
      .filter((n) => n.nodeType === Node.TEXT_NODE || (n.nodeType === Node.ELEMENT_NODE && n.tagName === 'CODE'))
      .map((n) => n.textContent).join('').replace(/\s+/g, ' ').trim();
  }

  // The ways a secret can be given, as JSON in the server's messages, and as
  // the form offers them.
  const SECRET_FORMS = { base64: '“Base64”', env: '“Environment variable”' };

  // Server text in the administrator's words: field paths become the form's
  // labels (`token_name` → “Token Name”), JSON shapes become the form's
  // choices, and `code` spans become <code> elements. Returns nodes, built
  // with DOM APIs only (the text is never parsed as HTML).
  function richText(value, options = {}) {
    const source = typeof value === 'string' ? value : '';
    let textValue = source.replace(/\{\\?"(base64|env)\\?":\s*…?\s*\}/g, (_, form) => SECRET_FORMS[form]);
    if (options.sentence) textValue = sentence(textValue);
    const nodes = [];
    const parts = textValue.split('`');
    // An odd number of parts: every backtick is paired. Otherwise the last
    // lone backtick is kept as text.
    const paired = parts.length % 2 === 1;
    parts.forEach((part, i) => {
      const isCode = paired && i % 2 === 1;
      if (!isCode) {
        const plain = !paired && i > 0 ? `\`${part}` : part;
        nodes.push(...namedFields(plain));
      } else {
        const name = fieldName(part);
        nodes.push(name ? `“${name}”` : el('code', { text: part }));
      }
    });
    return nodes;
  }

  // Plain text with the field paths in it (`max_token_bytes`,
  // `claims.user_id`) named as the form names them.
  function namedFields(plain) {
    return [plain.replace(/\b[a-z][a-z0-9]*(?:[._][a-z0-9]+)+\b/g, (word) => {
      const name = fieldName(word);
      return name ? `“${name}”` : word;
    })];
  }

  // "the secret is short" → "The secret is short."
  function sentence(value) {
    let s = value.trim();
    if (s === '') return s;
    s = s.charAt(0).toUpperCase() + s.slice(1);
    return /[.!?…]$/.test(s) ? s : `${s}.`;
  }

  function capitalized(value) {
    return value.charAt(0).toUpperCase() + value.slice(1);
  }

  function setRich(node, value, options) {
    node.replaceChildren(...richText(value, options));
    return node;
  }

  function formatTime(value) {
    if (typeof value !== 'string' || value === '') return '—';
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return value;
    return date.toISOString().replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
  }

  const TIME_ZONE = (() => {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time'; } catch (_) { return 'local time'; }
  })();

  // A date and time in the browser's time zone, e.g. "Mar 13, 2026, 3:30:00 PM".
  function localTime(date) {
    return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  }

  function text(value) {
    if (value === null || value === undefined || value === '') return '—';
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  function isRedacted(value) {
    return value !== null && typeof value === 'object' && value.redacted === true;
  }

  // ---------------------------------------------------------------- page chrome

  // The console's pages, in the order of its navigation (shown once there is
  // more than one). `open()` loads and shows the page.
  const PAGES = [
    { id: 'configs', label: 'Configurations', view: 'list-view', open: () => refreshList() },
    { id: 'logins', label: 'Recent logins', view: 'events-view', open: () => openEvents() },
  ];

  function renderNav() {
    const nav = $('nav');
    nav.replaceChildren(...PAGES.map((page) => {
      const link = el('a', { href: `#/${page.id}`, text: page.label, dataset: { page: page.id } });
      link.addEventListener('click', (event) => {
        event.preventDefault();
        hideBanner();
        page.open();
      });
      return link;
    }));
  }

  // Shows one `<section class="view">` and hides the others.
  function show(viewId) {
    for (const view of document.querySelectorAll('main > section.view')) {
      view.hidden = view.id !== viewId;
    }
    const signedIn = viewId !== 'signin-view';
    $('signout').hidden = !signedIn;
    $('nav').hidden = !signedIn || PAGES.length < 2;
    for (const link of $('nav').querySelectorAll('a')) {
      const page = PAGES.find((p) => p.id === link.dataset.page);
      if (page && page.view === viewId) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    window.scrollTo(0, 0);
  }

  // One warning component for the whole console (after a save, in the form,
  // in a token test): an amber box with a title and the warnings as a list.
  function warningList(container, warnings, title = 'Please check') {
    const list = Array.isArray(warnings) ? warnings.filter((w) => typeof w === 'string' && w !== '') : [];
    container.replaceChildren();
    container.hidden = list.length === 0;
    if (list.length === 0) return;
    container.append(
      el('p', { className: 'callout-title' }, [el('span', { className: 'callout-icon', 'aria-hidden': 'true', text: '⚠' }), ` ${title}`]),
      el('ul', {}, list.map((w) => el('li', { 'data-testid': 'warning' }, richText(w, { sentence: true })))),
    );
  }

  let bannerAction = null;

  function showBanner(error, options = {}) {
    const banner = $('banner');
    banner.classList.toggle('info', Boolean(options.info));
    banner.dataset.kind = options.info ? 'info' : (error.kind || '');
    $('banner-title').textContent = options.title || TITLES[error.kind] || 'The server refused the request';
    const message = error.kind === 'config' && error.problem ? error.problem : error.message;
    setRich($('banner-message'), message || '', { sentence: true });
    setRich($('banner-hint'), error.hint || '', { sentence: true });
    const action = $('banner-action');
    bannerAction = options.action ? options.action.run : null;
    action.textContent = options.action ? options.action.label : '';
    action.hidden = !options.action;
    warningList($('notice-warnings'), options.warnings || []);
    banner.hidden = false;
  }

  function notice(message, warnings = [], hint = '') {
    showBanner({ message, hint }, { info: true, title: 'Done', warnings });
  }

  function hideBanner() {
    $('banner').hidden = true;
    warningList($('notice-warnings'), []);
  }

  // A modal dialog: focus moves into it (its `autofocus` control, or the
  // first one) and, when it closes, back to what `returnFocus()` gives then
  // (the control that opened it, or what took its place).
  function openDialog(dialog, returnFocus) {
    dialog.returnFocusTo = returnFocus;
    dialog.showModal();
    const first = dialog.querySelector('[autofocus]') || dialog.querySelector('input, button:not([disabled])');
    if (first) first.focus();
  }

  function visible(node) {
    return Boolean(node && node.isConnected && !node.closest('[hidden]'));
  }

  function dialogClosed(dialog) {
    const target = typeof dialog.returnFocusTo === 'function' ? dialog.returnFocusTo() : null;
    dialog.returnFocusTo = null;
    if (visible(target)) target.focus();
  }

  // ---------------------------------------------------------------- sign in

  function signedOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(SESSION_KEY);
    state.catalog = null;
    hideBanner();
    for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
    $('admin-token').value = '';
    $('sso-token').value = '';
    $('signin-error').textContent = message || '';
    $('sso-error').textContent = '';
    show('signin-view');
    $('sso-token').focus();
  }

  // Sign out: a session also ends on the server.
  async function signOut() {
    const session = sessionToken();
    if (session) {
      try {
        await fetch(LOGOUT, {
          method: 'POST',
          headers: { 'X-Auth-Token': session },
          credentials: 'omit',
          cache: 'no-store',
          redirect: 'error',
        });
      } catch (_) { /* signed out here all the same */ }
    }
    signedOut('');
  }

  // A single sign-on token logs in through the host's JSON login (CONTRACT
  // section 6); the session it starts is this console's credential.
  async function signInWithSso(event) {
    event.preventDefault();
    const jwt = $('sso-token').value.trim();
    if (!jwt) {
      $('sso-error').textContent = 'Paste a token.';
      return;
    }
    let response;
    let data = null;
    try {
      response = await fetch(LOGIN, {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: JSON.stringify({ loginMode: JWT_LOGIN_MODE, password: jwt }),
        credentials: 'omit',
        cache: 'no-store',
        redirect: 'error',
      });
      const body = await response.text();
      if (body) {
        try { data = JSON.parse(body); } catch (_) { data = null; }
      }
    } catch (_) {
      $('sso-error').textContent = 'The server could not be reached. Is it running?';
      return;
    }
    const session = response.ok ? response.headers.get('X-Auth-Token') : null;
    if (!session) {
      const error = new ApiError(response.status, data);
      if (response.status === 404) {
        $('sso-error').textContent = 'This server has no token login at /api/auth/login; use the admin token.';
      } else {
        $('sso-error').replaceChildren(`The login was refused (${error.kind}): `, ...richText(error.message, { sentence: true }));
      }
      return;
    }
    await openWith(SESSION_KEY, session, 'sso-token', 'sso-error', async (error) => {
      if (error.status === 403) {
        await signOut();
        $('sso-error').textContent = 'This account has no administrator role, so it cannot use the console. The session it started has ended.';
        return true;
      }
      return error.status === 401; // api() has signed out and said why
    });
  }

  // Keeps `value` as this tab's one credential (under `key`) and opens the
  // list. `refused(error)` handles a refusal it knows (true); any other
  // failure forgets the credential and shows the error in `errorId`.
  async function openWith(key, value, inputId, errorId, refused) {
    sessionStorage.removeItem(key === TOKEN_KEY ? SESSION_KEY : TOKEN_KEY);
    sessionStorage.setItem(key, value);
    $(errorId).textContent = '';
    try {
      await loadList();
      $(inputId).value = '';
    } catch (error) {
      if (await refused(error)) return;
      sessionStorage.removeItem(key);
      show('signin-view');
      setRich($(errorId), error.message, { sentence: true });
    }
  }

  async function signIn(event) {
    event.preventDefault();
    const token = $('admin-token').value.trim();
    if (!token) {
      $('signin-error').textContent = 'Enter the admin token.';
      return;
    }
    if (/[^\x20-\x7e]/.test(token)) {
      $('signin-error').textContent = 'This is not an admin token: it has characters an HTTP header cannot carry.';
      return;
    }
    await openWith(TOKEN_KEY, token, 'admin-token', 'signin-error', async (error) => {
      if (error.status !== 401) return false;
      signedOut('This admin token was not accepted.');
      return true;
    });
  }

  // ---------------------------------------------------------------- the list

  async function loadList() {
    const { data } = await api('GET', API);
    state.configs = Array.isArray(data) ? data : [];
    renderList();
    show('list-view');
  }

  async function refreshList() {
    try {
      await loadList();
    } catch (error) {
      if (error.status !== 401) {
        show('list-view');
        showBanner(error);
      }
    }
  }

  function renderList() {
    const rows = state.configs.map((config) => {
      const name = String(config.name);
      const enabled = config.enabled !== false;
      // The name is a link: click or Enter opens the configuration for editing.
      const link = el('a', {
        href: `#/configs/${encodeURIComponent(name)}`,
        className: 'config-link',
        text: name,
        'data-testid': 'config-name',
      });
      link.addEventListener('click', (event) => {
        event.preventDefault();
        openEdit(name);
      });
      // The switch says its state in words as well as by colour and position.
      const toggle = el('input', {
        type: 'checkbox',
        role: 'switch',
        className: 'switch',
        checked: enabled,
        'aria-label': `Enabled: ${name}`,
        'data-testid': 'config-enabled',
      });
      toggle.addEventListener('change', () => switchChanged(name, toggle));
      const toggleLabel = el('label', { className: 'switch-label' }, [
        toggle,
        el('span', { className: 'switch-state', 'aria-hidden': 'true', text: enabled ? 'Enabled' : 'Disabled', 'data-testid': 'config-enabled-text' }),
      ]);
      const edit = el('button', { type: 'button', className: 'secondary small', text: 'Edit', 'aria-label': `Edit ${name}`, 'data-testid': 'config-edit' });
      edit.addEventListener('click', () => openEdit(name));
      const test = el('button', { type: 'button', className: 'secondary small', text: 'Test a token', 'aria-label': `Test a token with ${name}`, 'data-testid': 'config-test' });
      test.addEventListener('click', () => openTest(name));
      const del = el('button', { type: 'button', className: 'danger small', text: 'Delete', 'aria-label': `Delete ${name}`, 'data-testid': 'config-delete' });
      del.addEventListener('click', () => openDelete(name, del));
      const source = typeof config.key_source === 'string' ? config.key_source : '';
      return el('tr', { 'data-testid': 'config-row', className: enabled ? '' : 'disabled', dataset: { name } }, [
        el('th', { scope: 'row', className: 'name' }, [link]),
        el('td', {}, [toggleLabel]),
        el('td', { className: 'nowrap', text: formatTime(config.last_modified), title: text(config.last_modified), 'data-testid': 'config-last-modified' }),
        el('td', { text: text(config.created_by), 'data-testid': 'config-creator' }),
        el('td', {}, [el('span', { className: 'tag', text: SOURCE_NAMES[source] || text(source), 'data-testid': 'config-key-source' })]),
        el('td', { className: 'row-actions' }, [edit, test, del]),
      ]);
    });
    $('config-rows').replaceChildren(...rows);
    $('config-empty').hidden = rows.length > 0;
    $('config-table').hidden = rows.length === 0;
  }

  // The row of configuration `name` (names may hold any character, so not
  // through a CSS selector).
  function listRow(name) {
    return [...$('config-rows').querySelectorAll('tr')].find((row) => row.dataset.name === name) || null;
  }

  // ---------------------------------------------------------------- enable / disable

  // Enabling is immediate; disabling logs its users out, so it asks first.
  function switchChanged(name, toggle) {
    if (toggle.checked) {
      setEnabled(name, true, toggle);
      return;
    }
    toggle.checked = true; // not until it is confirmed
    state.disabling = name;
    $('disable-name').textContent = `“${name}”`;
    $('disable-error').textContent = '';
    $('disable-submit').disabled = false;
    openDialog($('disable-dialog'), () => switchOf(name) || $('list-title'));
  }

  function switchOf(name) {
    const row = listRow(name);
    return row ? row.querySelector('input.switch') : null;
  }

  async function confirmDisable(event) {
    event.preventDefault();
    const name = state.disabling;
    if (name === null) return;
    $('disable-submit').disabled = true;
    try {
      await setEnabled(name, false, null);
      $('disable-dialog').close();
    } catch (error) {
      if (error.status === 401) return;
      setRich($('disable-error'), error.message, { sentence: true });
      $('disable-submit').disabled = false;
    }
  }

  // PATCHes `enabled` with the configuration's current ETag, shows the list
  // again and says what changed. Errors: shown in a banner when `toggle` (the
  // list's switch) made the change, else thrown to the dialog.
  async function setEnabled(name, enabled, toggle) {
    if (toggle) toggle.disabled = true;
    try {
      const { etag } = await api('GET', configUrl(name));
      await api('PATCH', configUrl(name), { body: { enabled }, etag });
      await loadList();
      if (enabled) {
        notice(`“${name}” is enabled: its users can log in with it again.`);
      } else {
        notice(`“${name}” is disabled: its users cannot log in with it, and the sessions it started have ended.`);
      }
      const again = switchOf(name);
      if (toggle && again) again.focus();
    } catch (error) {
      if (!toggle) throw error;
      toggle.checked = !enabled;
      toggle.disabled = false;
      if (error.status !== 401) showBanner(error);
    }
  }

  // ---------------------------------------------------------------- the form

  function get(object, path) {
    return path.split('.').reduce((o, key) => (o && typeof o === 'object' ? o[key] : undefined), object);
  }

  function put(object, path, value) {
    const keys = path.split('.');
    const last = keys.pop();
    let o = object;
    for (const key of keys) {
      if (!o[key] || typeof o[key] !== 'object') o[key] = {};
      o = o[key];
    }
    o[last] = value;
  }

  function numberOrRaw(value) {
    const trimmed = value.trim();
    if (trimmed === '') return undefined;
    const n = Number(trimmed);
    return Number.isFinite(n) ? n : trimmed;
  }

  function fillField(field, config) {
    const input = $(field.id);
    const value = get(config, field.path);
    switch (field.type) {
      case 'bool':
        input.checked = field.fallback ? value !== false : value === true;
        break;
      case 'number':
        input.value = value === undefined || value === null ? String(field.fallback) : String(value);
        break;
      case 'list':
        input.value = Array.isArray(value) ? value.join(', ') : field.fallback.join(', ');
        break;
      case 'choice':
        input.value = [...input.options].some((o) => o.value === value) ? value : field.fallback;
        break;
      case 'usertype':
        renderUserType(typeof value === 'string' ? value : field.fallback);
        break;
      case 'roles':
        renderRoles(Array.isArray(value) ? value.filter((r) => typeof r === 'string') : field.fallback);
        break;
      case 'sync': {
        state.syncLoaded = value;
        const on = value === true ? SYNC_TRUE : (Array.isArray(value) ? value : []);
        for (const name of SYNC_FIELDS) $(`f-sync-${name}`).checked = on.includes(name);
        break;
      }
      default:
        input.value = typeof value === 'string' ? value : field.fallback;
    }
  }

  // The field's value for the configuration, or undefined to leave it out.
  function readField(field) {
    const input = $(field.id);
    switch (field.type) {
      case 'bool': return input.checked;
      case 'number': return numberOrRaw(input.value);
      case 'list': return input.value.split(',').map((r) => r.trim()).filter((r) => r !== '');
      case 'choice': return input.value;
      case 'optional': return input.value.trim() === '' ? undefined : input.value.trim();
      case 'usertype': return readUserType();
      case 'roles': return readRoles();
      case 'sync': return readSync();
      default: return input.value.trim();
    }
  }

  // ---------------------------------------------------------------- catalogue

  // The host's roles and user types, asked once per sign-in; a server
  // without the route (or a failure) leaves the form's free text.
  async function loadCatalog() {
    if (state.catalog !== null) return state.catalog;
    try {
      const { data } = await api('GET', CATALOG);
      const names = (list) => (Array.isArray(list) ? list.filter((n) => typeof n === 'string' && n !== '') : []);
      state.catalog = { roles: names(data && data.roles), user_types: names(data && data.user_types) };
    } catch (error) {
      if (error.status === 401) throw error;
      return { roles: [], user_types: [] };
    }
    return state.catalog;
  }

  function catalog() {
    return state.catalog || { roles: [], user_types: [] };
  }

  // A name the catalogue does not hold (loaded from a file, or from before
  // the catalogue) stays offered, marked, so loading never drops it; the
  // server refuses it when the form is saved.
  const NOT_IN_CATALOG = ' (not one of this server\'s)';

  // The user type: a select of the host's user types, or free text.
  function renderUserType(value) {
    const types = catalog().user_types;
    const choose = types.length > 0;
    const select = $('f-user_type-select');
    $('f-user_type').hidden = choose;
    select.hidden = !choose;
    $('f-user_type-label').htmlFor = choose ? 'f-user_type-select' : 'f-user_type';
    $('f-user_type').value = value;
    if (choose) select.replaceChildren(...typeOptions(types, value));
  }

  // The options of a user type select: `none` (a rule's "no user type")
  // first when given, then the host's, then `value` when it is not one.
  function typeOptions(types, value, none) {
    const chosen = value || (none ? '' : types[0]);
    const options = none ? [el('option', { value: '', text: none })] : [];
    options.push(...types.map((t) => el('option', { value: t, text: t })));
    if (value && !types.includes(value)) options.push(el('option', { value, text: `${value}${NOT_IN_CATALOG}` }));
    for (const option of options) option.selected = option.value === chosen;
    return options;
  }

  function readUserType() {
    const input = $('f-user_type-select').hidden ? $('f-user_type') : $('f-user_type-select');
    return input.value.trim() === '' ? undefined : input.value.trim();
  }

  // Checkboxes for the host's roles (and any checked role it does not have).
  function roleBoxes(selected, idPrefix, labelOf) {
    const roles = catalog().roles;
    const shown = [...roles, ...selected.filter((r) => !roles.includes(r))];
    return shown.map((role, i) => {
      const id = `${idPrefix}-${i}`;
      const box = el('input', { type: 'checkbox', id, value: role, checked: selected.includes(role), 'data-testid': 'role-choice' });
      return el('label', { for: id, className: roles.includes(role) ? '' : 'misfit' }, [
        box, ` ${role}`, roles.includes(role) ? '' : el('span', { className: 'misfit-note', text: NOT_IN_CATALOG }),
        labelOf ? el('span', { className: 'visually-hidden', text: ` (${labelOf})` }) : '',
      ]);
    });
  }

  function checkedRoles(container) {
    return [...container.querySelectorAll('input[type=checkbox]')].filter((b) => b.checked).map((b) => b.value);
  }

  // The initialization roles: checkboxes of the host's roles, or a
  // comma-separated list.
  function renderRoles(selected) {
    const choose = catalog().roles.length > 0;
    const boxes = $('f-initial_roles-choices');
    $('f-initial_roles').hidden = choose;
    boxes.hidden = !choose;
    $('f-initial_roles-label').htmlFor = choose ? '' : 'f-initial_roles';
    $('f-initial_roles').value = selected.join(', ');
    boxes.replaceChildren(...(choose ? roleBoxes(selected, 'f-initial_roles-role') : []));
  }

  function readRoles() {
    if (!$('f-initial_roles-choices').hidden) return checkedRoles($('f-initial_roles-choices'));
    return $('f-initial_roles').value.split(',').map((r) => r.trim()).filter((r) => r !== '');
  }

  // `sync_on_login`: the boxes checked; as loaded when they say the same
  // (so `true` stays `true` and a list keeps its order), else the list.
  function readSync() {
    const on = SYNC_FIELDS.filter((name) => $(`f-sync-${name}`).checked);
    const loaded = state.syncLoaded;
    const loadedOn = loaded === true ? SYNC_TRUE : (Array.isArray(loaded) ? loaded : []);
    const same = on.length === loadedOn.length && on.every((n) => loadedOn.includes(n));
    if (same && loaded !== undefined) return loaded;
    return on.length === 0 ? false : on;
  }

  function differsFromDefault(field) {
    const value = readField(field);
    if (field.type === 'list' || field.type === 'roles') return value.length > 0;
    if (field.type === 'sync') return value === true || (Array.isArray(value) && value.length > 0);
    if (field.type === 'number') return value !== undefined && value !== field.fallback;
    return value !== undefined && value !== field.fallback;
  }

  // "Advanced options": how many differ from their defaults (role rules
  // count as one).
  function updateAdvancedNote() {
    const changed = FIELDS.filter((f) => f.advanced && differsFromDefault(f)).length + (ruleRows().length > 0 ? 1 : 0);
    $('advanced-note').textContent = changed === 0
      ? 'role rules, bearer use, sign-out, administrator role, leeway, token size, login policies: defaults'
      : `${changed} changed from the defaults`;
    return changed;
  }

  function currentSource() {
    return $('f-key_type').value;
  }

  // ---------------------------------------------------------------- secrets

  // One row per secret (state.secrets). The first row is the form's own
  // "Secret Key" field; the second and third (a rotation) are built in
  // #f-secret-more. A stored secret's value is never in the page: its row
  // says "stored secret" and sends back what the API sent (the redaction
  // marker) unless a new value is typed.
  function loadSecrets(secret) {
    state.secretArray = Array.isArray(secret);
    const entries = secret === undefined || secret === null ? [] : (Array.isArray(secret) ? secret : [secret]);
    state.secrets = entries.slice(0, MAX_SECRETS).map((entry, i) => {
      if (entry && typeof entry === 'object' && typeof entry.env === 'string' && !isRedacted(entry)) {
        // An environment variable's name is not a secret: shown as is.
        return { stored: null, kept: undefined, format: 'env', value: entry.env };
      }
      // Redacted (or, from an older server, the secret itself): kept as the
      // API sent it, never put into the page.
      const format = entry && typeof entry === 'object' && 'base64' in entry ? 'base64' : 'text';
      return { stored: i, kept: entry, format, value: '' };
    });
    if (state.secrets.length === 0) state.secrets = [newSecret()];
  }

  function newSecret() {
    return { stored: null, kept: undefined, format: 'text', value: '' };
  }

  // A row's secret as the API takes it.
  function secretValue(row) {
    if (row.value === '' && row.stored !== null) return row.kept;
    if (row.format === 'base64') return { base64: row.value.trim() };
    if (row.format === 'env') return { env: row.value.trim() };
    return row.value;
  }

  // The `secret` member: one secret as loaded (or new), or the array of a
  // rotation. A stored entry goes back at its stored position (the API keeps
  // the stored secret there); `null` holds the place of one removed.
  function collectSecret() {
    const rows = state.secrets;
    if (rows.length === 1 && !state.secretArray) return secretValue(rows[0]);
    const out = [];
    for (const row of rows) {
      if (row.stored !== null && row.value === '') while (out.length < row.stored) out.push(null);
      out.push(secretValue(row));
    }
    return out;
  }

  // The secrets' rows after the first, and the first row's remove button.
  function renderSecrets() {
    const rows = state.secrets;
    const first = rows[0];
    $('f-secret_format').value = first.format;
    $('f-secret').value = first.value;
    $('f-secret').placeholder = first.stored !== null ? '(unchanged)' : '';
    const removeFirst = $('f-secret-remove');
    removeFirst.hidden = rows.length < 2;
    removeFirst.setAttribute('aria-label', 'Remove secret 1');
    $('f-secret-more').replaceChildren(...rows.slice(1).map((row, k) => secretRowElement(row, k + 1)));
    $('f-secret-add').hidden = rows.length >= MAX_SECRETS;
  }

  function secretRowElement(row, i) {
    const n = i + 1;
    const stored = row.stored !== null;
    const formatId = `f-secret-${i}-format`;
    const inputId = `f-secret-${i}`;
    const statusId = `f-secret-${i}-status`;
    const format = el('select', { id: formatId, 'data-testid': 'secret-format' }, [
      el('option', { value: 'text', text: 'Text (UTF-8)' }),
      el('option', { value: 'base64', text: 'Base64 (binary secret)' }),
      el('option', { value: 'env', text: 'Environment variable' }),
    ]);
    format.value = row.format;
    const input = el('input', {
      type: row.format === 'env' ? 'text' : 'password',
      id: inputId,
      autocomplete: 'new-password',
      spellcheck: 'false',
      placeholder: stored ? '(unchanged)' : '',
      'aria-describedby': statusId,
      'data-testid': 'secret-input',
      dataset: { field: `key_source.secret[${i}]` },
    });
    input.value = row.value;
    const remove = el('button', { type: 'button', className: 'secondary small', text: 'Remove', 'aria-label': `Remove secret ${n}`, 'data-testid': 'secret-remove' });
    const status = el('div', { className: 'help length', id: statusId, 'aria-live': 'polite', 'data-testid': 'secret-status' });
    const title = el('label', { for: inputId }, [
      `Secret ${n}`,
      stored ? el('span', { className: 'unchanged', text: '(stored secret)', 'data-testid': 'secret-stored' }) : '',
    ]);
    format.addEventListener('change', () => {
      row.format = format.value;
      input.type = row.format === 'env' ? 'text' : 'password';
      updateSecretStatus();
    });
    input.addEventListener('input', () => {
      row.value = input.value;
      updateSecretStatus();
    });
    remove.addEventListener('click', () => removeSecret(i));
    return el('div', { className: 'row secret-row', 'data-testid': 'secret-row', dataset: { index: String(i) } }, [
      el('div', { className: 'secret-head' }, [
        title,
        el('label', { for: formatId, className: 'visually-hidden', text: `Secret ${n} given as` }),
        format,
      ]),
      el('div', { className: 'secret-line' }, [input, remove]),
      status,
      el('div', { className: 'field-error', dataset: { errorFor: `key_source.secret[${i}]` }, 'data-testid': `error-key_source.secret[${i}]` }),
    ]);
  }

  function addSecret() {
    if (state.secrets.length >= MAX_SECRETS) return;
    state.secrets.push(newSecret());
    renderSecrets();
    updateSourceFields();
    const inputs = $('f-secret-more').querySelectorAll('[data-testid="secret-input"]');
    if (inputs.length > 0) inputs[inputs.length - 1].focus();
  }

  function removeSecret(i) {
    state.secrets.splice(i, 1);
    if (state.secrets.length === 0) state.secrets = [newSecret()];
    renderSecrets();
    updateSourceFields();
    const removes = [...document.querySelectorAll('[data-testid="secret-remove"]')].filter(visible);
    (removes[Math.min(i, removes.length - 1)] || $('f-secret')).focus();
  }

  // What a secret's row says about its length: { message, kind }.
  function secretMessage(row) {
    const chosen = HMAC.filter((a) => state.algorithms.has(a));
    const strictest = (chosen.length > 0 ? chosen : ['HS256']).reduce((a, b) => (SECRET_BYTES[a] >= SECRET_BYTES[b] ? a : b));
    const need = SECRET_BYTES[strictest];
    const needText = `${strictest} needs at least ${need} bytes`;
    const { format, value } = row;
    if (format === 'env') {
      return { message: `The secret is read from this environment variable on the server, so its length cannot be checked here: ${needText}, and the server checks it when you save.`, kind: '' };
    }
    if (value === '' && row.stored !== null) {
      return { message: `The stored secret is kept (the server checks that ${needText}). Type a new secret to replace it.`, kind: '' };
    }
    if (value === '') {
      return { message: `${chosen.length > 1 ? `For ${chosen.join(', ')}: ` : ''}${sentence(needText).slice(0, -1)}${format === 'base64' ? ' once decoded' : ''}.`, kind: '' };
    }
    const bytes = secretBytes(value, format);
    if (bytes === null) {
      return { message: 'This is not valid base64 (standard or URL-safe, without spaces or line breaks).', kind: 'short' };
    }
    if (bytes < need) {
      return { message: `${bytes} of ${need} bytes${format === 'base64' ? ' (decoded)' : ''}: too short, ${needText}.`, kind: 'short' };
    }
    return { message: `${bytes} bytes${format === 'base64' ? ' (decoded)' : ''}: long enough for ${(chosen.length > 0 ? chosen : ['HS256']).join(', ')}.`, kind: 'ok' };
  }

  // The required length for the HMAC algorithms chosen, and the length typed
  // (counted in bytes; base64 decoded first), for every secret. A secret in
  // an environment variable is on the server only: the browser cannot count it.
  function updateSecretStatus() {
    const statuses = [$('f-secret-status'), ...$('f-secret-more').querySelectorAll('[data-testid="secret-status"]')];
    state.secrets.forEach((row, i) => {
      if (!statuses[i]) return;
      const { message, kind } = secretMessage(row);
      statuses[i].textContent = message;
      statuses[i].dataset.state = kind;
    });
  }

  // The secret's length in bytes: UTF-8 text, or base64 (standard or
  // URL-safe, padding optional) decoded by the browser; null when not base64.
  function secretBytes(value, format) {
    if (format !== 'base64') return new TextEncoder().encode(value).length;
    const b64 = value.trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) && !/^[A-Za-z0-9_-]*={0,2}$/.test(b64)) return null;
    const bare = b64.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
    if (bare.length % 4 === 1) return null;
    try {
      return atob(bare + '='.repeat((4 - (bare.length % 4)) % 4)).length;
    } catch (_) {
      return null;
    }
  }

  function updateSourceFields({ userChange = false } = {}) {
    const source = currentSource();
    for (const row of document.querySelectorAll('[data-source]')) {
      row.hidden = row.dataset.source !== source;
    }
    const first = state.secrets[0];
    const format = first.format;
    const secret = $('f-secret');
    secret.type = format === 'env' ? 'text' : 'password';
    const rotation = state.secrets.length > 1;
    $('f-secret-label').replaceChildren(format === 'env' ? 'Environment variable' : 'Secret Key');
    if (rotation) $('f-secret-label').append(el('span', { className: 'secret-number', text: ' (secret 1)' }));
    if (first.stored !== null && secret.value === '') {
      $('f-secret-label').append(el('span', { className: 'unchanged', text: rotation ? '(stored secret)' : '(unchanged)', 'data-testid': 'secret-unchanged' }));
    }
    renderAlgorithms({ userChange });
    updateSecretStatus();
  }

  // ---------------------------------------------------------------- algorithms

  // What the key source allows: { allowed, note, defaultAlg }.
  function keyChoices() {
    const source = currentSource();
    if (source === 'secret') {
      return { allowed: HMAC, note: 'A shared secret verifies HS256, HS384 and HS512 only.', defaultAlg: 'HS256' };
    }
    if (source === 'public_key_pem') {
      const key = readPem($('f-public_key_pem').value);
      const fit = keyFit(key);
      $('f-pem-status').replaceChildren(...richText(fit.describe));
      $('f-pem-status').dataset.state = fit.state;
      return { allowed: fit.allowed, note: fit.note, defaultAlg: fit.allowed[0] };
    }
    if (source === 'jwks') {
      const fit = jwksFit($('f-jwks').value);
      $('f-jwks-status').replaceChildren(...richText(fit.describe));
      return { allowed: fit.allowed, note: fit.note, defaultAlg: fit.allowed.includes('RS256') ? 'RS256' : fit.allowed[0] };
    }
    const where = source === 'issuer' ? 'the issuer\'s keys' : 'a JWK Set URI';
    return {
      allowed: ASYMMETRIC,
      note: `Keys from ${where} are public keys: choose the algorithms the identity provider signs with.`,
      defaultAlg: 'RS256',
    };
  }

  // The algorithm choices, one line per key family, showing only those the
  // key source allows (and any checked one that does not fit, marked, so that
  // loading a configuration never drops a choice silently). When the
  // administrator changes the key, checked choices that no longer fit are
  // cleared, and with none left the key's usual algorithm is checked.
  function renderAlgorithms({ userChange = false } = {}) {
    const { allowed, note, defaultAlg } = keyChoices();
    const fits = new Set(allowed);
    if (userChange) {
      for (const alg of [...state.algorithms]) if (!fits.has(alg)) state.algorithms.delete(alg);
      if (state.algorithms.size === 0 && defaultAlg) state.algorithms.add(defaultAlg);
    }
    const lines = [];
    for (const family of ALGORITHM_FAMILIES) {
      const shown = family.algorithms.filter((a) => fits.has(a) || state.algorithms.has(a));
      if (shown.length === 0) continue;
      const labelId = `f-alg-family-${family.family}`;
      lines.push(el('div', { className: 'alg-family', role: 'group', 'aria-labelledby': labelId }, [
        el('span', { className: 'alg-family-name', id: labelId, text: family.label }),
        ...shown.map((alg) => {
          const box = el('input', { type: 'checkbox', value: alg, id: `f-alg-${alg}`, checked: state.algorithms.has(alg), 'data-testid': `f-alg-${alg}` });
          box.addEventListener('change', () => {
            if (box.checked) state.algorithms.add(alg);
            else state.algorithms.delete(alg);
            renderAlgorithms();
            updateSecretStatus();
          });
          const misfit = !fits.has(alg);
          return el('label', { className: misfit ? 'alg misfit' : 'alg', for: `f-alg-${alg}` }, [
            box, alg, misfit ? el('span', { className: 'misfit-note', text: ' (does not fit this key)' }) : '',
          ]);
        }),
      ]));
    }
    const focused = document.activeElement && document.activeElement.id;
    $('f-algorithms').replaceChildren(...lines);
    if (lines.length === 0) $('f-algorithms').append(el('p', { className: 'empty small', text: 'No algorithm fits yet.' }));
    if (focused && focused.startsWith('f-alg-') && $(focused)) $(focused).focus();
    setRich($('f-algorithms-help'), note);
  }

  // ---------------------------------------------------------------- keys (advisory)

  // Which algorithms a pasted PEM key allows. The browser reads only the
  // key's type from the DER (RSA and its size, the EC curve, Ed25519): enough
  // to offer the right choices. The server parses and checks the key when the
  // configuration is saved; what is read here decides nothing.
  //
  // Object identifiers, as DER content bytes in hex:
  const KEY_TYPES = {
    '2a864886f70d010101': 'rsa', //     rsaEncryption 1.2.840.113549.1.1.1 (RFC 8017, appendix C)
    '2a864886f70d01010a': 'rsa-pss', // id-RSASSA-PSS 1.2.840.113549.1.1.10 (RFC 8017, appendix C)
    '2a8648ce3d0201': 'ec', //          id-ecPublicKey 1.2.840.10045.2.1 (RFC 5480, section 2.1.1)
    '2b6570': 'ed25519', //             id-Ed25519 1.3.101.112 (RFC 8410, section 3)
    '2b6571': 'ed448', //               id-Ed448 1.3.101.113 (RFC 8410, section 3)
  };
  const CURVES = {
    '2a8648ce3d030107': 'P-256', //     secp256r1 1.2.840.10045.3.1.7 (RFC 5480, section 2.1.1.1)
    '2b81040022': 'P-384', //           secp384r1 1.3.132.0.34
    '2b81040023': 'P-521', //           secp521r1 1.3.132.0.35
  };

  // One DER element (tag, length, content) at `at`: { tag, start, end } of its content.
  function derAt(bytes, at) {
    if (at + 2 > bytes.length) throw new Error('truncated');
    const tag = bytes[at];
    let length = bytes[at + 1];
    let start = at + 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 3 || start + count > bytes.length) throw new Error('bad length');
      length = 0;
      for (let i = 0; i < count; i += 1) length = (length * 256) + bytes[start + i];
      start += count;
    }
    if (start + length > bytes.length) throw new Error('truncated');
    return { tag, start, end: start + length };
  }

  function derChildren(bytes, node) {
    const out = [];
    for (let at = node.start; at < node.end;) {
      const child = derAt(bytes, at);
      out.push(child);
      at = child.end;
    }
    return out;
  }

  function derHex(bytes, node) {
    return [...bytes.subarray(node.start, node.end)].map((b) => b.toString(16).padStart(2, '0')).join('');
  }

  // The size in bits of the first INTEGER of an RSAPublicKey (its modulus).
  function rsaBits(bytes, sequence) {
    const [modulus] = derChildren(bytes, sequence);
    if (!modulus || modulus.tag !== 0x02) throw new Error('no modulus');
    let i = modulus.start;
    while (i < modulus.end && bytes[i] === 0) i += 1;
    if (i === modulus.end) return 0;
    return ((modulus.end - i - 1) * 8) + (32 - Math.clz32(bytes[i]));
  }

  // SubjectPublicKeyInfo (RFC 5280, section 4.1): the algorithm's OID and parameters.
  function spkiType(bytes, node) {
    const [algorithm, publicKey] = derChildren(bytes, node);
    if (!algorithm || algorithm.tag !== 0x30 || !publicKey || publicKey.tag !== 0x03) throw new Error('not SPKI');
    const [oid, parameters] = derChildren(bytes, algorithm);
    const type = KEY_TYPES[derHex(bytes, oid)] || 'unknown';
    if (type === 'ec') {
      const curve = parameters && parameters.tag === 0x06 ? CURVES[derHex(bytes, parameters)] : undefined;
      return { type, curve: curve || 'another curve' };
    }
    if (type === 'rsa' || type === 'rsa-pss') {
      // The BIT STRING's first byte counts unused bits; the RSAPublicKey follows.
      return { type, bits: rsaBits(bytes, derAt(bytes, publicKey.start + 1)) };
    }
    return { type };
  }

  function readPem(value) {
    const match = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(value);
    if (!match) return { type: value.trim() === '' ? 'empty' : 'not-pem' };
    const label = match[1];
    if (label.includes('PRIVATE KEY')) return { type: 'private' };
    if (label === 'EC PUBLIC KEY') return { type: 'ec-public-key' };
    try {
      const bytes = Uint8Array.from(atob(match[2].replace(/\s+/g, '')), (c) => c.charCodeAt(0));
      const root = derAt(bytes, 0);
      if (label === 'PUBLIC KEY') return spkiType(bytes, root);
      if (label === 'RSA PUBLIC KEY') return { type: 'rsa', bits: rsaBits(bytes, root) };
      if (label === 'CERTIFICATE') {
        // TBSCertificate: [0] version (optional), serial, signature,
        // issuer, validity, subject, subjectPublicKeyInfo (RFC 5280, 4.1).
        const [tbs] = derChildren(bytes, root);
        const fields = derChildren(bytes, tbs);
        const skip = fields[0] && fields[0].tag === 0xa0 ? 1 : 0;
        return spkiType(bytes, fields[skip + 5]);
      }
      return { type: 'other-label', label };
    } catch (_) {
      return { type: 'unreadable' };
    }
  }

  // { allowed, describe, note, state } for a key read by readPem.
  function keyFit(key) {
    const unknown = {
      allowed: ASYMMETRIC,
      note: 'The key\'s type could not be read here: choose its algorithm; the server checks the choice when you save.',
      state: '',
    };
    switch (key.type) {
      case 'empty':
        return { allowed: [], describe: '`BEGIN PUBLIC KEY`, `BEGIN RSA PUBLIC KEY` or `BEGIN CERTIFICATE`.', note: 'Paste the public key: the algorithms it allows are offered then.', state: '' };
      case 'rsa':
      case 'rsa-pss': {
        const allowed = key.type === 'rsa' ? RSA : RSA.filter((a) => a.startsWith('PS'));
        if (key.bits < 2048) {
          return { allowed: [], describe: `An RSA public key of ${key.bits} bits: too short, at least 2048 bits are needed.`, note: 'No algorithm fits a key this short.', state: 'bad' };
        }
        return { allowed, describe: `An RSA public key of ${key.bits} bits.`, note: `An RSA key verifies ${allowed.join(', ')}.`, state: 'ok' };
      }
      case 'ec':
        if (key.curve === 'P-256' || key.curve === 'P-384') {
          const alg = key.curve === 'P-256' ? 'ES256' : 'ES384';
          return { allowed: [alg], describe: `An EC public key on ${key.curve}.`, note: `A key on ${key.curve} verifies ${alg} only.`, state: 'ok' };
        }
        return { allowed: [], describe: `An EC public key on ${key.curve}: not supported (P-256 and P-384 are).`, note: 'No algorithm fits this key.', state: 'bad' };
      case 'ed25519':
        return { allowed: ED25519, describe: 'An Ed25519 public key.', note: 'An Ed25519 key verifies EdDSA and Ed25519 (two names of one algorithm: pick the one the identity provider puts in its tokens).', state: 'ok' };
      case 'ed448':
        return { allowed: [], describe: 'An Ed448 public key: not supported (Ed25519 is).', note: 'No algorithm fits this key.', state: 'bad' };
      case 'private':
        return { ...unknown, allowed: [], describe: 'This is a private key: paste the public key; `openssl pkey -in key.pem -pubout` prints it.', note: 'Paste the public key: the algorithms it allows are offered then.', state: 'bad' };
      case 'ec-public-key':
        return { ...unknown, allowed: [], describe: '`BEGIN EC PUBLIC KEY` is not read: convert it to `BEGIN PUBLIC KEY` with `openssl ec -pubin -in key.pem -pubout`.', note: 'Paste the key as `BEGIN PUBLIC KEY`: the algorithms it allows are offered then.', state: 'bad' };
      case 'not-pem':
        return { ...unknown, allowed: [], describe: 'This is not PEM: paste the block from `-----BEGIN PUBLIC KEY-----` to its `END` line.', note: 'Paste the public key: the algorithms it allows are offered then.', state: 'bad' };
      default:
        return { ...unknown, describe: 'The key\'s type could not be read here; the server checks it when you save.' };
    }
  }

  // What an inline JWK Set allows: the union over its keys (by `kty`/`crv`,
  // or the key's own `alg` when it names one).
  function jwksFit(value) {
    let keys;
    try {
      const set = JSON.parse(value);
      keys = set && Array.isArray(set.keys) ? set.keys : null;
    } catch (_) {
      keys = null;
    }
    if (value.trim() === '') return { allowed: [], describe: 'Paste a JWK Set: `{"keys":[…]}`.', note: 'Paste the JWK Set: the algorithms its keys allow are offered then.' };
    if (keys === null) return { allowed: ALGORITHMS, describe: 'This is not a JWK Set yet (JSON with a `keys` array).', note: 'The keys could not be read here; the server checks the choice when you save.' };
    const allowed = new Set();
    const kinds = [];
    for (const key of keys) {
      if (!key || typeof key !== 'object') continue;
      let fits = [];
      if (key.kty === 'RSA') fits = RSA;
      else if (key.kty === 'EC' && key.crv === 'P-256') fits = ['ES256'];
      else if (key.kty === 'EC' && key.crv === 'P-384') fits = ['ES384'];
      else if (key.kty === 'OKP' && key.crv === 'Ed25519') fits = ED25519;
      else if (key.kty === 'oct') fits = HMAC;
      if (typeof key.alg === 'string') fits = fits.filter((a) => a === key.alg);
      fits.forEach((a) => allowed.add(a));
      kinds.push(typeof key.kty === 'string' ? `${key.kty}${typeof key.crv === 'string' ? ` ${key.crv}` : ''}` : '?');
    }
    const list = ALGORITHMS.filter((a) => allowed.has(a));
    return {
      allowed: list,
      describe: `${keys.length} key${keys.length === 1 ? '' : 's'}${kinds.length > 0 ? `: ${kinds.join(', ')}` : ''}.`,
      note: list.length > 0 ? `These keys verify ${list.join(', ')}.` : 'No key in this set fits a supported algorithm.',
    };
  }

  // ---------------------------------------------------------------- system prompts

  // One system prompt: a row of kind, slot and claim, followed by a row for
  // its errors (slot out of range, used twice, a claim name that is wrong).
  function promptRow(prompt = {}) {
    const kind = el('select', { 'data-testid': 'prompt-kind', 'aria-label': 'Kind' },
      PROMPT_KINDS.map((k) => el('option', { value: k, text: PROMPT_KIND_NAMES[k] })));
    kind.value = PROMPT_KINDS.includes(prompt.kind) ? prompt.kind : 'text';
    const slot = el('input', { type: 'number', min: '1', max: '15', step: '1', 'data-testid': 'prompt-slot', 'aria-label': 'Slot' });
    slot.value = prompt.slot === undefined || prompt.slot === null ? '' : String(prompt.slot);
    const claim = el('input', { type: 'text', spellcheck: 'false', 'data-testid': 'prompt-claim', 'aria-label': 'Claim' });
    claim.value = typeof prompt.claim === 'string' ? prompt.claim : '';
    const remove = el('button', { type: 'button', className: 'secondary small', text: 'Remove', 'data-testid': 'prompt-remove' });
    // The cells have no error slots of their own: an error about a cell is
    // shown across the row below it, the cell marked.
    const row = el('tr', { 'data-testid': 'prompt-row', dataset: { part: '' } }, [
      el('td', {}, [kind]),
      el('td', { className: 'num' }, [slot]),
      el('td', {}, [claim]),
      el('td', { className: 'row-actions' }, [remove]),
    ]);
    const errorRow = el('tr', { className: 'prompt-error-row' }, [
      el('td', { colSpan: 4 }, [el('div', { className: 'field-error', dataset: { part: '' }, 'data-testid': 'prompt-error' })]),
    ]);
    kind.dataset.part = 'kind';
    slot.dataset.part = 'slot';
    claim.dataset.part = 'claim';
    remove.addEventListener('click', () => {
      row.remove();
      errorRow.remove();
      renumberPrompts();
      $('prompt-add').focus();
    });
    return [row, errorRow];
  }

  function promptRows() {
    return [...$('prompt-rows').querySelectorAll('tr[data-testid="prompt-row"]')];
  }

  // Give every prompt row's inputs and error slots the API's field paths
  // (`system_prompts[1].slot`, `system_prompts[1]`), so a 400 lands beside
  // the right cell or row, and accessible names that say which prompt.
  function renumberPrompts() {
    const rows = promptRows();
    rows.forEach((row, i) => {
      row.dataset.index = String(i);
      const nodes = [row, ...row.querySelectorAll('[data-part]'), ...row.nextElementSibling.querySelectorAll('[data-part]')];
      for (const node of nodes) {
        const path = node.dataset.part ? `system_prompts[${i}].${node.dataset.part}` : `system_prompts[${i}]`;
        if (node.classList.contains('field-error')) node.dataset.errorFor = path;
        else node.dataset.field = path;
      }
      for (const [part, name] of [['kind', 'Kind'], ['slot', 'Slot'], ['claim', 'Claim']]) {
        row.querySelector(`[data-testid="prompt-${part}"]`).setAttribute('aria-label', `${name} of prompt ${i + 1}`);
      }
      row.querySelector('[data-testid="prompt-remove"]').setAttribute('aria-label', `Remove prompt ${i + 1}`);
    });
    $('prompt-empty').hidden = rows.length > 0;
    $('prompt-table').hidden = rows.length === 0;
  }

  function addPrompt(prompt) {
    $('prompt-rows').append(...promptRow(prompt));
    renumberPrompts();
  }

  // ---------------------------------------------------------------- role rules

  // One role rule: a row of claim, value, roles and user type, with buttons
  // to move it up or down and to remove it, followed by a row for its errors
  // (as system prompts have). With the host's catalogue, the roles are
  // checkboxes and the user type a select; else free text. Members of the
  // rule the form does not show are kept on the row and sent back.
  function ruleRow(rule = {}) {
    const r = rule && typeof rule === 'object' ? rule : {};
    const roles = Array.isArray(r.roles) ? r.roles.filter((x) => typeof x === 'string') : [];
    const userType = typeof r.user_type === 'string' ? r.user_type : '';
    const claim = el('input', { type: 'text', spellcheck: 'false', placeholder: 'groups', 'data-testid': 'rule-claim', dataset: { part: 'claim' } });
    claim.value = typeof r.claim === 'string' ? r.claim : '';
    const value = el('input', { type: 'text', spellcheck: 'false', 'data-testid': 'rule-value', dataset: { part: 'value' } });
    value.value = typeof r.value === 'string' ? r.value : '';
    let rolesCell;
    if (catalog().roles.length > 0) {
      rolesCell = el('div', { className: 'choices compact', role: 'group', 'data-testid': 'rule-roles', dataset: { part: 'roles' } });
    } else {
      rolesCell = el('input', { type: 'text', spellcheck: 'false', placeholder: 'Analyst, Viewer', 'data-testid': 'rule-roles', dataset: { part: 'roles' } });
      rolesCell.value = roles.join(', ');
    }
    rolesCell.dataset.roles = JSON.stringify(roles);
    let typeCell;
    const types = catalog().user_types;
    if (types.length > 0) {
      typeCell = el('select', { 'data-testid': 'rule-user_type', dataset: { part: 'user_type' } }, typeOptions(types, userType, '(none)'));
    } else {
      typeCell = el('input', { type: 'text', spellcheck: 'false', 'data-testid': 'rule-user_type', dataset: { part: 'user_type' } });
      typeCell.value = userType;
    }
    const up = el('button', { type: 'button', className: 'secondary small', text: '↑', 'data-testid': 'rule-up' });
    const down = el('button', { type: 'button', className: 'secondary small', text: '↓', 'data-testid': 'rule-down' });
    const remove = el('button', { type: 'button', className: 'secondary small', text: 'Remove', 'data-testid': 'rule-remove' });
    const row = el('tr', { 'data-testid': 'rule-row', dataset: { part: '' } }, [
      el('td', { className: 'num', 'data-testid': 'rule-number' }),
      el('td', {}, [claim]),
      el('td', {}, [value]),
      el('td', {}, [rolesCell]),
      el('td', {}, [typeCell]),
      el('td', { className: 'row-actions' }, [up, down, remove]),
    ]);
    row.ruleExtra = Object.fromEntries(Object.entries(r).filter(([k]) => !RULE_MEMBERS.includes(k)));
    const errorRow = el('tr', { className: 'prompt-error-row' }, [
      el('td', { colSpan: 6 }, [el('div', { className: 'field-error', dataset: { part: '' }, 'data-testid': 'rule-error' })]),
    ]);
    remove.addEventListener('click', () => {
      const index = ruleRows().indexOf(row);
      row.remove();
      errorRow.remove();
      renumberRules();
      updateAdvancedNote();
      const rows = ruleRows();
      (rows[Math.min(index, rows.length - 1)] ? rows[Math.min(index, rows.length - 1)].querySelector('[data-testid="rule-remove"]') : $('rule-add')).focus();
    });
    up.addEventListener('click', () => moveRule(row, -1, up));
    down.addEventListener('click', () => moveRule(row, 1, down));
    return [row, errorRow];
  }

  function ruleRows() {
    return [...$('rule-rows').querySelectorAll('tr[data-testid="rule-row"]')];
  }

  // Moves a rule (and its error row) one place up or down: rules apply in order.
  function moveRule(row, by, button) {
    const rows = ruleRows();
    const at = rows.indexOf(row);
    const to = at + by;
    if (to < 0 || to >= rows.length) return;
    const errorRow = row.nextElementSibling;
    const other = rows[to];
    if (by < 0) other.before(row, errorRow);
    else other.nextElementSibling.after(row, errorRow);
    renumberRules();
    (button.disabled ? row.querySelector('[data-testid="rule-remove"]') : button).focus();
  }

  // The API's field paths on every rule's inputs and error slot
  // (`role_rules[1].value`), the role checkboxes rebuilt with ids of the
  // rule's place, and accessible names that say which rule.
  function renumberRules() {
    const rows = ruleRows();
    rows.forEach((row, i) => {
      const n = i + 1;
      row.dataset.index = String(i);
      row.querySelector('[data-testid="rule-number"]').textContent = String(n);
      const nodes = [row, ...row.querySelectorAll('[data-part]'), ...row.nextElementSibling.querySelectorAll('[data-part]')];
      for (const node of nodes) {
        const path = node.dataset.part ? `role_rules[${i}].${node.dataset.part}` : `role_rules[${i}]`;
        if (node.classList.contains('field-error')) node.dataset.errorFor = path;
        else node.dataset.field = path;
      }
      for (const [part, name] of [['claim', 'Claim'], ['value', 'Value'], ['roles', 'Roles'], ['user_type', 'User type']]) {
        row.querySelector(`[data-testid="rule-${part}"]`).setAttribute('aria-label', `${name} of rule ${n}`);
      }
      const roles = row.querySelector('[data-testid="rule-roles"]');
      if (roles.tagName === 'DIV') {
        const checked = roles.childElementCount > 0 ? checkedRoles(roles) : JSON.parse(roles.dataset.roles || '[]');
        roles.replaceChildren(...roleBoxes(checked, `rule-${i}-role`, `rule ${n}`));
      }
      const up = row.querySelector('[data-testid="rule-up"]');
      const down = row.querySelector('[data-testid="rule-down"]');
      up.setAttribute('aria-label', `Move rule ${n} up`);
      down.setAttribute('aria-label', `Move rule ${n} down`);
      up.disabled = i === 0;
      down.disabled = i === rows.length - 1;
      row.querySelector('[data-testid="rule-remove"]').setAttribute('aria-label', `Remove rule ${n}`);
    });
    $('rule-empty').hidden = rows.length > 0;
    $('rule-table').hidden = rows.length === 0;
  }

  function addRule() {
    $('rule-rows').append(...ruleRow({}));
    renumberRules();
    updateAdvancedNote();
    const rows = ruleRows();
    rows[rows.length - 1].querySelector('[data-testid="rule-claim"]').focus();
  }

  function readRule(row) {
    const rolesCell = row.querySelector('[data-testid="rule-roles"]');
    const roles = rolesCell.tagName === 'DIV'
      ? checkedRoles(rolesCell)
      : rolesCell.value.split(',').map((r) => r.trim()).filter((r) => r !== '');
    const rule = {
      ...row.ruleExtra,
      claim: row.querySelector('[data-testid="rule-claim"]').value.trim(),
      value: row.querySelector('[data-testid="rule-value"]').value,
      roles,
    };
    const userType = row.querySelector('[data-testid="rule-user_type"]').value.trim();
    if (userType !== '') rule.user_type = userType;
    return rule;
  }

  // ---------------------------------------------------------------- fill and read the form

  function fillForm(config, warnings = []) {
    const c = config || {};
    for (const field of FIELDS) fillField(field, c);
    state.extra = {};
    for (const [key, value] of Object.entries(c)) {
      if (!FORM_MEMBERS.has(key)) state.extra[key] = value;
    }

    const ks = c.key_source && typeof c.key_source === 'object' ? c.key_source : { type: 'static' };
    let source = ks.type === 'static' ? ('public_key_pem' in ks ? 'public_key_pem' : 'secret') : ks.type;
    if (!['secret', 'public_key_pem', 'jwks', 'jwks_uri', 'issuer'].includes(source)) source = 'secret';
    $('f-key_type').value = source;
    loadSecrets(source === 'secret' ? ks.secret : undefined);
    renderSecrets();
    $('f-public_key_pem').value = typeof ks.public_key_pem === 'string' ? ks.public_key_pem : '';
    $('f-jwks').value = ks.jwks !== undefined ? JSON.stringify(ks.jwks, null, 2) : '';
    $('f-url').value = typeof ks.url === 'string' ? ks.url : '';

    state.algorithms = new Set(Array.isArray(c.algorithms) ? c.algorithms.filter((a) => typeof a === 'string') : []);

    $('prompt-rows').replaceChildren();
    for (const prompt of Array.isArray(c.system_prompts) ? c.system_prompts : []) {
      $('prompt-rows').append(...promptRow(prompt));
    }
    renumberPrompts();

    $('rule-rows').replaceChildren();
    for (const rule of Array.isArray(c.role_rules) ? c.role_rules : []) {
      $('rule-rows').append(...ruleRow(rule));
    }
    renumberRules();

    warningList($('form-warnings'), warnings);
    clearErrors();
    updateSourceFields();
    // The advanced options open by themselves when any differs from its default.
    $('advanced').open = updateAdvancedNote() > 0;
  }

  // The configuration as the form describes it (CONTRACT section 1), and the
  // errors that can be told without the server (a JWK Set that is not JSON).
  function collectForm() {
    const errors = [];
    const config = { ...state.extra };
    for (const field of FIELDS) {
      const value = readField(field);
      if (value !== undefined) put(config, field.path, value);
    }
    if (!config.claims) config.claims = {};

    const source = currentSource();
    if (source === 'secret') {
      config.key_source = { type: 'static', secret: collectSecret() };
    } else if (source === 'public_key_pem') {
      config.key_source = { type: 'static', public_key_pem: $('f-public_key_pem').value.trim() };
    } else if (source === 'jwks') {
      let jwks = null;
      try {
        jwks = JSON.parse($('f-jwks').value);
      } catch (e) {
        errors.push({ field: 'key_source.jwks', problem: 'this is not valid JSON', hint: 'paste a JWK Set: `{"keys":[…]}`' });
      }
      config.key_source = { type: 'jwks', jwks };
    } else if (source === 'jwks_uri') {
      config.key_source = { type: 'jwks_uri', url: $('f-url').value.trim() };
    } else {
      config.key_source = { type: 'issuer' };
    }

    // In the form's order, whatever order they were checked in.
    config.algorithms = ALGORITHMS.filter((a) => state.algorithms.has(a));

    config.system_prompts = promptRows().map((row) => {
      const slot = numberOrRaw(row.querySelector('[data-testid="prompt-slot"]').value);
      return {
        kind: row.querySelector('[data-testid="prompt-kind"]').value,
        slot: slot === undefined ? null : slot,
        claim: row.querySelector('[data-testid="prompt-claim"]').value.trim(),
      };
    });
    config.role_rules = ruleRows().map(readRule);
    if (config.role_rules.length === 0) delete config.role_rules;
    return { config, errors };
  }

  function clearErrors() {
    for (const slot of $('config-form').querySelectorAll('.field-error')) slot.replaceChildren();
    for (const input of $('config-form').querySelectorAll('.invalid')) {
      input.classList.remove('invalid');
      input.removeAttribute('aria-invalid');
    }
  }

  // Strip the last `.part` or `[n]` of a field path: `a[1].b` → `a[1]` → `a`.
  function parentPath(path) {
    const m = /^(.*)(\.[^.[\]]+|\[\d+\])$/.exec(path);
    return m ? m[1] : null;
  }

  // The error as one or two sentences: the problem, then the fix.
  function errorSentences(error) {
    const nodes = [el('span', { className: 'problem', 'data-testid': 'field-error-message' }, richText(error.problem || error.message, { sentence: true }))];
    if (error.hint) nodes.push(' ', el('span', { className: 'fix', 'data-testid': 'field-error-hint' }, richText(error.hint, { sentence: true })));
    return nodes;
  }

  // Show an error beside the field it names (or the nearest enclosing field
  // the form shows), unfolding the advanced options when it is there;
  // returns false when no such place is in the form.
  function showFieldError(error) {
    const form = $('config-form');
    for (let path = error.field; path !== null && path !== ''; path = parentPath(path)) {
      const slot = [...form.querySelectorAll('[data-error-for]')].find((s) => s.dataset.errorFor === path);
      if (!visible(slot)) continue;
      const folded = slot.closest('details');
      if (folded) folded.open = true;
      slot.replaceChildren(...errorSentences(error));
      slot.dataset.testid = slot.dataset.testid || 'field-error';
      if (!slot.id) slot.id = `error-${path.replace(/[^A-Za-z0-9_-]/g, '-')}`;
      const fieldOf = (p) => [...form.querySelectorAll('[data-field]')].find((i) => i.dataset.field === p && visible(i));
      // The input of the field, or of the nearest enclosing one shown
      // (`role_rules[0].roles[1]` → the rule's roles).
      let input = null;
      for (let p = error.field; p !== null && p !== '' && input === null; p = parentPath(p)) input = fieldOf(p) || null;
      const target = input || slot;
      if (input) {
        input.classList.add('invalid');
        input.setAttribute('aria-invalid', 'true');
        const described = (input.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== slot.id);
        input.setAttribute('aria-describedby', [...described, slot.id].join(' '));
      }
      target.scrollIntoView({ block: 'center' });
      if (input && typeof input.focus === 'function') input.focus({ preventScroll: true });
      return true;
    }
    return false;
  }

  async function openCreate() {
    hideBanner();
    state.editing = null;
    try {
      await loadCatalog();
    } catch (_) {
      return; // signed out, and told why
    }
    fillForm({ enabled: true, token_name: 'token', key_source: { type: 'static' }, algorithms: ['HS256'], claims: { user_id: 'sub' } });
    $('form-title').textContent = 'New configuration';
    $('form-delete').hidden = true;
    show('form-view');
    $('f-name').focus();
  }

  async function openEdit(name) {
    hideBanner();
    try {
      await loadCatalog();
      const { data, etag, warnings } = await api('GET', configUrl(name));
      state.editing = { name, etag };
      fillForm(data, warnings);
      $('form-title').textContent = `Edit configuration — ${name}`;
      $('form-delete').hidden = false;
      show('form-view');
      $('f-name').focus();
    } catch (error) {
      if (error.status !== 401) showBanner(error);
    }
  }

  async function submitForm(event) {
    event.preventDefault();
    clearErrors();
    hideBanner();
    const { config, errors } = collectForm();
    if (errors.length > 0) {
      errors.forEach(showFieldError);
      return;
    }
    const button = $('form-submit');
    button.disabled = true;
    try {
      const saved = state.editing
        ? await api('PUT', configUrl(state.editing.name), { body: config, etag: state.editing.etag })
        : await api('POST', API, { body: config });
      const verb = state.editing ? 'saved' : 'created';
      state.editing = null;
      state.secrets = [newSecret()];
      await loadList();
      notice(`Configuration “${config.name}” ${verb}.`, saved.warnings);
    } catch (error) {
      if (error.status === 401) return;
      if (error.status === 400 && error.field && showFieldError(error)) return;
      if (error.status === 400 && error.kind === 'config') {
        $('form-error').replaceChildren(...errorSentences(error));
      }
      const editing = state.editing;
      if (error.kind === 'version_conflict' && editing) {
        showBanner(error, {
          action: { label: 'Reload the configuration', run: () => openEdit(editing.name) },
        });
      } else {
        showBanner(error);
      }
    } finally {
      button.disabled = false;
    }
  }

  function cancelForm() {
    state.editing = null;
    state.secrets = [newSecret()];
    clearErrors();
    hideBanner();
    refreshList();
  }

  // ---------------------------------------------------------------- delete

  function openDelete(name, opener) {
    state.deleting = name;
    $('delete-name').textContent = name;
    $('delete-confirm').value = '';
    $('delete-error').textContent = '';
    $('delete-submit').disabled = true;
    openDialog($('delete-dialog'), () => (opener && visible(opener) ? opener : $('list-title')));
  }

  async function confirmDelete(event) {
    event.preventDefault();
    const name = state.deleting;
    const typed = $('delete-confirm').value;
    if (name === null || typed !== name) return;
    $('delete-submit').disabled = true;
    try {
      await api('DELETE', `${configUrl(name)}?confirm=${encodeURIComponent(typed)}`);
      state.editing = null;
      await loadList();
      $('delete-dialog').close();
      notice(`Configuration “${name}” deleted.`);
    } catch (error) {
      if (error.status === 401) return;
      setRich($('delete-error'), error.message, { sentence: true });
      $('delete-submit').disabled = false;
    }
  }

  // ---------------------------------------------------------------- test a token

  function openTest(name) {
    hideBanner();
    state.testing = name;
    $('test-config-name').textContent = name;
    $('test-token').value = '';
    $('test-at').value = '';
    $('test-error').textContent = '';
    $('test-result').hidden = true;
    show('test-view');
    $('test-token').focus();
  }

  // "Check at": a date and time in the browser's time zone (a
  // datetime-local value, read as local time) → seconds since 1970.
  function checkAt() {
    const value = $('test-at').value;
    if (value === '') return null;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : Math.floor(date.getTime() / 1000);
  }

  function renderTest(result, at) {
    const ok = result && result.ok === true;
    const error = result && result.error && typeof result.error === 'object' ? result.error : null;
    const steps = Array.isArray(result && result.steps) ? result.steps : [];
    const failed = steps.find((s) => s.status === 'fail');
    const summary = $('test-summary');
    summary.className = `summary ${ok ? 'ok' : 'fail'}`;
    if (ok) {
      summary.replaceChildren('The token is accepted.');
    } else {
      summary.replaceChildren(
        ...(failed ? [`The token is refused at step ${failed.step}: `, ...richText(text(failed.check)), '.'] : ['The token is refused.']),
        ...(error && typeof error.kind === 'string' ? [' Error code ', el('code', { text: error.kind }), '.'] : []),
      );
    }
    summary.dataset.ok = String(ok);
    $('test-when').textContent = at === null
      ? 'Checked as of now.'
      : `Checked as of ${localTime(new Date(at * 1000))} (${TIME_ZONE}).`;

    $('test-steps').replaceChildren(...steps.map((step, i) => {
      const status = ['ok', 'fail', 'skipped'].includes(step.status) ? step.status : 'skipped';
      const item = el('li', {
        className: status,
        'data-testid': 'test-step',
        dataset: { status, step: String(step.step ?? i + 1) },
      }, [
        el('span', { className: 'step-no', text: `${step.step ?? i + 1}.` }),
        el('span', { className: `status ${status}`, text: status, 'data-testid': 'step-status' }),
        el('span', { className: 'step-check', 'data-testid': 'step-check' }, richText(capitalized(text(step.check)))),
      ]);
      if (typeof step.message === 'string' && step.message) {
        item.append(el('div', { className: 'step-detail message', 'data-testid': 'step-message' }, richText(step.message, { sentence: true })));
      }
      if (typeof step.hint === 'string' && step.hint) {
        item.append(el('div', { className: 'step-detail hint', 'data-testid': 'step-hint' }, ['Hint: ', ...richText(step.hint, { sentence: true })]));
      }
      return item;
    }));

    renderToken(result, failed, at);

    const identity = result && result.identity && typeof result.identity === 'object' ? result.identity : null;
    $('test-identity-rows').replaceChildren(...(identity ? identityRows(identity) : []));
    warningList($('test-warnings'), identity ? identity.warnings : []);
    $('test-identity-block').hidden = identity === null;
    $('test-result').hidden = false;
  }

  // ---------------------------------------------------------------- the token debugger

  // The claims a failing step is about, by error kind (CONTRACT section 2).
  const CLAIMS_OF_KIND = {
    expired: ['exp'],
    not_yet_valid: ['nbf'],
    issued_in_future: ['iat'],
    issuer_mismatch: ['iss'],
    audience_mismatch: ['aud'],
    missing_jti: ['jti'],
  };
  // The kinds whose message names the claims at fault in backquotes.
  const NAMED_IN_MESSAGE = ['invalid_claim', 'missing_user_id', 'no_matching_role'];
  const TIME_CLAIMS = ['exp', 'nbf', 'iat'];

  function isObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  // The top-level claims the failing step is about: its kind's own claim, or
  // the claims its message names (a JSON Pointer by its first member).
  function failingClaims(result, failed, claims) {
    const error = result && isObject(result.error) ? result.error : null;
    if (!error || !failed || !claims) return [];
    const kind = String(error.kind);
    let names = CLAIMS_OF_KIND[kind] || [];
    if (kind === 'max_age_exceeded') names = 'iat' in claims ? ['iat'] : ['exp'];
    if (NAMED_IN_MESSAGE.includes(kind) && typeof failed.message === 'string') {
      names = [...failed.message.matchAll(/`([^`]+)`/g)].map((m) => {
        const name = m[1];
        if (!name.startsWith('/')) return name;
        const first = name.slice(1).split('/')[0];
        return first.replace(/~1/g, '/').replace(/~0/g, '~');
      });
    }
    return names.filter((name) => Object.prototype.hasOwnProperty.call(claims, name));
  }

  // "3 hours", "1 minute", "45 seconds": the larger unit, rounded down.
  function duration(seconds) {
    const s = Math.abs(Math.round(seconds));
    for (const [size, unit] of [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']]) {
      if (s >= size || size === 1) {
        const n = Math.floor(s / size);
        return `${n} ${unit}${n === 1 ? '' : 's'}`;
      }
    }
    return '0 seconds';
  }

  // What a time claim means at the time of the check, in words.
  function timeWords(name, value, now) {
    const d = value - now;
    if (name === 'exp') return d <= 0 ? `expired ${duration(d)} ago` : `expires in ${duration(d)}`;
    if (name === 'nbf') return d > 0 ? `valid in ${duration(d)}` : `valid since ${duration(d)} ago`;
    return d > 0 ? `issued ${duration(d)} in the future` : `issued ${duration(d)} ago`;
  }

  // A JSON object as pretty JSON, one line per top-level member: every
  // value written as text (JSON.stringify into textContent, never HTML).
  // `flagged` members are marked; time claims get their date (and, when
  // flagged, how far off they are) as a note beside them.
  function renderJson(pre, object, flagged, now, failedStep) {
    if (!isObject(object)) {
      pre.replaceChildren(el('span', { className: 'muted', text: '(this part does not decode as a JSON object)' }));
      return;
    }
    const entries = Object.entries(object);
    const lines = [el('span', { className: 'json-line', text: '{' })];
    entries.forEach(([name, value], i) => {
      const pretty = JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');
      const comma = i < entries.length - 1 ? ',' : '';
      const line = el('span', {
        className: flagged.includes(name) ? 'json-line member flagged' : 'json-line member',
        'data-testid': 'json-member',
        dataset: { claim: name },
      }, [`  ${JSON.stringify(name)}: ${pretty}${comma}`]);
      const notes = [];
      if (TIME_CLAIMS.includes(name) && typeof value === 'number' && Number.isFinite(value)) {
        const date = new Date(value * 1000);
        if (!Number.isNaN(date.getTime())) notes.push(`${localTime(date)}, ${timeWords(name, value, now)}`);
      }
      if (flagged.includes(name)) {
        line.append(el('span', { className: 'json-note flag', 'data-testid': 'claim-flag', text: `  ← step ${failedStep} fails here${notes.length > 0 ? `: ${notes.join('')}` : ''}` }));
      } else if (notes.length > 0) {
        line.append(el('span', { className: 'json-note', text: `  // ${notes.join('')}` }));
      }
      lines.push(line);
    });
    lines.push(el('span', { className: 'json-line', text: '}' }));
    pre.replaceChildren(...lines);
  }

  // The token as the debugger decodes it, beside the checklist: header and
  // claims (the failing step's claim marked), and which rotated secret verified.
  function renderToken(result, failed, at) {
    const header = result && isObject(result.header) ? result.header : null;
    const claims = result && isObject(result.claims) ? result.claims : null;
    const now = at === null ? Date.now() / 1000 : at;
    const step = failed ? failed.step : null;
    renderJson($('test-header'), header, [], now, step);
    renderJson($('test-claims'), claims, failingClaims(result, failed, claims), now, step);
    const index = result && Number.isInteger(result.secret_index) ? result.secret_index : null;
    $('test-secret-index').textContent = index === null ? '' : `Its signature verifies with secret ${index + 1} of this configuration.`;
  }

  // The identity a login would get, as a table: roles as a list, system
  // prompts by kind and slot, times in the browser's time zone. Members this
  // console does not know yet are shown after, by name.
  function identityRows(identity) {
    const rows = [];
    const shown = new Set(['warnings']);
    const row = (key, label, ...value) => {
      shown.add(key);
      rows.push(el('tr', { dataset: { key } }, [el('th', { scope: 'row', text: label }), el('td', { 'data-testid': `identity-${key}` }, value)]));
    };
    const none = (what) => el('span', { className: 'muted', text: what });
    const plain = (value) => (value === null || value === undefined || value === '' ? none('—') : text(value));
    const time = (value) => {
      const date = typeof value === 'string' ? new Date(value) : null;
      return date && !Number.isNaN(date.getTime()) ? `${localTime(date)} (${TIME_ZONE})` : plain(value);
    };

    row('user_id', 'User ID', plain(identity.user_id));
    row('name', 'Name', plain(identity.name));
    row('email', 'Email', plain(identity.email));
    row('user_type', 'User type', plain(identity.user_type));
    const roles = Array.isArray(identity.roles) ? identity.roles : [];
    row('roles', 'Roles', roles.length === 0
      ? none('No roles')
      : el('ul', { className: 'plain-list' }, roles.map((r) => el('li', { text: text(r) }))));
    const prompts = Array.isArray(identity.prompts) ? identity.prompts : [];
    row('prompts', 'System prompts', prompts.length === 0 ? none('None') : promptTable(prompts));
    row('expires_at', 'Valid until', time(identity.expires_at));
    row('issued_at', 'Issued at', time(identity.issued_at));
    row('issuer', 'Issuer', plain(identity.issuer));
    row('subject', 'Subject', plain(identity.subject));
    row('token_id', 'Token ID', plain(identity.token_id));
    row('config', 'Configuration', plain(identity.config));
    for (const [key, value] of Object.entries(identity)) {
      if (shown.has(key)) continue;
      row(key, sentence(key.replace(/_/g, ' ')).slice(0, -1), plain(value));
    }
    return rows;
  }

  function promptTable(prompts) {
    return el('table', { className: 'mini', 'data-testid': 'identity-prompt-table' }, [
      el('thead', {}, [el('tr', {}, ['Kind', 'Slot', 'Value'].map((h) => el('th', { scope: 'col', text: h })))]),
      el('tbody', {}, prompts.map((p) => el('tr', { 'data-testid': 'identity-prompt' }, [
        el('td', { text: PROMPT_KIND_NAMES[p.kind] || text(p.kind) }),
        el('td', { text: text(p.slot) }),
        el('td', { text: text(p.value) }),
      ]))),
    ]);
  }

  async function runTest(event) {
    event.preventDefault();
    const token = $('test-token').value.trim();
    $('test-error').textContent = '';
    if (!token) {
      $('test-error').textContent = 'Paste a token to test.';
      return;
    }
    const body = { token };
    const at = checkAt();
    if (at === undefined) {
      $('test-error').textContent = 'Enter a complete date and time, or clear it to check as of now.';
      return;
    }
    if (at !== null) body.now = at;
    $('test-run').disabled = true;
    try {
      const { data } = await api('POST', `${configUrl(state.testing)}/test`, { body });
      renderTest(data, at);
    } catch (error) {
      if (error.status !== 401) {
        $('test-result').hidden = true;
        $('test-error').replaceChildren(...richText(error.message, { sentence: true }));
        if (error.hint) $('test-error').append(' ', ...richText(error.hint, { sentence: true }));
      }
    } finally {
      $('test-run').disabled = false;
    }
  }

  // ---------------------------------------------------------------- recent logins

  const EVENTS = '/api/admin/events';
  const EVENTS_PAGE = 50;

  // The page of login events: newest first, filtered by configuration and
  // outcome; "Older logins" appends the next page. Every value is text.
  async function openEvents() {
    try {
      if (state.configs.length === 0) {
        const { data } = await api('GET', API);
        state.configs = Array.isArray(data) ? data : [];
      }
      const select = $('events-config');
      const chosen = select.value;
      const names = state.configs.map((c) => String(c.name));
      select.replaceChildren(
        el('option', { value: '', text: 'All configurations' }),
        ...names.map((name) => el('option', { value: name, text: name })),
      );
      select.value = names.includes(chosen) ? chosen : '';
      show('events-view');
      await loadEvents(false);
    } catch (error) {
      if (error.status !== 401) {
        show('events-view');
        showBanner(error);
      }
    }
  }

  async function loadEvents(older) {
    const params = new URLSearchParams({ limit: String(EVENTS_PAGE) });
    if ($('events-config').value) params.set('config', $('events-config').value);
    if ($('events-outcome').value) params.set('outcome', $('events-outcome').value);
    if (older && state.eventsNext !== null) params.set('before', String(state.eventsNext));
    const { data } = await api('GET', `${EVENTS}?${params}`);
    const events = data && Array.isArray(data.events) ? data.events : [];
    state.eventsNext = data && Number.isSafeInteger(data.next) ? data.next : null;
    const rows = events.flatMap(eventRows);
    if (older) $('event-rows').append(...rows);
    else $('event-rows').replaceChildren(...rows);
    const any = $('event-rows').children.length > 0;
    $('events-empty').hidden = any;
    $('events-table').hidden = !any;
    $('events-more').hidden = state.eventsNext === null;
  }

  // One row per event, and for a refused login a second row with its message
  // and hint (the administrator's texts; they may quote token values, so text only).
  function eventRows(event) {
    const refused = event.outcome === 'refused';
    const row = el('tr', { 'data-testid': 'event-row', className: refused ? 'refused' : '', dataset: { id: String(event.id) } }, [
      el('td', { className: 'nowrap', text: formatTime(event.time), 'data-testid': 'event-time' }),
      el('td', { text: text(event.config), 'data-testid': 'event-config' }),
      el('td', { text: text(event.user_id), 'data-testid': 'event-user' }),
      el('td', {}, [el('span', { className: refused ? 'outcome-refused' : 'outcome-accepted', text: refused ? 'Refused' : 'Accepted', 'data-testid': 'event-outcome' })]),
      el('td', { text: text(event.kind), 'data-testid': 'event-kind' }),
    ]);
    if (!refused) return [row];
    const detail = el('tr', { className: 'event-detail', 'data-testid': 'event-detail' }, [
      el('td', { colSpan: 5 }, [
        el('span', { className: 'event-message', text: text(event.message), 'data-testid': 'event-message' }),
        el('span', { className: 'hint', text: text(event.hint), 'data-testid': 'event-hint' }),
      ]),
    ]);
    return [row, detail];
  }

  // ---------------------------------------------------------------- start

  function start() {
    renderNav();
    $('test-at-help').textContent = `Optional: the date and time to check the token at, in your time zone (${TIME_ZONE}). Empty means now.`;
    $('signin-form').addEventListener('submit', signIn);
    $('signout').addEventListener('click', signOut);
    $('sso-form').addEventListener('submit', signInWithSso);
    $('banner-close').addEventListener('click', hideBanner);
    $('banner-action').addEventListener('click', () => {
      const run = bannerAction;
      hideBanner();
      if (run) run();
    });
    $('add-config').addEventListener('click', openCreate);
    $('config-form').addEventListener('submit', submitForm);
    $('config-form').addEventListener('input', updateAdvancedNote);
    $('config-form').addEventListener('change', updateAdvancedNote);
    $('form-cancel').addEventListener('click', cancelForm);
    $('form-delete').addEventListener('click', () => {
      if (state.editing) openDelete(state.editing.name, $('form-delete'));
    });
    $('f-key_type').addEventListener('change', () => updateSourceFields({ userChange: true }));
    $('f-secret_format').addEventListener('change', () => {
      state.secrets[0].format = $('f-secret_format').value;
      updateSourceFields();
    });
    $('f-secret').addEventListener('input', () => {
      state.secrets[0].value = $('f-secret').value;
      updateSourceFields();
    });
    $('f-secret-remove').addEventListener('click', () => removeSecret(0));
    $('f-secret-add').addEventListener('click', addSecret);
    $('rule-add').addEventListener('click', addRule);
    $('f-public_key_pem').addEventListener('input', () => renderAlgorithms({ userChange: true }));
    $('f-jwks').addEventListener('input', () => renderAlgorithms({ userChange: true }));
    $('prompt-add').addEventListener('click', () => {
      addPrompt({ kind: 'text' });
      const rows = promptRows();
      rows[rows.length - 1].querySelector('[data-testid="prompt-slot"]').focus();
    });
    $('delete-confirm').addEventListener('input', () => {
      $('delete-submit').disabled = $('delete-confirm').value !== state.deleting;
    });
    $('delete-form').addEventListener('submit', confirmDelete);
    $('delete-cancel').addEventListener('click', () => $('delete-dialog').close());
    $('delete-dialog').addEventListener('close', () => {
      state.deleting = null;
      dialogClosed($('delete-dialog'));
    });
    $('disable-form').addEventListener('submit', confirmDisable);
    $('disable-cancel').addEventListener('click', () => $('disable-dialog').close());
    $('disable-dialog').addEventListener('close', () => {
      state.disabling = null;
      dialogClosed($('disable-dialog'));
    });
    $('test-form').addEventListener('submit', runTest);
    $('events-refresh').addEventListener('click', () => loadEvents(false).catch(showBanner));
    $('events-config').addEventListener('change', () => loadEvents(false).catch(showBanner));
    $('events-outcome').addEventListener('change', () => loadEvents(false).catch(showBanner));
    $('events-more').addEventListener('click', () => loadEvents(true).catch(showBanner));
    $('test-at-clear').addEventListener('click', () => {
      $('test-at').value = '';
      $('test-at').focus();
    });
    $('test-back').addEventListener('click', () => {
      state.testing = null;
      refreshList();
    });

    if (adminToken() || sessionToken()) {
      refreshList();
    } else {
      signedOut('');
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
