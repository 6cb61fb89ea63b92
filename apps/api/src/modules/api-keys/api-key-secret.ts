import { randomBytes } from 'node:crypto';
import { API_KEY_PREFIX } from '@agent-monitor/contracts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 40 base62 characters ≈ 238 bits of randomness. */
export const API_KEY_RANDOM_CHARS = 40;
/** `am_` + 8 characters: enough to recognise a key in a list, far too little to guess it. */
export const API_KEY_PREFIX_LENGTH = 11;

/** A new secret `am_<40 base62>`, drawn without modulo bias (bytes ≥ 248 are discarded). */
export function generateApiKey(): string {
  let out = '';
  while (out.length < API_KEY_RANDOM_CHARS) {
    for (const b of randomBytes(64)) {
      if (b >= 248) continue;
      out += BASE62[b % 62];
      if (out.length === API_KEY_RANDOM_CHARS) break;
    }
  }
  return API_KEY_PREFIX + out;
}

export function apiKeyPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX_LENGTH);
}
