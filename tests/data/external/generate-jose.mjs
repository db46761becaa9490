// Generate tests/data/external/cases-jose.json: Ed25519 tokens made by panva's
// `jose` (npm), which signs with the fully-specified algorithm name `Ed25519`
// of RFC 9864 as well as with `EdDSA`.
//
// Every case names the configuration it is verified with, the token, the time
// of verification and the outcome that CONTRACT.md prescribes (sections 1
// `algorithms`, 2 and 3). The expectations are written by hand from the
// contract; they are never taken from jwt-sso itself.
//
//     cd "$(mktemp -d)" && npm install jose@6
//     NODE_PATH="$PWD/node_modules" node /path/to/tests/data/external/generate-jose.mjs
//
// (jose is installed in a temporary directory, never committed.) Ed25519
// signatures are deterministic, so regenerating rewrites the file unchanged
// except for the two cases signed with a key generated at run time.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// NODE_PATH is honoured by require, not by ESM imports.
const require = createRequire(path.join(process.env.NODE_PATH ?? process.cwd(), 'x.js'));
const jose = require('jose');
const joseVersion = require('jose/package.json').version;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const KEYS = path.join(HERE, '..', 'keys');
const OUT = path.join(HERE, 'cases-jose.json');
const MADE_BY = `jose ${joseVersion} (npm, Node.js ${process.version})`;

// 2026-01-01T00:00:00Z, as in generate.py.
const T0 = 1767225600;
const E = 3600;
const L = 60;
const ISS = 'https://idp.example.com';
const AUD = 'bi-server';
const NOW = T0 + 100;

const read = (name) => fs.readFileSync(path.join(KEYS, name), 'utf8');
const PRIVATE_PEM = read('ed25519_private.pem');
const PUBLIC_PEM = read('ed25519_public.pem');

function config(algorithms, keySource, overrides = {}) {
  return {
    name: 'external',
    token_name: 'token',
    issuer: ISS,
    audience: AUD,
    algorithms,
    key_source: keySource,
    expiration_time: E,
    claims: { user_id: 'loginname' },
    ...overrides,
  };
}

const staticPem = (pem) => ({ type: 'static', public_key_pem: pem });
const jwks = (...keys) => ({ type: 'jwks', jwks: { keys } });

function claims(overrides = {}) {
  return { iss: ISS, aud: AUD, loginname: 'jdoe', iat: T0, exp: T0 + E, ...overrides };
}

const ok = (more = {}) => ({ ok: true, user_id: 'jdoe', expires_at: T0 + E, ...more });
const err = (kind) => ({ ok: false, kind });

const CASES = [];
function add(name, cfg, token, expect, { now = NOW, note } = {}) {
  if (CASES.some((c) => c.name === name)) throw new Error(`duplicate case ${name}`);
  const c = { name: `jose/${name}`, made_by: MADE_BY };
  if (note) c.note = note;
  Object.assign(c, { config: cfg, token, now, expect });
  CASES.push(c);
}

async function sign(alg, key, body, header = {}) {
  return new jose.SignJWT(body).setProtectedHeader({ alg, ...header }).sign(key);
}

const ed25519Key = await jose.importPKCS8(PRIVATE_PEM, 'Ed25519');
const eddsaKey = await jose.importPKCS8(PRIVATE_PEM, 'EdDSA');
const publicJwk = await jose.exportJWK(await jose.importSPKI(PUBLIC_PEM, 'Ed25519', { extractable: true }));
const other = await jose.generateKeyPair('Ed25519', { extractable: true });
const otherJwk = await jose.exportJWK(other.publicKey);

const ed = (body, header) => sign('Ed25519', ed25519Key, body, header);
const eddsa = (body, header) => sign('EdDSA', eddsaKey, body, header);

// Accepted: `Ed25519` tokens where the configuration allows that name.
add('ed25519_static_ok', config(['Ed25519'], staticPem(PUBLIC_PEM)), await ed(claims()), ok());
add('ed25519_with_both_names_allowed_ok', config(['EdDSA', 'Ed25519'], staticPem(PUBLIC_PEM)),
  await ed(claims()), ok());
add('ed25519_access_token_header_ok', config(['Ed25519'], staticPem(PUBLIC_PEM)),
  await ed(claims(), { typ: 'at+jwt', kid: 'ed-1' }), ok(),
  { note: 'the header of issue 27: {"alg":"Ed25519","typ":"at+jwt","kid":"ed-1"}; a static key ignores kid' });
add('eddsa_static_ok', config(['EdDSA'], staticPem(PUBLIC_PEM)), await eddsa(claims()), ok(),
  { note: 'the same key signing under the older name' });
add('ed25519_jwks_pinned_ok',
  config(['Ed25519'], jwks({ ...publicJwk, kid: 'ed-1', use: 'sig', alg: 'Ed25519' })),
  await ed(claims(), { kid: 'ed-1' }), ok());
add('ed25519_jwks_unpinned_ok',
  config(['EdDSA', 'Ed25519'], jwks({ ...publicJwk, kid: 'ed-1' })),
  await ed(claims(), { kid: 'ed-1' }), ok(),
  { note: 'a JWK without alg fits both names of Ed25519 signatures' });
add('eddsa_jwks_unpinned_ok',
  config(['EdDSA', 'Ed25519'], jwks({ ...publicJwk, kid: 'ed-1' })),
  await eddsa(claims(), { kid: 'ed-1' }), ok());

// `EdDSA` versus `Ed25519`: each name is matched as written (CONTRACT section 1).
add('ed25519_token_eddsa_config', config(['EdDSA'], staticPem(PUBLIC_PEM)),
  await ed(claims()), err('algorithm_not_allowed'),
  { note: 'the token says Ed25519; only EdDSA is allowed (step 4, before any key)' });
add('eddsa_token_ed25519_config', config(['Ed25519'], staticPem(PUBLIC_PEM)),
  await eddsa(claims()), err('algorithm_not_allowed'));
add('ed25519_token_jwk_pinned_to_eddsa',
  config(['EdDSA', 'Ed25519'], jwks({ ...publicJwk, kid: 'ed-1', alg: 'EdDSA' })),
  await ed(claims(), { kid: 'ed-1' }), err('key_not_found'),
  { note: 'a JWK whose alg is EdDSA is pinned to that name (step 6)' });
add('eddsa_token_jwk_pinned_to_ed25519',
  config(['EdDSA', 'Ed25519'], jwks({ ...publicJwk, kid: 'ed-1', alg: 'Ed25519' })),
  await eddsa(claims(), { kid: 'ed-1' }), err('key_not_found'));

// Wrong keys.
add('ed25519_wrong_key', config(['Ed25519'], staticPem(PUBLIC_PEM)),
  await sign('Ed25519', other.privateKey, claims()), err('invalid_signature'),
  { note: 'signed with a key generated at run time' });
add('ed25519_jwks_wrong_key_same_kid',
  config(['Ed25519'], jwks({ ...otherJwk, kid: 'ed-1' })),
  await ed(claims(), { kid: 'ed-1' }), err('invalid_signature'),
  { note: 'the set holds a run-time key under the token\'s kid' });
add('ed25519_tampered_payload', config(['Ed25519'], staticPem(PUBLIC_PEM)),
  await (async () => {
    const [h, , s] = (await ed(claims())).split('.');
    const forged = Buffer.from(JSON.stringify(claims({ loginname: 'admin' }))).toString('base64url');
    return `${h}.${forged}.${s}`;
  })(), err('invalid_signature'));

// The rest of the pipeline applies as for any algorithm.
add('ed25519_expired', config(['Ed25519'], staticPem(PUBLIC_PEM)),
  await ed(claims()), err('expired'), { now: T0 + E + L });
add('ed25519_audience_mismatch', config(['Ed25519'], staticPem(PUBLIC_PEM)),
  await ed(claims({ aud: 'another-server' })), err('audience_mismatch'));
add('ed25519_config_with_p256_key',
  config(['Ed25519'], staticPem(read('p256_public.pem'))),
  await ed(claims()), err('config'),
  { note: 'every allowed algorithm must fit the key (section 1)' });

fs.writeFileSync(OUT, `${JSON.stringify(CASES, null, 1)}\n`);
console.log(`wrote ${CASES.length} cases to ${OUT} (${MADE_BY})`);
