/**
 * The algorithm table of the ES PIC: name -> OpenSSL cipher/digest, key, block, IV and ICV sizes.
 * Node's OpenSSL 3 default provider refuses des-cbc; single DES is 3DES-EDE with K1 = K2 = K3, so
 * des-cbc runs as des-ede3-cbc with the 8-byte key repeated three times.
 */
import type { AuthAlg, EncAlg } from '../../src/config/model.js';

export interface EncSpec { name: EncAlg; openssl: string; keyLen: number; blockSize: number; ivLen: number; expandKey(k: Buffer): Buffer }
export interface AuthSpec { name: AuthAlg; digest: string; keyLen: number; icvLen: number }

export const ENC: Record<EncAlg, EncSpec> = {
  'des-cbc': { name: 'des-cbc', openssl: 'des-ede3-cbc', keyLen: 8, blockSize: 8, ivLen: 8, expandKey: k => Buffer.concat([k, k, k]) },
  '3des-cbc': { name: '3des-cbc', openssl: 'des-ede3-cbc', keyLen: 24, blockSize: 8, ivLen: 8, expandKey: k => k },
};
export const AUTH: Record<AuthAlg, AuthSpec> = {
  'hmac-md5-96': { name: 'hmac-md5-96', digest: 'md5', keyLen: 16, icvLen: 12 },
  'hmac-sha1-96': { name: 'hmac-sha1-96', digest: 'sha1', keyLen: 20, icvLen: 12 },
};
