// Preloaded into the gateways `npm run drill:load` starts (`node --expose-gc --import <this>`), never
// into a production process: on a message from the drill over the IPC channel it runs a full
// garbage collection and answers with `process.memoryUsage()`, so the drill can tell a heap that
// keeps what it allocated (a leak) from a heap and an allocator still growing to their working
// size (RSS alone cannot: V8 and glibc keep freed memory mapped).
if (typeof process.send === 'function' && typeof globalThis.gc === 'function') {
  const gc = globalThis.gc;
  process.on('message', (msg) => {
    if (msg?.type !== 'drill-load:gc') return;
    const started = performance.now();
    gc();
    const pauseMs = performance.now() - started;
    process.send?.({ type: 'drill-load:memory', id: msg.id, pauseMs, ...process.memoryUsage() });
  });
  // The IPC channel must not keep a gateway alive that is shutting down.
  process.channel?.unref();
}
