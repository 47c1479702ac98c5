// aurora's page in Debian's headless Chromium (playwright-core, never a
// downloaded browser), against a real aurora-recv on 127.0.0.1 with a fresh
// database and the pipeline behind it:
//   aurora-inbox follow --resume rca | aurora-normalize | aurora-correlate | aurora-rca --pass
// Run by `make check-browser` (scripts/check-browser):
//   AURORA_BIN=build node --test tests/browser/run.mjs
// Screenshots go to $AURORA_SCREENSHOTS (default build/screenshots).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = resolve(root, process.env.AURORA_BIN || 'build');
const shots = resolve(root, process.env.AURORA_SCREENSHOTS || 'build/screenshots');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const tmp = mkdtempSync(join(tmpdir(), 'aurora-browser-'));
const env = { ...process.env, AURORA_DB: join(tmp, 'aurora.db') };
const log = openSync(join(tmp, 'aurora.log'), 'a');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let port = 0;
let base = '';
let recv = null;
let pipeline = [];
let operatorToken = '';
const webhookTokens = {};
let browser = null;
let page = null; // logged in, kept across the tests (no reload unless a test says so)

function cli(cmd, ...args) {
  return execFileSync(join(bin, cmd), args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

async function startRecv() {
  const portFile = join(tmp, 'recv.port');
  rmSync(portFile, { force: true });
  recv = spawn(join(bin, 'aurora-recv'), ['--listen', `127.0.0.1:${port}`, '--port-file', portFile, '--log-file', join(tmp, 'recv.log')],
    { env, stdio: ['ignore', log, log] });
  for (let i = 0; i < 200 && !existsSync(portFile); i++) await sleep(25);
  const text = existsSync(portFile) ? readFileSync(portFile, 'utf8').trim() : '';
  assert.ok(text, 'aurora-recv did not start: ' + readFileSync(join(tmp, 'aurora.log'), 'utf8'));
  port = Number(text);
  base = `http://127.0.0.1:${port}`;
}

// SIGTERM; the exit status (null for a signal)
async function stopRecv() {
  if (!recv) return 0;
  const p = recv;
  recv = null;
  const done = new Promise((r) => p.once('exit', (code) => r(code)));
  p.kill('SIGTERM');
  return done;
}

// the pipeline as separate processes, so one stage can be paused (SIGSTOP)
function startPipeline() {
  const out = openSync(join(tmp, 'pipeline.jsonl'), 'a');
  execFileSync(join(bin, 'aurora-rca'), [], { env, stdio: ['ignore', out, log] });
  const inbox = spawn(join(bin, 'aurora-inbox'), ['follow', '--resume', 'rca'], { env, stdio: ['ignore', 'pipe', log] });
  const norm = spawn(join(bin, 'aurora-normalize'), [], { env, stdio: [inbox.stdout, 'pipe', log] });
  const corr = spawn(join(bin, 'aurora-correlate'), [], { env, stdio: [norm.stdout, 'pipe', log] });
  const rca = spawn(join(bin, 'aurora-rca'), ['--pass'], { env, stdio: [corr.stdout, out, log] });
  pipeline = [inbox, norm, corr, rca];
  return { rca };
}

let alerts = 0;
// An Alertmanager notification about a disk on a host of service: a new
// incident each time service is new, with thoughts and suggestions (host).
async function postAlert(service, title) {
  const n = ++alerts;
  const body = {
    version: '4', status: 'firing', receiver: 'aurora', groupKey: `{}:{alertname="DiskFull${n}"}`,
    groupLabels: { alertname: `DiskFull${n}` }, commonLabels: {}, commonAnnotations: {},
    externalURL: 'http://alertmanager.example.test:9093',
    alerts: [{
      status: 'firing',
      labels: { alertname: `DiskFull${n}`, instance: `db-${n}:9100`, severity: 'critical', service },
      annotations: { summary: title },
      startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z',
      generatorURL: `http://prometheus.example.test:9090/graph?g0.expr=disk${n}`, fingerprint: `fp${n}`,
    }],
  };
  const r = await fetch(`${base}/api/webhooks/alertmanager`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${webhookTokens.alertmanager}` },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 202, await r.text());
}

async function apiGet(path) {
  const r = await fetch(base + path, { headers: { Authorization: `Bearer ${operatorToken}` } });
  assert.equal(r.status, 200, `${path}: ${r.status}`);
  return r.json();
}

async function waitFor(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function incidentByService(service) {
  return waitFor(`an incident of ${service}`, async () => (await apiGet(`/api/incidents?service=${service}`))[0]);
}

const row = (id) => page.locator(`#incidents tr[data-id="${id}"]`);

async function login(p) {
  await p.goto(base + '/');
  await p.locator('#login-token').fill(operatorToken);
  await p.locator('#login-token').press('Enter');
  await p.locator('#who').filter({ hasText: 'browser' }).waitFor();
}

async function screenshot(p, name) {
  for (const scheme of ['light', 'dark']) {
    await p.emulateMedia({ colorScheme: scheme });
    await p.screenshot({ path: join(shots, `${name}-${scheme}.png`), fullPage: true });
  }
  await p.emulateMedia({ colorScheme: 'light' });
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  await startRecv();
  cli('aurora-connector', 'public-url', base);
  for (const p of ['alertmanager', 'jenkins'])
    webhookTokens[p] = JSON.parse(cli('aurora-connector', 'token', p, '--json')).token;
  operatorToken = cli('aurora-connector', 'operator-token', 'browser');
  startPipeline();
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  for (const p of pipeline) {
    try { p.kill('SIGCONT'); p.kill('SIGTERM'); } catch { /* gone */ }
  }
  await stopRecv();
  if (!process.env.AURORA_KEEP) rmSync(tmp, { recursive: true, force: true });
  else console.log('kept ' + tmp);
});

test('the page is served: GET /, /app.js, /app.css with their types; 404 JSON for another file', async () => {
  const types = { '/': 'text/html; charset=utf-8', '/app.js': 'text/javascript; charset=utf-8', '/app.css': 'text/css; charset=utf-8' };
  for (const [path, type] of Object.entries(types)) {
    const r = await fetch(base + path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get('content-type'), type, path);
    assert.ok((await r.text()).length > 100, path);
  }
  const r = await fetch(base + '/nothing.js');
  assert.equal(r.status, 404);
  assert.ok((await r.json()).error);
});

test('without the cookie the page shows the login form and the API answers 401', async () => {
  const ctx = await browser.newContext();
  ctx.setDefaultTimeout(10000);
  const p = await ctx.newPage();
  await p.goto(base + '/');
  await p.locator('#login').waitFor({ state: 'visible' });
  assert.equal(await p.locator('#incidents').count(), 0);
  for (const [method, path] of [['GET', '/api/incidents'], ['GET', '/api/me'], ['POST', '/api/incidents/1/resolve'],
    ['GET', '/api/connectors'], ['POST', '/api/connectors/grafana/test']]) {
    const status = await p.evaluate(async ([m, u]) => (await fetch(u, {
      method: m, credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: m === 'POST' ? '{}' : undefined,
    })).status, [method, path]);
    assert.equal(status, 401, `${method} ${path}`);
  }
  // a wrong token is refused and says so
  await p.locator('#login-token').fill('not-a-token');
  await p.locator('#login-token').press('Enter');
  await p.locator('#login-error').filter({ hasText: /token/ }).waitFor();
  await ctx.close();
});

test('log in: an HttpOnly SameSite=Strict cookie, the token in no URL and no storage', async () => {
  const ctx = await browser.newContext();
  ctx.setDefaultTimeout(10000);
  page = await ctx.newPage();
  page.on('pageerror', (e) => console.log('page error: ' + e.message));
  await login(page);
  await page.locator('#login').waitFor({ state: 'hidden' });
  const cookie = (await ctx.cookies()).find((c) => c.name === 'aurora_token');
  assert.ok(cookie, 'no aurora_token cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.ok(!page.url().includes(operatorToken));
  const stored = await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie);
  assert.ok(!stored.includes(operatorToken), 'the token is readable by scripts');
  await page.locator('#live.on').waitFor();
});

test('a webhook posted now appears in the list within 1 s, without a reload', async () => {
  await page.evaluate(() => { window.sameDocument = true; });
  const t0 = Date.now();
  await postAlert('billing', 'disk /var almost full on billing db');
  await page.locator('#incidents tr', { hasText: 'disk /var almost full on billing db' }).waitFor({ timeout: 5000 });
  const ms = Date.now() - t0;
  console.log(`# webhook to list row: ${ms} ms`);
  assert.ok(ms < 1000, `it took ${ms} ms`);
  assert.equal(await page.evaluate(() => window.sameDocument), true, 'the page was reloaded');
  const text = await page.locator('#incidents tr', { hasText: 'billing' }).innerText();
  for (const want of ['critical', 'billing', 'alertmanager', 'investigating|analyzed'])
    assert.match(text, new RegExp(want));
});

test('the detail: raw alert, thoughts arriving live, suggestions with copy, correlation, root cause, source link', async () => {
  // hold the investigation back, open the incident, then let it run
  const rca = pipeline[3];
  rca.kill('SIGSTOP');
  try {
    await postAlert('checkout', 'disk space on checkout host');
    const inc = await incidentByService('checkout');
    await row(inc.id).waitFor();
    await row(inc.id).locator('a').first().click();
    await page.waitForURL(`**/#/incidents/${inc.id}`);
    await page.locator('h1', { hasText: 'disk space on checkout host' }).waitFor();
    assert.equal(await page.locator('#thoughts li').count(), 0);
  } finally {
    rca.kill('SIGCONT');
  }
  await page.locator('#thoughts li').first().waitFor({ timeout: 10000 });
  await page.locator('#suggestions li').first().waitFor({ timeout: 10000 });
  assert.equal(await page.evaluate(() => window.sameDocument), true, 'the page was reloaded');
  const sug = await page.locator('#suggestions').innerText();
  assert.match(sug, /low/);
  assert.match(sug, /journalctl|df -h/);
  assert.ok(await page.locator('#suggestions button', { hasText: 'Copy' }).count() > 0);
  const raw = await page.locator('pre.json').first().innerText();
  assert.match(raw, /"alertname": "DiskFull\d+"/);
  assert.match(raw, /"receiver": "aurora"/);
  // the first alert opened the incident; a candidate it did not join is named, not claimed as its join
  assert.match(await page.locator('.corr').first().innerText(), /^opened the incident/);
  const link = page.locator('#source-link a');
  assert.match(await link.getAttribute('href'), /^http:\/\/prometheus\.example\.test:9090\/graph/);
  await page.locator('.badge', { hasText: 'complete' }).waitFor();
  await screenshot(page, 'detail');
});

test('acknowledge and comment from the page', async () => {
  await page.locator('form[data-action="acknowledge"] button').click();
  await page.locator('.ack', { hasText: 'acknowledged' }).waitFor();
  await page.locator('form[data-action="comment"] textarea').fill('looking at it <b>now</b>');
  await page.locator('form[data-action="comment"] textarea').press('Enter');
  await page.locator('.comments li', { hasText: 'looking at it <b>now</b>' }).waitFor();
});

test('generate the postmortem from the page', async () => {
  await page.locator('form[data-action="generate postmortem"] button').click();
  await page.locator('#postmortem').waitFor({ timeout: 20000 });
  assert.ok((await page.locator('#postmortem').innerText()).length > 20);
});

test('resolve from the page changes the list', async () => {
  const id = Number(/incidents\/(\d+)/.exec(page.url())[1]);
  await page.locator('form[data-action="resolve"] input').fill('disk cleaned');
  await page.locator('form[data-action="resolve"] button').click();
  await page.locator('.facts .badge', { hasText: 'resolved' }).waitFor();
  await page.locator('a', { hasText: '← Incidents' }).click();
  await row(id).locator('.badge', { hasText: 'resolved' }).waitFor();
  assert.equal((await apiGet(`/api/incidents/${id}`)).status, 'resolved');
});

test('merge from the page', async () => {
  await postAlert('search', 'disk on search index');
  await postAlert('ledger', 'disk on ledger');
  const src = await incidentByService('search');
  const dst = await incidentByService('ledger');
  await page.goto(`${base}/#/incidents/${src.id}`);
  await page.locator('h1', { hasText: 'disk on search index' }).waitFor();
  await page.locator('form[data-action="merge"] input').fill(String(dst.id));
  await page.locator('form[data-action="merge"] input').press('Enter');
  await page.locator('.facts .badge', { hasText: 'merged' }).waitFor();
  assert.equal((await apiGet(`/api/incidents/${src.id}`)).merged_into, dst.id);
  // an illegal move says why
  await page.goto(`${base}/#/incidents/${dst.id}`);
  await page.locator('form[data-action="merge"] input').fill(String(dst.id));
  await page.locator('form[data-action="merge"] button').click();
  await page.locator('form[data-action="merge"] .msg.error').waitFor();
  await page.goto(`${base}/#/`);
  await row(src.id).locator('.badge', { hasText: 'merged' }).waitFor();
});

test('an alert whose title holds <script> and <img onerror> is shown as text; nothing runs', async () => {
  await page.goto(`${base}/#/`);
  await page.evaluate(() => { window.sameDocument = true; });
  const title = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> disk';
  await postAlert('xss', title);
  const inc = await incidentByService('xss');
  const cell = row(inc.id).locator('td.title');
  await cell.waitFor();
  assert.equal(await cell.innerText(), title);
  assert.equal(await page.locator('#incidents img, #incidents script').count(), 0);
  await cell.locator('a').click();
  await page.locator('h1', { hasText: 'onerror' }).waitFor();
  await page.locator('#thoughts li').first().waitFor();
  assert.equal(await page.locator('#view img, #view script').count(), 0);
  await sleep(200);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.evaluate(() => window.sameDocument), true);
});

test('a cross-site POST is refused, whichever way it comes', async () => {
  const inc = await incidentByService('ledger');
  assert.notEqual(inc.status, 'resolved');
  // another site (another port is another origin, though the same site for cookies)
  const evil = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<form id=f method=POST action="${base}/api/incidents/${inc.id}/resolve" enctype="text/plain">` +
      '<input name=\'{"reason":"x","y\' value=\'"}\'></form>');
  });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  try {
    const p = await page.context().newPage();
    await p.goto(`http://127.0.0.1:${evil.address().port}/`);
    // a no-cors fetch (no preflight) with the cookie, and a form post
    await p.evaluate(async (u) => {
      try { await fetch(u, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'text/plain' }, body: '{"reason":"csrf"}' }); } catch { /* opaque */ }
    }, `${base}/api/incidents/${inc.id}/resolve`);
    await Promise.all([p.waitForNavigation().catch(() => {}), p.evaluate(() => document.getElementById('f').submit())]);
    await p.close();
  } finally {
    evil.close();
  }
  assert.notEqual((await apiGet(`/api/incidents/${inc.id}`)).status, 'resolved');
  // the cookie with a forged Origin, from a script
  const cookie = (await page.context().cookies()).find((c) => c.name === 'aurora_token');
  const r = await fetch(`${base}/api/incidents/${inc.id}/resolve`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: `aurora_token=${cookie.value}`, Origin: 'http://evil.example' },
    body: '{}',
  });
  assert.equal(r.status, 403);
  assert.notEqual((await apiGet(`/api/incidents/${inc.id}`)).status, 'resolved');
});

test("the spec's EventSource + onmessage snippet receives incident_update for a new incident", async () => {
  await page.evaluate(() => {
    window.specUpdates = [];
    let last = null;
    // the spec's client, word for word, with refresh() recording what came
    const refresh = () => window.specUpdates.push(last);
    const es = new EventSource('/api/incidents/stream');
    es.onmessage = (e) => {
      const data = JSON.parse(e.data);
      last = data;
      if (data.type === 'incident_update') refresh();
    };
    window.specStream = es;
  });
  await page.waitForFunction(() => window.specStream.readyState === 1);
  await postAlert('spec', 'disk for the spec client');
  const inc = await incidentByService('spec');
  const got = await page.waitForFunction((id) => window.specUpdates.find((u) => u.incident_id === id && u.kind === 'created'), inc.id);
  const u = await got.jsonValue();
  assert.equal(u.type, 'incident_update');
  assert.ok(u.id && u.at && u.event, JSON.stringify(u));
  await page.evaluate(() => window.specStream.close());
});

test('the page reconnects after the receiver restarts and shows what changed meanwhile', async () => {
  await page.goto(`${base}/#/`);
  await page.locator('#live.on').waitFor();
  await page.evaluate(() => { window.sameDocument = true; });
  const inc = await incidentByService('spec');
  assert.equal(await stopRecv(), 0);
  await page.locator('#live', { hasText: 'reconnecting' }).waitFor();
  cli('aurora-incident', 'resolve', String(inc.id), '--reason', 'while the receiver was down');
  await startRecv();
  await row(inc.id).locator('.badge', { hasText: 'resolved' }).waitFor({ timeout: 20000 });
  await page.locator('#live.on').waitFor();
  await postAlert('after-restart', 'disk after the restart');
  await page.locator('#incidents tr', { hasText: 'disk after the restart' }).waitFor({ timeout: 5000 });
  assert.equal(await page.evaluate(() => window.sameDocument), true, 'the page was reloaded');
});

test('the list filters by status and service', async () => {
  const rows = (fn) => page.waitForFunction(fn);
  await page.locator('#f-status').selectOption('resolved');
  // the filtered list replaces the whole one: wait for it, not for any row
  await rows(() => {
    const r = [...document.querySelectorAll('#incidents tr.row')];
    return r.length > 0 && r.every((x) => x.querySelector('.badge').textContent === 'resolved');
  });
  await page.locator('#f-status').selectOption('');
  await page.locator('#f-service').fill('ledger');
  await page.locator('#f-service').press('Enter');
  await rows(() => {
    const r = [...document.querySelectorAll('#incidents tr.row')];
    return r.length > 0 && r.every((x) => x.innerText.includes('ledger'));
  });
  await page.locator('#f-service').fill('');
  await page.locator('#f-service').press('Enter');
  await rows(() => document.querySelectorAll('#incidents tr.row').length > 3);
  await screenshot(page, 'list');
});

test('on a phone: nothing wider than the screen; a row opens with the keyboard', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.goto(`${base}/#/`);
    await page.locator('#incidents tr.row').first().waitFor();
    const wide = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(await wide() <= 0, 'the list is wider than the screen');
    await page.locator('#incidents tr.row td.title a').first().focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/incidents\/\d+$/);
    await page.locator('#thoughts').waitFor();
    assert.ok(await wide() <= 0, 'the detail is wider than the screen');
    await page.screenshot({ path: join(shots, 'detail-phone-light.png'), fullPage: true });
  } finally {
    await page.setViewportSize({ width: 1280, height: 720 });
  }
});

test('the connectors page: every platform, test webhook round trip, token shown once, RCA toggle', async () => {
  await page.goto(`${base}/#/connectors`);
  for (const p of ['grafana', 'alertmanager', 'pagerduty', 'datadog', 'netdata', 'dynatrace', 'splunk', 'jenkins', 'cloudbees'])
    await page.locator(`#connector-${p}`).waitFor();
  const am = page.locator('#connector-alertmanager');
  assert.match(await am.innerText(), new RegExp(`${base}/api/webhooks/alertmanager`));
  await am.locator('button', { hasText: 'Send test webhook' }).click();
  await am.locator('.msg', { hasText: /test delivered: \d+ in [\d.]+ ms/ }).waitFor({ timeout: 15000 });
  const gr = page.locator('#connector-grafana');
  await gr.locator('button', { hasText: /token/ }).click();
  await gr.locator('.secret code').waitFor();
  assert.match(await gr.locator('.secret code').innerText(), /^[0-9a-f]{64}$/);
  const jk = page.locator('#connector-jenkins');
  const before = (await apiGet('/api/connectors')).find((c) => c.platform === 'jenkins').rca;
  await jk.locator('button', { hasText: /^RCA (on|off)$/ }).click();
  await waitFor('the RCA switch', async () => (await apiGet('/api/connectors')).find((c) => c.platform === 'jenkins').rca === !before);
  await jk.locator('summary', { hasText: 'Setup' }).click();
  assert.match(await jk.innerText(), /Notification plugin/);
  await screenshot(page, 'connectors');
  // the token is not shown again once the page is loaded anew
  await page.reload();
  await page.locator('#connector-grafana').waitFor();
  assert.equal(await page.locator('#connector-grafana .secret').count(), 0);
});

test('log out: back to the form, and the cookie no longer works', async () => {
  await page.locator('#logout').click();
  await page.locator('#login').waitFor({ state: 'visible' });
  const status = await page.evaluate(async () => (await fetch('/api/incidents', { credentials: 'same-origin' })).status);
  assert.equal(status, 401);
});

test('with --no-auth on loopback the page opens on the list, with no login asked', async () => {
  const portFile = join(tmp, 'noauth.port');
  const p = spawn(join(bin, 'aurora-recv'), ['--listen', '127.0.0.1:0', '--no-auth', '--port-file', portFile, '--log-file', join(tmp, 'recv.log')],
    { env, stdio: ['ignore', log, log] });
  try {
    await waitFor('the second receiver', async () => existsSync(portFile) && readFileSync(portFile, 'utf8').trim());
    const ctx = await browser.newContext();
    ctx.setDefaultTimeout(10000);
    const q = await ctx.newPage();
    await q.goto(`http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}/`);
    await q.locator('#incidents tr.row').first().waitFor();
    assert.equal(await q.locator('#login').isVisible(), false);
    assert.equal(await q.locator('#logout').isVisible(), false);
    await ctx.close();
  } finally {
    const done = new Promise((r) => p.once('exit', (code) => r(code)));
    p.kill('SIGTERM');
    assert.equal(await done, 0);
  }
});

test('the receiver stops cleanly, with no sanitizer report in the logs', async () => {
  assert.equal(await stopRecv(), 0);
  const logs = readFileSync(join(tmp, 'aurora.log'), 'utf8') + readFileSync(join(tmp, 'recv.log'), 'utf8');
  assert.doesNotMatch(logs, /Sanitizer|runtime error:/);
});
