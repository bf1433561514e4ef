export { openCore, startServer, type Core, type RunningServer } from './app.js';
export { loadConfig, ConfigError, type Config } from './config.js';
export { tokenize, queryPhrases } from './search/tokenize.js';
