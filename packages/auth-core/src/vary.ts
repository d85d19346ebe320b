import type { FastifyReply } from 'fastify';

/**
 * Adds header names to the reply's `Vary`, keeping those already there (`Origin`, set by
 * @fastify/cors before authentication runs): `reply.header('vary', …)` would replace them, and a
 * cache could then serve one origin's answer to another. Names are compared in any case and added
 * once; `Vary: *` already covers everything.
 */
export function appendVary(reply: FastifyReply, ...names: string[]): FastifyReply {
  const current = reply.getHeader('vary');
  const value = (Array.isArray(current) ? current.join(', ') : String(current ?? '')).trim();
  const present = value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (present.includes('*')) return reply;
  const added: string[] = [];
  for (const name of names) {
    const key = name.trim().toLowerCase();
    if (!key || present.includes(key)) continue;
    if (key === '*') return reply.header('vary', '*');
    present.push(key);
    added.push(name.trim());
  }
  if (added.length === 0) return reply;
  return reply.header('vary', [value, ...added].filter(Boolean).join(', '));
}
