// The cosplay core (dist/cosplay.js), loaded on first use so that activation stays light, and the
// catalog's names of a GPU for the commands that match what users type.
import type * as Cosplay from '../cosplay/index';

let loaded: typeof Cosplay | undefined;
/** dist/cosplay.js, next to dist/extension.js, required on first use. */
export function cosplay(): typeof Cosplay {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('./cosplay.js') as typeof Cosplay;
  return loaded;
}

/** The catalog's other names of a GPU, for reservations ("3090" → rtx3090, its NVML name, aliases). */
export function catalogAliases(typed: string): readonly string[] {
  const found = cosplay().builtinCatalog().lookup(typed);
  return found.ok ? [found.entry.key, found.entry.name, ...found.entry.aliases] : [];
}
