/**
 * Experimental features, enabled through Context keys (wazero's `experimental` package).
 * @experimental
 * @packageDocumentation
 */
export { CoreFeaturesThreads, CoreFeaturesTailCall } from './runtime/api/features.js';
export type { InternalModule } from './runtime/api/module.js';
export {
  closeNotifyFunc,
  withCloseNotifier,
  withImportResolver,
} from './runtime/store/context-keys.js';
export type { CloseNotifier, ImportResolver } from './runtime/store/context-keys.js';
