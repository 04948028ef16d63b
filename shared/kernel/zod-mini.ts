import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * zod's mini build, with the same English messages as classic zod. Modules on the request path (the ingest
 * and authorizer functions' imports) define their schemas with it: classic zod costs ~16 ms of every cold
 * start before a schema is built, the mini build ~1 ms. Everything else uses classic zod; the two build on
 * one core, so a classic object may hold a mini schema and both produce the same issues.
 */
config(en());

export * from 'zod/mini';
