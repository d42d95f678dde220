// Portcullis in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core, against the real binary, a real SMTP server (aiosmtpd) and a tiny relying
// party on loopback. Screenshots of every page go to artifacts/e2e/; the login, consent and
// profile pages (and the admin console's, see admin.mjs, and the device page, see device.mjs) also to docs/screenshots/ for the README.
// axe-core checks accessibility.
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { adminJourney, prepareAdmin } from './admin.mjs';
import { brandingJourney } from './branding.mjs';
import { deviceJourney, prepareDevice } from './device.mjs';
import { languagesJourney } from './i18n.mjs';
import { passkeysJourney } from './passkeys.mjs';

const root = path.resolve(import.meta.dirname, '..');
const BIN = process.env.PORTCULLIS_BIN || path.join(root, 'target/debug/portcullis');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = path.join(root, 'artifacts/e2e');
const DOCS = path.join(root, 'docs/screenshots');
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase';

let passed = 0;
const failures = [];
const children = [];
const a11yProblems = [];

function check(name, ok, detail = '') {
  if (ok) { passed += 1; console.log(`ok   ${name}`); } else { failures.push(name); console.log(`FAIL ${name} ${detail}`); }
  if (!ok) throw new Error(`${name} ${detail}`);
}

const freePort = () => new Promise((resolve) => {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(fn, what, tries = 200) {
  for (let i = 0; i < tries; i += 1) { const v = await fn().catch(() => null); if (v) return v; await sleep(100); }
  throw new Error(`timed out waiting for ${what}`);
}

// --- mail: read the Maildir aiosmtpd writes -------------------------------------------
function decodePart(headers, body) {
  const cte = (headers.match(/content-transfer-encoding:\s*(\S+)/i) || [])[1]?.toLowerCase();
  if (cte === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (cte === 'quoted-printable') return body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
  return body;
}
function readMails(maildir) {
  const out = [];
  for (const sub of ['new', 'cur']) {
    const dir = path.join(maildir, sub);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) {
      const raw = fs.readFileSync(path.join(dir, f), 'utf8').replace(/\r\n/g, '\n');
      const [head, ...rest] = raw.split('\n\n');
      const body = rest.join('\n\n');
      const to = (head.match(/^To:\s*(.*)$/im) || [])[1] || '';
      const subject = (head.match(/^Subject:\s*(.*)$/im) || [])[1] || '';
      const boundary = (head.match(/boundary="?([^";\n]+)"?/i) || [])[1];
      const text = boundary
        ? body.split(`--${boundary}`).map((p) => { const [h, ...b] = p.split('\n\n'); return decodePart(h, b.join('\n\n')); }).join('\n')
        : decodePart(head, body);
      out.push({ to, subject, text, mtime: fs.statSync(path.join(dir, f)).mtimeMs });
    }
  }
  return out.sort((a, b) => a.mtime - b.mtime);
}
async function mailLink(maildir, to, subject, prefix) {
  const mail = await waitFor(async () => readMails(maildir).filter((m) => m.to.includes(to) && m.subject.includes(subject)).pop(), `${subject} to ${to}`);
  const start = mail.text.indexOf(prefix);
  return mail.text.slice(start).split(/[\s"<]/)[0];
}

// --- TOTP (RFC 6238), as an authenticator app computes it --------------------------------
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0; const out = [];
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c); bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
  }
  return Buffer.from(out);
}
function totp(secret, t = Date.now() / 1000) {
  const counter = Buffer.alloc(8); counter.writeBigUInt64BE(BigInt(Math.floor(t / 30)));
  const mac = crypto.createHmac('sha1', secret).update(counter).digest();
  const o = mac[19] & 15;
  return String(((mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000)).padStart(6, '0');
}
async function nextStep(after) {
  while (Math.floor(Date.now() / 30000) <= after) await sleep(250);
  return Math.floor(Date.now() / 30000);
}

// --- the relying party -------------------------------------------------------------------
// `/` starts a code flow for the client `e2e-rp`, `/?client=ID` for another registered one;
// `/callback` redeems the code; `/signed-out` is the post-logout landing page.
function startRelyingParty(rpPort, base, secrets) {
  const pending = new Map();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${rpPort}`);
    if (url.pathname === '/') {
      const clientId = url.searchParams.get('client') || 'e2e-rp';
      const state = crypto.randomBytes(16).toString('base64url');
      const verifier = crypto.randomBytes(32).toString('base64url');
      const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
      pending.set(state, { verifier, clientId });
      const q = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: `http://127.0.0.1:${rpPort}/callback`,
        scope: 'openid profile email', state, nonce: crypto.randomBytes(8).toString('hex'), code_challenge: challenge, code_challenge_method: 'S256' });
      res.writeHead(302, { location: `${base}/authorize?${q}` }).end();
      return;
    }
    if (url.pathname === '/callback') {
      const { verifier, clientId } = pending.get(url.searchParams.get('state')) || { verifier: '', clientId: 'e2e-rp' };
      const tokenRes = await fetch(`${base}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secrets[clientId]}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: url.searchParams.get('code') || '', redirect_uri: `http://127.0.0.1:${rpPort}/callback`, code_verifier: verifier }),
      });
      const tokens = await tokenRes.json();
      const info = await (await fetch(`${base}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json();
      const claims = JSON.parse(Buffer.from(String(tokens.id_token || '..').split('.')[1] || '', 'base64url').toString() || '{}');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(`<!doctype html><html lang="en"><title>Example RP</title><h1>Hello, ${info.name}</h1><p id="sub">${info.sub}</p><p id="amr">${JSON.stringify(claims.amr || [])}</p></html>`);
      return;
    }
    if (url.pathname === '/signed-out') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(`<!doctype html><html lang="en"><title>Example RP</title><h1>Signed out of Example RP</h1><p id="state">${encodeURIComponent(url.searchParams.get('state') || '')}</p></html>`);
      return;
    }
    res.writeHead(404).end();
  });
  server.listen(rpPort, '127.0.0.1');
  return server;
}

// --- the run -------------------------------------------------------------------------------
async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.mkdirSync(DOCS, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'portcullis-e2e-'));
  const [smtpPort, port, rpPort] = [await freePort(), await freePort(), await freePort()];
  const maildir = path.join(work, 'mail');
  const smtp = spawn('python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${smtpPort}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir], { stdio: 'ignore' });
  children.push(smtp);
  // `localhost`, not an IP: WebAuthn (the passkey journey) needs a domain.
  const base = `http://localhost:${port}`;
  const env = {
    PATH: process.env.PATH, PORTCULLIS_BIND: `127.0.0.1:${port}`, PORTCULLIS_ISSUER: base, PORTCULLIS_DATA_DIR: path.join(work, 'data'),
    SECRET_KEY: 'e2e-secret-key-e2e-secret-key-e2e-secret-key', MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(smtpPort),
    PORTCULLIS_MAIL_TLS: 'none', PORTCULLIS_MAIL_POLL_INTERVAL_MS: '100', PORTCULLIS_LOG: 'warn', PORTCULLIS_DEVICE_POLL_INTERVAL: '1',
  };
  execFileSync(BIN, ['migrate'], { env, stdio: 'ignore' });
  const added = execFileSync(BIN, ['client', 'add', '--id', 'e2e-rp', '--name', 'Example RP', '--redirect-uri', `http://127.0.0.1:${rpPort}/callback`], { env }).toString();
  const clientSecret = added.match(/client_secret: (\S+)/)[1];
  // A first-party client (no consent page, so a sign-in ends in a redirect straight to the RP)
  // with a post-logout URI, and a user without a second factor, for the form-action journey.
  const first = execFileSync(BIN, ['client', 'add', '--id', 'e2e-first', '--name', 'First RP', '--first-party',
    '--redirect-uri', `http://127.0.0.1:${rpPort}/callback`, '--post-logout-redirect-uri', `http://127.0.0.1:${rpPort}/signed-out`], { env }).toString();
  const firstSecret = first.match(/client_secret: (\S+)/)[1];
  execFileSync(BIN, ['user', 'add', '--username', 'frank', '--email', 'frank@example.com', '--display-name', 'Frank Example', '--verified'],
    { env, input: `${PASSWORD}\n`, stdio: ['pipe', 'ignore', 'inherit'] });
  prepareAdmin(BIN, env, PASSWORD);
  prepareDevice(BIN, env, PASSWORD);
  const server = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(server);
  await waitFor(async () => (await fetch(`${base}/health/ready`)).ok, 'Portcullis');
  await waitFor(() => new Promise((r) => { const s = net.connect(smtpPort, '127.0.0.1', () => { s.end(); r(true); }); s.on('error', () => r(false)); }), 'SMTP');
  const rp = startRelyingParty(rpPort, base, { 'e2e-rp': clientSecret, 'e2e-first': firstSecret });

  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
  });
  let shotNo = 0;
  const shot = async (page, name, docs = false) => {
    shotNo += 1;
    const file = path.join(ARTIFACTS, `${String(shotNo).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    if (docs) fs.copyFileSync(file, path.join(DOCS, `${name}.png`));
  };
  const a11y = async (page, name) => {
    await page.evaluate(axeSource);
    const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
    const serious = result.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
    for (const v of serious) a11yProblems.push(`${name}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    check(`accessibility of the ${name} page (no serious or critical violations)`, serious.length === 0, serious.map((v) => v.id).join(','));
  };

  try {
    const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
    const page = await context.newPage();

    await page.goto(`${base}/register`);
    await a11y(page, 'register');
    await shot(page, 'register');
    await page.fill('#username', 'erin');
    await page.fill('#email', 'erin@example.com');
    await page.fill('#display_name', 'Erin Example');
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    check('registration asks to check the inbox', (await page.textContent('h1')).includes('Check your inbox'));

    const verify = await mailLink(maildir, 'erin@example.com', 'Confirm your e-mail address', `${base}/verify-email?token=`);
    await page.goto(verify);
    check('the mailed link confirms the address', (await page.textContent('h1')).includes('Address confirmed'));

    await page.goto(`${base}/login`);
    await a11y(page, 'login');
    await shot(page, 'login', true);
    await page.fill('#username', 'erin');
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/profile`);
    await a11y(page, 'profile');
    await shot(page, 'profile', true);

    await page.fill('#mfa_current_password', PASSWORD);
    await page.click('text=Set up two-factor authentication');
    await a11y(page, 'two-factor setup');
    await shot(page, 'totp-setup');
    const secret = base32((await page.textContent('#totp-secret')).trim());
    const enrolStep = Math.floor(Date.now() / 30000);
    await page.fill('#code', totp(secret));
    await page.click('text=Turn on two-factor authentication');
    check('two-factor authentication turns on', (await page.textContent('h1')).includes('Two-factor authentication is on'));
    const recovery = await page.$$eval('#recovery-codes code', (els) => els.map((e) => e.textContent.trim()));
    check('ten recovery codes are shown', recovery.length === 10);
    await shot(page, 'recovery-codes');
    await page.goto(`${base}/logout`);
    await page.click('button[type=submit]');

    await page.goto(`http://127.0.0.1:${rpPort}/`);
    await page.waitForURL(/\/login\?/);
    await page.fill('#username', 'erin');
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/login/totp`);
    await a11y(page, 'two-factor code');
    await shot(page, 'totp');
    await nextStep(enrolStep);
    await page.fill('#code', totp(secret));
    await page.click('button[type=submit]');
    await page.waitForSelector('text=wants to use your account');
    await a11y(page, 'consent');
    await shot(page, 'consent', true);
    await page.click('button[value=allow]');
    await page.waitForURL(new RegExp(`127\\.0\\.0\\.1:${rpPort}/callback`));
    check('the relying party receives the code, exchanges it and shows the name', (await page.textContent('h1')) === 'Hello, Erin Example');
    await shot(page, 'relying-party');

    const fresh = await (await browser.newContext({ viewport: { width: 900, height: 900 } })).newPage();
    await fresh.goto(`${base}/reset-password`);
    await a11y(fresh, 'password reset request');
    await fresh.fill('#email', 'erin@example.com');
    await fresh.click('button[type=submit]');
    const reset = await mailLink(maildir, 'erin@example.com', 'Reset your password', `${base}/reset-password/confirm?token=`);
    await fresh.goto(reset);
    await a11y(fresh, 'password reset');
    await shot(fresh, 'reset');
    await fresh.fill('#new_password', NEW_PASSWORD);
    await fresh.fill('#confirm_password', NEW_PASSWORD);
    await fresh.click('button[type=submit]');
    check('the reset link sets a new password', (await fresh.textContent('h1')).includes('Password changed'));
    await fresh.goto(`${base}/login`);
    await fresh.fill('#username', 'erin');
    await fresh.fill('#password', NEW_PASSWORD);
    await fresh.click('button[type=submit]');
    await fresh.waitForURL(`${base}/login/totp`);
    await fresh.fill('#code', recovery[0]);
    await fresh.click('button[type=submit]');
    check('after the reset, the new password and a recovery code sign in', (await fresh.textContent('h1')).includes('recovery code'));

    // CSP form-action governs the redirects after a form submission too (Chromium enforces
    // it): every page whose form ends at the client must allow the client's origin.
    const rpOrigin = `http://127.0.0.1:${rpPort}`;
    const frank = await (await browser.newContext({ viewport: { width: 900, height: 900 } })).newPage();
    await frank.goto(`${rpOrigin}/?client=e2e-first`);
    await frank.waitForURL(/\/login\?/);
    // A field error (the username sent twice, as a broken autofill might): the login page comes
    // back with a message, the path a 429 or an unconfirmed address takes too.
    await frank.evaluate(() => {
      const extra = document.createElement('input');
      Object.assign(extra, { type: 'hidden', name: 'username', value: 'frank' });
      document.querySelector('form[action="/login"]').appendChild(extra);
    });
    await frank.fill('#username', 'frank');
    await frank.fill('#password', PASSWORD);
    await frank.click('button[type=submit]');
    await frank.waitForSelector('text=This field was sent more than once');
    check('a login with a field error comes back as the login page', frank.url() === `${base}/login`);
    await frank.fill('#username', 'frank');
    await frank.fill('#password', PASSWORD);
    await frank.click('button[type=submit]');
    await frank.waitForURL(new RegExp(`127\\.0\\.0\\.1:${rpPort}/callback\\?code=`));
    check('signing in from the re-rendered login page lands at the RP with a code', (await frank.textContent('h1')) === 'Hello, Frank Example');

    const logoutQuery = new URLSearchParams({ client_id: 'e2e-first', post_logout_redirect_uri: `${rpOrigin}/signed-out`, state: 'bye-1' });
    await frank.goto(`${base}/end-session?${logoutQuery}`);
    await frank.waitForSelector('text=asks to sign you out');
    await a11y(frank, 'sign-out confirmation');
    await frank.click('button[type=submit]');
    await frank.waitForURL(`${rpOrigin}/signed-out?state=bye-1`);
    check('confirming an RP-initiated logout lands on its post_logout_redirect_uri', (await frank.textContent('h1')) === 'Signed out of Example RP');
    await frank.goto(`${base}/profile`);
    check('and the session is over', frank.url().startsWith(`${base}/login`));

    await adminJourney({ browser, base, rpPort, password: PASSWORD, totp, base32, nextStep, shot, a11y, check });
    await brandingJourney({ browser, bin: BIN, work, port: await freePort(), waitFor, children, shot, a11y, check });
    await deviceJourney({ browser, base, password: PASSWORD, shot, a11y, check });
    await languagesJourney({ browser, base, rpPort, shot, a11y, check });
    await passkeysJourney({ browser, base, rpPort, password: PASSWORD, maildir, mailLink, totp, base32, shot, a11y, check });
  } finally {
    await browser.close();
    rp.close();
  }
}

try {
  await main();
} catch (e) {
  console.error(e);
  if (!failures.length) failures.push(String(e));
} finally {
  for (const c of children) c.kill();
  for (const p of a11yProblems) console.log(`  a11y: ${p}`);
  console.log(`e2e: ${passed} passed, ${failures.length} failed`);
  process.exit(failures.length ? 1 : 0);
}
