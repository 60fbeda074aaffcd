import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isPrivateAddress } from '@portcullis/contracts';

/** `code` of the error a refused address fails the connection with. */
export const PRIVATE_ADDRESS_REFUSED = 'ERR_PORTCULLIS_PRIVATE_ADDRESS';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for the connections to authorization servers that refuses
 * private, loopback and link-local answers, checked on the address the
 * socket is about to use (so DNS rebinding cannot slip past). The edge has
 * the same guard for upstream MCP servers; apps do not share code, so this
 * one lives here.
 */
export function privateAddressRefusingLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, options.all ? [] : '');
    if (addresses.length === 0 || addresses.some((entry) => isPrivateAddress(entry.address))) {
      return callback(Object.assign(new Error('refused to connect to a private, loopback or link-local address'), { code: PRIVATE_ADDRESS_REFUSED }), options.all ? [] : '');
    }
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}
