/**
 * Node flags the server is started with (`npm start`, and spawnServer for tests and bench).
 *
 * A young generation of 2 × 32 MiB instead of V8's 2 × 16 MiB: under load every in-flight message
 * holds promises, closures and buffers for a few milliseconds, and with the smaller one each
 * scavenge still finds them alive and copies them. Measured on the `atrest` bench (500 DM pairs):
 * 15–19 % more messages per second, for at most 32 MiB more memory under load.
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=32'] as const;
