import { registerAjvFormats, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';

// TypeBox's formats (email, uuid) answer as ajv-formats does on every other route.
registerAjvFormats();

/**
 * The validator of routes whose bodies are taken as sent (set it on their plugin with
 * `fastify.setValidatorCompiler(exactBodies)`): a body is checked as sent, never coerced and never
 * trimmed. The app's ajv (`coerceTypes`, `removeAdditional`) would store `password: false` as
 * "false", or a webhook's `subject: 42` as "42", with a 2xx; here each is 400 `validation_failed`
 * naming the field, and nothing is written. Params are converted as before (TypeBox's compiler
 * converts every part but the body).
 *
 * Unknown fields are the schema's choice: an object declared `additionalProperties: false` (the
 * mailbox routes, where a misspelt secret field such as `smtp.pasword` must not be dropped with a
 * 200) refuses them, each named; an open object (the inbound webhook, whose providers may add
 * fields) accepts and ignores them — they are not removed, so read the declared fields only.
 */
export const exactBodies: FastifySchemaCompiler<TSchema> = (route) => {
  const validate = TypeBoxValidatorCompiler(route);
  return (value: unknown) => {
    const result = validate(value) as { error?: FastifySchemaValidationError[]; value?: unknown };
    return result.error ? { error: unknownFieldsNamed(result.error) } : result;
  };
};

/**
 * TypeBox reports an unknown field twice (`false` schema at its path, and a list on its object):
 * one issue per field instead, shaped as ajv's (`params.additionalProperty`), which the problem
 * handler turns into the field's path.
 */
function unknownFieldsNamed(errors: FastifySchemaValidationError[]): FastifySchemaValidationError[] {
  return errors.flatMap((error) => {
    if (error.keyword === 'boolean' && error.schemaPath.endsWith('/additionalProperties')) return [];
    const unknown = error.params.additionalProperties;
    if (error.keyword !== 'additionalProperties' || !Array.isArray(unknown)) return [error];
    return unknown.map((name) => ({
      ...error,
      params: { additionalProperty: String(name) },
      message: 'is not a field of this request (unknown fields are refused, not ignored)',
    }));
  });
}
