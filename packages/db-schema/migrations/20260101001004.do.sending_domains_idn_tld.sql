-- Sending domains under an internationalised top-level domain (.рф is xn--p1ai, .中国 xn--fiqs8s).
--
-- The domain check (0840) required a last label of letters only, so a domain under a punycode TLD
-- (an A-label, RFC 5890) could not be proved. The last label may now also be an A-label; every
-- other rule is unchanged (lower case, LDH labels of 1-63 characters, no leading or trailing
-- hyphen). @prospectflow/mailboxes' normaliseDomain accepts the same names.
ALTER TABLE outreach.sending_domains DROP CONSTRAINT sending_domains_domain_check;
ALTER TABLE outreach.sending_domains ADD CONSTRAINT sending_domains_domain_check
  CHECK (domain ~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59}[a-z0-9])$');
