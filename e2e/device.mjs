// The device sign-in journey (RFC 8628), in one Chromium context: a "TV" (node, with fetch)
// asks /device/authorize for a code and polls /token while a person opens the
// verification_uri_complete in Chromium, signs in, confirms the code on /device, sees the
// client and its scopes and allows it; the TV's next poll gets its tokens.
// Screenshot docs/screenshots/device.png (the confirmation page); axe on both /device pages.
import { execFileSync } from 'node:child_process';

const PERSON = { username: 'dana', email: 'dana@example.com' };
const CLIENT = 'e2e-tv';

/** Before the server starts: the person and the device client (as an operator adds them). */
export function prepareDevice(bin, env, password) {
  execFileSync(bin, ['user', 'add', '--username', PERSON.username, '--email', PERSON.email, '--display-name', 'Dana Example', '--verified'],
    { env, input: `${password}\n`, stdio: ['pipe', 'ignore', 'inherit'] });
  execFileSync(bin, ['client', 'add', '--id', CLIENT, '--name', 'Living-room TV', '--public', '--grant', 'device_code,refresh_token'],
    { env, stdio: 'ignore' });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The device's side: poll as RFC 8628 §3.5 says until tokens or a final error. */
async function pollForTokens(base, started, log) {
  let interval = started.interval;
  for (;;) {
    await sleep(interval * 1000);
    const res = await fetch(`${base}/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: started.device_code, client_id: CLIENT }),
    });
    const body = await res.json();
    log.push(res.ok ? 'tokens' : body.error);
    if (res.ok) return body;
    if (body.error === 'slow_down') interval += 5;
    else if (body.error !== 'authorization_pending') return body;
  }
}

export async function deviceJourney({ browser, base, password, shot, a11y, check }) {
  const res = await fetch(`${base}/device/authorize`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: CLIENT, scope: 'openid profile' }),
  });
  const started = await res.json();
  check('the device gets a device code and a user code shown as XXXX-XXXX', res.ok && /^[B-Z]{4}-[B-Z]{4}$/.test(started.user_code), JSON.stringify(started));
  const log = [];
  const polling = pollForTokens(base, started, log);

  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  await page.goto(started.verification_uri_complete);
  check('the device link asks the person to sign in first', page.url().startsWith(`${base}/login`));
  await page.fill('#username', PERSON.username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/device?**`);
  check('after signing in the code is filled in', (await page.inputValue('#user_code')) === started.user_code);
  await a11y(page, 'device code entry');
  await page.click('button[type=submit]');
  await page.waitForSelector('text=Sign in to Living-room TV on your device?');
  check('the confirmation shows the code and the scopes', (await page.textContent('main')).includes(started.user_code)
    && (await page.textContent('ul.scopes')).includes('profile'));
  await a11y(page, 'device confirmation');
  await shot(page, 'device', true);
  await page.click('button[value=allow]');
  await page.waitForSelector('h1:text("Device allowed")');
  const tokens = await polling;
  check('the polling device gets an access token and an ID token', typeof tokens.access_token === 'string' && typeof tokens.id_token === 'string', JSON.stringify(tokens));
  check('it heard authorization_pending before the answer', log[0] === 'authorization_pending' && log.at(-1) === 'tokens', log.join(','));
  await context.close();
}
