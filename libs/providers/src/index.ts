export * from './chat.types';
