/** Organisation roles, lowest first: each role can do everything the roles before it can. */
export const ROLES_BY_RANK = ['viewer', 'member', 'admin', 'owner'] as const;
export type Role = (typeof ROLES_BY_RANK)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES_BY_RANK as readonly string[]).includes(value);
}

/** True when `actual` ranks at least as high as `required` (viewer < member < admin < owner). */
export function hasRole(actual: Role, required: Role): boolean {
  return ROLES_BY_RANK.indexOf(actual) >= ROLES_BY_RANK.indexOf(required);
}
