/**
 * The patterns every rule is built on, written once in the regex dialect JavaScript and
 * PostgreSQL share (no lookbehind, no named groups): the TypeScript rules compile them with
 * `new RegExp`, the SQL rules (sql.ts) quote them into expressions.
 */

/** Separators people type inside identifiers (spaces, non-breaking spaces, dots, hyphens). */
export const IDENTIFIER_SEPARATORS = '[ \\t\\n\\r\\u00a0\\u2007\\u202f.-]';

/** NAF/APE code once separators are gone and letters upper-cased: `6201Z` → `62.01Z`. */
export const NAF_DIGITS = '^([0-9]{2})([0-9]{2})([A-Z])$';

/** A DNS name with at least one dot, lower case (labels of letters, digits and inner hyphens). */
export const DOMAIN = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$';
export const DOMAIN_MAX_LENGTH = 253;

/**
 * The host of a URL or bare domain: optional scheme, optional credentials and `www.` dropped;
 * group 1 is the host (matched case-insensitively, lower-cased by the rule).
 */
export const HOST_OF =
  '^(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?:[^@/?#]*@)?(?:[Ww][Ww][Ww]\\.)?([^/:?# \\t\\n\\r\\f\\v\\u00a0]+)';

/** A value that already names its scheme (`ftp:`, `mailto:`, `https:`). */
export const HAS_SCHEME = '^[A-Za-z][A-Za-z0-9+.-]*:';

/** An http(s) URL: host with a dot, optional port, optional path/query/fragment, no spaces or credentials. */
export const URL =
  '^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+(:[0-9]{1,5})?([/?#][^ \\t\\n\\r\\f\\v\\u00a0]*)?$';
export const URL_MAX_LENGTH = 2048;

/**
 * An email address once trimmed and lower-cased: ajv-formats' `email` format (the one the API's
 * JSON schema applies), so the JSON door and the import doors accept the same addresses.
 */
export const EMAIL =
  "^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z0-9]([a-z0-9-]*[a-z0-9])?$";
export const EMAIL_MAX_LENGTH = 254;

/**
 * Whitespace trimmed from every value: exactly what `String#trim` removes (the SQLite import reads
 * text with it), given to the SQL `btrim` too, so an em space or a narrow no-break space pasted at
 * the end of a cell is trimmed by every door, not accepted by one and refused by another.
 */
export const TRIMMED =
  '\t\n\u000b\u000c\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';
