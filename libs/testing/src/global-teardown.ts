import { stopTestServices } from './global-setup';

/** Jest's global teardown (a default export: jest calls the module's default function). */
export default stopTestServices;
