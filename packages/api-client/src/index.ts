import createClient, { type Client, type ClientOptions, type Middleware } from 'openapi-fetch';
import type { components, paths as GeneratedPaths, operations } from '../generated/api.js';

/**
 * Typed client of the ProspectFlow API. Every path, parameter, body and answer comes from the
 * API's committed OpenAPI document (apps/ingest-api/openapi.json, generated into
 * ../generated/api.ts); calls go through openapi-fetch, so `{ data, error, response }` is typed
 * per route and status, and `error` is the RFC 9457 `Problem`.
 */
export type { components, operations };

/**
 * A multipart/form-data request body is sent as a `FormData` (openapi-fetch passes it through and
 * the browser or undici sets the boundary): the document's part schema (e.g. `ImportUpload`) says
 * which parts to append.
 */
type WithFormData<Body> = Body extends { content: infer Content }
  ? Omit<Body, 'content'> & {
      content: { [Type in keyof Content]: Type extends 'multipart/form-data' ? FormData : Content[Type] };
    }
  : Body;
type FormDataOperation<Operation> = {
  [Key in keyof Operation]: Key extends 'requestBody' ? WithFormData<Operation[Key]> : Operation[Key];
};
/** The API's paths as the client takes them (generated/api.ts, with multipart bodies as `FormData`). */
export type paths = {
  [Path in keyof GeneratedPaths]: {
    [Method in keyof GeneratedPaths[Path]]: FormDataOperation<GeneratedPaths[Path][Method]>;
  };
};

/** Named schemas of the API (`Schemas['Company']`, `Schemas['ImportWithErrors']`…). */
export type Schemas = components['schemas'];
/** Body of every error answer (`application/problem+json`); switch on `code`. */
export type Problem = components['schemas']['Problem'];
export type ApiClient = Client<paths>;

export {
  ERRORS,
  type ErrorCode,
  errorStatus,
  isErrorCode,
  PROBLEM_CONTENT_TYPE,
} from '@prospectflow/contracts';

type Value = string | undefined | null;
/** A fixed value, or a function asked before every request (e.g. to refresh a token). */
export type Provider = Value | (() => Value | Promise<Value>);

export interface ApiClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Origin of the API, e.g. `https://api.prospectflow.example` (no trailing `/v1`). */
  baseUrl: string;
  /** Bearer token (Cognito ID or access token); sent as `Authorization: Bearer …` when set. */
  token?: Provider;
  /** Organisation the calls act for (`x-organisation-id`); needed by every organisation route. */
  organisationId?: Provider;
}

const read = async (provider: Provider | undefined) =>
  typeof provider === 'function' ? await provider() : provider;

/** Adds the credentials a call did not set itself. */
function credentials(options: Pick<ApiClientOptions, 'token' | 'organisationId'>): Middleware {
  return {
    async onRequest({ request }) {
      const token = await read(options.token);
      if (token && !request.headers.has('authorization'))
        request.headers.set('authorization', `Bearer ${token}`);
      const organisationId = await read(options.organisationId);
      if (organisationId && !request.headers.has('x-organisation-id')) {
        request.headers.set('x-organisation-id', organisationId);
      }
      return request;
    },
  };
}

/**
 * ```ts
 * const api = createApiClient({ baseUrl: 'http://127.0.0.1:3000', token: () => session.token, organisationId });
 * const { data, error } = await api.GET('/v1/companies', { params: { query: { limit: 20 } } });
 * if (error) console.log(error.code); else console.log(data.items);
 * ```
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const { token, organisationId, baseUrl, ...rest } = options;
  const client = createClient<paths>({ ...rest, baseUrl: baseUrl.replace(/\/+$/, '') });
  client.use(credentials({ token, organisationId }));
  return client;
}

/** True for an RFC 9457 body of this API (what `error` holds when a call fails). */
export function isProblem(value: unknown): value is Problem {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Problem).code === 'string' &&
    typeof (value as Problem).status === 'number'
  );
}
