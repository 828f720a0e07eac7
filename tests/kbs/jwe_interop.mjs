// jwe_interop: checks sealbox's JWEs with an independent JOSE implementation (jose) and makes
// JWEs with it for sealbox to open. Usage: node jwe_interop.mjs DIR
// DIR holds, per case NAME: NAME.pem (PKCS#8 private key), NAME.jwe (sealbox's flattened JWE),
// NAME.txt (the plaintext). For each case this writes NAME.jose.jwe, encrypted by jose to the
// same key with the same algorithms, for sealbox to decrypt.
import * as jose from 'jose';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
let failures = 0, cases = 0;
for (const f of readdirSync(dir).filter((n) => n.endsWith('.pem')).sort()) {
  const name = f.slice(0, -4);
  cases++;
  try {
    const jwe = JSON.parse(readFileSync(join(dir, `${name}.jwe`), 'utf8'));
    const want = readFileSync(join(dir, `${name}.txt`));
    const hdr = jose.decodeProtectedHeader(jwe);
    if (hdr.enc !== 'A256GCM') throw new Error(`enc ${hdr.enc}`);
    if (jwe.header || jwe.unprotected) throw new Error('unprotected header present');
    if (hdr.alg === 'ECDH-ES+A256KW' && !hdr.epk) throw new Error('epk is not in the protected header');
    const key = await jose.importPKCS8(readFileSync(join(dir, f), 'utf8'), hdr.alg);
    const { plaintext } = await jose.flattenedDecrypt(jwe, key, {
      keyManagementAlgorithms: ['ECDH-ES+A256KW', 'RSA-OAEP-256'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    if (Buffer.compare(Buffer.from(plaintext), want) !== 0) throw new Error('plaintext differs');
    // Now the other way: jose encrypts to the public half of the same key.
    const pub = await jose.importJWK(
      Object.fromEntries(Object.entries(await jose.exportJWK(await jose.importPKCS8(
        readFileSync(join(dir, f), 'utf8'), hdr.alg, { extractable: true })))
        .filter(([k]) => !['d', 'p', 'q', 'dp', 'dq', 'qi'].includes(k))),
      hdr.alg);
    const out = await new jose.FlattenedEncrypt(want)
      .setProtectedHeader({ alg: hdr.alg, enc: 'A256GCM' })
      .encrypt(pub);
    writeFileSync(join(dir, `${name}.jose.jwe`), JSON.stringify(out));
    console.log(`ok     ${name} (${hdr.alg})`);
  } catch (e) {
    failures++;
    console.log(`FAIL   ${name}: ${e.message}`);
  }
}
console.log(`${cases} cases, ${failures} failed`);
process.exit(failures || cases === 0 ? 1 : 0);
