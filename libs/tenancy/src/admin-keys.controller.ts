import { Body, Controller, Delete, Get, HttpCode, Param, Post, UsePipes } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { AdminKeysService } from './admin-keys.service';
import { AdminKeyIssuedResponseDto } from './dto/admin-key-issued.response.dto';
import { AdminKeyListResponseDto } from './dto/admin-key-list.response.dto';
import { CreateAdminKeyDto } from './dto/create-admin-key.dto';
import { GatewayValidationPipe } from './gateway-validation.pipe';
import { AdminRoute } from './route.decorators';

/** Extension to docs/api.md §3: admin keys besides the bootstrap ADMIN_API_KEY. */
@ApiTags('admin: keys')
@Controller('api/v1/admin/keys')
@AdminRoute()
@UsePipes(GatewayValidationPipe)
export class AdminKeysController {
  constructor(private readonly adminKeys: AdminKeysService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an admin key (shown once).' })
  @ApiCreatedResponse({ type: AdminKeyIssuedResponseDto })
  async create(@Body() body: CreateAdminKeyDto): Promise<AdminKeyIssuedResponseDto> {
    const key = await this.adminKeys.issue(body.name ?? null);
    return {
      key_id: key.id,
      name: key.name,
      api_key: key.key,
      created_at: key.createdAt.toISOString(),
    };
  }

  @Get()
  @ApiOperation({ summary: 'List admin keys (prefixes only), newest first.' })
  @ApiOkResponse({ type: AdminKeyListResponseDto })
  async list(): Promise<AdminKeyListResponseDto> {
    const keys = await this.adminKeys.list();
    return {
      data: keys.map((k) => ({
        key_id: k.id,
        name: k.name,
        prefix: k.prefix,
        created_at: k.createdAt.toISOString(),
        revoked_at: k.revokedAt?.toISOString() ?? null,
      })),
    };
  }

  @Delete(':key_id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an admin key: refused everywhere within 1 s.' })
  @ApiParam({ name: 'key_id', format: 'uuid' })
  @ApiNoContentResponse({ description: 'Revoked.' })
  @ApiNotFoundResponse({ description: 'Unknown admin key (not_found).' })
  async revoke(@Param('key_id') keyId: string): Promise<void> {
    await this.adminKeys.revoke(keyId);
  }
}
