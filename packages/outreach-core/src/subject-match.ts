import { createHmac } from 'node:crypto';
import type { SubjectKey } from './subject-hash.js';

/**
 * What belongs to a data subject, the JavaScript side of app.subject_owns (migration 1005): the
 * same address pattern and word split, for the places that only hold keyed hashes (the legacy
 * importer's refusal of erased people). Keep the two in step.
 */
const ADDRESS = /[^\s"(),:;<>@[\]\\]+@[^\s"(),:;<>@[\]\\]+\.[^\s"(),:;<>@[\]\\]+/gu;
const ADDRESS_TRIM = /^['`.]+|['`.]+$/gu;
const NAME_SEPARATORS = /[\s!"#$%&()*+,./:;<=>?[\\\]^`{|}~«»“”„…–—]+/u;

/** The addresses in a text: NFC, lower case, non-ASCII included (app.emails_in). */
export function emailsIn(text: string): string[] {
  const found = text.normalize('NFC').toLowerCase().match(ADDRESS) ?? [];
  return [...new Set(found.map((e) => e.replace(ADDRESS_TRIM, '')))];
}

/**
 * A text's words, NFC and lower case (app.name_words): letters of any script, digits, - ' ’ _ @
 * belong to words; spaces and other punctuation separate them.
 */
export function nameWords(text: string): string[] {
  return text
    .normalize('NFC')
    .toLowerCase()
    .split(NAME_SEPARATORS)
    .filter((w) => w.length > 0);
}

/** A full name as matched and hashed ("zoé quillardet"); null under two words (not a full name). */
export function normaliseSubjectName(name: string): string | null {
  const words = nameWords(name);
  return words.length >= 2 ? words.join(' ') : null;
}

/** Keyed hash of a normalised full name (domain-separated from the address hashes). */
export function subjectNameHmac(normalisedName: string, key: SubjectKey): Buffer {
  return createHmac('sha256', key.key).update(`name:${normalisedName}`, 'utf8').digest();
}
