import {
  CognitoJwtInvalidClientIdError,
  CognitoJwtInvalidTokenUseError,
  FetchError,
  JwkInvalidKtyError,
  JwkInvalidUseError,
  JwksNotAvailableInCacheError,
  JwksValidationError,
  JwkValidationError,
  JwtBaseError,
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtParseError,
  JwtWithoutValidKidError,
  KidNotFoundInJwksError,
  ParameterValidationError,
  WaitPeriodNotYetEndedJwkError,
} from 'aws-jwt-verify/error';
import { AuthError } from './errors.js';

/**
 * Maps whatever `verify()` threw to an AuthError. Token faults → 401; key-set or network trouble,
 * and anything that is not an aws-jwt-verify error → 503, so a failure never turns into a 200.
 * Library messages stay in `cause` (logged), never in the body.
 */
export function mapVerificationError(error: unknown, retryAfterSeconds: number): AuthError {
  if (error instanceof AuthError) return error;
  const cause = { cause: error };
  if (error instanceof JwtExpiredError)
    return new AuthError('token_expired', 'The token has expired.', cause);
  if (error instanceof JwtNotBeforeError)
    return new AuthError('token_not_yet_valid', 'The token is not valid yet.', cause);
  if (error instanceof JwtInvalidIssuerError)
    return new AuthError('token_wrong_issuer', 'The token comes from an unexpected issuer.', cause);
  // At request time a ParameterValidationError means the token's `iss` is missing or not configured.
  if (error instanceof ParameterValidationError)
    return new AuthError('token_wrong_issuer', 'The token comes from an unexpected issuer.', cause);
  if (error instanceof CognitoJwtInvalidClientIdError || error instanceof JwtInvalidAudienceError) {
    return new AuthError('token_wrong_client', 'The token was issued to another client.', cause);
  }
  if (error instanceof CognitoJwtInvalidTokenUseError)
    return new AuthError('token_wrong_use', 'This kind of token is not accepted here.', cause);
  if (
    error instanceof KidNotFoundInJwksError ||
    error instanceof WaitPeriodNotYetEndedJwkError ||
    error instanceof JwtWithoutValidKidError
  ) {
    return new AuthError('token_unknown_key', 'The token is signed by an unknown key.', cause);
  }
  if (
    error instanceof JwtInvalidSignatureError ||
    error instanceof JwtInvalidSignatureAlgorithmError ||
    error instanceof JwkInvalidUseError ||
    error instanceof JwkInvalidKtyError
  ) {
    return new AuthError('token_invalid_signature', 'The token signature is invalid.', cause);
  }
  if (error instanceof JwtParseError)
    return new AuthError('token_malformed', 'The token is not a valid JWT.', cause);
  if (
    error instanceof FetchError ||
    error instanceof JwksValidationError ||
    error instanceof JwkValidationError ||
    error instanceof JwksNotAvailableInCacheError
  ) {
    return new AuthError('jwks_unavailable', 'Signing keys cannot be loaded right now; retry shortly.', {
      cause: error,
      retryAfterSeconds,
    });
  }
  // Other library errors (groups, scope, unsupported algorithms…) are still token faults.
  if (error instanceof JwtBaseError) return new AuthError('token_invalid', 'The token is not valid.', cause);
  return new AuthError('jwks_unavailable', 'Signing keys cannot be loaded right now; retry shortly.', {
    cause: error,
    retryAfterSeconds,
  });
}
