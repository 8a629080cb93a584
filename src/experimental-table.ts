/**
 * Table access for host code (wazero's `experimental/table`): `lookupFunction` finds the function a
 * guest's table holds at an offset, checks its signature and makes it callable from the host.
 * @experimental
 * @packageDocumentation
 */
export { lookupFunction } from './runtime/store/table-lookup.js';
