/** show ipsec diagnosis for BGP over a transport SA: a Router whose session cannot come up (no Routing Engine stack here). */
import { it, expect, afterEach } from 'vitest';
import { Router } from '../router/router.js';
import { Interpreter } from '../cli/interp.js';
import { transcript } from '../cli/transcript.js';

const conf = (sa: string, mode = 'transport') => `
system { host-name gw; }
interfaces { fe-0/0/0 { unit 0 { family inet { address 10.0.1.1/30; } } } }
routing-options { autonomous-system 65001; }
protocols { bgp { group peer { type external; peer-as 65003; neighbor 10.0.1.2 { ipsec-sa ${sa}; } } } }
security { ipsec { security-association bgp-sa { mode ${mode}; manual { direction bidirectional { protocol esp; spi 300;
  authentication { algorithm hmac-sha1-96; key ascii-text 20-byte-sha1-key-abc; } encryption { algorithm 3des-cbc; key ascii-text 123456789009876543211234; } } } } } }`;
const routers: Router[] = [];
afterEach(async () => { for (const r of routers.splice(0)) await r.stop(); });
async function diag(text: string, before?: (r: Router) => void): Promise<string> {
  const r = new Router({ name: 'gw', ipsec: 'inline' });
  routers.push(r);
  const c = r.commitText(text);
  expect(c.ok, c.output).toBe(true);
  before?.(r);
  return transcript(new Interpreter(r), ['show ipsec diagnosis']);
}

it('a BGP session down with its transport SA: no such SA, SPIs that do not match, nothing that decrypts', async () => {
  expect(await diag(conf('nope'))).toMatch(/BGP neighbor 10\.0\.1\.2: transport SA nope, (Active|Connect|Idle)\n  BGP names ipsec-sa nope, which is not configured \(no commit check/);
  expect(await diag(conf('bgp-sa'), r => r.pfe.countDrop('ipsec-no-sa'))).toMatch(/nothing from 10\.0\.1\.2 decrypts, and 1 IPsec packets came with an SPI or protocol we have no SA for \(ipsec-no-sa\): the peer's SA does not match bgp-sa \(ours: outbound ESP SPI 300, inbound ESP SPI 300\)/);
  const none = await diag(conf('bgp-sa'));
  expect(none).toMatch(/no BGP message from 10\.0\.1\.2 through bgp-sa/);
  expect(none).not.toMatch(/No IPsec tunnel/);
});
