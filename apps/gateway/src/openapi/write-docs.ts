import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { asyncApiYaml } from './asyncapi.document';
import { SERVED_CONTROLLERS } from '../gateway.module';
import { openApiJson } from './openapi.document';

/**
 * Writes the generated API documents that are committed for review:
 * `node dist/apps/gateway/src/openapi/write-docs.js [repo root]` (after `npm run build`).
 */
const root = resolve(process.argv[2] ?? process.cwd());
writeFileSync(resolve(root, 'docs/asyncapi.yaml'), asyncApiYaml());
writeFileSync(resolve(root, 'docs/openapi.json'), openApiJson(SERVED_CONTROLLERS));
process.stdout.write(`wrote docs/asyncapi.yaml and docs/openapi.json under ${root}\n`);

