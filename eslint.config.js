// Lint: TypeScript parsing plus the layering rule from DESIGN.md §1.
// A part imports another only through that part's entry file (index.ts);
// plugin-api imports nothing of Cairn; bundled agents import only plugin-api.
import tseslint from 'typescript-eslint';

const parts = ['plugin-api', 'core', 'sd', 'director', 'native', 'plugins', 'config', 'net', 'daemon'];

/** Patterns forbidding every other part except through its entry file. */
function onlyThroughEntries(self, allowed) {
  const group = [];
  for (const part of parts) {
    if (part === self) continue;
    group.push(`**/${part}/**`);
    if (allowed.includes(part)) group.push(`!**/${part}/index.js`);
  }
  group.push('cairn/*', '!cairn/plugin-api');
  return group;
}

function layer(self, allowed, message) {
  return {
    files: [`${self}/**/*.ts`],
    ignores: [`${self}/**/*.test.ts`],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: onlyThroughEntries(self, allowed), message }] }],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', '.*dist/**', 'node_modules/**', 'native/build/**', '.bench/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { ecmaVersion: 2023, sourceType: 'module' } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      'no-var': 'error',
      'prefer-const': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  layer('plugin-api', [], 'plugin-api imports nothing of Cairn (DESIGN.md §1).'),
  layer('plugins', ['plugin-api'], 'Bundled agents import only plugin-api, through its entry (DESIGN.md §1).'),
  layer('native', [], 'native/ is a leaf: it imports no other part.'),
  layer('config', ['plugin-api'], 'config/ imports only plugin-api (it is read by every daemon).'),
  layer('net', ['plugin-api'], 'net/ imports only plugin-api (transport and authentication under every protocol).'),
  layer('sd', ['plugin-api', 'native', 'net'], 'sd/ imports other parts only through their entry file.'),
  layer('core', ['plugin-api', 'sd', 'native', 'net'], 'core/ imports other parts only through their entry file.'),
  layer('daemon', ['plugin-api', 'core', 'sd', 'native', 'plugins', 'config', 'net', 'director'], 'daemon/ (the three daemons\' composition) imports the parts through their entry files.'),
  layer('director', ['plugin-api', 'core', 'sd', 'native', 'plugins', 'config', 'net'], 'director/ imports other parts only through their entry file.'),
);
