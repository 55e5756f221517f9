/**
 * What the benchmarks read of the host and of their own process: the host's CPU time spent
 * busy and its memory in use (/proc), and a sampler of the process's resident memory during a
 * timed step. Linux only, like the nspawn nodes the benchmarks time.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/** The host's CPU time spent busy so far (all cores, all processes, the nodes' too), in seconds. */
export function hostCpu(): { busy: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // USER_HZ is 100 on every Linux the benchmarks run on.
  return { busy: (user + nice + system + irq + softirq + steal) / 100 };
}

/** The host's cores, what "cores x wall" multiplies by. */
export const cpus = (): number => availableParallelism();

/**
 * The host's memory in use, in MiB: MemTotal - MemAvailable, which counts what the nodes'
 * processes hold (they are the host's processes) and not the page cache the kernel can drop.
 */
export function hostMemInUse(): number {
  const text = readFileSync("/proc/meminfo", "utf8");
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
  return (kib("MemTotal") - kib("MemAvailable")) / 1024;
}

/** What {@link sampleMemory} saw: peaks in MiB. */
export interface MemoryPeaks {
  /** The process's resident memory at its highest sample. */
  readonly rss: number;
  /** The host's memory in use at its highest sample, and when sampling began. */
  readonly hostPeak: number;
  readonly hostStart: number;
}

/**
 * sampleMemory samples the process's resident memory and the host's memory in use every
 * `intervalMs` until `stop()`, which returns the peaks. `process.resourceUsage().maxRSS` is
 * the peak of the whole process's life, so a later, smaller step would show an earlier step's
 * peak: this is the peak of one step. A sample needs the event loop, so a long synchronous
 * stretch can hide a peak inside it; the last sample is taken at `stop()`.
 */
export function sampleMemory(intervalMs = 100): { stop(): MemoryPeaks } {
  const hostStart = hostMemInUse();
  let rss = 0;
  let hostPeak = hostStart;
  const sample = () => {
    // memoryUsage.rss() reads the RSS alone, without walking the V8 heap as memoryUsage() does.
    rss = Math.max(rss, process.memoryUsage.rss() / 2 ** 20);
    hostPeak = Math.max(hostPeak, hostMemInUse());
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { rss, hostPeak, hostStart };
    },
  };
}
