import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ToolDefinitionShape, type ToolDefinition } from '@trellis/contracts';
import { formatIssues, toIssues } from '@trellis/messaging';

/**
 * The tools this executor can run, by name: the built-ins plus custom tools loaded from a
 * directory at start. A custom module that does not export a valid tool, or reuses a name,
 * stops the executor at start with the file named, rather than failing steps later.
 */
export class ToolRegistry {
  private readonly tools = new Map<string, ToolDefinition>();

  constructor(builtIns: readonly ToolDefinition<any, any>[]) {
    for (const tool of builtIns) this.add(tool as ToolDefinition, 'built-in');
  }

  get(name: string): ToolDefinition | undefined {
    return this.tools.get(name);
  }

  get names(): string[] {
    return [...this.tools.keys()];
  }

  /** Loads every `.js`/`.cjs`/`.mjs` module of `dir`; its `default` or `tool` export is the definition. */
  async loadDirectory(dir: string): Promise<void> {
    const root = resolve(dir);
    const files = readdirSync(root).filter((f) => /\.(c|m)?js$/.test(f)).sort();
    for (const file of files) {
      const path = join(root, file);
      const mod = (await import(path)) as { default?: unknown; tool?: unknown };
      const candidate = mod.tool ?? (mod.default as { tool?: unknown } | undefined)?.tool ?? mod.default;
      const parsed = ToolDefinitionShape.safeParse(candidate);
      if (!parsed.success) throw new Error(`custom tool ${path} is invalid: ${formatIssues(toIssues(parsed.error))}`);
      this.add(candidate as ToolDefinition, path);
    }
  }

  private add(tool: ToolDefinition, from: string): void {
    if (this.tools.has(tool.name)) throw new Error(`tool "${tool.name}" from ${from} is already defined`);
    this.tools.set(tool.name, tool);
  }
}
