// Portcullis benchmark peer: panva's oidc-provider 9 + argon2, load-tested side by side with Portcullis.
// Configures: fresh RS256/ES256/EdDSA keys per start (ID tokens RS256), two static clients
// (bench-confidential, bench-public), S256 PKCE for every client, client_credentials -> RFC 9068 JWT
// access tokens for https://api.bench.test (alg from PEER_ACCESS_TOKEN_ALG), opaque access tokens for
// code/refresh flows, refresh rotation on every use, introspection, revocation, RP-initiated logout,
// server-rendered login/consent with argon2id (m=19456 KiB, t=2, p=1), consent remembered per
// (account, client), a JSON login stand-in at POST /bench/login, and an unbounded in-memory adapter.
// No dev interactions, no logging. See README.md for the interface and the redirect sequence.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import argon2 from 'argon2';
import Provider, { errors } from 'oidc-provider';

const PORT = Number(process.env.PEER_PORT || 5100);
const ISSUER = process.env.PEER_ISSUER || `http://127.0.0.1:${PORT}`;
const ACCESS_TOKEN_ALG = process.env.PEER_ACCESS_TOKEN_ALG || 'ES256';
const USERS = Math.max(1, Number.parseInt(process.env.PEER_USERS || '1', 10) || 1);
const API = 'https://api.bench.test';
const REDIRECT = 'http://127.0.0.1:5999/cb';
const DAY = 24 * 60 * 60;
if (!['ES256', 'RS256', 'EdDSA'].includes(ACCESS_TOKEN_ALG)) throw new Error(`unsupported PEER_ACCESS_TOKEN_ALG ${ACCESS_TOKEN_ALG}`);

// ---- keys: one per alg, generated at startup (RS256 first, so it is also the ID token default)
const jwk = (type, opts, alg) => ({ ...generateKeyPairSync(type, opts).privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}` });
const jwks = { keys: [jwk('rsa', { modulusLength: 2048 }, 'RS256'), jwk('ec', { namedCurve: 'P-256' }, 'ES256'), jwk('ed25519', {}, 'EdDSA')] };

// ---- users: argon2id with the OWASP parameters Portcullis uses
const ARGON2 = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };
const hash = await argon2.hash('correct horse battery staple bench', ARGON2);
const DUMMY_HASH = await argon2.hash(randomBytes(32).toString('base64url'), ARGON2);
const usersByName = new Map();
const usersById = new Map();
for (let n = 0; n < USERS; n += 1) {
  const user = n === 0
    ? { id: randomUUID(), username: 'bench-user', email: 'bench@example.test', name: 'Bench User', hash }
    : { id: randomUUID(), username: `bench-user-${n}`, email: `bench-${n}@example.test`, name: `Bench User ${n}`, hash };
  usersByName.set(user.username, user);
  usersById.set(user.id, user);
}
async function authenticate(username, password) {
  const user = typeof username === 'string' ? usersByName.get(username) : undefined;
  const ok = await argon2.verify(user?.hash ?? DUMMY_HASH, typeof password === 'string' ? password : '');
  return ok && user ? user : undefined;
}

// ---- storage: the stock MemoryAdapter is an LRU capped at 1000 entries (it would evict live
// sessions and refresh tokens under load), so use an unbounded Map with expiry and a periodic sweep.
const store = new Map(); // `${model}:${id}` -> { payload, exp }
const byGrant = new Map(); // grantId -> Set of store keys
const sessionByUid = new Map(); // session uid -> session id
class MapAdapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.set(key, { payload, exp: expiresIn ? Date.now() + (expiresIn + 15) * 1000 : Infinity });
    if (this.model === 'Session') sessionByUid.set(payload.uid, id);
    if (payload.grantId) {
      if (!byGrant.has(payload.grantId)) byGrant.set(payload.grantId, new Set());
      byGrant.get(payload.grantId).add(key);
    }
  }
  async find(id) {
    const entry = store.get(this.key(id));
    if (entry && entry.exp > Date.now()) return entry.payload;
    return undefined;
  }
  async findByUid(uid) { const id = sessionByUid.get(uid); return id ? this.find(id) : undefined; }
  async findByUserCode() { return undefined; }
  async consume(id) { const entry = store.get(this.key(id)); if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { store.delete(this.key(id)); }
  async revokeByGrantId(grantId) { for (const key of byGrant.get(grantId) ?? []) store.delete(key); byGrant.delete(grantId); }
}
setInterval(() => {
  const now = Date.now();
  for (const [key, { exp }] of store) if (exp <= now) store.delete(key);
  for (const [grantId, keys] of byGrant) {
    for (const key of keys) if (!store.has(key)) keys.delete(key);
    if (!keys.size) byGrant.delete(grantId);
  }
  for (const [uid, id] of sessionByUid) if (!store.has(`Session:${id}`)) sessionByUid.delete(uid);
}, 60_000).unref();

// ---- remembered consent, like Portcullis/Keycloak: (accountId, clientId) -> consented OIDC scopes, set on
// confirm. Kept apart from oidc-provider Grants, which are token families: a Grant shared by every session
// would be revoked for all of them by one logout or one refresh-token replay.
const consents = new Map();
const consentKey = (accountId, clientId) => `${accountId} ${clientId}`;

const SCOPE = 'openid profile email offline_access';
const provider = new Provider(ISSUER, {
  adapter: MapAdapter,
  jwks,
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  clients: [
    {
      client_id: 'bench-confidential',
      client_secret: 'bench-secret-0123456789abcdef0123456789',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: [REDIRECT],
      scope: SCOPE, // api:read is a resource-server scope: granted in getResourceServerInfo, not here
    },
    {
      client_id: 'bench-public',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT],
      scope: SCOPE,
    },
    {
      // The same public client with ES256 ID tokens (its registered id_token_signed_response_alg).
      client_id: 'bench-public-es256',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT],
      scope: SCOPE,
      id_token_signed_response_alg: 'ES256',
    },
  ],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
  responseTypes: ['code'],
  pkce: { required: () => true }, // v9 only implements S256
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Only client_credentials is defaulted to the API; code/refresh access tokens stay opaque (for /me).
      defaultResource: (ctx, client, oneOf) => oneOf ?? (ctx.oidc.params?.grant_type === 'client_credentials' ? API : undefined),
      useGrantedResource: () => false,
      getResourceServerInfo(ctx, resource, client) {
        if (resource !== API || client.clientId !== 'bench-confidential') throw new errors.InvalidTarget();
        return { scope: 'api:read', audience: API, accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: ACCESS_TOKEN_ALG } } };
      },
    },
  },
  // oidc-provider drops offline_access unless prompt=consent (which would force the consent page every
  // time), so, like Portcullis, issue a refresh token whenever the client may use the refresh_token grant.
  // Without offline_access the tokens are "online": they end with the session (expiresWithSession default).
  issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    IdToken: 3600,
    // a rotated public-client token keeps the remaining lifetime of its predecessor (the library's default policy)
    RefreshToken: (ctx, token, client) => (client.clientAuthMethod === 'none' && ctx?.oidc?.entities.RotatedRefreshToken
      ? ctx.oidc.entities.RotatedRefreshToken.remainingTTL : 14 * DAY),
    Interaction: 600,
    Session: DAY,
    Grant: 14 * DAY,
  },
  async findAccount(ctx, id) {
    const user = usersById.get(id);
    if (!user) return undefined;
    return {
      accountId: id,
      claims: () => ({ sub: id, email: user.email, email_verified: true, name: user.name, preferred_username: user.username }),
    };
  },
  async loadExistingGrant(ctx) {
    const { oidc } = ctx;
    const { accountId } = oidc.account;
    const { clientId } = oidc.client;
    const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(clientId); // the default behaviour
    const existing = grantId && await oidc.provider.Grant.find(grantId);
    if (existing) return existing;
    // New session: if this account already consented to everything requested, start a fresh Grant from it.
    const consented = consents.get(consentKey(accountId, clientId));
    if (!consented || ![...oidc.requestParamOIDCScopes].every((s) => consented.has(s))) return undefined;
    const grant = new oidc.provider.Grant({ accountId, clientId });
    grant.addOIDCScope([...consented].join(' '));
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

// ---- first-party routes in front of provider.callback()
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
const json = (res, status, obj) => send(res, status, 'application/json', JSON.stringify(obj));
const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
const loginPage = (uid, client, error) => page('Sign in', `<p>to continue to ${esc(client)}</p>${error ? `<p role="alert">${esc(error)}</p>` : ''}`
  + `<form method="post" action="/interaction/${esc(uid)}/login"><label>Username <input name="username" autocomplete="username" required></label>`
  + '<label>Password <input type="password" name="password" autocomplete="current-password" required></label><button type="submit">Sign in</button></form>');
const consentPage = (uid, client, scopes) => page('Authorize', `<p>${esc(client)} asks for: ${esc(scopes.join(', '))}</p>`
  + `<form method="post" action="/interaction/${esc(uid)}/confirm"><button type="submit" name="decision" value="allow">Allow</button></form>`);

async function readBody(req, limit = 16 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'text/plain', 'interaction mismatch');
  const { prompt, params, session } = details;
  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') return send(res, 200, 'text/html; charset=utf-8', loginPage(uid, params.client_id));
    const scopes = prompt.details.missingOIDCScope ?? params.scope.split(' ');
    return send(res, 200, 'text/html; charset=utf-8', consentPage(uid, params.client_id, scopes));
  }
  if (req.method !== 'POST') return send(res, 405, 'text/plain', 'method not allowed');
  const form = new URLSearchParams(await readBody(req));
  if (action === 'login' && prompt.name === 'login') {
    const user = await authenticate(form.get('username'), form.get('password'));
    if (!user) return send(res, 401, 'text/html; charset=utf-8', loginPage(uid, params.client_id, 'Invalid username or password.'));
    return provider.interactionFinished(req, res, { login: { accountId: user.id } }, { mergeWithLastSubmission: false });
  }
  if (action === 'confirm' && prompt.name === 'consent') {
    const grant = (details.grantId && await provider.Grant.find(details.grantId))
      || new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    const key = consentKey(session.accountId, params.client_id);
    consents.set(key, new Set([...consents.get(key) ?? [], ...grant.getOIDCScope().split(' ')]));
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  return send(res, 400, 'text/plain', `unexpected ${action} for prompt ${prompt.name}`);
}

async function benchLogin(req, res) {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return json(res, 415, { error: 'unsupported_media_type' });
  let body;
  try { body = JSON.parse(await readBody(req)); } catch { return json(res, 400, { error: 'invalid_request' }); }
  const user = await authenticate(body?.username, body?.password);
  return user ? json(res, 200, { sub: user.id }) : json(res, 401, { error: 'invalid_credentials' });
}

const oidc = provider.callback();
const INTERACTION = /^\/interaction\/([\w-]+)(?:\/(login|confirm))?$/;
const server = createServer(async (req, res) => {
  const path = req.url.split('?', 1)[0];
  try {
    const match = INTERACTION.exec(path);
    if (match) return await interaction(req, res, match[1], match[2]);
    if (path === '/bench/login') return req.method === 'POST' ? await benchLogin(req, res) : json(res, 405, { error: 'method_not_allowed' });
    return oidc(req, res);
  } catch (err) {
    if (res.headersSent) return res.destroy();
    if (err instanceof errors.SessionNotFound) return send(res, 400, 'text/plain', 'interaction expired or cookie missing');
    return send(res, err.status ?? 500, 'text/plain', err.status ? err.message : 'internal error');
  }
});
server.listen(PORT, '127.0.0.1', () => console.log(`peer ready on ${ISSUER}`));
