import { describe, expect, it } from 'vitest';
import { answeredMessageIds, contentMessageId, messageIdsIn, normaliseMessageId } from '../src/index.js';

// outreach.messages.message_id_header CHECK: ^<[^<>\s]+>$ — every id the inbound path stores must pass it.
const STORABLE = /^<[^<>\s]+>$/;

describe('inbound Message-IDs', () => {
  it.each([
    ['<a@x.test>', '<a@x.test>'],
    ['  <a@x.test> (comment)', '<a@x.test>'],
    ['a@x.test', '<a@x.test>'],
    [' a@x.test ', '<a@x.test>'],
    ['not an id', undefined],
    ['a b@x.test', undefined],
    ['', undefined],
    [undefined, undefined],
    [`<${'a'.repeat(1000)}@x.test>`, undefined],
  ])('%j → %j', (value, expected) => {
    const id = normaliseMessageId(value);
    expect(id).toBe(expected);
    if (id) expect(id).toMatch(STORABLE);
  });

  it('collects the ids of header values, bracketed or bare, deduplicated and bounded', () => {
    expect(messageIdsIn(['<a@x> <b@x>', 'c@x', null, '<a@x>', 'junk'])).toEqual(['<a@x>', '<b@x>', '<c@x>']);
    expect(messageIdsIn(Array.from({ length: 80 }, (_, i) => `<m${i}@x>`))).toHaveLength(50);
  });

  it('derives the same storable id from the same content, another from other content', () => {
    const content = ['amy@p.test', 'sales@acme.test', 'Re: Hi', '<m1@acme.test>', ['<m1@acme.test>'], 'Yes'];
    const id = contentMessageId(content);
    expect(id).toMatch(STORABLE);
    expect(contentMessageId([...content])).toBe(id);
    expect(contentMessageId([...content.slice(0, 5), 'No'])).not.toBe(id);
    expect(contentMessageId([null, 'x'])).not.toBe(contentMessageId(['x', null]));
  });

  it('answeredMessageIds: In-Reply-To, then References last first, the end of a long chain kept', () => {
    expect(answeredMessageIds('<p@x>', ['<root@x> <mid@x>', '<p@x>'])).toEqual([
      '<p@x>',
      '<mid@x>',
      '<root@x>',
    ]);
    expect(answeredMessageIds(undefined, ['<root@x> <mid@x> <p@x>'])).toEqual([
      '<p@x>',
      '<mid@x>',
      '<root@x>',
    ]);
    const chain = Array.from({ length: 80 }, (_, i) => `<m${i}@x>`);
    expect(answeredMessageIds(null, [chain.join(' ')])[0]).toBe('<m79@x>');
  });
});
