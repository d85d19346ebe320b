import { secretProblem } from '@prospectflow/config';

/** Cluster-wide role names (docs/CONTRACTS.md). */
export const ROLES = {
  migrator: 'prospectflow_migrator',
  app: 'prospectflow_app',
  worker: 'prospectflow_worker',
  backup: 'prospectflow_backup',
  /**
   * NOLOGIN, BYPASSRLS owner of the narrow SECURITY DEFINER functions that look across
   * organisations (e.g. app.user_memberships); the migrator is a member so it can hand them over.
   */
  system: 'prospectflow_system',
} as const;

export type RoleKey = keyof typeof ROLES;
export type RoleName = (typeof ROLES)[RoleKey];

/** Roles that log in (the system role never does). */
export const LOGIN_ROLES = [ROLES.migrator, ROLES.app, ROLES.worker, ROLES.backup] as const;
export type LoginRoleName = (typeof LOGIN_ROLES)[number];

const PASSWORD_ENV: Record<LoginRoleName, string> = {
  prospectflow_migrator: 'PROSPECTFLOW_MIGRATOR_PASSWORD',
  prospectflow_app: 'PROSPECTFLOW_APP_PASSWORD',
  prospectflow_worker: 'PROSPECTFLOW_WORKER_PASSWORD',
  prospectflow_backup: 'PROSPECTFLOW_BACKUP_PASSWORD',
};

export function passwordEnvName(role: LoginRoleName): string {
  return PASSWORD_ENV[role];
}

function toLoginRoleName(role: RoleName | RoleKey): LoginRoleName {
  const name = (role in ROLES ? ROLES[role as RoleKey] : role) as string;
  if (!Object.hasOwn(PASSWORD_ENV, name)) throw new Error(`"${role}" is not a login role of ProspectFlow`);
  return name as LoginRoleName;
}

/**
 * The password of a role: its env variable, or the role name outside production. In production
 * a missing password, or one equal to the role name, is refused, and so is any password the
 * production secret rule refuses (@prospectflow/config's `secretProblem`: shorter than 24
 * characters or a published example). Errors name the variable, never the value.
 */
export function rolePassword(role: RoleName | RoleKey, env: NodeJS.ProcessEnv = process.env): string {
  const name = toLoginRoleName(role);
  const variable = PASSWORD_ENV[name];
  const value = env[variable];
  if (env.NODE_ENV === 'production') {
    if (!value || value === name) {
      throw new Error(
        `${variable} must be set to a real password when NODE_ENV=production (the dev default is refused)`,
      );
    }
    const problem = secretProblem(variable, value);
    if (problem) throw new Error(problem);
  }
  return value || name;
}

/** `url` with its user and password replaced by the given role's (same host, port and database). */
export function roleUrl(url: string, role: RoleName | RoleKey, env: NodeJS.ProcessEnv = process.env): string {
  const name = toLoginRoleName(role);
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(name);
  parsed.password = encodeURIComponent(rolePassword(name, env));
  return parsed.toString();
}
