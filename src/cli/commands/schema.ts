import { clusterJsonSchema } from "../../config/json-schema.js";
import type { Io } from "../io.js";

/** schema prints the JSON Schema of the cluster file, for editors. */
export async function schema(_opts: object, io: Io): Promise<void> {
  io.out(JSON.stringify(clusterJsonSchema(), null, 2));
}
