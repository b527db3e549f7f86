/**
 * The ES PIC's power-on self-test, as a crypto module's: before the PIC comes online it
 *  1. reproduces known answers byte for byte (four of the independent vectors of test/vectors/ipsec.json,
 *     one per protocol and algorithm family the chapter configures), and opens them back, and
 *  2. seals and opens packets of several sizes on a throw-away core and throw-away rings, through the
 *     same turn (turn.ts) the worker runs on the real rings, and checks each comes back as it went in.
 * Step 2 is also the PIC's warm-up: V8 compiles a function for the code and types it has seen run,
 * and that code is per function, not per SA, so the first real packets find the packet path compiled
 * instead of running it cold (docs/performance.md, "The warm-up"). Nothing here touches a real SA,
 * ring or counter. A failed self-test leaves the PIC offline.
 */
import { SecurityAssociation, SaSpec } from './sa.js';
import { espBatchBegin, espBatchEnd, espQueued, espMbOn } from './esp.js';
import { IpsecCore } from './core.js';
import { Ring, newRing } from './ring.js';
import { PicTurn } from './turn.js';
import { OP_ENCRYPT, OP_DECRYPT, OP_OUTER, OP_INNER } from './ops.js';
import { buildIpv4, PROTO_TCP, PROTO_ICMP } from '../../src/net/ipv4.js';
import type { EsTunnelConfig } from '../../src/pfe/types.js';
import type { ManualDirection } from '../../src/config/model.js';

export interface Kat {
  name: string; protocol: 'esp' | 'ah' | 'bundle'; mode: 'tunnel' | 'transport'; spi: number; seq: number; auxiliarySpi?: number;
  plaintext: string; ciphertext: string;
  tunnel?: { source: string; destination: string; outerId: number; outerTtl: number };
  encryption?: { algorithm: 'des-cbc' | '3des-cbc'; key: string; iv: string };
  authentication?: { algorithm: 'hmac-md5-96' | 'hmac-sha1-96'; key: string };
}

/** Copies of entries of test/vectors/ipsec.json (selftest.test.ts keeps them equal). */
export const KATS: Kat[] = [
  {"name": "figure11-esp-3des-md5-tunnel", "protocol": "esp", "mode": "tunnel", "spi": 2312, "seq": 1, "plaintext": "45000035123500003f01528e0a0101010a02020208004e20004200010102030405060708090a0b0c0d0e0f10111213141516171819", "tunnel": {"source": "10.5.5.5", "destination": "10.6.6.6", "outerId": 1911, "outerTtl": 64}, "encryption": {"algorithm": "3des-cbc", "key": "313233343536373839303039383736353433323131323334", "iv": "0011223344556677"}, "authentication": {"algorithm": "hmac-md5-96", "key": "31323334313233343132333431323334"}, "ciphertext": "4500006807770000403253d80a0505050a060606000009080000000100112233445566771c5a51cb7691f20c8841f98572432e9b0f246cda31d61409d684b7fedff49a039a84652c52c1e269712ade1719379265eb5b2062468f2d71a5612105aea1b972d406bbb5"},
  {"name": "ah-md5-tunnel", "protocol": "ah", "mode": "tunnel", "spi": 12001, "seq": 1, "plaintext": "45000037123700003f01528a0a0101010a020202080016ea00420003030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d", "tunnel": {"source": "10.5.5.5", "destination": "10.6.6.6", "outerId": 1911, "outerTtl": 64}, "authentication": {"algorithm": "hmac-md5-96", "key": "31323334353637383930313261626364"}, "ciphertext": "4500006307770000403353dc0a0505050a0606060404000000002ee100000001905793731c97ee6f3eb8e85945000037123700003f01528a0a0101010a020202080016ea00420003030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d"},
  {"name": "esp-des-sha1-transport", "protocol": "esp", "mode": "transport", "spi": 300, "seq": 5, "plaintext": "45000038222600003f113a7a0a0505050a060606138c00b300240a406267702d6267702d6267702d6267702d6267702d6267702d6267702d", "encryption": {"algorithm": "des-cbc", "key": "38627974656b6579", "iv": "0102030405060708"}, "authentication": {"algorithm": "hmac-sha1-96", "key": "32302d627974652d736861312d6b65792d616263"}, "ciphertext": "45000058222600003f323a390a0505050a0606060000012c0000000501020304050607083c740df108efa86745bfe9dab5b13b582c837610aea898431a0c2617ce7f1b23d03cc7e66864c373ab7b9b33ed9a86cb2941370c"},
  {"name": "bundle-ah-sha1-esp-3des-tunnel", "protocol": "bundle", "mode": "tunnel", "spi": 4000, "seq": 1, "plaintext": "4500003a123a00003f01527d0a0101050a0202050800ca7b00420006060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223", "tunnel": {"source": "10.5.5.5", "destination": "10.6.6.6", "outerId": 1911, "outerTtl": 64}, "encryption": {"algorithm": "3des-cbc", "key": "6162636465666768696a6b6c6d6e6f707172737475767778", "iv": "1111111122222222"}, "authentication": {"algorithm": "hmac-sha1-96", "key": "6162636465666768696a6b6c6d6e6f7071727374"}, "auxiliarySpi": 4001, "ciphertext": "4500007c07770000403353c30a0505050a0606063204000000000fa00000000112ba5f728ef7b71ee929492a00000fa1000000011111111122222222396e9d0d17d46e29563fbffd0e84e1873a3dc532f4f364753061a93ef74743c906a567e37bf73f0809279616a840aef0fd52df475dbc83ff923be06715d1d2e1"},
];

const ip = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
const hex = (s: string) => Buffer.from(s, 'hex');

function direction(k: Kat): ManualDirection {
  return {
    protocol: k.protocol, spi: k.spi, ...(k.auxiliarySpi ? { auxSpi: k.auxiliarySpi } : {}),
    ...(k.encryption ? { enc: { algorithm: k.encryption.algorithm, key: hex(k.encryption.key) } } : {}),
    ...(k.authentication ? { auth: { algorithm: k.authentication.algorithm, key: hex(k.authentication.key) } } : {}),
  };
}
function spec(k: Kat, dir: 'inbound' | 'outbound'): SaSpec {
  const d = direction(k);
  return {
    name: k.name, direction: dir, protocol: k.protocol, mode: k.mode, spi: k.spi, manual: true,
    ...(d.auxSpi !== undefined ? { auxSpi: d.auxSpi } : {}), ...(d.enc ? { enc: d.enc } : {}), ...(d.auth ? { auth: d.auth } : {}),
    ...(k.tunnel ? { tunnel: { source: ip(k.tunnel.source), destination: ip(k.tunnel.destination) } } : {}),
  };
}

/**
 * Step 1: each known answer, sealed and opened; the first that differs, or undefined. Each is sealed
 * and opened twice: inside a batch (where this thread seals and opens ESP with multi-buffer jobs, the
 * worker on AVX-512, that is the path a burst takes) and outside one (the single chain a lone packet
 * takes, turn.ts), so that both paths real packets take are tested. Where this thread batches, a
 * tunnel-mode ESP known answer must really be queued as a job each way: a batch pass that quietly
 * took the single chain would test nothing.
 */
export function knownAnswers(kats: Kat[] = KATS): string | undefined {
  for (const k of kats) for (const batch of [true, false]) {
    // every cipher and digest the chapter configures (des-cbc, 3des-cbc; hmac-md5-96, hmac-sha1-96) has a
    // multi-buffer form (native/esp.cc SetupMb): an algorithm added without one must be excluded here
    const jobs = batch && espMbOn() && k.protocol === 'esp' && k.mode === 'tunnel' && !!k.encryption && !!k.authentication;
    const out = new SecurityAssociation(spec(k, 'outbound'));
    if (batch) espBatchBegin();
    let sealed, failed, queued = 0;
    try { sealed = out.encapsulate(hex(k.plaintext), { seq: k.seq, ...(k.encryption ? { iv: hex(k.encryption.iv) } : {}), ...(k.tunnel ? { outerId: k.tunnel.outerId, ttl: k.tunnel.outerTtl } : {}) }); queued = espQueued(); }
    finally { failed = espBatchEnd(); }
    if (jobs && queued !== 1) return `${k.name}: the multi-buffer path did not take the known answer`;
    if (!sealed.ok || failed.size || sealed.packet.toString('hex') !== k.ciphertext) return `${k.name}: the seal differs from the known answer`;
    const inb = new SecurityAssociation(spec(k, 'inbound'));
    if (batch) espBatchBegin();
    let pending;
    try { pending = inb.decapsulate(hex(k.ciphertext), batch); } finally { failed = espBatchEnd(); }
    if (jobs && pending.ok !== 'pending') return `${k.name}: the multi-buffer path did not take the known answer`;
    const opened = pending.ok === 'pending' ? inb.opened(pending) : pending;
    if (!opened.ok || opened.packet.toString('hex') !== k.plaintext) return `${k.name}: the known answer does not open to its plaintext`;
  }
  return undefined;
}

export interface SelfTestOptions {
  /** packets sealed and opened in step 2 (each is a seal and an open) */
  packets?: number;
  /** step 2 stops after this much time, whatever it has done (a busy machine warms less, never longer) */
  budgetMs?: number;
  now?: () => number;
  /** the known answers to reproduce (tests give a wrong one to see the PIC stay offline) */
  kats?: Kat[];
  /** the tunnels made as the PIC's real ones are (the worker: serialized and revived, turn.ts `adopt`) */
  adopt?: (t: EsTunnelConfig[]) => EsTunnelConfig[];
  /** tests: every packet step 2 opens comes back with a byte changed (the PIC must go offline) */
  breakPathForTest?: boolean;
}
export interface SelfTestResult { ok: boolean; failure?: string; packets: number; ms: number }

/** Packets of the sizes a PIC meets, mostly small (the code is what warms, not the cipher): TCP ACKs, pings, a mid-size and a full-size segment. */
function packetsFor(k: Kat, n: number): Buffer[] {
  const src = ip('10.1.1.1'), dst = ip('10.2.2.2');
  const sizes = [40, 84, 40, 576, 40, 84, 40, 1400], out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const len = sizes[i % sizes.length]!, tcp = len !== 84;
    const body = Buffer.alloc(len - 20, i & 0xff);
    // transport mode protects the router's own packets: its addresses are the tunnel's ends
    const a = k.mode === 'transport' ? ip('10.5.5.5') : src, b = k.mode === 'transport' ? ip('10.6.6.6') : dst;
    out.push(buildIpv4({ protocol: tcp ? PROTO_TCP : PROTO_ICMP, src: a, dst: b, id: i & 0xffff, ttl: 63, df: tcp }, body));
  }
  return out;
}

/**
 * The self-test of one ES PIC: `knownAnswers` (step 1) before the PIC comes online, then `step` (step
 * 2) a burst at a time whenever the PIC has nothing else to do, until `done`. Never throws.
 */
export class PicSelfTest {
  private readonly now: () => number;
  private readonly packets: number;
  private readonly budget: number;
  private readonly t0: number;
  private elapsed?: number;
  private sent = 0;
  private round = 0;
  private failure?: string;
  private finished = false;
  private core?: IpsecCore;
  private turn?: PicTurn;
  private into?: Ring;
  private back?: Ring;
  private sample: Buffer[][] = [];
  constructor(private readonly o: SelfTestOptions = {}) {
    this.now = o.now ?? (() => performance.now());
    const n = (x: number | undefined, d: number) => x !== undefined && Number.isFinite(x) && x >= 0 ? x : d;   // no NaN, no Infinity: always ends
    this.packets = n(o.packets, 256);
    this.budget = n(o.budgetMs, 300);
    this.t0 = this.now();   // the budget runs from the PIC's start, whether or not it ever gets an idle turn
  }

  /** Step 1; false: the PIC must stay offline (`result` says why). */
  knownAnswers(): boolean {
    try { this.failure = knownAnswers(this.o.kats); } catch (e) { this.failure = `threw: ${(e as Error).message}`; }
    if (this.failure) this.finished = true;
    return !this.failure;
  }
  get done(): boolean { return this.finished; }
  get result(): SelfTestResult { return { ok: !this.failure, ...(this.failure ? { failure: this.failure } : {}), packets: this.sent, ms: this.elapsed ?? this.now() - this.t0 }; }
  /** The budget is spent: the next `step` ends the test (the worker steps then even under traffic). */
  get overdue(): boolean { return this.now() - this.t0 >= this.budget; }

  /** Step 2, one burst of `burst` packets sealed and opened; true when the test is finished. */
  step(burst = 16): boolean {
    if (this.finished) return true;
    if (this.packets <= 0) { this.finished = true; return true; }
    try { this.burst(burst); } catch (e) { this.failure = `threw: ${(e as Error).message}`; }
    if (this.failure || this.sent >= this.packets || this.overdue) {
      this.finished = true;
      this.elapsed = this.now() - this.t0;
      if (!this.failure && (this.core!.encrypted !== this.sent || this.core!.decrypted !== this.sent)) this.failure = `the core counted ${this.core!.encrypted} seals and ${this.core!.decrypted} opens of ${this.sent}`;
      this.core = this.turn = this.into = this.back = undefined; this.sample = [];   // the throw-away state goes
    }
    return this.finished;
  }

  private setUp(burst: number): void {
    // one bidirectional manual SA per vector's algorithms, on es- interfaces of no router
    const core = this.core = new IpsecCore();
    const tunnels: EsTunnelConfig[] = KATS.map((k, i) => ({
      ifl: `es-self-test/${i}`, pic: 'self-test', source: ip('10.5.5.5'), destination: ip('10.6.6.6'),
      sa: { name: `self-test-${k.name}`, mode: k.mode, manual: { inbound: direction(k), outbound: direction(k), bidirectional: true } },
    }));
    core.configure(this.o.adopt ? this.o.adopt(tunnels) : tunnels);
    this.into = new Ring(newRing(256 << 10)); this.back = new Ring(newRing(256 << 10));
    this.turn = new PicTurn(core, this.back, () => {});
    this.turn.ifls = tunnels.map(t => t.ifl);
    this.sample = KATS.map(k => packetsFor(k, burst));
  }
  private burst(burst: number): void {
    if (!this.core) this.setUp(burst);
    const idx = this.round++ % KATS.length, sent = this.sample[idx]!, name = KATS[idx]!.name;
    const into = this.into!, back = this.back!, turn = this.turn!;
    for (const p of sent) into.push(OP_ENCRYPT, idx, p, 0);
    turn.run(into);
    const sealed: Buffer[] = [];
    back.drain((op, i, pkt) => { if (op === OP_OUTER && i === idx) sealed.push(pkt); });
    if (sealed.length !== sent.length) { this.failure = `${name}: ${sent.length - sealed.length} of ${sent.length} packets not sealed`; return; }
    for (const p of sealed) into.push(OP_DECRYPT, idx, p, 0);
    turn.run(into);
    let j = 0;
    const broken = !!this.o.breakPathForTest;
    back.drain((op, i, pkt) => { if (broken) pkt[pkt.length - 1]! ^= 1; if (!this.failure && (op !== OP_INNER || i !== idx || !pkt.equals(sent[j]!))) this.failure = `${name}: packet ${j} did not open to what was sealed`; j++; });
    if (!this.failure && j !== sent.length) this.failure = `${name}: ${sent.length - j} of ${sent.length} packets not opened`;
    if (!this.failure) this.sent += sent.length;
  }
}

/** Both steps at once (tests, the bench). */
export function powerOnSelfTest(o: SelfTestOptions = {}): SelfTestResult {
  const t = new PicSelfTest(o);
  if (t.knownAnswers()) while (!t.step()) { /* bursts until done */ }
  return t.result;
}
