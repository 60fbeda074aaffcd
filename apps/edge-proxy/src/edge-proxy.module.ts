import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { BusModule } from '@portcullis/bus';
import { ObservabilityModule } from '@portcullis/telemetry';
import { Clock } from './clock';
import { EdgeProxyExceptionFilter } from './edge-proxy-exception.filter';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from './edge-proxy.options';
import { McpModule } from './mcp/mcp.module';
import { PublicUrls } from './public-urls';
import { RawBodyParser } from './raw-body.parser';
import { WellKnownModule } from './well-known/well-known.module';
import { TokenExchangeModule } from './token-exchange/token-exchange.module';
import { BrowserLoginModule } from './browser-login/browser-login.module';
import { ConnectionsModule } from './connections/connections.module';

/**
 * The whole edge-proxy: the public MCP endpoint and its well-known documents.
 * Stateless (no database): everything it knows comes over the bus and is cached.
 */
@Module({})
export class EdgeProxyModule {
  static register(options: EdgeProxyModuleOptions): DynamicModule {
    assertOptions(options);
    return {
      module: EdgeProxyModule,
      // Its own app in every deployment (all-in-one runs one Nest app per service), so its shared providers can be global.
      global: true,
      imports: [
        ObservabilityModule.forRoot({ service: 'edge-proxy', logger: options.logger }),
        BusModule.forRoot({ bus: options.bus, closeOnShutdown: options.closeBusOnShutdown }),
        McpModule,
        WellKnownModule,
        TokenExchangeModule,
        BrowserLoginModule,
        ConnectionsModule,
      ],
      providers: [
        { provide: EDGE_PROXY_OPTIONS, useValue: options },
        Clock,
        PublicUrls,
        RawBodyParser,
        EdgeProxyExceptionFilter,
        // The same instance answers the MCP front door's failures (McpRoutes), which Nest does not see.
        { provide: APP_FILTER, useExisting: EdgeProxyExceptionFilter },
      ],
      exports: [EDGE_PROXY_OPTIONS, Clock, PublicUrls, EdgeProxyExceptionFilter],
    };
  }
}

function assertOptions(options: EdgeProxyModuleOptions): void {
  let url: URL | undefined;
  try {
    url = new URL(options.publicUrl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
    throw new TypeError('EdgeProxyModule: publicUrl must be an absolute http(s) URL without query or fragment');
  }
  if (!Number.isSafeInteger(options.maxRequestBytes) || options.maxRequestBytes <= 0) {
    throw new TypeError('EdgeProxyModule: maxRequestBytes must be a positive integer');
  }
}
