import { signInbound } from '../../src/routes/v1/inbound/index.js';

/** A POST /v1/inbound request for inject, signed the way the mail provider signs it. */
export function signedInbound(body: object, secret: string) {
  const raw = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    method: 'POST' as const,
    url: '/v1/inbound',
    payload: raw,
    headers: {
      'content-type': 'application/json',
      'x-prospectflow-timestamp': timestamp,
      'x-prospectflow-signature': signInbound(secret, timestamp, raw),
    },
  };
}
