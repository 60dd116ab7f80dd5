/**
 * Reading process facts from /proc.
 */
import { readFile } from 'node:fs/promises';
import { readFileIfExists } from './fs.js';

/** parseStatStartTicks returns field 22 (starttime, in clock ticks since boot) of /proc/<pid>/stat text. */
export function parseStatStartTicks(stat: string): number | undefined {
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[19]);
  return Number.isFinite(ticks) ? ticks : undefined;
}

/** CLOCK_TICKS is USER_HZ, 100 on every Linux architecture Cloudlet runs on. */
export const CLOCK_TICKS = 100;

/** processStartTime returns when process `pid` started, or undefined if it does not exist. */
export async function processStartTime(pid: number): Promise<Date | undefined> {
  const stat = await readFileIfExists(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const ticks = parseStatStartTicks(stat);
  const btimeLine = (await readFile('/proc/stat', 'utf8')).split('\n').find((l) => l.startsWith('btime '));
  if (ticks === undefined || btimeLine === undefined) return undefined;
  return new Date((Number(btimeLine.split(' ')[1]) + ticks / CLOCK_TICKS) * 1000);
}

/** processAlive tells whether a process with this PID exists (signal 0: nothing is sent). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
