export {
  isOAuth,
  type MailboxProvider,
  type MailboxSecrets,
  type ServerColumns,
  type ServerEndpoint,
  type ServerSecurity,
  serverFromColumns,
} from './account.js';
export {
  classifyInbound,
  DELIVERY_STATUS_TYPES,
  type DeliveryReport,
  type DsnRecipient,
  deliveryStatusInText,
  type Headers,
  type InboundClass,
  type InboundParts,
  isDeliveryReport,
  parseDeliveryStatus,
  RETURNED_MESSAGE_TYPES,
  returnedMessageId,
  singleRecipientReport,
} from './classify.js';
export {
  checkDomainProof,
  type DkimKey,
  type DnsOptions,
  generateDkimKey,
  newProofToken,
  normaliseDomain,
  PROOF_PREFIX,
  PROOF_VALUE_PREFIX,
  type ProofResult,
  proofRecord,
  resolverFor,
} from './domains.js';
export {
  dnsServersResolve,
  guardHost,
  guardServer,
  type HostGuardOptions,
  type HostRefusal,
  HostRefusedError,
  parseAllowList,
} from './host-guard.js';
export { type MailNetwork, mailNetworkEnv, mailNetworkFromEnv } from './network-env.js';
export {
  consentUrl,
  newConsentSecrets,
  OAuthCodeRefused,
  redeemAuthorizationCode,
} from './oauth-consent.js';
export {
  CONSENT_SCOPES,
  DEFAULT_AUTHORIZE_URLS,
  DEFAULT_TOKEN_URLS,
  type OAuthClient,
  OAuthClientRefused,
  type OAuthProvider,
  OAuthReauthRequired,
  OAuthTemporaryFailure,
  OAuthTokenCache,
  type OAuthTokenCacheOptions,
  oauthClientEnv,
  oauthClientsFromEnv,
  type TokenRequest,
  xoauth2,
} from './oauth-tokens.js';
export {
  dkimSecretBinding,
  mailboxSecretBinding,
  SECRET_PURPOSE,
  type SecretPurpose,
  secretBinding,
} from './secret-bindings.js';
