import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * CPU and memory of processes, read from /proc (Linux) so the bench needs no dependency and
 * sees every process alike: the services, PostgreSQL's backends, nats-server, the simulator.
 */

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux this runs on.
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far, or undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Peak resident set size in MiB (VmHWM), since start or since the last {@link resetPeakRss}. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a new peak-RSS window (`clear_refs` 5); false where the kernel or permissions refuse. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Pids of every process whose command name (`comm`) is `name` and, when given, whose command
 * line contains `argsContain` (a PostgreSQL backend shows its database there).
 */
export function pidsByName(name: string, argsContain?: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== name) continue;
      if (argsContain && !readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(argsContain)) continue;
      pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** A named group of processes whose CPU is summed (PostgreSQL: postmaster and every backend). */
export interface ProcessGroup {
  name: string;
  /** Asked again at every sample: backends come and go. */
  pids: () => number[];
}

export type CpuSample = Map<string, Map<number, number>>;

export function sampleCpu(groups: readonly ProcessGroup[]): CpuSample {
  const sample: CpuSample = new Map();
  for (const group of groups) {
    const byPid = new Map<number, number>();
    for (const pid of group.pids()) {
      const cpu = cpuSeconds(pid);
      if (cpu !== undefined) byPid.set(pid, cpu);
    }
    sample.set(group.name, byPid);
  }
  return sample;
}

/**
 * CPU seconds each group used between two samples. A process that appeared in between counts
 * from zero; one that exited in between is lost (the pools keep their connections, so few do).
 */
export function cpuDelta(before: CpuSample, after: CpuSample): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, now] of after) {
    const then = before.get(name) ?? new Map<number, number>();
    let sum = 0;
    for (const [pid, cpu] of now) sum += cpu - (then.get(pid) ?? 0);
    delta[name] = round(sum, 3);
  }
  return delta;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
