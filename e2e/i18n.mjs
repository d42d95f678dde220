// The languages journey, one Chromium context per browser language: the login page in German
// when the relying party sends ui_locales=de (the browser itself says English), and when the
// browser's language is German (context locale de-DE, so Accept-Language: de-DE) with no
// ui_locales at all. axe on the German login page; screenshot docs/screenshots/login-de.png.

/** An /authorize URL for `clientId` (PKCE S256, the challenge need not be verified here). */
function authorizeUrl(base, clientId, redirectUri, extra = {}) {
  const q = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'openid profile',
    state: 'i18n-1', nonce: 'i18n-n', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', ...extra,
  });
  return `${base}/authorize?${q}`;
}

export async function languagesJourney({ browser, base, rpPort, shot, a11y, check }) {
  const redirectUri = `http://127.0.0.1:${rpPort}/callback`;

  const english = await browser.newContext({ viewport: { width: 900, height: 900 }, locale: 'en-US' });
  const page = await english.newPage();
  await page.goto(authorizeUrl(base, 'e2e-rp', redirectUri, { ui_locales: 'de' }));
  await page.waitForURL(/\/login\?/);
  check('ui_locales=de on /authorize gives the login page in German', (await page.getAttribute('html', 'lang')) === 'de'
    && (await page.textContent('h1')) === 'Anmelden', await page.textContent('h1'));
  check('its field labels are German too', (await page.textContent('label[for=password]')) === 'Passwort');
  await shot(page, 'login-de', true);
  await a11y(page, 'German login');
  // ui_locales stays for the rest of the flow: the login page loaded again is still German.
  await page.reload();
  check('the flow keeps the language of ui_locales', (await page.textContent('h1')) === 'Anmelden');
  await english.close();

  const german = await browser.newContext({ viewport: { width: 900, height: 900 }, locale: 'de-DE' });
  const dePage = await german.newPage();
  await dePage.goto(`${base}/login`);
  check('a browser whose language is German gets the login page in German', (await dePage.getAttribute('html', 'lang')) === 'de'
    && (await dePage.textContent('h1')) === 'Anmelden', await dePage.textContent('h1'));
  // The picker (a plain form, no JavaScript) switches to French and the choice sticks.
  await dePage.click('footer button[value=fr]');
  await dePage.waitForURL(`${base}/login`);
  check('the language picker switches the page to French', (await dePage.textContent('h1')) === 'Se connecter');
  await german.close();
}
