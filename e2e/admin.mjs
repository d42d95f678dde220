// The admin console journey, in one Chromium context: an administrator signs in with password
// and TOTP, passes the console's step-up, registers a client, the client completes a code flow
// for another person (driven from node: their own cookie jar, /authorize and /token with fetch),
// the administrator disables that person, whose refresh token is refused at once and whose
// browser session is gone, and the audit page lists every step of it, newest first.
// Screenshots docs/screenshots/admin-{dashboard,users,clients,audit}.png; axe on those pages.
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';

const ADMIN = { username: 'ada', email: 'ada@example.com' };
const PERSON = { username: 'grace', email: 'grace@example.com', name: 'Grace Example' };

/** Before the server starts: the administrator and the person the journey acts on. */
export function prepareAdmin(bin, env, password) {
  execFileSync(bin, ['user', 'add', '--username', ADMIN.username, '--email', ADMIN.email, '--display-name', 'Ada Admin', '--admin', '--verified'],
    { env, input: `${password}\n`, stdio: ['pipe', 'ignore', 'inherit'] });
  execFileSync(bin, ['user', 'add', '--username', PERSON.username, '--email', PERSON.email, '--display-name', PERSON.name, '--verified'],
    { env, input: `${password}\n`, stdio: ['pipe', 'ignore', 'inherit'] });
}

/** A person's browser without a browser: a cookie jar over fetch, redirects by hand. */
class Jar {
  constructor(base) { this.base = base; this.cookies = new Map(); }
  async fetch(path, init = {}) {
    const headers = { ...(init.headers || {}), cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    const res = await fetch(path.startsWith('http') ? path : `${this.base}${path}`, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [name, value] = pair.split('=');
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(c) || value === '') this.cookies.delete(name); else this.cookies.set(name, value);
    }
    return res;
  }
  async form(path, fields) {
    return this.fetch(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  }
}

export async function adminJourney({ browser, base, rpPort, password, totp, base32, nextStep, shot, a11y, check }) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const redirectUri = `http://127.0.0.1:${rpPort}/console-callback`;

  // Sign in with the password, turn on TOTP on the profile.
  await page.goto(`${base}/login`);
  await page.fill('#username', ADMIN.username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/profile`);
  await page.goto(`${base}/admin`);
  check('an admin without a second factor is asked to turn one on', (await page.textContent('main')).includes('Turn on two-factor authentication on your profile'));
  await page.goto(`${base}/profile`);
  await page.fill('#mfa_current_password', password);
  await page.click('text=Set up two-factor authentication');
  const secret = base32((await page.textContent('#totp-secret')).trim());
  let step = Math.floor(Date.now() / 30000);
  await page.fill('#code', totp(secret));
  await page.click('text=Turn on two-factor authentication');
  check('the admin turns on two-factor authentication', (await page.textContent('h1')).includes('Two-factor authentication is on'));

  // The console asks for a fresh code first.
  await page.goto(`${base}/admin/users`);
  await page.waitForURL(/\/admin\/step-up\?next=/);
  await a11y(page, 'admin step-up');
  step = await nextStep(step);
  await page.fill('#code', totp(secret));
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/admin/users`);
  check('the step-up opens the page the admin asked for', (await page.textContent('h1')) === 'Users');

  // Signing in again with password + TOTP opens the console without another step-up.
  await page.goto(`${base}/logout`);
  await page.click('button[type=submit]');
  await page.goto(`${base}/login?next=%2Fadmin`);
  await page.fill('#username', ADMIN.username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/login/totp`);
  step = await nextStep(step);
  await page.fill('#code', totp(secret));
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/admin`);
  check('a sign-in with password and TOTP opens the console directly', (await page.textContent('h1')) === 'Admin console');
  await a11y(page, 'admin dashboard');
  await shot(page, 'admin-dashboard', true);

  // Register a client in the console.
  await page.click('nav.console >> text=Clients');
  await page.click('text=Register a client');
  await page.fill('#id', 'console-rp');
  await page.fill('#name', 'Console RP');
  await page.fill('#redirect_uris', redirectUri);
  await page.fill('#scopes', 'openid profile email offline_access');
  await page.check('#first_party');
  await page.click('button[type=submit]');
  const clientSecret = (await page.textContent('#client-secret')).trim();
  check('the console shows the new client secret once', clientSecret.length >= 40);
  await page.goto(`${base}/admin/clients`);
  check('the client list shows the new client', (await page.textContent('table')).includes('console-rp'));
  await a11y(page, 'admin clients');
  await shot(page, 'admin-clients', true);

  // The person signs in to the new client: /authorize, login, code, /token (from node).
  const grace = new Jar(base);
  const verifier = crypto.randomBytes(32).toString('base64url');
  const q = new URLSearchParams({ response_type: 'code', client_id: 'console-rp', redirect_uri: redirectUri, scope: 'openid profile offline_access',
    state: 'console-1', nonce: 'n-1', code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' });
  let res = await grace.fetch(`/authorize?${q}`);
  const login = res.headers.get('location');
  check('the authorization request asks the person to sign in', login.startsWith('/login?'));
  const loginPage = await (await grace.fetch(login)).text();
  const csrf = loginPage.match(/name="csrf_token" value="([^"]+)"/)[1];
  const next = new URL(login, base).searchParams.get('next');
  res = await grace.form('/login', { csrf_token: csrf, username: PERSON.username, password, next });
  let to = res.headers.get('location');
  while (to && to.startsWith('/')) { res = await grace.fetch(to); to = res.headers.get('location'); }
  const code = new URL(to).searchParams.get('code');
  check('the console-registered client receives a code', Boolean(code) && to.startsWith(redirectUri));
  const basic = `Basic ${Buffer.from(`console-rp:${clientSecret}`).toString('base64')}`;
  const tokenRequest = (fields) => fetch(`${base}/token`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  const tokens = await (await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier })).json();
  check('the client exchanges the code for tokens with its console secret', Boolean(tokens.refresh_token && tokens.id_token));
  check('the person is signed in in their browser', (await grace.fetch('/profile')).status === 200);

  // The admin disables the person.
  await page.goto(`${base}/admin/users?q=grace`);
  await a11y(page, 'admin users');
  await shot(page, 'admin-users', true);
  await page.click(`table a:text-is("${PERSON.username}")`);
  await page.click('text=Disable account');
  check('the console shows the account disabled', (await page.textContent('#user-state')).trim() === 'disabled');
  const refused = await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
  check('the disabled person\'s refresh token is refused at once', refused.status === 400 && (await refused.json()).error === 'invalid_grant');
  res = await grace.fetch('/profile');
  check('and their browser session is gone', res.status === 303 && res.headers.get('location').startsWith('/login'));

  // The audit log shows every step, newest first: the disabling, the client's code exchange,
  // the person's sign-in, the client's registration, the admin's sign-in with TOTP, the
  // step-up before it and turning TOTP on (other events may sit between them).
  await page.click('nav.console >> text=Audit log');
  const kinds = await page.$$eval('#events td.event-type', (cells) => cells.map((c) => c.textContent.trim()));
  const expected = ['user.disabled', 'token.issued', 'sign_in.succeeded', 'client.created', 'sign_in.succeeded',
    'second_factor.succeeded', 'totp.enabled'];
  let at = -1;
  const missing = [];
  for (const kind of expected) {
    const i = kinds.indexOf(kind, at + 1);
    if (i < 0) { missing.push(kind); break; }
    at = i;
  }
  check('the audit page shows every step of the journey in order', missing.length === 0, `missing ${missing} in ${kinds.join(',')}`);
  await a11y(page, 'admin audit');
  await shot(page, 'admin-audit', true);
  await context.close();
}
