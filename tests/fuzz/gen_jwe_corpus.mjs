// gen_jwe_corpus: writes the seeds of fuzz_jwe (tests/fuzz/corpus/jwe) — JWEs made by jose to
// the fuzz target's fixed key, broken variants of them, and TEE public keys of each kind.
// Run from anywhere: node tests/fuzz/gen_jwe_corpus.mjs (uses tests/kbs/node_modules).
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const jose = await import(createRequire(join(here, '../kbs/package.json')).resolve('jose'));
const out = join(here, 'corpus/jwe');
mkdirSync(out, { recursive: true });
const pem = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgayRpt1oFyN4IkElj
Ctea2m5Gt+JKPBWyU1YEdsFWqs6hRANCAAQqZx+eTR95+XstToNsyENTAbg1xPft
RxmIs+xATe7Eg4ty7Pyis4cr7WKmjzfpih9XBGI0nA2nTUyt842IULeT
-----END PRIVATE KEY-----`;
const priv = await jose.importPKCS8(pem, 'ECDH-ES+A256KW', { extractable: true });
const { d, ...pubjwk } = await jose.exportJWK(priv);
const pub = await jose.importJWK(pubjwk, 'ECDH-ES+A256KW');
const put = (name, v) => writeFileSync(join(out, name), typeof v === 'string' ? v : JSON.stringify(v));
const enc = async (pt) => new jose.FlattenedEncrypt(new TextEncoder().encode(pt))
  .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' }).encrypt(pub);
const good = await enc('seed plaintext');
put('ecdh-good', good);
put('ecdh-empty', await enc(''));
put('bad-tag', { ...good, tag: 'AAAAAAAAAAAAAAAAAAAAAA' });
put('bad-iv-len', { ...good, iv: 'AAAA' });
put('no-epk', { ...good, protected: Buffer.from('{"alg":"ECDH-ES+A256KW","enc":"A256GCM"}').toString('base64url') });
put('rsa15', { ...good, protected: Buffer.from('{"alg":"RSA1_5","enc":"A256GCM"}').toString('base64url') });
put('with-aad', { ...good, aad: 'AAAA' });
put('unprotected', { ...good, unprotected: {} });
put('header-not-json', { ...good, protected: 'e30x' });
put('tee-ec', { ...pubjwk, alg: 'ECDH-ES+A256KW' });
put('tee-ec-no-alg', pubjwk);
const rsa = await jose.generateKeyPair('RSA-OAEP-256', { modulusLength: 2048, extractable: true });
const { d: _d, p, q, dp, dq, qi, ...rsapub } = await jose.exportJWK(rsa.privateKey);
put('tee-rsa', { ...rsapub, alg: 'RSA-OAEP-256' });
put('tee-rsa15', { ...rsapub, alg: 'RSA1_5' });
console.log(`wrote seeds to ${out}`);
