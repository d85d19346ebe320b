import { accept, type Outcome, refuse } from './outcome.js';
import { DOMAIN, DOMAIN_MAX_LENGTH, HAS_SCHEME, HOST_OF, URL, URL_MAX_LENGTH } from './patterns.js';
import { trimValue } from './text.js';

const HOST = new RegExp(HOST_OF);
const DOMAIN_PATTERN = new RegExp(DOMAIN);
const SCHEME = new RegExp(HAS_SCHEME);
const URL_PATTERN = new RegExp(URL);

/**
 * The domain a URL or bare domain names (`https://www.Acme.fr/x` → `acme.fr`), or undefined when
 * it is not a plausible DNS name.
 */
export function hostOf(raw: string): string | undefined {
  const host = HOST.exec(trimValue(raw))?.[1]?.toLowerCase();
  return host && host.length <= DOMAIN_MAX_LENGTH && DOMAIN_PATTERN.test(host) ? host : undefined;
}

/** A company domain, stored lower case without scheme, path or `www.`. */
export function domain(raw: string): Outcome {
  const host = hostOf(raw);
  return host ? accept(host) : refuse('invalid_domain', 'This is not a domain name (e.g. acme.fr).');
}

/** An http(s) URL with a real host and no credentials; `acme.fr` is stored as `https://acme.fr`. */
export function url(raw: string): Outcome {
  const value = trimValue(raw);
  const withScheme = SCHEME.test(value) ? value : `https://${value}`;
  if (withScheme.length > URL_MAX_LENGTH || !URL_PATTERN.test(withScheme))
    return refuse('invalid_url', 'This is not an http(s) URL with a public host name.');
  return accept(withScheme);
}
