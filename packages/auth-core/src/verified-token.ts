/** The claims auth-core relies on, lifted out of a verified Cognito token. */
export interface VerifiedToken {
  sub: string;
  userPoolId: string;
  issuer: string;
  tokenUse: 'id' | 'access';
  /** `client_id` of an access token, `aud` of an ID token. */
  clientId: string;
  /** `username` (access) or `cognito:username` (ID). */
  username: string | undefined;
  groups: string[];
  /** ID tokens only. */
  email: string | undefined;
  emailVerified: boolean;
  givenName: string | undefined;
  familyName: string | undefined;
  /** `exp`, epoch seconds. */
  expiresAt: number;
  claims: Readonly<Record<string, unknown>>;
}

/**
 * The compact JWT each verified token came from, kept off the object itself (so logging a token
 * never logs the bearer secret). auth-core needs it only to call the userInfo endpoint.
 */
const rawTokens = new WeakMap<VerifiedToken, string>();

/** Remembers the compact JWT `token` was verified from (the verifier calls this). */
export function withRawToken(token: VerifiedToken, raw: string): VerifiedToken {
  rawTokens.set(token, raw);
  return token;
}

/** The compact JWT `token` was verified from, when the verifier recorded it. */
export function rawTokenOf(token: VerifiedToken): string | undefined {
  return rawTokens.get(token);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function toVerifiedToken(claims: Record<string, unknown>): VerifiedToken {
  const issuer = String(claims.iss);
  const tokenUse = claims.token_use === 'id' ? 'id' : 'access';
  const groups = Array.isArray(claims['cognito:groups'])
    ? claims['cognito:groups'].filter((group): group is string => typeof group === 'string')
    : [];
  return {
    sub: claims.sub as string,
    userPoolId: issuer.slice(issuer.lastIndexOf('/') + 1),
    issuer,
    tokenUse,
    clientId: String(tokenUse === 'id' ? claims.aud : claims.client_id),
    username: optionalString(tokenUse === 'id' ? claims['cognito:username'] : claims.username),
    groups,
    email: tokenUse === 'id' ? optionalString(claims.email) : undefined,
    emailVerified: claims.email_verified === true || claims.email_verified === 'true',
    givenName: tokenUse === 'id' ? optionalString(claims.given_name) : undefined,
    familyName: tokenUse === 'id' ? optionalString(claims.family_name) : undefined,
    expiresAt: claims.exp as number,
    claims: Object.freeze({ ...claims }),
  };
}
