/**
 * Layer rule of the design brief (../shared/design/README.md): a package imports only from
 * packages in lower layers. Checked by dependency-cruiser in CI (`pnpm lint:layers`).
 */
const { LAYERS, FORBIDDEN } = require('./layers.cjs');

const names = Object.keys(LAYERS);
const rules = [];
for (const from of names) {
  const notAllowed = names.filter(
    (to) => to !== from && (LAYERS[to] >= LAYERS[from] || (FORBIDDEN[from] ?? []).includes(to)),
  );
  if (notAllowed.length === 0) continue;
  rules.push({
    name: `layer-${from}`,
    comment: `@copycat/${from} (layer ${LAYERS[from]}) may import only lower layers`,
    severity: 'error',
    from: { path: `^packages/${from}/src/` },
    // Resolved imports land in packages/X/; an import of a package not declared in
    // package.json stays unresolved as @copycat/X: both forms break the layer rule.
    to: { path: `^(packages/(${notAllowed.join('|')})/|@copycat/(${notAllowed.join('|')})$)` },
  });
}

module.exports = {
  forbidden: [
    ...rules,
    {
      name: 'unknown-package-folder',
      comment: 'every folder under packages/ must appear in the layer table',
      severity: 'error',
      from: { path: `^packages/(?!(${names.join('|')})/)[^/]+/src/` },
      to: {},
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'runtime import cycles; a cycle through a type-only import has no load order and is allowed',
      from: { path: '^packages/[^/]+/src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: { path: '^(packages|tools)/' },
      to: { couldNotResolve: true },
    },
    {
      name: 'no-undeclared-dependency',
      comment: 'a runtime import of a package must be declared in that package.json dependencies',
      severity: 'error',
      from: { path: '^packages/[^/]+/src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown', 'npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules|\\.turbo)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    combinedDependencies: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@copycat/source', 'import', 'types', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.d.ts'],
    },
  },
};
