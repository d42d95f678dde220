// The passkey journey, in one Chromium context with the DevTools virtual authenticator
// (WebAuthn.enable, WebAuthn.addVirtualAuthenticator: CTAP2, internal, resident keys, user
// verification): a person registers, adds a passkey on /profile/passkeys, signs out, signs in
// with the passkey and no username, completes a code flow at the test RP whose ID token shows
// the passkey's amr; then turns on TOTP and, after the password, uses the passkey instead of a
// code; finally removes the passkey. WebAuthn needs a domain: this journey's server is reached
// as `localhost`. Screenshots docs/screenshots/passkeys-{list,login}.png; axe on those pages.

const PERSON = { username: 'paula', email: 'paula@example.com', name: 'Paula Passkey' };

export async function passkeysJourney({ browser, base, rpPort, password, maildir, mailLink, totp, base32, shot, a11y, check }) {
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true },
  });

  await page.goto(`${base}/register`);
  await page.fill('#username', PERSON.username);
  await page.fill('#email', PERSON.email);
  await page.fill('#display_name', PERSON.name);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.goto(await mailLink(maildir, PERSON.email, 'Confirm your e-mail address', `${base}/verify-email?token=`));
  await page.goto(`${base}/login`);
  await page.fill('#username', PERSON.username);
  await page.fill('#password', password);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForURL(`${base}/profile`);

  await page.goto(`${base}/profile/passkeys`);
  await page.fill('#passkey-name', 'Work laptop');
  await page.click('#passkey-add-button');
  await page.waitForURL(`${base}/profile/passkeys?added=1`);
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  check('adding a passkey stores a discoverable credential on the authenticator', credentials.length === 1 && credentials[0].isResidentCredential);
  check('the passkey list shows it', (await page.textContent('.passkeys')).includes('Work laptop'));
  await a11y(page, 'passkeys');
  await shot(page, 'passkeys-list', true);

  await page.goto(`${base}/logout`);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);
  // The page's conditional request would be answered at once by the virtual authenticator:
  // hold presence while the page is checked, then sign in with the button.
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
  await page.goto(`${base}/login`);
  await page.waitForSelector('#passkey-sign-in-button:not([hidden])');
  check('the username field offers saved passkeys (conditional UI)', (await page.getAttribute('#username', 'autocomplete')) === 'username webauthn');
  await a11y(page, 'passkey sign-in');
  await shot(page, 'passkeys-login', true);
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
  await page.click('#passkey-sign-in-button');
  await page.waitForURL(`${base}/profile`);
  check('a passkey signs in with no username', (await page.textContent('h1')).length > 0);

  await page.goto(`http://127.0.0.1:${rpPort}/?client=e2e-first`);
  await page.waitForURL(`http://127.0.0.1:${rpPort}/callback?**`);
  const amr = JSON.parse(await page.textContent('#amr'));
  check(`the ID token's amr names the passkey (${amr.join(' ')})`,
    (amr.includes('hwk') || amr.includes('swk')) && amr.includes('user') && amr.includes('mfa') && !amr.includes('pwd'));

  // The passkey as the second step after a password.
  await page.goto(`${base}/profile`);
  await page.fill('#mfa_current_password', password);
  await page.click('text=Set up two-factor authentication');
  const secret = base32((await page.textContent('#totp-secret')).trim());
  await page.fill('#code', totp(secret));
  await page.click('text=Turn on two-factor authentication');
  await page.goto(`${base}/logout`);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
  await page.goto(`${base}/login`);
  await page.fill('#username', PERSON.username);
  await page.fill('#password', password);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForURL(`${base}/login/totp`);
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
  await page.waitForSelector('#passkey-second-step-button:not([hidden])');
  await page.click('#passkey-second-step-button');
  await page.waitForURL(`${base}/profile`);
  check('after the password, the passkey stands in for the code', page.url() === `${base}/profile`);

  await page.goto(`${base}/profile/passkeys`);
  await page.click('text=Remove Work laptop');
  await page.waitForURL(`${base}/profile/passkeys?removed=1`);
  check('the passkey can be removed', (await page.textContent('main')).includes('You have no passkeys yet.'));
  await context.close();
}
