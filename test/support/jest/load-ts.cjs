/**
 * Jest loads globalSetup/globalTeardown with Node's own require (its transform hook compiles .ts,
 * but no moduleNameMapper applies): our sources import `./x.js` for `x.ts` (TypeScript's nodenext
 * style), so a `.js` that does not exist is resolved to the `.ts` next to it.
 */
const Module = require('node:module');

const MARK = Symbol.for('test-support.load-ts');
if (!Module[MARK]) {
  Module[MARK] = true;
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    try {
      return resolve.call(this, request, ...rest);
    } catch (error) {
      if (!request.startsWith('.') || !request.endsWith('.js')) throw error;
      return resolve.call(this, `${request.slice(0, -3)}.ts`, ...rest);
    }
  };
}

module.exports = () => require('../shared-topology.ts');
