import { join, resolve } from 'node:path';

/** Where `npm start` keeps its data and the file its scripts read: .meterline/ in the checkout, or METERLINE_STATE_DIR. */
export const localStateDir = (): string => resolve(process.env.METERLINE_STATE_DIR ?? join(import.meta.dirname, '..', '.meterline'));

/** The demo keys, the API's address and the functions' environment of the running `npm start`. */
export const localStateFile = (): string => join(localStateDir(), 'local.json');
