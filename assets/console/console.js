// jwt-sso administration console.
//
// A plain script (no build step, nothing from the internet) served with a strict
// Content-Security-Policy: no inline scripts, styles or event handlers. Every value
// that comes from the API (names, claims, messages, hints: text written by
// administrators or taken from tokens) is put into the page with `textContent` or
// an input's `value`, never as HTML. A secret is never put into the page: the API
// sends `{"redacted":true}` and the form sends that back unless the administrator
// types a new secret.
//
// The credential is kept in sessionStorage (this tab only): the admin token,
// sent as `Authorization: Bearer …`, or a session that a single sign-on token
// started through `POST /api/auth/login`, sent as `X-Auth-Token`. It never goes
// into a URL or a cookie.

'use strict';

(() => {
  const API = '/api/admin/configs';
  const TOKEN_KEY = 'jwt-sso.admin-token';
  const SESSION_KEY = 'jwt-sso.session';
  const LOGIN = '/api/auth/login';
  const LOGOUT = '/api/auth/logout';
  const JWT_LOGIN_MODE = 67108864;
  const ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512',
    'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA', 'Ed25519'];
  const PROMPT_KINDS = ['text', 'numeric', 'date'];
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

  const $ = (id) => document.getElementById(id);
  const state = {
    configs: [],
    // While editing: the configuration's name, its ETag and the secret as the API
    // sent it (normally {"redacted":true}; never shown).
    editing: null,
    keptSecret: undefined,
    testing: null,
    deleting: null,
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
    }
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

  // ---------------------------------------------------------------- helpers

  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === 'text') node.textContent = value;
      else if (key === 'className') node.className = value;
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key in node && typeof value !== 'string') node[key] = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function formatTime(value) {
    if (typeof value !== 'string' || value === '') return '—';
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return value;
    return date.toISOString().replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
  }

  function text(value) {
    if (value === null || value === undefined || value === '') return '—';
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  function isRedacted(value) {
    return value !== null && typeof value === 'object' && value.redacted === true;
  }

  function show(viewId) {
    for (const id of ['signin-view', 'list-view', 'form-view', 'test-view']) {
      $(id).hidden = id !== viewId;
    }
    $('signout').hidden = viewId === 'signin-view';
    window.scrollTo(0, 0);
  }

  // ---------------------------------------------------------------- banner

  let bannerAction = null;

  function showBanner(error, options = {}) {
    const banner = $('banner');
    banner.classList.toggle('info', Boolean(options.info));
    banner.dataset.kind = options.info ? 'info' : (error.kind || '');
    $('banner-title').textContent = options.title || TITLES[error.kind] || 'The server refused the request';
    const kind = options.info ? '' : ` (${error.kind})`;
    $('banner-message').textContent = error.message ? error.message + kind : '';
    $('banner-hint').textContent = !error.hint ? '' : (options.info ? error.hint : `Hint: ${error.hint}`);
    const action = $('banner-action');
    bannerAction = options.action ? options.action.run : null;
    action.textContent = options.action ? options.action.label : '';
    action.hidden = !options.action;
    banner.hidden = false;
  }

  function notice(message, warnings = []) {
    const hint = warnings.length > 0 ? `Warning: ${warnings.join(' ')}` : '';
    showBanner({ message, hint }, { info: true, title: 'Done' });
  }

  function hideBanner() {
    $('banner').hidden = true;
  }

  // ---------------------------------------------------------------- sign in

  function signedOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(SESSION_KEY);
    hideBanner();
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
      const text = await response.text();
      if (text) {
        try { data = JSON.parse(text); } catch (_) { data = null; }
      }
    } catch (_) {
      $('sso-error').textContent = 'The server could not be reached. Is it running?';
      return;
    }
    const session = response.ok ? response.headers.get('X-Auth-Token') : null;
    if (!session) {
      const error = new ApiError(response.status, data);
      $('sso-error').textContent = response.status === 404
        ? 'This server has no token login at /api/auth/login; use the admin token.'
        : `The login was refused (${error.kind}): ${error.message}`;
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
      $(errorId).textContent = error.message;
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
      const toggle = el('input', {
        type: 'checkbox',
        className: 'switch',
        checked: config.enabled !== false,
        'aria-label': `Enabled: ${name}`,
        title: config.enabled !== false ? 'Enabled: click to disable' : 'Disabled: click to enable',
        'data-testid': 'config-enabled',
      });
      toggle.addEventListener('change', () => toggleEnabled(name, toggle));
      const edit = el('button', { type: 'button', className: 'secondary small', text: 'Edit', 'data-testid': 'config-edit' });
      edit.addEventListener('click', () => openEdit(name));
      const test = el('button', { type: 'button', className: 'secondary small', text: 'Test a token', 'data-testid': 'config-test' });
      test.addEventListener('click', () => openTest(name));
      const del = el('button', { type: 'button', className: 'danger small', text: 'Delete', 'data-testid': 'config-delete' });
      del.addEventListener('click', () => openDelete(name));
      const source = typeof config.key_source === 'string' ? config.key_source : '';
      return el('tr', { 'data-testid': 'config-row', dataset: { name } }, [
        el('td', { className: 'name', text: name, 'data-testid': 'config-name' }),
        el('td', {}, [toggle]),
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

  async function toggleEnabled(name, toggle) {
    const enabled = toggle.checked;
    toggle.disabled = true;
    try {
      const { etag } = await api('GET', configUrl(name));
      await api('PATCH', configUrl(name), { body: { enabled }, etag });
      hideBanner();
      await loadList();
    } catch (error) {
      toggle.checked = !enabled;
      toggle.disabled = false;
      if (error.status !== 401) showBanner(error);
    }
  }

  // ---------------------------------------------------------------- the form

  function buildAlgorithmChoices() {
    const boxes = ALGORITHMS.map((alg) => el('label', {}, [
      el('input', { type: 'checkbox', value: alg, id: `f-alg-${alg}`, 'data-testid': `f-alg-${alg}` }),
      alg,
    ]));
    $('f-algorithms').replaceChildren(...boxes);
  }

  function currentSource() {
    return $('f-key_type').value;
  }

  function updateSourceFields() {
    const source = currentSource();
    for (const row of document.querySelectorAll('[data-source]')) {
      row.hidden = row.dataset.source !== source;
    }
    const format = $('f-secret_format').value;
    const secret = $('f-secret');
    secret.type = format === 'env' ? 'text' : 'password';
    $('f-secret-label').replaceChildren(format === 'env' ? 'Environment variable' : 'Secret Key');
    if (state.keptSecret !== undefined && secret.value === '') {
      $('f-secret-label').append(el('span', { className: 'unchanged', text: '(unchanged)', 'data-testid': 'secret-unchanged' }));
    }
    $('f-secret-help').textContent = {
      text: 'At least 32 / 48 / 64 bytes for HS256 / HS384 / HS512.',
      base64: 'Standard or URL-safe base64, padding optional; at least 32 / 48 / 64 bytes once decoded.',
      env: 'The name of the server\'s environment variable that holds the secret (read when the configuration is loaded).',
    }[format];
  }

  // One system prompt: a row of kind, slot and claim, followed by a row for
  // an error about the whole mapping (slot out of range, used twice).
  function promptRow(prompt = {}) {
    const kind = el('select', { 'data-testid': 'prompt-kind', 'aria-label': 'Kind' },
      PROMPT_KINDS.map((k) => el('option', { value: k, text: k })));
    kind.value = PROMPT_KINDS.includes(prompt.kind) ? prompt.kind : 'text';
    const slot = el('input', { type: 'number', min: '1', max: '15', step: '1', 'data-testid': 'prompt-slot', 'aria-label': 'Slot' });
    slot.value = prompt.slot === undefined || prompt.slot === null ? '' : String(prompt.slot);
    const claim = el('input', { type: 'text', spellcheck: 'false', 'data-testid': 'prompt-claim', 'aria-label': 'Claim' });
    claim.value = typeof prompt.claim === 'string' ? prompt.claim : '';
    const remove = el('button', { type: 'button', className: 'secondary small', text: 'Remove', 'data-testid': 'prompt-remove' });
    const row = el('tr', { 'data-testid': 'prompt-row', dataset: { part: '' } }, [
      el('td', {}, [kind, el('div', { className: 'field-error', dataset: { part: 'kind' } })]),
      el('td', { className: 'num' }, [slot, el('div', { className: 'field-error', dataset: { part: 'slot' } })]),
      el('td', {}, [claim, el('div', { className: 'field-error', dataset: { part: 'claim' } })]),
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
    });
    return [row, errorRow];
  }

  function promptRows() {
    return [...$('prompt-rows').querySelectorAll('tr[data-testid="prompt-row"]')];
  }

  // Give every prompt row's inputs and error slots the API's field paths
  // (`system_prompts[1].slot`, `system_prompts[1]`), so a 400 lands beside
  // the right cell or row.
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
    });
    $('prompt-empty').hidden = rows.length > 0;
    $('prompt-table').hidden = rows.length === 0;
  }

  function addPrompt(prompt) {
    $('prompt-rows').append(...promptRow(prompt));
    renumberPrompts();
  }

  function fillForm(config, warnings = []) {
    const c = config || {};
    $('f-enabled').checked = c.enabled !== false;
    $('f-name').value = typeof c.name === 'string' ? c.name : '';
    $('f-token_name').value = typeof c.token_name === 'string' ? c.token_name : 'token';

    const ks = c.key_source && typeof c.key_source === 'object' ? c.key_source : { type: 'static' };
    let source = ks.type === 'static' ? ('public_key_pem' in ks ? 'public_key_pem' : 'secret') : ks.type;
    if (!['secret', 'public_key_pem', 'jwks', 'jwks_uri', 'issuer'].includes(source)) source = 'secret';
    $('f-key_type').value = source;
    $('f-secret').value = '';
    $('f-secret').placeholder = '';
    $('f-secret_format').value = 'text';
    state.keptSecret = undefined;
    if (source === 'secret' && 'secret' in ks) {
      const secret = ks.secret;
      if (secret && typeof secret === 'object' && typeof secret.env === 'string' && !isRedacted(secret)) {
        // An environment variable's name is not a secret: shown as is.
        $('f-secret_format').value = 'env';
        $('f-secret').value = secret.env;
      } else {
        // Redacted (or, from an older server, the secret itself): kept as the API
        // sent it, never put into the page.
        state.keptSecret = secret;
        if (secret && typeof secret === 'object' && 'base64' in secret) $('f-secret_format').value = 'base64';
        $('f-secret').placeholder = '(unchanged)';
      }
    }
    $('f-public_key_pem').value = typeof ks.public_key_pem === 'string' ? ks.public_key_pem : '';
    $('f-jwks').value = ks.jwks !== undefined ? JSON.stringify(ks.jwks, null, 2) : '';
    $('f-url').value = typeof ks.url === 'string' ? ks.url : '';

    const algorithms = Array.isArray(c.algorithms) ? c.algorithms : [];
    for (const box of $('f-algorithms').querySelectorAll('input')) {
      box.checked = algorithms.includes(box.value);
    }
    $('f-issuer').value = typeof c.issuer === 'string' ? c.issuer : '';
    $('f-audience').value = typeof c.audience === 'string' ? c.audience : '';
    $('f-expiration_time').value = c.expiration_time === undefined ? '86400' : String(c.expiration_time);
    $('f-leeway').value = c.leeway === undefined ? '60' : String(c.leeway);
    $('f-max_token_bytes').value = c.max_token_bytes === undefined ? '16384' : String(c.max_token_bytes);

    const claims = c.claims && typeof c.claims === 'object' ? c.claims : {};
    for (const key of ['user_id', 'name', 'email', 'roles']) {
      $(`f-claims-${key}`).value = typeof claims[key] === 'string' ? claims[key] : '';
    }

    $('prompt-rows').replaceChildren();
    for (const prompt of Array.isArray(c.system_prompts) ? c.system_prompts : []) {
      $('prompt-rows').append(...promptRow(prompt));
    }
    renumberPrompts();

    $('f-user_type').value = typeof c.user_type === 'string' ? c.user_type : 'reader';
    $('f-initial_roles').value = Array.isArray(c.initial_roles) ? c.initial_roles.join(', ') : '';
    $('f-single_use').checked = c.single_use === true;
    $('f-create_users').checked = c.create_users !== false;
    $('f-sync_on_login').checked = c.sync_on_login === true;
    $('f-user_scope').value = c.user_scope === 'shared' ? 'shared' : 'own';
    $('f-user_id_normalize').value = c.user_id_normalize === 'lowercase' ? 'lowercase' : 'none';

    $('form-warnings').replaceChildren(...warnings.map((w) => el('li', {
      text: w,
      'data-testid': 'form-warning',
    })));
    $('form-warnings').hidden = warnings.length === 0;

    clearErrors();
    updateSourceFields();
  }

  function numberOrRaw(value) {
    const trimmed = value.trim();
    if (trimmed === '') return undefined;
    const n = Number(trimmed);
    return Number.isFinite(n) ? n : trimmed;
  }

  // The configuration as the form describes it (CONTRACT section 1), and the
  // errors that can be told without the server (a JWK Set that is not JSON).
  function collectForm() {
    const errors = [];
    const config = {
      name: $('f-name').value.trim(),
      enabled: $('f-enabled').checked,
      token_name: $('f-token_name').value.trim(),
    };

    const source = currentSource();
    if (source === 'secret') {
      const format = $('f-secret_format').value;
      const value = $('f-secret').value;
      let secret;
      if (value === '' && state.keptSecret !== undefined) secret = state.keptSecret;
      else if (format === 'base64') secret = { base64: value.trim() };
      else if (format === 'env') secret = { env: value.trim() };
      else secret = value;
      config.key_source = { type: 'static', secret };
    } else if (source === 'public_key_pem') {
      config.key_source = { type: 'static', public_key_pem: $('f-public_key_pem').value.trim() };
    } else if (source === 'jwks') {
      let jwks = null;
      try {
        jwks = JSON.parse($('f-jwks').value);
      } catch (e) {
        errors.push({ field: 'key_source.jwks', message: 'This is not valid JSON.', hint: 'Paste a JWK Set: {"keys":[…]}.' });
      }
      config.key_source = { type: 'jwks', jwks };
    } else if (source === 'jwks_uri') {
      config.key_source = { type: 'jwks_uri', url: $('f-url').value.trim() };
    } else {
      config.key_source = { type: 'issuer' };
    }

    config.algorithms = [...$('f-algorithms').querySelectorAll('input:checked')].map((box) => box.value);
    const issuer = $('f-issuer').value.trim();
    if (issuer) config.issuer = issuer;
    const audience = $('f-audience').value.trim();
    if (audience) config.audience = audience;
    for (const key of ['expiration_time', 'leeway', 'max_token_bytes']) {
      const value = numberOrRaw($(`f-${key}`).value);
      if (value !== undefined) config[key] = value;
    }

    config.claims = {};
    for (const key of ['user_id', 'name', 'email', 'roles']) {
      const value = $(`f-claims-${key}`).value.trim();
      if (value) config.claims[key] = value;
    }

    config.system_prompts = promptRows().map((row) => {
      const slot = numberOrRaw(row.querySelector('[data-testid="prompt-slot"]').value);
      return {
        kind: row.querySelector('[data-testid="prompt-kind"]').value,
        slot: slot === undefined ? null : slot,
        claim: row.querySelector('[data-testid="prompt-claim"]').value.trim(),
      };
    });

    const userType = $('f-user_type').value.trim();
    if (userType) config.user_type = userType;
    config.initial_roles = $('f-initial_roles').value.split(',').map((r) => r.trim()).filter((r) => r !== '');
    config.single_use = $('f-single_use').checked;
    config.create_users = $('f-create_users').checked;
    config.user_scope = $('f-user_scope').value;
    config.user_id_normalize = $('f-user_id_normalize').value;
    config.sync_on_login = $('f-sync_on_login').checked;
    return { config, errors };
  }

  function clearErrors() {
    for (const slot of $('config-form').querySelectorAll('.field-error')) slot.replaceChildren();
    for (const input of $('config-form').querySelectorAll('.invalid')) {
      input.classList.remove('invalid');
      input.removeAttribute('aria-invalid');
    }
  }

  function visible(node) {
    return node && !node.closest('[hidden]');
  }

  // Strip the last `.part` or `[n]` of a field path: `a[1].b` → `a[1]` → `a`.
  function parentPath(path) {
    const m = /^(.*)(\.[^.[\]]+|\[\d+\])$/.exec(path);
    return m ? m[1] : null;
  }

  // Show an error beside the field it names (or the nearest enclosing field
  // the form shows); returns false when no such place is on screen.
  function showFieldError(error) {
    const form = $('config-form');
    for (let path = error.field; path !== null && path !== ''; path = parentPath(path)) {
      const slot = [...form.querySelectorAll('[data-error-for]')].find((s) => s.dataset.errorFor === path);
      if (!visible(slot)) continue;
      slot.replaceChildren(el('span', { text: error.message, 'data-testid': 'field-error-message' }));
      if (error.hint) slot.append(el('span', { className: 'hint', text: `Hint: ${error.hint}`, 'data-testid': 'field-error-hint' }));
      slot.dataset.testid = slot.dataset.testid || 'field-error';
      const input = [...form.querySelectorAll('[data-field]')].find((i) => i.dataset.field === path);
      const target = input && visible(input) ? input : slot;
      if (input) {
        input.classList.add('invalid');
        input.setAttribute('aria-invalid', 'true');
      }
      target.scrollIntoView({ block: 'center' });
      if (input && typeof input.focus === 'function') input.focus({ preventScroll: true });
      return true;
    }
    return false;
  }

  function openCreate() {
    hideBanner();
    state.editing = null;
    fillForm({ enabled: true, token_name: 'token', key_source: { type: 'static' }, algorithms: ['HS256'], claims: { user_id: 'sub' } });
    $('form-title').textContent = 'New configuration';
    $('form-delete').hidden = true;
    show('form-view');
    $('f-name').focus();
  }

  async function openEdit(name) {
    hideBanner();
    try {
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
      state.keptSecret = undefined;
      await loadList();
      notice(`Configuration “${config.name}” ${verb}.`, saved.warnings);
    } catch (error) {
      if (error.status === 401) return;
      if (error.status === 400 && error.field && showFieldError(error)) return;
      if (error.status === 400 && error.kind === 'config') {
        $('form-error').replaceChildren(el('span', { text: error.message }));
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
    state.keptSecret = undefined;
    clearErrors();
    hideBanner();
    refreshList();
  }

  // ---------------------------------------------------------------- delete

  function openDelete(name) {
    state.deleting = name;
    $('delete-name').textContent = name;
    $('delete-confirm').value = '';
    $('delete-error').textContent = '';
    $('delete-submit').disabled = true;
    $('delete-dialog').showModal();
    $('delete-confirm').focus();
  }

  async function confirmDelete(event) {
    event.preventDefault();
    const name = state.deleting;
    const typed = $('delete-confirm').value;
    if (name === null || typed !== name) return;
    $('delete-submit').disabled = true;
    try {
      await api('DELETE', `${configUrl(name)}?confirm=${encodeURIComponent(typed)}`);
      $('delete-dialog').close();
      state.deleting = null;
      state.editing = null;
      await loadList();
      notice(`Configuration “${name}” deleted.`);
    } catch (error) {
      if (error.status === 401) {
        $('delete-dialog').close();
        return;
      }
      $('delete-error').textContent = error.message;
      $('delete-submit').disabled = false;
    }
  }

  // ---------------------------------------------------------------- test a token

  function openTest(name) {
    hideBanner();
    state.testing = name;
    $('test-config-name').textContent = name;
    $('test-token').value = '';
    $('test-now').value = '';
    $('test-error').textContent = '';
    $('test-result').hidden = true;
    show('test-view');
    $('test-token').focus();
  }

  function renderTest(result) {
    const ok = result && result.ok === true;
    const error = result && result.error && typeof result.error === 'object' ? result.error : null;
    const summary = $('test-summary');
    summary.className = `summary ${ok ? 'ok' : 'fail'}`;
    summary.textContent = ok
      ? 'The token is accepted.'
      : `The token is refused${error && error.kind ? `: ${error.kind}` : '.'}`;
    summary.dataset.ok = String(ok);

    const steps = Array.isArray(result && result.steps) ? result.steps : [];
    $('test-steps').replaceChildren(...steps.map((step, i) => {
      const status = ['ok', 'fail', 'skipped'].includes(step.status) ? step.status : 'skipped';
      const item = el('li', {
        className: status,
        'data-testid': 'test-step',
        dataset: { status, step: String(step.step ?? i + 1) },
      }, [
        el('span', { className: 'step-no', text: `${step.step ?? i + 1}.` }),
        el('span', { className: `status ${status}`, text: status, 'data-testid': 'step-status' }),
        el('span', { className: 'step-check', text: text(step.check), 'data-testid': 'step-check' }),
      ]);
      if (typeof step.message === 'string' && step.message) {
        item.append(el('div', { className: 'step-detail message', text: step.message, 'data-testid': 'step-message' }));
      }
      if (typeof step.hint === 'string' && step.hint) {
        item.append(el('div', { className: 'step-detail hint', text: `Hint: ${step.hint}`, 'data-testid': 'step-hint' }));
      }
      return item;
    }));

    const identity = result && result.identity && typeof result.identity === 'object' ? result.identity : null;
    $('test-identity-rows').replaceChildren(...Object.entries(identity || {}).map(([key, value]) => el('tr', {}, [
      el('td', { text: key }),
      el('td', { text: text(value) }),
    ])));
    $('test-identity').hidden = identity === null;
    $('test-result').hidden = false;
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
    const now = $('test-now').value.trim();
    if (now !== '') body.now = Number(now);
    $('test-run').disabled = true;
    try {
      const { data } = await api('POST', `${configUrl(state.testing)}/test`, { body });
      renderTest(data);
    } catch (error) {
      if (error.status !== 401) {
        $('test-result').hidden = true;
        $('test-error').textContent = error.hint ? `${error.message} Hint: ${error.hint}` : error.message;
      }
    } finally {
      $('test-run').disabled = false;
    }
  }

  // ---------------------------------------------------------------- start

  function start() {
    buildAlgorithmChoices();
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
    $('form-cancel').addEventListener('click', cancelForm);
    $('form-delete').addEventListener('click', () => {
      if (state.editing) openDelete(state.editing.name);
    });
    $('f-key_type').addEventListener('change', updateSourceFields);
    $('f-secret_format').addEventListener('change', updateSourceFields);
    $('f-secret').addEventListener('input', updateSourceFields);
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
    $('delete-dialog').addEventListener('close', () => { state.deleting = null; });
    $('test-form').addEventListener('submit', runTest);
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
