// aurora's page: the incidents, one incident, the connectors.
// Plain DOM, no framework. Everything that came from an alert or a person is
// set as text (textContent, text nodes), never parsed as HTML; links from
// alerts are kept only when they are http(s).
'use strict';

const $ = (id) => document.getElementById(id);
const view = $('view');

// el('tag', {class, href, ...}, child, ...): strings become text nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function safeLink(url, text) {
  if (typeof url !== 'string' || !/^https?:\/\//i.test(url)) return text ? el('span', {}, text) : null;
  return el('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, text || url);
}

function age(iso) {
  if (!iso) return '';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return Math.floor(s) + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm';
  if (s < 86400) return Math.floor(s / 3600) + 'h';
  return Math.floor(s / 86400) + 'd';
}

const badge = (kind, value) => el('span', { class: `badge ${kind}-${String(value).replace(/[^a-z_]/gi, '')}` }, value);

// --- the API --------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const opt = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  const r = await fetch(path, opt);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (r.status === 401 && path !== '/api/login') showLogin();
  if (!r.ok) throw new ApiError(r.status, (data && data.error) || `${r.status} ${r.statusText}`);
  return data;
}

// --- login ------------------------------------------------------------------

let me = null;

function showLogin() {
  me = null;
  stopStream();
  $('login').hidden = false;
  view.replaceChildren();
  $('who').textContent = '';
  $('logout').hidden = true;
  $('login-token').focus();
}

async function whoami() {
  try {
    me = await api('GET', '/api/me');
  } catch (e) {
    if (e.status !== 401) view.replaceChildren(el('p', { class: 'error' }, e.message));
    return false;
  }
  $('login').hidden = true;
  $('who').textContent = me && me.name ? me.name : '';
  // "anonymous": a receiver with --no-auth (loopback only), nothing to log out of
  $('logout').hidden = !me || me.name === 'anonymous';
  return true;
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = $('login-token');
  $('login-error').textContent = '';
  try {
    await api('POST', '/api/login', { token: input.value });
  } catch (e) {
    $('login-error').textContent = e.status === 401 ? 'That token is not an operator token.' : e.message;
    return;
  }
  input.value = '';
  start();
});

$('logout').addEventListener('click', async () => {
  try { await api('POST', '/api/logout', {}); } catch { /* logged out either way */ }
  stopStream();
  showLogin();
});

// --- the event stream ---------------------------------------------------------

let stream = null;
let refreshTimer = null;
let pending = null; // what the coming refresh is for: {all} or {ids}

function setLive(on) {
  $('live').textContent = on ? 'live' : 'reconnecting';
  $('live').className = on ? 'live on' : 'live';
}

// Coalesce a burst of events (an investigation writes several) into one
// reload. update: the stream's incident_update, or none for "everything".
function refresh(update) {
  pending = pending || { all: false, ids: new Set() };
  if (!update || !update.incident_id || update.kind === 'merged') pending.all = true;
  else pending.ids.add(update.incident_id);
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    const why = pending;
    pending = null;
    render(false, why);
  }, 60);
}

// EventSource reconnects by itself (with Last-Event-ID) after a network
// error; an answer it cannot take (a 503 while the receiver starts) closes it
// for good, so then a new one is opened, resuming from the last event seen.
let lastEventId = '';
let retryMs = 1000;

function startStream() {
  if (stream) return;
  const url = '/api/incidents/stream' + (lastEventId ? '?last_event_id=' + encodeURIComponent(lastEventId) : '');
  const es = new EventSource(url);
  let opened = false;
  stream = es;
  es.onopen = () => {
    setLive(true);
    retryMs = 1000;
    // after a reconnect (the receiver restarted): what changed meanwhile
    if (opened || lastEventId) refresh();
    opened = true;
  };
  es.onerror = () => {
    setLive(false);
    if (es.readyState !== EventSource.CLOSED || stream !== es) return;
    stream = null;
    setTimeout(() => { if (me && !stream) startStream(); }, retryMs);
    retryMs = Math.min(retryMs * 2, 30000);
  };
  es.onmessage = (ev) => {
    if (ev.lastEventId) lastEventId = ev.lastEventId;
    let data;
    try { data = JSON.parse(ev.data); } catch { return; }
    if (data.type === 'incident_update') refresh(data);
  };
}

function stopStream() {
  if (stream) stream.close();
  stream = null;
  $('live').textContent = 'offline';
  $('live').className = 'live';
}

// --- routing ------------------------------------------------------------------

function route() {
  const h = location.hash || '#/';
  let m;
  if ((m = /^#\/incidents\/(\d+)$/.exec(h))) return { page: 'detail', id: Number(m[1]) };
  if (h === '#/connectors') return { page: 'connectors' };
  return { page: 'list' };
}

let rendering = Promise.resolve();

// fresh: a new page (not a refresh of the one shown); why: what changed
// (refresh), none for "anything may have"
function render(fresh, why) {
  rendering = rendering.then(() => draw(fresh, why || { all: true })).catch((e) => {
    if (e.status !== 401) view.replaceChildren(el('p', { class: 'error', role: 'alert' }, e.message));
  });
  return rendering;
}

async function draw(fresh, why) {
  if (!me) return;
  const r = route();
  $('nav-incidents').classList.toggle('here', r.page !== 'connectors');
  $('nav-connectors').classList.toggle('here', r.page === 'connectors');
  if (r.page === 'detail') return drawDetail(r.id, fresh, why);
  if (r.page === 'connectors') return drawConnectors(fresh, why);
  return drawList(fresh);
}

window.addEventListener('hashchange', () => render(true));

// ages tick on without asking the receiver anything
setInterval(() => {
  for (const td of document.querySelectorAll('td[data-at]')) td.textContent = age(td.dataset.at);
}, 15000);

// --- the list -----------------------------------------------------------------

const filters = { status: '', service: '' };
const STATUSES = ['', 'investigating', 'analyzed', 'resolved', 'merged'];

function listFilters() {
  const status = el('select', { id: 'f-status', 'aria-label': 'status' },
    STATUSES.map((s) => el('option', { value: s, selected: s === filters.status }, s || 'any status')));
  const service = el('input', { id: 'f-service', type: 'search', placeholder: 'service', 'aria-label': 'service', value: filters.service });
  const form = el('form', { class: 'filters', role: 'search' }, status, service, el('button', { type: 'submit' }, 'Filter'));
  status.addEventListener('change', () => { filters.status = status.value; render(false); });
  form.addEventListener('submit', (ev) => { ev.preventDefault(); filters.service = service.value.trim(); render(false); });
  return form;
}

async function drawList(fresh) {
  const q = new URLSearchParams({ limit: '200' });
  if (filters.status) q.set('status', filters.status);
  if (filters.service) q.set('service', filters.service);
  const list = await api('GET', '/api/incidents?' + q);
  const rows = list.map((i) => el('tr', { 'data-id': i.id, class: 'row' },
    el('td', {}, el('a', { href: `#/incidents/${i.id}` }, '#' + i.id)),
    el('td', {}, badge('status', i.status)),
    el('td', {}, badge('sev', i.severity || 'unknown')),
    el('td', { class: 'title' }, el('a', { href: `#/incidents/${i.id}` }, i.title || '(no title)')),
    el('td', {}, i.service || ''),
    el('td', {}, i.source_type || ''),
    el('td', { title: i.started_at || '', 'data-at': i.started_at || null }, age(i.started_at)),
    el('td', { class: 'num' }, i.alert_count ?? ''),
    el('td', {}, badge('rca', i.rca_state || 'idle'))));
  const table = el('table', { id: 'incidents', class: 'list' },
    el('thead', {}, el('tr', {}, ['#', 'Status', 'Severity', 'Title', 'Service', 'Source', 'Age', 'Alerts', 'RCA']
      .map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows));
  const keep = view.querySelector('.filters');
  const focused = document.activeElement && document.activeElement.id;
  view.replaceChildren(
    el('h1', {}, 'Incidents'),
    fresh || !keep ? listFilters() : keep,
    list.length ? el('div', { class: 'scroll' }, table) : el('p', { class: 'empty', id: 'incidents' }, 'No incidents yet.'));
  if (focused && $(focused)) $(focused).focus();
}

// --- one incident -----------------------------------------------------------

const pretty = (v) => el('pre', { class: 'json' }, JSON.stringify(v, null, 2));

function copyButton(text) {
  const b = el('button', { type: 'button', class: 'quiet small' }, 'Copy');
  b.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(text); b.textContent = 'Copied'; } catch { b.textContent = 'Select and copy'; }
  });
  return b;
}

function section(title, ...body) {
  return el('section', { class: 'card' }, el('h2', {}, title), ...body);
}

function alertView(a, i) {
  const c = a.correlation || {};
  return el('details', { class: 'alert', open: i === 0 },
    el('summary', {}, badge('sev', a.severity || 'unknown'), ' ', a.title || '(no title)',
      ' ', el('span', { class: 'muted' }, `${a.source || ''} · ${a.status || ''} · ×${a.count || 1}`)),
    c.opened
      ? el('p', { class: 'muted corr' }, 'opened the incident', c.reason ? ` — ${c.reason}` : '')
      : el('p', { class: 'muted corr' }, 'correlation: ', el('b', {}, c.strategy || 'none'),
        c.score !== undefined ? ` score ${Number(c.score).toFixed(2)}` : '', c.reason ? ` — ${c.reason}` : ''),
    a.link ? el('p', {}, safeLink(a.link, 'open in ' + (a.source || 'the platform'))) : null,
    el('h3', {}, 'Raw alert'), pretty(a.raw ? a.raw.body ?? a.raw : a.record),
    a.record ? el('details', {}, el('summary', {}, 'Normalized record'), pretty(a.record)) : null);
}

function rootCause(rc) {
  if (!rc) return el('p', { class: 'muted' }, 'Not yet.');
  const ev = (rc.evidence || []).map((e) => el('li', {}, e.link ? safeLink(e.link, e.what || e.link) : (e.what || JSON.stringify(e))));
  return el('div', {},
    el('p', {}, el('b', {}, rc.kind || ''), rc.entity ? ` on ${rc.entity}` : '', ': ', rc.summary || ''),
    rc.confidence !== undefined ? el('p', { class: 'muted' }, `confidence ${Number(rc.confidence).toFixed(2)}`) : null,
    ev.length ? el('ul', { class: 'evidence' }, ev) : null);
}

function actionForm(label, fields, send) {
  const msg = el('span', { class: 'msg', role: 'status' });
  const form = el('form', { class: 'action', 'data-action': label.toLowerCase() }, ...fields, el('button', { type: 'submit' }, label), msg);
  // Enter sends a comment too (Shift+Enter for a new line)
  for (const t of form.querySelectorAll('textarea')) {
    t.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
    });
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '…';
    msg.className = 'msg';
    try {
      const out = await send(form);
      msg.textContent = 'done';
      form.reset();
      refresh();
      return out;
    } catch (e) {
      msg.textContent = e.message;
      msg.className = 'msg error';
    }
  });
  return form;
}

function actions(inc) {
  const base = `/api/incidents/${inc.id}`;
  const open = inc.status === 'investigating' || inc.status === 'analyzed';
  const forms = [];
  if (!inc.acknowledged && open)
    forms.push(actionForm('Acknowledge', [], () => api('POST', base + '/acknowledge', {})));
  forms.push(actionForm('Comment', [el('textarea', { name: 'text', rows: 2, required: true, 'aria-label': 'comment', placeholder: 'a note on the timeline' })],
    (f) => api('POST', base + '/comments', { text: f.elements.text.value })));
  if (open) {
    forms.push(actionForm('Resolve', [el('input', { name: 'reason', 'aria-label': 'reason', placeholder: 'reason (optional)' })],
      (f) => api('POST', base + '/resolve', f.elements.reason.value ? { reason: f.elements.reason.value } : {})));
    forms.push(actionForm('Merge', [el('input', { name: 'into', type: 'number', min: 1, required: true, 'aria-label': 'merge into incident', placeholder: 'into incident #' })],
      (f) => api('POST', base + '/merge', { into: Number(f.elements.into.value) })));
  } else if (inc.status === 'resolved') {
    forms.push(actionForm('Reopen', [], () => api('POST', base + '/reopen', {})));
  }
  forms.push(actionForm(inc.postmortem ? 'Regenerate postmortem' : 'Generate postmortem', [],
    () => api('POST', base + '/postmortem', inc.postmortem ? { regenerate: true } : {})));
  return el('section', { class: 'card actions', id: 'actions' }, el('h2', {}, 'Actions'), ...forms);
}

async function drawDetail(id, fresh, why) {
  if (!fresh && !why.all && !why.ids.has(id)) return;
  const inc = await api('GET', `/api/incidents/${id}`);
  const ack = inc.acknowledged;
  const head = el('div', { class: 'head' },
    el('p', {}, el('a', { href: '#/' }, '← Incidents')),
    el('h1', {}, `#${inc.id} `, inc.title || '(no title)'),
    el('p', { class: 'facts' }, badge('status', inc.status), ' ', badge('sev', inc.severity || 'unknown'), ' ',
      'RCA ', badge('rca', inc.rca_state || 'idle'), ' · ', inc.service || 'no service', ' · ', inc.source_type || '',
      ' · started ', el('time', { datetime: inc.started_at }, age(inc.started_at) + ' ago'),
      inc.merged_into ? el('span', {}, ' · merged into ', el('a', { href: `#/incidents/${inc.merged_into}` }, '#' + inc.merged_into)) : null,
      ack ? el('span', { class: 'ack' }, ` · acknowledged${ack.by ? ' by ' + ack.by : ''}${ack.at ? ' ' + age(ack.at) + ' ago' : ''}`) : null),
    inc.source_link ? el('p', { id: 'source-link' }, safeLink(inc.source_link, 'Open in ' + (inc.source_type || 'the platform'))) : null,
    inc.summary ? el('p', { class: 'summary' }, inc.summary) : null);
  const thoughts = (inc.thoughts || []).map((t) => el('li', { class: 'thought' }, el('span', { class: 'muted' }, age(t.at) + ' '), t.text || ''));
  const suggestions = (inc.suggestions || []).map((s) => el('li', { class: 'suggestion' },
    el('p', {}, badge('risk', s.risk || 'unknown'), ' ', el('b', {}, s.title || ''), s.kind ? el('span', { class: 'muted' }, ` (${s.kind})`) : null),
    s.text || s.description ? el('p', {}, s.text || s.description) : null,
    s.command ? el('div', { class: 'cmd' }, el('code', {}, s.command), copyButton(s.command)) : null));
  const comments = (inc.comments || []).map((c) => el('li', {}, el('span', { class: 'muted' }, `${c.by || c.author || ''} ${age(c.at)} ago: `), c.text || ''));
  const data = el('div', { id: 'detail-data' },
    head,
    section('Root cause', rootCause(inc.root_cause)),
    section('Investigation', thoughts.length ? el('ol', { class: 'thoughts', id: 'thoughts' }, thoughts) : el('p', { class: 'muted', id: 'thoughts' }, 'No thoughts yet.')),
    section('Suggestions', suggestions.length ? el('ul', { class: 'suggestions', id: 'suggestions' }, suggestions) : el('p', { class: 'muted' }, 'None yet.')),
    section(`Alerts (${(inc.alerts || []).length})`, (inc.alerts || []).map(alertView)),
    comments.length ? section('Comments', el('ul', { class: 'comments' }, comments)) : null,
    inc.postmortem ? section('Postmortem', el('pre', { class: 'postmortem', id: 'postmortem' }, inc.postmortem.markdown || inc.postmortem)) : null);
  // a refresh keeps what is being typed in the action forms
  const old = $('detail-data');
  if (!fresh && old && $('actions') && $('actions').dataset.status === inc.status + (inc.acknowledged ? 'a' : '') + !!inc.postmortem) {
    old.replaceWith(data);
    return;
  }
  const acts = actions(inc);
  acts.dataset.status = inc.status + (inc.acknowledged ? 'a' : '') + !!inc.postmortem;
  view.replaceChildren(el('div', { class: 'detail' }, data, acts));
}

// --- connectors -------------------------------------------------------------

const SETUP = {
  grafana: 'Alerting → Contact points → new, type Webhook: the URL without token, method POST; Optional settings: Authorization header, scheme Bearer, the token as credentials. For signed deliveries run aurora-connector secret grafana and paste it as the HMAC secret.',
  alertmanager: 'A receiver with webhook_configs: url (without token) and http_config.authorization {type: Bearer, credentials: the token}. examples/alertmanager.yml is a whole configuration.',
  pagerduty: 'Integrations → Generic Webhooks (V3) → new subscription with the URL without token. Store the signing secret PagerDuty shows once with aurora-connector secret pagerduty --stdin.',
  datadog: 'Integrations → Webhooks: the URL without token, Custom Headers {"Authorization": "Bearer TOKEN"}, the JSON payload of aurora-connector(1); then mention @webhook-NAME in the monitors.',
  netdata: 'health_alarm_notify.conf (sudo ./edit-config health_alarm_notify.conf): SEND_CUSTOM="YES", AURORA_NETDATA_URL set to the URL with ?token=, and the custom_sender() function of aurora-connector(1) or examples/netdata-health_alarm_notify.conf.',
  dynatrace: 'Settings → Integration → Problem notifications → Custom integration: the URL without token, header Authorization: Bearer TOKEN (secret), "notify closed problems" on, and the payload template of aurora-connector(1) (ProblemID, State, ProblemTitle, ImpactedEntities, ProblemDetailsJSON …).',
  splunk: 'The alert\'s Webhook action: paste the URL with ?token= (Splunk 9 also needs it in the webhook allow list, alert_actions.conf).',
  jenkins: 'Notification plugin (job → Job Notifications): Format JSON, Protocol HTTP, the URL with ?token=, Event all or completed. Set the base URL below for links; turn RCA on to investigate failed builds.',
  cloudbees: 'As Jenkins: the Notification plugin, Format JSON, Protocol HTTP, the URL with ?token=; set the base URL; turn RCA on to investigate failed builds.',
};

const RCA_PLATFORMS = ['jenkins', 'cloudbees'];

// A platform an operator added (aurora-connector add): what is left to do, in its own words.
function addedSetup(c) {
  const p = c.platform;
  return `Added with aurora-connector add ${p}: deliveries need the token (Authorization: Bearer, or ?token=)` +
    (c.hmac_header ? ` and, once aurora-connector secret ${p} has set a secret, the hex HMAC-SHA256 of the body in ${c.hmac_header}` : '') +
    `. aurora-normalize reads them with ${p}.jq in its mappings directory (--mappings DIR or $AURORA_MAPPINGS). aurora-connector remove ${p} removes it; its deliveries stay in the inbox.`;
}
const shownTokens = {}; // platform -> {token, webhook_url}, until the page is left

function connectorCard(c) {
  const p = c.platform;
  const base = `/api/connectors/${encodeURIComponent(p)}`;
  const result = el('p', { class: 'msg', role: 'status' });
  const act = (label, path, body, after) => {
    const b = el('button', { type: 'button', class: 'small', 'data-action': path }, label);
    b.addEventListener('click', async () => {
      b.disabled = true;
      result.textContent = '…';
      result.className = 'msg';
      try {
        const out = await api('POST', base + path, body);
        result.textContent = after ? after(out) : 'done';
        if (path !== '/test') render(false);
      } catch (e) {
        result.textContent = e.message;
        result.className = 'msg error';
      } finally { b.disabled = false; }
    });
    return b;
  };
  const shown = shownTokens[p];
  const url = shown ? shown.webhook_url : c.webhook_url;
  const baseUrl = el('input', { name: 'url', type: 'url', value: c.base_url || '', placeholder: 'https://jenkins.example/', 'aria-label': `${p} base URL` });
  const baseForm = el('form', { class: 'inline' }, baseUrl, el('button', { type: 'submit', class: 'small' }, 'Set base URL'));
  baseForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { await api('POST', base + '/base-url', { url: baseUrl.value }); result.textContent = 'base URL saved'; render(false); } catch (e) { result.textContent = e.message; result.className = 'msg error'; }
  });
  return el('section', { class: 'card connector', id: `connector-${p}` },
    el('h2', {}, p, ' ', badge('state', c.enabled ? 'enabled' : 'disabled'), ' ', c.connected ? badge('state', 'connected') : null,
      c.added ? [' ', badge('state', 'added')] : null),
    el('p', { class: 'urlbox' }, el('span', { class: 'muted' }, 'Webhook URL '), el('code', { class: 'url' }, url), ' ', copyButton(url)),
    shown ? el('p', { class: 'secret' }, el('span', { class: 'muted' }, 'New token '), el('code', {}, shown.token), ' ', copyButton(shown.token),
      el('br'), el('small', {}, 'Shown once: copy it now.')) : null,
    el('dl', {},
      el('dt', {}, 'Last webhook'), el('dd', {}, c.last_webhook_received ? age(c.last_webhook_received) + ' ago' : 'never'),
      el('dt', {}, 'Received / rejected'), el('dd', {}, `${c.received ?? 0} / ${c.rejected ?? 0}`),
      // deliveries accepted but not usable (a delivery.error event redraws this page)
      el('dt', {}, 'Failed to normalize'), el('dd', { class: 'failed' }, String(c.failed_to_normalize ?? 0)),
      c.last_error ? [el('dt', {}, 'Last error'), el('dd', { class: 'last-error' },
        `${age(c.last_error.received_at)} ago, inbox ${c.last_error.inbox_id}: ${c.last_error.reason}`)] : null,
      el('dt', {}, 'Token'), el('dd', {}, c.token_set ? 'set' : 'none yet'),
      c.hmac_header ? [el('dt', {}, 'Signature'), el('dd', {}, `${c.hmac_header}, secret ${c.secret_set ? 'set' : 'not set yet'}`)] : null,
      RCA_PLATFORMS.includes(p) ? [el('dt', {}, 'RCA'), el('dd', { class: 'rca' }, c.rca ? 'on' : 'off')] : null,
      c.base_url ? [el('dt', {}, 'Base URL'), el('dd', {}, c.base_url)] : null),
    el('div', { class: 'buttons' },
      c.added ? null : act('Send test webhook', '/test', {}, (o) => `test delivered: ${o.status} in ${o.ms} ms (inbox ${o.inbox_id})`),
      act(c.token_set ? 'Rotate token' : 'Create token', '/token', {}, (o) => { shownTokens[p] = o; return 'new token below: shown once'; }),
      c.enabled ? act('Disable', '/disable', {}) : act('Enable', '/enable', {}),
      RCA_PLATFORMS.includes(p) ? act(c.rca ? 'RCA off' : 'RCA on', '/rca', { on: !c.rca }) : null),
    RCA_PLATFORMS.includes(p) ? baseForm : null,
    result,
    el('details', {}, el('summary', {}, 'Setup'), el('p', {}, c.added ? addedSetup(c) : (SETUP[p] || 'See aurora-connector(1).'))));
}

async function drawConnectors(fresh, why) {
  if (!fresh && !why.all) return; // an incident's events do not change this page
  const list = await api('GET', '/api/connectors');
  // keep a result line ("test delivered ...") across the redraw
  const msgs = {};
  view.querySelectorAll('.connector').forEach((s) => { msgs[s.id] = s.querySelector('.msg'); });
  view.replaceChildren(el('h1', {}, 'Connectors'),
    el('p', { class: 'muted' }, 'Paste a platform\'s webhook URL into it, or press "Send test webhook". Tokens are kept hashed: a new one is shown once.'),
    el('div', { class: 'grid' }, list.map(connectorCard)));
  for (const [id, m] of Object.entries(msgs)) {
    const s = $(id);
    if (s && m.textContent) s.querySelector('.msg').replaceWith(m);
  }
}

// --- start ------------------------------------------------------------------

async function start() {
  if (!(await whoami())) {
    if (!me) showLogin();
    return;
  }
  startStream();
  await render(true);
}

start();
