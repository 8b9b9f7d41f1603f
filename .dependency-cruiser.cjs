// The import directions of STYLE.md ("Dependency direction"); a violation fails `npm test`.
const lib = (name) => `^libs/${name}/`;
const alias = (names) => names.map((n) => `^libs/${n}/`);
const SPEC = '\\.(int-|e2e-)?spec\\.ts$';
// Source files import only their allowed libs; their tests may also use the testing harness.
const only = (name, allowed) => [
  {
    name: `${name}-imports-only-${allowed.join('-') || 'nothing-of-ours'}`,
    severity: 'error',
    comment: `libs/${name} may import ${allowed.length ? allowed.map((a) => `libs/${a}`).join(', ') : 'no other lib of ours'}`,
    from: { path: lib(name), pathNot: SPEC },
    to: { path: '^(libs|apps)/', pathNot: [lib(name), ...alias(allowed)] },
  },
  {
    name: `${name}-tests-import-only-${allowed.join('-') || 'nothing-of-ours'}-and-testing`,
    severity: 'error',
    from: { path: `${lib(name)}.*${SPEC}` },
    to: { path: '^(libs|apps)/', pathNot: [lib(name), ...alias([...allowed, 'testing'])] },
  },
];
module.exports = {
  forbidden: [
    ...only('contracts', []),
    ...only('engine', ['contracts']),
    ...only('telemetry', []),
    ...only('messaging', ['contracts', 'telemetry']),
    ...only('persistence', ['contracts', 'telemetry']),
    ...only('llm', ['contracts', 'telemetry']),
    ...only('devstack', ['contracts', 'telemetry', 'llm', 'persistence']),
    ...only('runtime', ['contracts', 'telemetry', 'messaging', 'persistence']),
    {
      name: 'no-lib-imports-an-app',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'no-app-imports-another-app',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'console-imports-no-server-code',
      severity: 'error',
      comment: 'apps/console talks to the gateway over HTTP only; of our code it may read the API shapes (libs/contracts), as types',
      from: { path: '^apps/console/' },
      to: { path: '^libs/', pathNot: '^libs/contracts/' },
    },
    {
      name: 'console-imports-contracts-as-types-only',
      severity: 'error',
      comment: 'a value import of libs/contracts would bundle zod and the schemas into the browser; `import type` is erased',
      from: { path: '^apps/console/' },
      to: { path: '^libs/contracts/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'console-uses-no-node-modules',
      severity: 'error',
      comment: 'the console runs in a browser',
      from: { path: '^apps/console/src/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'engine-is-pure',
      severity: 'error',
      comment: 'libs/engine performs no I/O',
      from: { path: '^libs/engine/' },
      to: { dependencyTypes: ['core'], path: '^(fs|net|http|https|child_process|dgram|dns|tls|worker_threads|cluster)$' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    parser: 'swc',
    exclude: { path: '(^dist/|node_modules)' },
  },
};
