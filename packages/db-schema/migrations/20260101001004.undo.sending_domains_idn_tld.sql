-- Undo of 1004: letters-only top-level domains again (0840's check). NOT VALID keeps domains proved
-- meanwhile under a punycode TLD; new ones are refused.
ALTER TABLE outreach.sending_domains DROP CONSTRAINT sending_domains_domain_check;
ALTER TABLE outreach.sending_domains ADD CONSTRAINT sending_domains_domain_check
  CHECK (domain ~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$') NOT VALID;
