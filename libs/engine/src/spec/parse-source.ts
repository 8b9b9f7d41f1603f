import type { Issue, SpecSource } from '@trellis/contracts';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Document, type Node } from 'yaml';

/** A 1-based position in the YAML text. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** Finds where a document path sits in the source; knows nothing for a JSON source. */
export interface SourceLocator {
  /**
   * The node at `path` (its key with `target: 'key'`), or, when the path does not exist,
   * the key of its deepest existing ancestor: a missing field points at its parent.
   */
  locate(path: ReadonlyArray<PropertyKey>, target?: 'value' | 'key'): SourcePosition | undefined;
  /**
   * The position of `line`/`column` inside the string at `path` (a template's own
   * position), exact for block literals and single-line scalars, else the string's start.
   */
  locateInText(path: ReadonlyArray<PropertyKey>, line: number, column: number): SourcePosition | undefined;
}

/** The source decoded to plain data, or the syntax errors that stopped it. */
export interface ParsedSource {
  data: unknown;
  issues: Issue[];
  locator: SourceLocator;
}

const NO_POSITIONS: SourceLocator = { locate: () => undefined, locateInText: () => undefined };

/** The limit the `yaml` package applies by default, named: it stops "billion laughs" alias bombs. */
const MAX_ALIAS_COUNT = 100;

export function parseSource(source: SpecSource): ParsedSource {
  if ('yaml' in source && typeof source.yaml === 'string') return parseYaml(source.yaml);
  if ('json' in source) return { data: source.json, issues: [], locator: NO_POSITIONS };
  return { data: undefined, issues: [{ path: [], message: 'a pipeline source is { yaml: string } or { json: object }' }], locator: NO_POSITIONS };
}

function parseYaml(text: string): ParsedSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line: Math.max(line, 1), column: Math.max(col, 1) };
  };
  const locator = new YamlLocator(doc, text, position);
  const issues: Issue[] = doc.errors.map((error) => ({
    path: [],
    message: `YAML syntax error: ${error.message}`,
    ...position(error.pos[0]),
  }));
  if (issues.length > 0) return { data: undefined, issues, locator };
  try {
    return { data: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), issues, locator };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { data: undefined, issues: [{ path: [], message: `YAML could not be read: ${message}` }], locator };
  }
}

class YamlLocator implements SourceLocator {
  constructor(
    private readonly doc: Document,
    private readonly text: string,
    private readonly position: (offset: number) => SourcePosition,
  ) {}

  locate(path: ReadonlyArray<PropertyKey>, target: 'value' | 'key' = 'value'): SourcePosition | undefined {
    const found = this.find(path);
    const node = found.complete ? (target === 'key' ? found.key ?? found.node : found.node ?? found.key) : found.anchor;
    return this.start(node);
  }

  locateInText(path: ReadonlyArray<PropertyKey>, line: number, column: number): SourcePosition | undefined {
    const found = this.find(path);
    const node = found.complete ? found.node : undefined;
    if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return this.locate(path);
    const start = this.position(node.range[0]);
    const raw = this.text.slice(node.range[0], node.range[1]);
    if (node.type === Scalar.BLOCK_LITERAL) {
      // Line 1 of the template is the line after the `|` header; content keeps its lines 1:1.
      const [header = '', ...content] = raw.split('\n');
      if (/\d/.test(header)) return start;
      const first = content.find((l) => l.trim() !== '') ?? '';
      const indent = first.length - first.trimStart().length;
      return { line: start.line + line, column: indent + column };
    }
    if (line !== 1 || raw.includes('\n')) return start;
    if (node.type === Scalar.PLAIN && raw === node.value) return { line: start.line, column: start.column + column - 1 };
    const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE;
    if (quoted && raw.slice(1, -1) === node.value) return { line: start.line, column: start.column + column };
    return start;
  }

  /** Walks the node tree, resolving aliases; `anchor` is the best place to point at when the walk stops early. */
  private find(path: ReadonlyArray<PropertyKey>): { complete: boolean; node?: Node; key?: Node; anchor?: Node } {
    let node: unknown = this.doc.contents;
    let key: Node | undefined;
    let anchor: Node | undefined = isNode(node) ? node : undefined;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(this.doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) return { complete: false, anchor };
        key = isNode(pair.key) ? pair.key : undefined;
        node = pair.value;
        anchor = key ?? anchor;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        key = undefined;
        if (!isNode(node)) return { complete: false, anchor };
        anchor = node;
      } else {
        return { complete: false, anchor };
      }
    }
    return { complete: true, node: isNode(node) ? node : undefined, key, anchor };
  }

  private start(node: Node | undefined): SourcePosition | undefined {
    return node?.range ? this.position(node.range[0]) : undefined;
  }
}
