import { describe, expect, it } from 'vitest';
import {
  loadSubjectKeys,
  subjectHmac,
  subjectHmacs,
  unknownNoticeVariables,
  usesVariable,
} from '../src/index.js';

const key = (byte: number) => Buffer.alloc(32, byte).toString('base64');

describe('subject hashes', () => {
  it('hash the normalised address with the key, so case and spaces do not matter', () => {
    const keys = loadSubjectKeys({ PRIVACY_HMAC_KEYS: `1:${key(1)}` });
    const a = subjectHmac(' Zoe.Martin@Example.COM ', keys.current);
    expect(a).toHaveLength(32);
    expect(a.equals(subjectHmac('zoe.martin@example.com', keys.current))).toBe(true);
    const other = loadSubjectKeys({ PRIVACY_HMAC_KEYS: `1:${key(2)}` });
    expect(a.equals(subjectHmac('zoe.martin@example.com', other.current))).toBe(false);
  });

  it('write with the highest version and look up with every version', () => {
    const keys = loadSubjectKeys({ PRIVACY_HMAC_KEYS: `1:${key(1)}, 2:${key(2)}` });
    expect(keys.current.version).toBe(2);
    expect(subjectHmacs('a@b.fr', keys).map((h) => h.version)).toEqual([1, 2]);
  });

  it('refuse short keys, malformed entries, duplicates, and a missing key in production', () => {
    expect(() => loadSubjectKeys({ PRIVACY_HMAC_KEYS: `1:${Buffer.alloc(16).toString('base64')}` })).toThrow(
      /32 bytes/,
    );
    expect(() => loadSubjectKeys({ PRIVACY_HMAC_KEYS: 'nonsense' })).toThrow(/version:base64key/);
    expect(() => loadSubjectKeys({ PRIVACY_HMAC_KEYS: `1:${key(1)},1:${key(2)}` })).toThrow(/twice/);
    expect(() => loadSubjectKeys({ NODE_ENV: 'production' })).toThrow(/required in production/);
    expect(loadSubjectKeys({ NODE_ENV: 'test' }).current.version).toBe(1);
  });

  it('refuse the published development key in production, even when set explicitly', () => {
    // The key development falls back to is in this repository: anyone could recompute the hashes.
    const dev = loadSubjectKeys({ NODE_ENV: 'development' }).current.key.toString('base64');
    const published = [`1:${dev}`, `2:${key(1)},3:${dev}`, ` 1 : ${dev.replace(/=+$/, '')} `];
    for (const value of published) {
      expect(() => loadSubjectKeys({ NODE_ENV: 'production', PRIVACY_HMAC_KEYS: value }), value).toThrow(
        /published development key/,
      );
      expect(loadSubjectKeys({ NODE_ENV: 'test', PRIVACY_HMAC_KEYS: value }).all.length).toBeGreaterThan(0);
    }
    expect(
      loadSubjectKeys({ NODE_ENV: 'production', PRIVACY_HMAC_KEYS: `1:${key(1)}` }).current.version,
    ).toBe(1);
  });
});

describe('privacy template variables', () => {
  it('a notice may use the source but not embed itself', () => {
    expect(unknownNoticeVariables('Source: {{privacy.source}} {{privacy.notice_url}}')).toEqual([]);
    expect(unknownNoticeVariables('{{privacy.notice}}')).toEqual(['privacy.notice']);
    expect(usesVariable('Hi\n{{ privacy.notice }}', 'privacy.notice')).toBe(true);
    expect(usesVariable('Hi {{person.first_name}}', 'privacy.notice')).toBe(false);
  });
});
