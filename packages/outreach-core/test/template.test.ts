import { describe, expect, it } from 'vitest';
import { render, TemplateError, unknownVariables } from '../src/index.js';

describe('templates', () => {
  it('renders known variables and fallbacks', () => {
    expect(
      render('Hi {{ person.first_name }} at {{company.name}}, {{position.title | "friend"}}', {
        'person.first_name': 'Ada',
        'company.name': 'Acme',
      }),
    ).toBe('Hi Ada at Acme, friend');
  });
  it('refuses a missing value instead of rendering "Hello ,"', () => {
    expect(() => render('Hello {{person.first_name}},', { 'person.first_name': '  ' })).toThrow(
      TemplateError,
    );
    expect(() => render('Hello {{person.first_name}},', {})).toThrow(
      /missing values for template variables: person.first_name/,
    );
  });
  it('lists unknown and malformed variables (rejected at save)', () => {
    expect(unknownVariables('{{person.first_name}} {{person.age}} {{ company.nme }}')).toEqual([
      'person.age',
      'company.nme',
    ]);
    expect(unknownVariables('Hi {{person.first_name')).toEqual(['(malformed tag)']);
    expect(unknownVariables('Plain text')).toEqual([]);
  });
});
