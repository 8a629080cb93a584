/**
 * The package version, part of compilation-cache keys (an entry made by another version is never
 * used).
 */
import { readFileSync } from 'node:fs';

function packageVersion(): string {
  try {
    // Three levels up from both src/runtime/store and dist/runtime/store.
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'dev';
  } catch {
    return 'dev';
  }
}

/** The version in package.json (`dev` when it cannot be read). */
export const PACKAGE_VERSION: string = packageVersion();
