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
