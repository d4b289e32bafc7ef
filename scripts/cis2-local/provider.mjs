// A local stand-in for NHS Care Identity Service 2 (CIS2) Authentication, for development and tests.
//
// It is the OpenID-certified `oidc-provider` from npm, configured the way PCRM is registered with CIS2:
// one confidential client that must authenticate with `private_key_jwt` and must use PKCE (S256), the
// CIS2 scopes, and claims shaped like CIS2's (`nhsid_useruid`, `nhsid_nrbac_roles`, `selected_roleid`,
// `acr`). Its users are the demo staff in staff.json; a smartcard is "inserted" by choosing a person, and a
// person with more than one role profile chooses one, as CIS2's role selection page asks.
//
// Settings (environment):
//   CIS2_LOCAL_PORT         port on 127.0.0.1 (default 8710)
//   CIS2_LOCAL_ISSUER       issuer URL (default http://127.0.0.1:PORT)
//   CIS2_LOCAL_CLIENT_ID    PCRM's client id (default pcrm-local)
//   CIS2_LOCAL_CLIENT_KEY   PEM file of PCRM's private key; the provider registers its public half. Made
//                           (mode 0600) when missing, so `make run` needs no set-up.
//   CIS2_LOCAL_REDIRECT_URIS  comma-separated redirect URIs PCRM may use
//   CIS2_LOCAL_ID_TOKEN_TTL seconds an ID token lives (default 3600)
//   CIS2_LOCAL_STAFF        the staff file (default staff.json beside this script)
//   CIS2_LOCAL_CLOCK_OFFSET_SECONDS  run the provider's clock this far ahead (tests with a moved clock)
// It prints "CIS2 (local) listening on <issuer>" when ready and stops on SIGTERM/SIGINT.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider from 'oidc-provider';

const here = path.dirname(fileURLToPath(import.meta.url));
const port = Number(process.env.CIS2_LOCAL_PORT || 8710);
const issuer = process.env.CIS2_LOCAL_ISSUER || `http://127.0.0.1:${port}`;
const clientId = process.env.CIS2_LOCAL_CLIENT_ID || 'pcrm-local';
const clientKeyFile = process.env.CIS2_LOCAL_CLIENT_KEY || path.join(here, '..', '..', '.run', 'cis2-client-key.pem');
const redirectUris = (process.env.CIS2_LOCAL_REDIRECT_URIS
  || 'http://127.0.0.1:8000/accounts/cis2/callback/,http://localhost:8000/accounts/cis2/callback/')
  .split(',').map((s) => s.trim()).filter(Boolean);
const idTokenTtl = Number(process.env.CIS2_LOCAL_ID_TOKEN_TTL || 3600);
const staffFile = process.env.CIS2_LOCAL_STAFF || path.join(here, 'staff.json');
// Tests whose own clock is moved (time-machine) move the provider's by the same amount, so the tokens it
// issues are fresh by PCRM's clock.
const clockOffsetMs = Number(process.env.CIS2_LOCAL_CLOCK_OFFSET_SECONDS || 0) * 1000;
if (clockOffsetMs) {
  const realNow = Date.now;
  Date.now = () => realNow() + clockOffsetMs;
}

// CIS2's authentication assurance levels, strongest first; a smartcard sign-in satisfies all of them.
const ACR_VALUES = ['AAL3_ANY', 'AAL2_OR_AAL3_ANY', 'AAL2_ANY'];

function clientPublicJwk() {
  if (!fs.existsSync(clientKeyFile)) {
    fs.mkdirSync(path.dirname(clientKeyFile), { recursive: true });
    const { privateKey } = crypto.generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    fs.writeFileSync(clientKeyFile, privateKey, { mode: 0o600 });
  }
  const jwk = crypto.createPublicKey(fs.readFileSync(clientKeyFile)).export({ format: 'jwk' });
  return { ...jwk, use: 'sig', alg: 'RS256' };
}

const staff = new Map(JSON.parse(fs.readFileSync(staffFile, 'utf8')).staff.map((p) => [p.uid, p]));
// The role profile chosen at each sign-in, by the grant it was made for (one grant per sign-in).
const selectedRoles = new Map();

const signingKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

function claimsFor(person, grantId) {
  const selected = selectedRoles.get(grantId);
  return {
    sub: person.uid,
    // Smartcard sign-in: the identity was verified face to face (level 3) and the card is AAL3.
    id_assurance_level: 3,
    authentication_assurance_level: 3,
    name: `${person.given_name} ${person.family_name}`,
    given_name: person.given_name,
    family_name: person.family_name,
    uid: person.uid,
    email: person.email,
    nhsid_useruid: person.uid,
    // Role profiles name their organisation by ODS code only; its name comes with associatedorgs.
    nhsid_nrbac_roles: person.roles.map(({ org_name: orgName, ...role }) => role),
    nhsid_user_orgs: [...new Map(person.roles.map((r) => [r.org_code, { org_code: r.org_code, org_name: r.org_name }])).values()],
    ...(selected ? { selected_roleid: selected } : {}),
  };
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: redirectUris.map((u) => new URL('/', u).href),
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'RS256',
    jwks: { keys: [clientPublicJwk()] },
  }],
  clientAuthMethods: ['private_key_jwt'],
  pkce: { required: () => true },
  acrValues: ACR_VALUES,
  responseTypes: ['code'],
  scopes: ['openid', 'profile', 'email', 'nhsperson', 'associatedorgs', 'nationalrbacaccess', 'selectedrole'],
  claims: {
    acr: null,
    amr: null,
    auth_time: null,
    iss: null,
    sid: null,
    openid: ['sub', 'id_assurance_level', 'authentication_assurance_level'],
    profile: ['name', 'given_name', 'family_name', 'uid'],
    email: ['email'],
    nhsperson: ['nhsid_useruid'],
    associatedorgs: ['nhsid_user_orgs'],
    nationalrbacaccess: ['nhsid_nrbac_roles'],
    selectedrole: ['selected_roleid'],
  },
  // CIS2 puts selected_roleid in the ID token, so the ID token carries the granted scopes' claims too.
  conformIdTokenClaims: false,
  async findAccount(ctx, accountId, token) {
    const person = staff.get(accountId);
    if (!person) return undefined;
    const grantId = token?.grantId || ctx.oidc?.entities?.Grant?.jti;
    return { accountId, claims: async () => claimsFor(person, grantId) };
  },
  jwks: { keys: [{ ...signingKey, use: 'sig', alg: 'RS256', kid: crypto.randomUUID() }] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    IdToken: idTokenTtl,
    Interaction: 600,
    Session: 8 * 3600,
    Grant: 8 * 3600,
  },
});
provider.proxy = false;

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, title, body, status = 200) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>${esc(title)} – CIS2 (local)</title>
<style>body{font-family:Arial,sans-serif;margin:2rem auto;max-width:40rem;color:#212b32}
h1{font-size:1.6rem}fieldset{border:0;padding:0}legend{font-weight:bold;margin-bottom:.5rem}
label{display:block;margin:.4rem 0}button{background:#007f3b;color:#fff;border:0;padding:.6rem 1.2rem;font-size:1rem}
.banner{background:#005eb8;color:#fff;padding:.6rem 1rem;margin-bottom:1rem}</style></head>
<body><div class="banner">NHS Care Identity Service 2 — local development provider (not the real CIS2)</div>
<main>${body}</main></body></html>`);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function roleLabel(role) {
  const parts = role.role_name.split(':');
  return `${parts[parts.length - 1].replace(/"/g, '')} — ${role.org_name} (${role.org_code})`;
}

async function finish(req, res, details, person, roleId) {
  const grant = new provider.Grant({ accountId: person.uid, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  if (roleId) selectedRoles.set(grantId, roleId);
  const requested = String(details.params.acr_values || '').split(' ').filter((v) => ACR_VALUES.includes(v));
  await provider.interactionFinished(req, res, {
    login: { accountId: person.uid, acr: requested[0] || ACR_VALUES[0], amr: ['sc'] },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

async function interaction(req, res, uid, step) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    const people = [...staff.values()].map((p, i) => `<label><input type="radio" name="uid" value="${esc(p.uid)}"${i === 0 ? ' checked' : ''}> ${esc(p.given_name)} ${esc(p.family_name)}</label>`).join('');
    return page(res, 'Sign in', `<h1>Sign in with your smartcard</h1>
<form method="post" action="/interaction/${esc(uid)}/login"><fieldset><legend>Whose smartcard is in the reader?</legend>${people}</fieldset>
<p><label for="passcode">Passcode</label><input id="passcode" name="passcode" type="password" autocomplete="off"></p>
<button type="submit">Continue</button></form>`);
  }
  const form = await readForm(req);
  const person = staff.get(form.get('uid') || '');
  if (!person) return page(res, 'Sign in', '<h1>Unknown smartcard</h1>', 400);
  if (step === 'login' && person.roles.length > 1) {
    const roles = person.roles.map((r, i) => `<label><input type="radio" name="role" value="${esc(r.person_roleid)}"${i === 0 ? ' checked' : ''}> ${esc(roleLabel(r))}</label>`).join('');
    return page(res, 'Select your role', `<h1>Select your role</h1>
<form method="post" action="/interaction/${esc(uid)}/role"><input type="hidden" name="uid" value="${esc(person.uid)}">
<fieldset><legend>Which role are you working in?</legend>${roles}</fieldset><button type="submit">Continue</button></form>`);
  }
  const roleId = step === 'role' ? form.get('role') : person.roles[0]?.person_roleid;
  if (roleId && !person.roles.some((r) => r.person_roleid === roleId)) return page(res, 'Select your role', '<h1>Unknown role</h1>', 400);
  return finish(req, res, details, person, roleId);
}

const handle = provider.callback();
const server = http.createServer(async (req, res) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login|role))?\/?$/.exec(new URL(req.url, issuer).pathname);
  if (!match) return handle(req, res);
  try {
    return await interaction(req, res, match[1], match[2]);
  } catch (err) {
    return page(res, 'Error', `<h1>Sign-in could not continue</h1><p>${esc(err.message)}</p>`, 400);
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(`CIS2 (local) listening on ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
