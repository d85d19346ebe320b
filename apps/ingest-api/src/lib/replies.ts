/** What `created` needs of a Fastify reply (any route's, whatever its type provider). */
interface Reply {
  code(statusCode: number): { header(name: string, value: string): unknown };
}

/**
 * A POST that creates a resource answers 201 with the new resource's URL in `Location` and the
 * resource as the body: `return created(reply, `/v1/things/${row.id}`, row)`.
 */
export function created<T>(reply: Reply, location: string, body: T): T {
  reply.code(201).header('location', location);
  return body;
}
