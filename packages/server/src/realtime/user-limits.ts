import { TokenBucket } from './token-bucket.js';

export interface UserLimitSettings {
  maxConnectionsPerUser: number;
  userCommandsPerSecond: number;
  userCommandBurst: number;
}

/**
 * Limits that span all of one user's connections on this node, whatever their transports:
 * how many may be open at once, and one command budget shared by all of them.
 */
export class UserLimits {
  private readonly connections = new Map<string, number>();
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(readonly settings: UserLimitSettings) {}

  /** Counts a new connection, or returns false when the user already has the most allowed. */
  connect(userId: string): boolean {
    const open = this.connections.get(userId) ?? 0;
    if (open >= this.settings.maxConnectionsPerUser) return false;
    this.connections.set(userId, open + 1);
    return true;
  }

  disconnect(userId: string): void {
    const open = (this.connections.get(userId) ?? 1) - 1;
    if (open > 0) {
      this.connections.set(userId, open);
      return;
    }
    // The command budget stays: reconnecting must not refill it.
    this.connections.delete(userId);
  }

  takeCommand(userId: string): boolean {
    let bucket = this.buckets.get(userId);
    if (!bucket) this.buckets.set(userId, (bucket = new TokenBucket(this.settings.userCommandsPerSecond, this.settings.userCommandBurst)));
    return bucket.take();
  }
}
