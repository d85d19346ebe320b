import { execFileSync, spawnSync } from 'node:child_process';

/**
 * The first of `candidates` that runs with `--version`; an explicit `<envVar>` is the only
 * candidate then (a wrong path should fail, not be papered over).
 */
export function findBinary(envVar: string, candidates: string[], missing: string): string {
  const explicit = process.env[envVar];
  for (const candidate of explicit ? [explicit] : candidates) {
    if (spawnSync(candidate, ['--version'], { encoding: 'utf8' }).status === 0) return candidate;
  }
  throw new Error(explicit ? `${envVar}=${explicit} does not run. ${missing}` : missing);
}

export interface OsUser {
  uid: number;
  gid: number;
  user: string;
  group: string;
}

/**
 * Who a system service runs as: pgBouncer and Dovecot refuse to run their processes as root, so as
 * root they run as the `postgres` OS user (embedded PostgreSQL's user too); otherwise as ourselves.
 */
export function serviceUser(service: string): OsUser & { root: boolean } {
  const id = (...args: string[]) => execFileSync('id', args).toString().trim();
  if (process.getuid?.() !== 0)
    return { uid: process.getuid!(), gid: process.getgid!(), user: id('-un'), group: id('-gn'), root: false };
  try {
    return {
      uid: Number(id('-u', 'postgres')),
      gid: Number(id('-g', 'postgres')),
      user: 'postgres',
      group: id('-gn', 'postgres'),
      root: true,
    };
  } catch {
    throw new Error(
      `Running as root, ${service} needs an OS user named "postgres" to run as (useradd postgres).`,
    );
  }
}
