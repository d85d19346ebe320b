/**
 * CPU seconds spent by this process plus the PostgreSQL backends of one database (read from
 * /proc, so only for a server on this machine). On a shared machine wall time swings with the
 * load; the CPU each side spends is the steadier measure of the work it does.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

function backendTicks(database: string): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.startsWith('postgres: ') || !cmdline.includes(` ${database} `)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks;
}

/** Starts a measurement; the returned function gives the CPU seconds used since. */
export function cpuMeter(database: string): () => { node: number; postgres: number } {
  const node = process.cpuUsage();
  const before = backendTicks(database);
  return () => {
    const used = process.cpuUsage(node);
    let ticks = 0;
    for (const [pid, now] of backendTicks(database)) ticks += now - (before.get(pid) ?? 0);
    return { node: (used.user + used.system) / 1e6, postgres: ticks / TICKS_PER_SECOND };
  };
}

/** Whether the database's backends are visible (a local server whose /proc this user can read). */
export async function cpuMeterWorks(database: string, connect: () => Promise<unknown>): Promise<boolean> {
  await connect();
  return backendTicks(database).size > 0;
}
