#!/usr/bin/env python3
"""IKEv1 test vectors from an implementation of RFC 2409's formulas independent of vrouter's
(Python's hmac and hashlib): SKEYID, SKEYID_d/a/e, the appendix B key expansion, the phase 1 and
phase 2 IVs, HASH_I/HASH_R, the quick mode hashes and KEYMAT, for MD5 and SHA-1.

usage: python3 scripts/ike-vectors.py > test/vectors/ike.json   (the inputs are fixed: the output is stable)
"""
import hashlib, hmac, json

def h(alg, *parts):
    m = hashlib.new(alg)
    for p in parts: m.update(p)
    return m.digest()

def prf(alg, key, *parts):
    return hmac.new(key, b''.join(parts), alg).digest()

def expand(alg, skeyid_e, n):
    # RFC 2409 appendix B: Ka = K1 | K2 | ..., K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1)
    if len(skeyid_e) >= n: return skeyid_e[:n]
    k = prf(alg, skeyid_e, b'\x00'); out = k
    while len(out) < n:
        k = prf(alg, skeyid_e, k); out += k
    return out[:n]

def keymat(alg, skeyid_d, gxy_qm, protocol, spi, ni, nr, n):
    seed = gxy_qm + bytes([protocol]) + spi + ni + nr
    out, prev = b'', b''
    while len(out) < n:
        prev = prf(alg, skeyid_d, prev + seed); out += prev
    return out[:n]

def seq(n, start):  # deterministic filler bytes
    return bytes((start + 7 * i) % 256 for i in range(n))

inputs = {
    'psk': b'vrouter-test-pre-shared-key',
    'ni': seq(32, 1), 'nr': seq(32, 101),
    'gxi': seq(128, 11), 'gxr': seq(128, 51), 'gxy': seq(128, 91),
    'cki': bytes.fromhex('0123456789abcdef'), 'ckr': bytes.fromhex('fedcba9876543210'),
    'sai_b': seq(48, 3), 'idii_b': bytes.fromhex('01000000') + bytes([10, 5, 5, 5]), 'idir_b': bytes.fromhex('01000000') + bytes([10, 6, 6, 6]),
    'last_p1_block': seq(8, 200), 'mid': 0x1a2b3c4d,
    'qm_rest': seq(60, 33), 'qm_ni': seq(16, 17), 'qm_nr': seq(16, 171), 'gxy_qm': seq(128, 131),
    'spi': bytes.fromhex('c0ffee01'), 'protocol': 3,
}
out = {'inputs': {k: (v.hex() if isinstance(v, bytes) else v) for k, v in inputs.items()}, 'md5': {}, 'sha1': {}}
i = inputs
mid = i['mid'].to_bytes(4, 'big')
for alg in ('md5', 'sha1'):
    skeyid = prf(alg, i['psk'], i['ni'], i['nr'])
    d = prf(alg, skeyid, i['gxy'], i['cki'], i['ckr'], b'\x00')
    a = prf(alg, skeyid, d, i['gxy'], i['cki'], i['ckr'], b'\x01')
    e = prf(alg, skeyid, a, i['gxy'], i['cki'], i['ckr'], b'\x02')
    out[alg] = {
        'skeyid': skeyid.hex(), 'skeyid_d': d.hex(), 'skeyid_a': a.hex(), 'skeyid_e': e.hex(),
        'ka_3des': expand(alg, e, 24).hex(), 'ka_des': expand(alg, e, 8).hex(),
        'iv_phase1': h(alg, i['gxi'], i['gxr'])[:8].hex(),
        'iv_phase2': h(alg, i['last_p1_block'], mid)[:8].hex(),
        'hash_i': prf(alg, skeyid, i['gxi'], i['gxr'], i['cki'], i['ckr'], i['sai_b'], i['idii_b']).hex(),
        'hash_r': prf(alg, skeyid, i['gxr'], i['gxi'], i['ckr'], i['cki'], i['sai_b'], i['idir_b']).hex(),
        'hash1': prf(alg, a, mid, i['qm_rest']).hex(),
        'hash2': prf(alg, a, mid, i['qm_ni'], i['qm_rest']).hex(),
        'hash3': prf(alg, a, b'\x00', mid, i['qm_ni'], i['qm_nr']).hex(),
        'keymat_44': keymat(alg, d, b'', i['protocol'], i['spi'], i['qm_ni'], i['qm_nr'], 44).hex(),
        'keymat_44_pfs': keymat(alg, d, i['gxy_qm'], i['protocol'], i['spi'], i['qm_ni'], i['qm_nr'], 44).hex(),
        'skeyid_sig': prf(alg, i['ni'] + i['nr'], i['gxy']).hex(),
    }
print(json.dumps(out, indent=1))
