import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * SSRF guard for outbound notifications. Every address a host name resolves to is checked;
 * the caller then connects to the checked address (not the name again), so DNS rebinding
 * between check and connect cannot redirect the request.
 */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6');
}

/** Cloud metadata endpoints: refused even when private targets are allowed. */
const METADATA = new BlockList();
METADATA.addAddress('169.254.169.254', 'ipv4');
METADATA.addAddress('169.254.170.2', 'ipv4');
METADATA.addAddress('100.100.100.200', 'ipv4');
METADATA.addAddress('fd00:ec2::254', 'ipv6');

export class BlockedTargetError extends Error {}

/** IPv4 embedded in IPv6 (`::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) is checked as IPv4. */
function embeddedV4(addr: string): string | null {
  const m = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (m) return m[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(addr);
  if (hex) {
    const hi = parseInt(hex[1], 16);
    const lo = parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return null;
}

export function addressProblem(address: string, allowPrivate: boolean): string | null {
  const v4 = embeddedV4(address);
  const addr = v4 ?? address;
  const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
  if (METADATA.check(addr, family)) return `${address} is a cloud metadata address`;
  if (!allowPrivate && PRIVATE.check(addr, family)) {
    return `${address} is a loopback, link-local or private address (set ALLOW_PRIVATE_WEBHOOK_TARGETS=true for on-premise receivers)`;
  }
  return null;
}

export interface CheckedTarget {
  hostname: string;
  address: string;
  family: 4 | 6;
}

/** Resolves `hostname` and checks every address; throws BlockedTargetError naming the problem. */
export async function checkHost(hostname: string, allowPrivate: boolean): Promise<CheckedTarget> {
  const bare = hostname.replace(/^\[|\]$/g, '');
  let addrs: Array<{ address: string; family: number }>;
  if (isIP(bare)) addrs = [{ address: bare, family: isIP(bare) }];
  else {
    if (/^(localhost|.*\.localhost|metadata\.google\.internal)$/i.test(bare) && !allowPrivate) {
      throw new BlockedTargetError(`${bare} is a local name`);
    }
    try {
      addrs = await lookup(bare, { all: true, verbatim: true });
    } catch (e) {
      throw new BlockedTargetError(
        `cannot resolve ${bare}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
  }
  if (!addrs.length) throw new BlockedTargetError(`${bare} has no address`);
  for (const a of addrs) {
    const problem = addressProblem(a.address, allowPrivate);
    if (problem) throw new BlockedTargetError(problem);
  }
  return { hostname: bare, address: addrs[0].address, family: addrs[0].family === 6 ? 6 : 4 };
}

export async function checkUrl(
  url: string,
  allowPrivate: boolean,
): Promise<CheckedTarget & { url: URL }> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BlockedTargetError('not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new BlockedTargetError('only http and https URLs are allowed');
  }
  if (u.username || u.password)
    throw new BlockedTargetError('URLs with credentials are not allowed');
  return { ...(await checkHost(u.hostname, allowPrivate)), url: u };
}
