import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsDefined,
  IsInt,
  IsNumber,
  IsPositive,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';

/**
 * Field rules shared by create and update. `required`: must be present; `nullable`: null is a
 * value (it clears the field) rather than an error. An absent field in an update means "unchanged".
 */
interface Presence {
  required: boolean;
  nullable: boolean;
}

/** Budgets are held in units of 1e-10 USD below 2^53, i.e. at most ≈ $900,719 per month. */
export const MAX_MONTHLY_BUDGET_USD = 900_000;
export const MAX_RATE_LIMIT = 1_000_000;
export const MAX_TOKENS_PER_MINUTE = 1_000_000_000;
export const MAX_CACHE_TTL_SECONDS = 30 * 24 * 3600;

// eslint-disable-next-line no-control-regex -- control characters are what it refuses.
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f-\u009f]*$/;

/**
 * Names, aliases, URLs and secrets are stored, logged and shown to operators: no control
 * characters (NUL cannot even be stored, and a newline in a name forges a log line).
 */
function NoControlCharacters(each = false): PropertyDecorator {
  return Matches(NO_CONTROL_CHARACTERS, {
    each,
    message: each
      ? 'each value in $property must not contain control characters'
      : '$property must not contain control characters',
  });
}

function presence(p: Presence): PropertyDecorator {
  if (p.required && p.nullable) {
    return applyDecorators(
      IsDefined({ message: '$property is required (use null for none)' }),
      ValidateIf((_o, v) => v !== null),
    );
  }
  if (p.required) return IsDefined({ message: '$property is required' });
  return ValidateIf((_o, v) => v !== undefined && !(p.nullable && v === null));
}

export function NameField(p: Presence): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ required: p.required, example: 'acme-prod', minLength: 1, maxLength: 200 }),
    presence(p),
    IsString(),
    MinLength(1),
    MaxLength(200),
    Matches(/\S/, { message: '$property must not be blank' }),
    NoControlCharacters(),
  );
}

export function RateLimitField(p: Presence): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      required: p.required,
      example: 100,
      minimum: 1,
      maximum: MAX_RATE_LIMIT,
      description: 'Requests per 60 s sliding window, summed over all instances.',
    }),
    presence(p),
    IsInt(),
    Min(1),
    Max(MAX_RATE_LIMIT),
  );
}

export function MonthlyBudgetField(p: Presence): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      required: p.required,
      nullable: true,
      type: Number,
      example: 50.25,
      minimum: 0,
      maximum: MAX_MONTHLY_BUDGET_USD,
      description:
        'USD per UTC calendar month, at most 10 decimals; null = unlimited, 0 = nothing may be spent.',
    }),
    presence(p),
    IsNumber({ allowNaN: false, allowInfinity: false }),
    Min(0),
    Max(MAX_MONTHLY_BUDGET_USD),
  );
}

export function TokensPerMinuteField(p: Presence): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      required: p.required,
      nullable: true,
      type: Number,
      example: 100000,
      minimum: 1,
      maximum: MAX_TOKENS_PER_MINUTE,
      description: 'Prompt + completion tokens per 60 s; null = no token limit.',
    }),
    presence(p),
    IsInt(),
    Min(1),
    Max(MAX_TOKENS_PER_MINUTE),
  );
}

export function ProviderPreferencesField(p: Presence): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      required: p.required,
      type: [String],
      example: ['anthropic', 'openai'],
      description:
        "Provider names from the catalog, most preferred first; reorders a model's routes.",
    }),
    presence(p),
    IsArray(),
    ArrayMaxSize(50),
    ArrayUnique(),
    IsString({ each: true }),
    NoControlCharacters(true),
  );
}

export function AllowedModelsField(p: Presence): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      required: p.required,
      nullable: true,
      type: [String],
      example: ['gpt-4o-mini'],
      description: 'Model aliases from the catalog this tenant may use; null = all.',
    }),
    presence(p),
    IsArray(),
    ArrayMaxSize(1000),
    ArrayUnique(),
    IsString({ each: true }),
    NoControlCharacters(true),
  );
}

export function CacheTtlField(p: Presence): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      required: p.required,
      nullable: true,
      type: Number,
      example: 600,
      minimum: 1,
      maximum: MAX_CACHE_TTL_SECONDS,
      description: 'Response cache TTL in seconds; null = the default (3600).',
    }),
    presence(p),
    IsInt(),
    Min(1),
    Max(MAX_CACHE_TTL_SECONDS),
  );
}

export function AlertThresholdsField(p: Presence): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      required: p.required,
      type: [Number],
      example: [0.5, 0.8, 1],
      description: 'Budget fractions in (0, 1] that each send one webhook per month.',
    }),
    presence(p),
    IsArray(),
    ArrayMaxSize(20),
    ArrayUnique(),
    IsNumber({ allowNaN: false, allowInfinity: false }, { each: true }),
    IsPositive({ each: true, message: 'each value in $property must be above 0' }),
    Max(1, { each: true, message: 'each value in $property must be at most 1' }),
  );
}

export function WebhookUrlField(p: Presence): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      required: p.required,
      nullable: true,
      type: String,
      example: 'https://hooks.example.com/llm-budget',
      description: 'http(s) URL that receives budget alerts.',
    }),
    presence(p),
    IsString(),
    MaxLength(2048),
    NoControlCharacters(),
    IsUrl(
      { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
      { message: '$property must be an http(s) URL' },
    ),
  );
}

export function WebhookSecretField(p: Presence): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      required: p.required,
      nullable: true,
      type: String,
      example: 'whsec-5f2b7c9e1a',
      description: 'HMAC-SHA256 key for X-Gateway-Signature; write-only, never returned.',
      writeOnly: true,
    }),
    presence(p),
    IsString(),
    MinLength(1),
    MaxLength(512),
    NoControlCharacters(),
  );
}

export function DisabledField(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      required: false,
      example: false,
      description: 'Extension: false re-enables a disabled tenant; true disables it (like DELETE).',
    }),
    presence({ required: false, nullable: false }),
    IsBoolean(),
  );
}
