/** The renderer formats with the one shared module (src/shared/format.ts), as main and the CLI do. */
export * from '../../../shared/format';
