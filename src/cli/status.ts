import type { Status } from "../phases/phase.js";

/**
 * lineStatus prints one line per step (kind style): ` • title ...` when it starts and
 * ` ✓ title` / ` ✗ title` when it ends, with the step's duration, then one line per node
 * it changed. No cursor tricks, so it reads the same on a terminal, in CI logs and in a pipe.
 */
export function lineStatus(write: (line: string) => void): Status {
  let current: { title: string; started: number } | undefined;
  return {
    start(title) {
      current = { title, started: Date.now() };
      write(` • ${title} ...`);
    },
    end(ok, perNode) {
      if (!current) return;
      const seconds = ((Date.now() - current.started) / 1000).toFixed(1);
      write(` ${ok ? "✓" : "✗"} ${current.title} (${seconds} s)`);
      // One line per node that the step changed, so a re-run with nothing to do stays short.
      const w = Math.max(0, ...[...(perNode?.keys() ?? [])].map((n) => n.length));
      for (const [node, n] of perNode ?? []) write(`     ${node.padEnd(w)}  ${n} change${n === 1 ? "" : "s"}`);
      current = undefined;
    },
  };
}
