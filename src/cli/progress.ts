/** How the CLI shows the progress of phases: a line per step, a live list on a terminal, or both. */
import { Listr, ListrLogger, PRESET_TIMER, ProcessOutput } from "listr2";
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

/** A Status that can also show a node's latest activity and must be closed (it renders asynchronously). */
export interface LiveStatus extends Status {
  /** line takes a log line; `node: what` lines become that node's live line in the current step. */
  line(text: string): void;
  /** close waits until everything started has been drawn. */
  close(): Promise<void>;
}

interface Step {
  readonly settle: (result: { ok: boolean; perNode?: ReadonlyMap<string, number> }) => void;
  readonly nodes: ReadonlyMap<string, NodeLine>;
}

/** One node's line in a step: its name and what it is doing, drawn once listr runs it. */
class NodeLine {
  private text = "";
  private task?: { title?: string };
  constructor(private readonly name: string) {}
  attach(task: { title?: string }): void {
    this.task = task;
    this.draw();
  }
  set(text: string): void {
    this.text = text;
    this.draw();
  }
  private draw(): void {
    if (this.task) this.task.title = this.text ? `${this.name}  ${this.text}` : this.name.trimEnd();
  }
}

/**
 * listrStatus draws the steps on a terminal with listr2: a spinner per step and, for steps
 * that work on nodes, one live line per node with what it is doing, which becomes its change
 * count when the step ends. Steps are drawn one after the other; `out` gets everything
 * (stderr, so stdout keeps only results). Without a terminal use {@link lineStatus}.
 */
export function listrStatus(out: NodeJS.WriteStream): LiveStatus {
  let tail: Promise<void> = Promise.resolve();
  let current: Step | undefined;
  const logger = new ListrLogger({ processOutput: new ProcessOutput(out, out, { leaveEmptyLine: false }) });
  return {
    start(title, nodes = []) {
      let settle: Step["settle"] = () => {};
      const result = new Promise<Parameters<Step["settle"]>[0]>((resolve) => {
        settle = resolve;
      });
      // A node's line exists from the start: activity may arrive before listr runs its subtask.
      const width = Math.max(0, ...nodes.map((n) => n.length));
      const tasks = new Map<string, NodeLine>(nodes.map((n) => [n, new NodeLine(n.padEnd(width))]));
      current = { settle, nodes: tasks };
      const list = new Listr(
        [
          {
            title,
            task: async (_ctx, task) => {
              if (nodes.length === 0) {
                if (!(await result).ok) throw new Error(`${title} failed`);
                return;
              }
              return task.newListr(
                nodes.map((node) => ({
                  title: node,
                  task: async (_c, sub) => {
                    const line = tasks.get(node) as NodeLine;
                    line.attach(sub);
                    const r = await result;
                    const n = r.perNode?.get(node) ?? 0;
                    line.set(n === 0 ? "no change" : `${n} change${n === 1 ? "" : "s"}`);
                    if (!r.ok) throw new Error(`${title} failed`);
                  },
                })),
                { concurrent: true, exitOnError: false },
              );
            },
          },
        ],
        {
          renderer: "default",
          rendererOptions: { collapseSubtasks: false, showErrorMessage: false, timer: PRESET_TIMER, logger },
          exitOnError: false,
          registerSignalListeners: false,
          forceTTY: true,
        },
      );
      tail = tail.then(() =>
        list.run().then(
          () => undefined,
          () => undefined,
        ),
      );
    },
    end(ok, perNode) {
      current?.settle({ ok, perNode });
      current = undefined;
    },
    line(text) {
      const m = /^([^\s:]+): (.+)$/.exec(text);
      const node = m && current?.nodes.get(m[1] ?? "");
      if (node && m[2]) node.set(m[2]);
    },
    close: () => tail,
  };
}

/** teeStatus reports every step to each of `statuses`. */
export function teeStatus(...statuses: readonly Status[]): Status {
  return {
    start: (title, nodes) => {
      for (const s of statuses) s.start(title, nodes);
    },
    end: (ok, perNode) => {
      for (const s of statuses) s.end(ok, perNode);
    },
  };
}
