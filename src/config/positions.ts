/**
 * Maps a path inside a parsed YAML document to `line:col`, so every config error can
 * name the place in the file where it is. Paths that do not exist (a missing key) fall
 * back to the nearest existing parent.
 */
import { isMap, isSeq, type LineCounter, type Node, type Document as YamlDocument } from "yaml";

/** A path into the cluster file: object keys and array indexes. */
export type ConfigPath = readonly (string | number)[];

/** A 1-based position in a source file. */
export interface Position {
  readonly line: number;
  readonly col: number;
}

/** A YAML document together with what is needed to turn offsets into positions. */
export interface PositionedDocument {
  readonly doc: YamlDocument;
  readonly lines: LineCounter;
}

/**
 * positionOf returns where `path` is in the document. With `atKey`, the last segment
 * is a map key and the key itself is pointed at (used for unknown keys).
 */
export function positionOf(src: PositionedDocument, path: ConfigPath, atKey = false): Position | undefined {
  let node: unknown = src.doc.contents;
  let best: unknown = node;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(seg));
      if (!pair) break;
      if (last && atKey) {
        best = pair.key;
        break;
      }
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      node = node.items[seg];
    } else {
      break;
    }
    if (!node) break;
    best = node;
  }
  const range = (best as Node | undefined)?.range;
  if (!range) return undefined;
  const { line, col } = src.lines.linePos(range[0]);
  return { line, col };
}

function keyText(key: unknown): string | undefined {
  if (key && typeof key === "object" && "value" in key) return String((key as { value: unknown }).value);
  return key === null || key === undefined ? undefined : String(key);
}

/** formatPath prints a path as users write it: `nodes[1].name`. */
export function formatPath(path: ConfigPath): string {
  let out = "";
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : out ? `.${seg}` : seg;
  return out || "(root)";
}
