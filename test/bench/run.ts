/** `npm run bench`: every hot path, each printed as a ratio against a baseline measured in the same run. */
import { benchConfig } from './config.js';

const sections: Record<string, () => void | Promise<void>> = { config: benchConfig };
const only = process.argv.slice(2);
for (const [name, fn] of Object.entries(sections)) {
  if (only.length && !only.includes(name)) continue;
  await fn();
}
