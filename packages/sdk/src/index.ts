export { SotongClient, type SotongClientOptions, type LoginOptions, type ClientEvents } from './client.js';
export type { ConnectionStatus, WebSocketConstructor, WebSocketLike } from './connection.js';
export type { OutboxEntry, OutboxStatus } from './outbox.js';
export type { ClientState, ReadState } from './state.js';
export { MemoryStorage, type KeyValueStorage } from './storage.js';
export { exchangeSsoCode, login, loginWithCode, webSocketUrl, type LoginResult } from './http.js';
export { FileClient, type FileClientOptions, type UploadOptions } from './files.js';
export { isRetryable } from './errors.js';
export { SotongError } from '@sotong/protocol';
