/**
 * CPU time and memory of other processes on this machine, from /proc (Linux): used to report
 * what the server under test (and its PostgreSQL backends) spent during a measured window.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** utime + stime of a process in ms, or null when it is gone or unreadable. */
export function cpuMsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is index 0, utime index 11, stime index 12.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS_PER_S;
  } catch {
    return null;
  }
}

/** Resident set size of a process in MiB, or null. */
export function rssMiBOf(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Samples a set of processes over a window: CPU ms used between start() and stop(), and the
 * peak RSS seen (sampled every `everyMs`). Processes that exit in between count up to their
 * last sample.
 */
export class ProcessMeter {
  private cpu0 = new Map<number, number>();
  private last = new Map<number, number>();
  private peakRss = 0;
  private lastRss = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pids: () => number[],
    private readonly everyMs = 500,
  ) {}

  start(): void {
    for (const pid of this.pids()) {
      const c = cpuMsOf(pid);
      if (c !== null) {
        this.cpu0.set(pid, c);
        this.last.set(pid, c);
      }
    }
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
  }

  private sample(): void {
    let rss = 0;
    for (const pid of this.cpu0.keys()) {
      const c = cpuMsOf(pid);
      if (c !== null) this.last.set(pid, c);
      rss += rssMiBOf(pid) ?? 0;
    }
    this.lastRss = rss;
    this.peakRss = Math.max(this.peakRss, rss);
  }

  /** CPU ms used since start(), RSS at the end and peak RSS (MiB, summed over the processes). */
  stop(): { cpuMs: number; rssMiB: number; peakRssMiB: number } {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    let cpu = 0;
    for (const [pid, c0] of this.cpu0) cpu += (this.last.get(pid) ?? c0) - c0;
    return { cpuMs: cpu, rssMiB: this.lastRss, peakRssMiB: this.peakRss };
  }
}
