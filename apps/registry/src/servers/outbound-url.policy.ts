import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import { InvalidRequestError } from '../errors';
import { REGISTRY_SETTINGS, type RegistrySettings } from '../registry.settings';
import { isPrivateAddress } from '@portcullis/contracts';

/** Resolves a host name to every address it has; injected so tests need no DNS. */
@Injectable()
export class HostResolver {
  async resolve(hostname: string): Promise<string[]> {
    const addresses = await lookup(hostname, { all: true, verbatim: true });
    return addresses.map((entry) => entry.address);
  }
}

/**
 * SSRF guard on upstream URLs (DESIGN §9): unless `OUTBOUND_ALLOW_PRIVATE`
 * is set, a URL whose host is, or resolves (at save time) to, a private,
 * loopback, link-local or reserved address is refused. Every address of the
 * name must be public, so one public record cannot smuggle a private one.
 */
@Injectable()
export class OutboundUrlPolicy {
  constructor(
    private readonly resolver: HostResolver,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
  ) {}

  /** @throws InvalidRequestError naming `field` when the URL points somewhere private or does not resolve. */
  async check(url: string, field = 'url'): Promise<void> {
    if (this.settings.outboundAllowPrivate) return;
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    let addresses: string[];
    if (isIP(host)) {
      addresses = [host];
    } else {
      try {
        addresses = await this.resolver.resolve(host);
      } catch {
        throw refuse(field, `host "${host.slice(0, 253)}" does not resolve`);
      }
    }
    if (addresses.length === 0) throw refuse(field, `host "${host.slice(0, 253)}" does not resolve`);
    if (addresses.some(isPrivateAddress)) {
      throw refuse(field, 'must not point at a private, loopback or link-local address (set OUTBOUND_ALLOW_PRIVATE=true to allow)');
    }
  }
}

function refuse(field: string, message: string): InvalidRequestError {
  return new InvalidRequestError(`invalid server: ${field} ${message}`, [{ path: field, message }]);
}
