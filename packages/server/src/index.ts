export { openCore, startServer, type Core, type RunningServer } from './app.js';
export { loadConfig, ConfigError, type Config } from './config.js';
export { tokenize, queryPhrases } from './search/tokenize.js';
/** The migration names: the bench keys its cached seeded data directories by the newest one. */
export { migrations } from './store/migrations.js';
