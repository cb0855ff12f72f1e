import type { GatewayConfig } from './config.types';

/** Injectable holder of the validated configuration (a class token, not a string). */
export class GatewayConfigService {
  constructor(readonly config: GatewayConfig) {}

  get catalog() {
    return this.config.catalog;
  }
}
