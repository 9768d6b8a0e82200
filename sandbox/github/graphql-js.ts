import { createRequire } from 'node:module';
import type * as GraphQLToolsSchema from '@graphql-tools/schema';
import type * as GraphQLModule from 'graphql';

const require = createRequire(import.meta.url);

/*
 * graphql ships a CJS build (index.js) and an ESM build (index.mjs). Vite, and so vitest, resolves
 * our own `import 'graphql'` to index.mjs while Node hands @graphql-tools the CJS build, and a
 * schema built by one is rejected by the other ("Cannot use GraphQLObjectType … from another module
 * or realm"). Loading both through require pins one instance under every runner (tsx, vitest,
 * esbuild bundles). Code that touches the sandbox schema must use these, types may come from 'graphql'.
 */
export const graphql = require('graphql') as typeof GraphQLModule;
export const graphqlTools = require('@graphql-tools/schema') as typeof GraphQLToolsSchema;
