export type Listener<T> = (value: T) => void;

/** A typed event emitter. A throwing listener neither stops the others nor the SDK's own bookkeeping. */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  emit<K extends keyof Events>(name: K, value: Events[K]): void {
    const set = this.listeners.get(name) as Set<Listener<Events[K]>> | undefined;
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(value);
      } catch (error) {
        // Surface the application's bug as an uncaught error, as EventEmitter would, but later.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
