export * from './errors.js';
export * from './scheduler.js';
export * from './listeners.js';
export * from './logger.js';
export * from './priority-queue.js';
