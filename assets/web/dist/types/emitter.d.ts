/**
 * A small typed event emitter: `on` returns the function that unsubscribes, listeners
 * run in subscription order, and a throwing listener is reported without stopping the
 * others (one bad game callback must not break the connection's bookkeeping).
 */
export type Listener<T> = (event: T) => void;
export declare class Emitter<Events extends object> {
    private readonly listeners;
    /** Calls `listener` on every `type` event until the returned function is called. */
    on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void;
    /** Calls `listener` on the next `type` event only. */
    once<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void;
    /** Stops calling `listener` for `type`. */
    off<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void;
    protected emit<K extends keyof Events>(type: K, event: Events[K]): void;
}
