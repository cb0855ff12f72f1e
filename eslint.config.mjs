// Type-aware lint at zero warnings (`npm run lint` passes --max-warnings 0).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import { readdirSync } from 'node:fs';

// Lib boundaries (docs/architecture.md, "Lib boundaries"): each lib sits on a floor and imports only
// libs on lower floors, never one on its own floor or above, so no import can close a cycle and a
// lib's dependencies can be read off this table. Specs are held to it too: a spec that needs a
// higher lib is testing that lib.
const LIB_FLOORS = {
  config: 0,
  context: 0,
  observability: 0,
  types: 0,
  billing: 1,
  errors: 1,
  persistence: 1,
  redis: 1,
  cache: 2,
  http: 2,
  providers: 2,
  tenancy: 3,
  admission: 4,
  audit: 4,
  api: 5,
  lifecycle: 5,
  completions: 6,
  embeddings: 6,
  health: 5,
};

// A lib without a floor would escape the rule: refuse to lint until it has one.
const unplaced = readdirSync(new URL('./libs/', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && !(entry.name in LIB_FLOORS))
  .map((entry) => `libs/${entry.name}`);
if (unplaced.length > 0) {
  throw new Error(
    `${unplaced.join(', ')} has no floor: add it to LIB_FLOORS in eslint.config.mjs and to the ` +
      'table in docs/architecture.md ("Lib boundaries").',
  );
}

// Its own rule name (the typescript-eslint flavour of no-restricted-imports), so these options
// neither replace nor are replaced by the deep-import rule below and the tests' exemption from it.
const libBoundaries = Object.entries(LIB_FLOORS).map(([lib, floor]) => {
  const never = Object.keys(LIB_FLOORS).filter((other) => LIB_FLOORS[other] >= floor);
  return {
    files: [`libs/${lib}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: never.flatMap((other) => [`@gateway/${other}`, `@gateway/${other}/**`]),
              message:
                `libs/${lib} is on floor ${floor}: it imports only libs on lower floors ` +
                '(docs/architecture.md, "Lib boundaries").',
            },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'run/**',
      '**/*.mjs',
      '**/*.cjs',
      '**/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      globals: { ...globals.node, ...globals.jest },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-console': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      // Libs talk to each other only through `@gateway/<lib>` (their index.ts), never through deep paths.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@gateway/*/*'], message: 'Import a lib through its index: @gateway/<lib>.' },
            {
              group: ['**/libs/*/src/**', '../../libs/**', '**/apps/**'],
              message: 'Cross-lib relative imports are not allowed; use @gateway/<lib>.',
            },
          ],
        },
      ],
    },
  },
  {
    // Only the config lib reads the environment.
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    ignores: ['libs/config/**', '**/*.spec.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through @gateway/config.',
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-imports': 'off',
    },
  },
  ...libBoundaries,
);
