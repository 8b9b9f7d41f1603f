import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ChatMessage, CreateTemplateBody, LabelName, type CreatedTemplateVersion, type Issue } from '@trellis/contracts';

/** Files a template folder may hold; anything else (READMEs aside) is skipped. */
export const TEMPLATE_EXTENSIONS = ['.liquid', '.prompt', '.md', '.txt'];

/**
 * The YAML front matter of a template file. Everything but the body is optional: the name
 * defaults to the file name, the category to `prompt`, the level to `project`. A chat
 * template lists its `messages` here and leaves the body empty.
 */
const FrontMatter = z.strictObject({
  name: z.string().optional(),
  category: z.string().optional(),
  level: z.string().optional(),
  feature: z.string().optional(),
  variables: z.array(z.string()).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  author: z.string().optional(),
  message: z.string().optional(),
  /** Labels to point at the pushed version (e.g. `[staging]`). */
  labels: z.array(LabelName).optional(),
  messages: z.array(ChatMessage).optional(),
});

export interface TemplateFile {
  path: string;
  request: CreateTemplateBody;
  labels: string[];
}

export type ParsedTemplateFile = { ok: true; file: TemplateFile } | { ok: false; path: string; issues: Issue[] };

const FENCE = /^---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/;

/**
 * One template file: optional `---` YAML front matter, then the body. Trailing whitespace
 * of the body is dropped, so an editor's final newline never makes a new version.
 */
export function parseTemplateFile(path: string, text: string): ParsedTemplateFile {
  const fence = FENCE.exec(text);
  let meta: unknown = {};
  if (fence) {
    try {
      meta = parseYaml(fence[1]!) ?? {};
    } catch (err) {
      return { ok: false, path, issues: [{ path: ['front matter'], message: (err as Error).message }] };
    }
  }
  const front = FrontMatter.safeParse(meta);
  if (!front.success) return { ok: false, path, issues: front.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) };
  const body = (fence ? text.slice(fence[0].length) : text).replace(/\s+$/, '');
  const { labels = [], messages, ...rest } = front.data;
  if (messages && body.trim()) {
    return { ok: false, path, issues: [{ path: ['messages'], message: 'a chat template lists its messages in the front matter; leave the body empty' }] };
  }
  const request = CreateTemplateBody.safeParse({ ...rest, name: rest.name ?? basename(path, extname(path)), body: messages ?? body });
  if (!request.success) return { ok: false, path, issues: request.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) };
  return { ok: true, file: { path, request: request.data, labels } };
}

/** Template files under `dir`, recursively, sorted; hidden entries and READMEs skipped. */
export function findTemplateFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (TEMPLATE_EXTENSIONS.includes(extname(entry.name)) && !/^readme\./i.test(entry.name)) out.push(full);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * `trellis templates push <dir>`: syncs a folder of template files to the registry so teams
 * keep prompts in git. A file becomes a new version only when its body, variables or
 * parameters changed (the registry compares with the newest version); labels named in the
 * front matter then point at it. Every file is checked before anything is sent: one bad
 * file pushes nothing. Prints one line per template; 0 when all went through, 1 otherwise.
 */
export async function templatesPush(options: {
  dir: string;
  gatewayUrl: string;
  apiKey: string;
  /** `TRELLIS_ADMIN_TOKEN`, for global templates and protected labels. */
  adminToken?: string;
  print?: (line: string) => void;
}): Promise<number> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const paths = findTemplateFiles(options.dir);
  if (!paths.length) {
    print(`no template files (${TEMPLATE_EXTENSIONS.join(', ')}) under ${options.dir}`);
    return 1;
  }
  const parsed = paths.map((p) => parseTemplateFile(relative(options.dir, p), readFileSync(p, 'utf8')));
  const bad = parsed.filter((p): p is Extract<ParsedTemplateFile, { ok: false }> => !p.ok);
  const files = parsed.flatMap((p) => (p.ok ? [p.file] : []));
  const seen = new Map<string, string>();
  for (const f of files) {
    const key = `${f.request.level ?? ''}/${f.request.feature ?? ''}/${f.request.name}`;
    const other = seen.get(key);
    if (other) bad.push({ ok: false, path: f.path, issues: [{ path: ['name'], message: `"${f.request.name}" is also defined by ${other}` }] });
    seen.set(key, f.path);
  }
  if (bad.length) {
    for (const b of bad) for (const i of b.issues) print(`✗ ${b.path}: ${i.path.join('.') || '(file)'}: ${i.message}`);
    print(`${bad.length} file(s) have problems; nothing was pushed`);
    return 1;
  }

  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${options.gatewayUrl.replace(/\/$/, '')}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.apiKey}`,
        'content-type': 'application/json',
        ...(options.adminToken ? { 'x-trellis-admin-token': options.adminToken } : {}),
      },
      body: JSON.stringify(body),
    });
    const payload = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      const errors = (payload.errors as Array<{ path: string; message: string }> | undefined)?.map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`).join('; ');
      throw new Error(`${String(payload.detail ?? res.statusText)}${errors ? ` (${errors})` : ''}`);
    }
    return payload;
  };

  const counts = { created: 0, unchanged: 0, failed: 0 };
  for (const f of files) {
    try {
      const result = (await call('POST', '/v1/templates', f.request)) as unknown as CreatedTemplateVersion;
      const where = result.template.feature ? `feature ${result.template.feature}` : result.template.level;
      const v = result.version.version;
      counts[result.created ? 'created' : 'unchanged']++;
      print(`${result.created ? '+' : '='} ${result.template.name} v${v} (${where})  ${result.created ? 'new version' : 'unchanged'}  ← ${f.path}`);
      for (const label of f.labels) {
        if (result.template.labels[label] === v) continue;
        const moved = await call('PUT', `/v1/templates/${encodeURIComponent(result.template.name)}/labels/${encodeURIComponent(label)}`, {
          version: v,
          level: result.template.level,
          ...(result.template.feature ? { feature: result.template.feature } : {}),
        });
        print(`  → ${label}: ${moved.previous === null ? 'new' : `v${String(moved.previous)}`} → v${v}`);
      }
    } catch (err) {
      counts.failed++;
      print(`✗ ${f.path}: ${(err as Error).message}`);
    }
  }
  print(`${counts.created} new version(s), ${counts.unchanged} unchanged, ${counts.failed} failed`);
  return counts.failed ? 1 : 0;
}
