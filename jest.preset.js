// Shared jest settings: TypeScript through @swc/jest (legacy decorators + metadata, as Nest
// needs), native ESM (`--experimental-vm-modules`), workspace libraries resolved to source.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(fileURLToPath(import.meta.url));

// A few CommonJS dependencies (fastify plugins) require ESM-only packages, which Node 20
// allows but jest's module system does not: compile just those to CommonJS.
const ESM_ONLY = ['content-disposition', 'cookie'];

export function preset({ tsx = false, environment = 'node' } = {}) {
  return {
    testEnvironment: environment,
    extensionsToTreatAsEsm: tsx ? ['.ts', '.tsx'] : ['.ts'],
    transform: {
      [`/node_modules/(${ESM_ONLY.join('|')})/.+\\.m?js$`]: [
        '@swc/jest',
        { jsc: { target: 'es2022' }, module: { type: 'commonjs' } },
      ],
      [tsx ? '^.+\\.(t|j)sx?$' : '^.+\\.ts$']: [
        '@swc/jest',
        {
          // apps/api/.swcrc excludes *.spec.ts from builds; jest must not inherit that.
          swcrc: false,
          jsc: {
            parser: { syntax: 'typescript', decorators: true, tsx },
            transform: {
              legacyDecorator: true,
              decoratorMetadata: true,
              react: tsx ? { runtime: 'automatic' } : undefined,
            },
            target: 'es2022',
            keepClassNames: true,
          },
          module: { type: 'es6' },
        },
      ],
    },
    transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
    moduleNameMapper: {
      '^@agent-monitor/contracts$': path.join(root, 'libs/contracts/src/index.ts'),
      '^@agent-monitor/agent-sdk$': path.join(root, 'libs/agent-sdk/src/index.ts'),
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  };
}
