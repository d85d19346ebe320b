import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  AUTH_ERROR_CODES,
  AUTH_ERRORS,
  type AuthProblem,
  ERRORS,
  type ErrorCode,
  type ErrorCodeWithStatus,
  errorStatus,
  hasRole,
  IDENTITY_ERRORS,
  IMPORT_ERRORS,
  isErrorCode,
  isRole,
  OUTREACH_ERRORS,
  problemBody,
  problemType,
  RECORD_ERRORS,
  REQUEST_ERRORS,
  RESOURCE_ERRORS,
  ROLES_BY_RANK,
  type Role,
  WEBHOOK_ERRORS,
} from '../src/index.js';

const packageDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

describe('@prospectflow/contracts', () => {
  it('ranks roles viewer < member < admin < owner', () => {
    expect(ROLES_BY_RANK).toEqual(['viewer', 'member', 'admin', 'owner']);
    expect(hasRole('admin', 'member')).toBe(true);
    expect(hasRole('member', 'admin')).toBe(false);
    expect(isRole('owner')).toBe(true);
    expect(isRole('root')).toBe(false);
    expectTypeOf<Role>().toEqualTypeOf<'viewer' | 'member' | 'admin' | 'owner'>();
  });

  it('gives every error code one HTTP status, typed per code', () => {
    expect(errorStatus('not_a_member')).toBe(403);
    expect(errorStatus('rate_limited')).toBe(429);
    expectTypeOf(errorStatus('token_expired')).toEqualTypeOf<401>();
    expect(AUTH_ERROR_CODES).toEqual(Object.keys(AUTH_ERRORS));
    for (const [code, info] of Object.entries(ERRORS)) {
      expect(code, code).toMatch(/^[a-z]+(?:_[a-z]+)*$/);
      expect(info.status, code).toBeGreaterThanOrEqual(400);
      expect(info.status, code).toBeLessThan(600);
    }
    expect(isErrorCode('validation_failed')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
    // @ts-expect-error an unknown code does not type-check
    expect(() => errorStatus('no_such_code')).toThrow(TypeError);
    expectTypeOf<'not_a_member'>().toExtend<ErrorCode>();
    expect(problemType('not_a_member')).toBe('https://docs.prospectflow.dev/problems/not-a-member');
    expectTypeOf<AuthProblem['status']>().toEqualTypeOf<400 | 401 | 403 | 503>();
  });

  it('lists the resource 404s and the inbound webhook refusals the API answers with', () => {
    expect(errorStatus('company_not_found')).toBe(404);
    expect(errorStatus('person_not_found')).toBe(404);
    expect(errorStatus('position_not_found')).toBe(404);
    expectTypeOf(errorStatus('person_not_found')).toEqualTypeOf<404>();
    expect(errorStatus('invalid_signature')).toBe(401);
    expect(errorStatus('stale_signature')).toBe(401);
    expect(errorStatus('inbound_not_configured')).toBe(503);
  });

  it('names each code in one group only, so no group silently replaces another in ERRORS', () => {
    const groups = [
      AUTH_ERRORS,
      REQUEST_ERRORS,
      RESOURCE_ERRORS,
      IDENTITY_ERRORS,
      RECORD_ERRORS,
      IMPORT_ERRORS,
      OUTREACH_ERRORS,
      WEBHOOK_ERRORS,
    ].flatMap((group) => Object.keys(group));
    expect(groups.length).toBe(new Set(groups).size);
    expect(errorStatus('member_not_found')).toBe(404);
    expect(errorStatus('invitation_expired')).toBe(410);
    expect(errorStatus('invalid_siren')).toBe(422);
    expect(errorStatus('campaign_not_draft')).toBe(409);
    expectTypeOf<'slug_taken'>().toExtend<ErrorCodeWithStatus<409>>();
    expectTypeOf<'slug_taken'>().not.toExtend<ErrorCodeWithStatus<404>>();
  });

  it('builds a problem body whose extensions never replace a standard member', () => {
    const error = {
      code: 'conflict',
      title: 'Conflict',
      status: 409,
      detail: 'Taken.',
      extensions: { existingId: 'x', status: 200, code: 'ok' },
    };
    expect(problemBody(error, 'req-1')).toEqual({
      existingId: 'x',
      type: 'https://docs.prospectflow.dev/problems/conflict',
      title: 'Conflict',
      status: 409,
      detail: 'Taken.',
      code: 'conflict',
      instance: 'req-1',
    });
    expect(problemBody(error)).not.toHaveProperty('instance');
  });

  it('bundles for the browser from its own modules only (no Node built-ins, no dependencies)', async () => {
    const result = await build({
      entryPoints: [path.join(packageDir, 'src/index.ts')],
      absWorkingDir: packageDir,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    for (const input of Object.keys(result.metafile.inputs)) expect(input).toMatch(/^src\/[a-z-]+\.ts$/);
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/\brequire\(|node:/);
    expect(code).toContain('not_a_member');
  });
});
