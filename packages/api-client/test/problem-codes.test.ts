import type { ErrorCode } from '@prospectflow/contracts';
import { describe, expect, it } from 'vitest';
import type { components } from '../generated/api.js';

type Problem = components['schemas']['Problem'];

/** True only when A and B are the same union (checked by the compiler: `pnpm typecheck`). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameCodes: Same<Problem['code'], ErrorCode> = true;

describe('problem codes', () => {
  it("types a problem's code as the union of @prospectflow/contracts codes, so a misspelt one does not compile", () => {
    expect(sameCodes).toBe(true);
    const isReadOnly = (problem: Problem) =>
      // @ts-expect-error — 'insufficent_role' is no code: the comparison cannot be true
      problem.code === 'insufficent_role' || problem.code === 'insufficient_role';
    expect(isReadOnly({ type: 't', title: 't', status: 403, detail: 'd', code: 'insufficient_role' })).toBe(
      true,
    );
  });
});
