/**
 * The package version, for the instrumentation scope of the default tracer and meter.
 */
import { readFileSync } from 'node:fs';

function packageVersion(): string {
  try {
    // Two levels up from both src/otel and dist/otel.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'dev';
  } catch {
    return 'dev';
  }
}

/** The version in package.json (`dev` when it cannot be read). */
export const VERSION: string = packageVersion();
