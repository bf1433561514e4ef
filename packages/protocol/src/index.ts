export * from './errors.js';
export * from './model.js';
export * from './events.js';
export * from './commands.js';
export * from './frames.js';
export * from './admin.js';
export * from './devices.js';
