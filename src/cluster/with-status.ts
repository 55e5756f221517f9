import type { Status } from "../phases/phase.js";

/**
 * withStatus runs one step of `up` under a progress title: it opens the step (with a live
 * line per node in `nodes`, on a terminal), ends it ok or failed, and rethrows a failure.
 */
export async function withStatus<T>(
  status: Status,
  title: string,
  fn: () => Promise<T>,
  nodes?: readonly string[],
): Promise<T> {
  status.start(title, nodes);
  try {
    const value = await fn();
    status.end(true);
    return value;
  } catch (e) {
    status.end(false);
    throw e;
  }
}
