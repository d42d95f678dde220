// The branding journey, against a second server of its own started with a custom logo, primary
// colour, product name and one overridden template (pages/login.html): in one Chromium context,
// the login page shows the logo (the image loads), the colour applies (computed style of the
// button), the override's text and the product name; the CSP header is the strict one; axe is
// clean. Screenshot docs/screenshots/branding-login.png.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const COLOR = '#0a6b3d';
const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" fill="${COLOR}"/><path d="M16 44V20h14a8 8 0 0 1 0 16H22" stroke="#fff" stroke-width="6" fill="none"/></svg>`;
const LOGIN = `{% extends "base.html" %}
{% import "partials/fields.html" as f %}
{% block title %}Sign in{% endblock %}
{% block content %}
<section class="card">
  <h1>Sign in to {{ brand.product_name }}</h1>
  <p class="lede">Use your Example Co. account.</p>
  {{ f.summary(errors, form_error) }}
  <form method="post" action="/login" novalidate>
    <input type="hidden" name="csrf_token" value="{{ csrf }}">
    <input type="hidden" name="next" value="{{ next }}">
    {{ f.input("username", "Username or e-mail address", "text", login_name, "username", errors.username, "") }}
    {{ f.input("password", "Password", "password", "", "current-password", errors.password, "") }}
    <button type="submit">Sign in</button>
  </form>
  <p><a href="/reset-password">Forgot your password?</a></p>
</section>
{% endblock %}
`;

/** Starts the branded server (its own data directory and port) and walks its login page. */
export async function brandingJourney({ browser, bin, work, port, waitFor, children, shot, a11y, check }) {
  const dir = path.join(work, 'branding');
  fs.mkdirSync(path.join(dir, 'templates/pages'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'logo.svg'), LOGO);
  fs.writeFileSync(path.join(dir, 'templates/pages/login.html'), LOGIN);
  const base = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH, PORTCULLIS_BIND: `127.0.0.1:${port}`, PORTCULLIS_ISSUER: base,
    PORTCULLIS_DATA_DIR: path.join(dir, 'data'), SECRET_KEY: 'e2e-branding-key-e2e-branding-key-0123456789',
    PORTCULLIS_LOG: 'warn', PORTCULLIS_BRANDING_PRODUCT_NAME: 'Example ID', PORTCULLIS_BRANDING_LOGO: path.join(dir, 'logo.svg'),
    PORTCULLIS_BRANDING_FAVICON: path.join(dir, 'logo.svg'), PORTCULLIS_BRANDING_PRIMARY_COLOR: COLOR,
    PORTCULLIS_TEMPLATES_DIR: path.join(dir, 'templates'),
  };
  const server = spawn(bin, ['serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(server);
  await waitFor(async () => (await fetch(`${base}/health/ready`)).ok, 'the branded Portcullis');

  const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
  const page = await context.newPage();
  try {
    const res = await page.goto(`${base}/login`);
    check('the branded login page keeps the strict CSP', !/unsafe-inline/.test(res.headers()['content-security-policy'] || 'missing')
      && /style-src 'self'/.test(res.headers()['content-security-policy']));
    check('the login page is rendered from the override', (await page.textContent('.lede')) === 'Use your Example Co. account.');
    check('and carries the product name', (await page.textContent('h1')) === 'Sign in to Example ID'
      && (await page.title()) === 'Sign in · Example ID' && (await page.textContent('header .brand')).includes('Example ID'));
    const logo = await page.$eval('header .brand img', (img) => ({ loaded: img.complete && img.naturalWidth > 0, src: img.getAttribute('src') }));
    check('the logo loads from a content-hashed brand URL', logo.loaded && /^\/static\/brand\/logo-[0-9a-f]{16}\.svg$/.test(logo.src), JSON.stringify(logo));
    const button = await page.$eval('button[type=submit]', (b) => getComputedStyle(b).backgroundColor);
    check('the primary colour applies to the button', button === 'rgb(10, 107, 61)', button);
    await a11y(page, 'branded login');
    await shot(page, 'branding-login', true);
    await page.fill('#username', 'nobody');
    await page.fill('#password', 'wrong password here');
    await page.click('button[type=submit]');
    check('the overridden form posts and shows the error summary', (await page.textContent('.alert')).length > 0);
  } finally {
    await context.close();
    server.kill();
  }
}
