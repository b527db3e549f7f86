/** `npm run bench`: every hot path, each printed as a ratio against a baseline measured in the same run. */
import { benchConfig } from './config.js';
import { benchPfe } from './pfe.js';
import { benchEsPic } from './espic.js';
import { benchLatency } from './latency.js';
import { benchGateway } from './gateway.js';

const sections: Record<string, () => void | Promise<void>> = { config: benchConfig, pfe: benchPfe, espic: benchEsPic, latency: benchLatency, gateway: benchGateway };
const only = process.argv.slice(2);
const keepAlive = setInterval(() => {}, 1000);   // ES PIC workers are unref'd: hold the loop open
for (const [name, fn] of Object.entries(sections)) {
  if (only.length && !only.includes(name)) continue;
  await fn();
}
clearInterval(keepAlive);
