import { generate } from 'selfsigned';

let cached: { key: string; cert: string } | undefined;

/** A self-signed certificate for 127.0.0.1 and localhost, made once per test file. */
export function selfSignedCertificate(): { key: string; cert: string } {
  cached ??= (() => {
    const pems = generate([{ name: 'commonName', value: '127.0.0.1' }], {
      days: 1,
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    });
    return { key: pems.private, cert: pems.cert };
  })();
  return cached;
}
