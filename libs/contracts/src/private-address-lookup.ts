import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isPrivateAddress } from './private-address';

/** `code` of the error a refused address fails the connection with. */
export const PRIVATE_ADDRESS_REFUSED = 'ERR_PORTCULLIS_PRIVATE_ADDRESS';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `net.connect` that refuses private, loopback and link-local
 * answers: the SSRF guard of every outbound connection (the edge to upstream
 * MCP servers, the vault to authorization servers). Checking the address the
 * socket is about to use (not a separate, earlier resolution) is what stops
 * DNS rebinding.
 */
export function privateAddressRefusingLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, options.all ? [] : '');
    if (addresses.length === 0 || addresses.some((entry) => isPrivateAddress(entry.address))) return callback(privateAddressError(), options.all ? [] : '');
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}

export function privateAddressError(): NodeJS.ErrnoException {
  return Object.assign(new Error('refused to connect to a private, loopback or link-local address'), { code: PRIVATE_ADDRESS_REFUSED });
}

/** Whether a connection failed because the guarded lookup refused a private address (undici wraps that error once, its fetch twice). */
export function isPrivateAddressRefusal(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 3; current = (current as { cause?: unknown }).cause, depth++) {
    if ((current as { code?: unknown }).code === PRIVATE_ADDRESS_REFUSED) return true;
  }
  return false;
}
