/**
 * The reconcile framework (DESIGN.md §4), re-exported for the daemon wiring
 * and the controllers: clock, reconciler contract, queues and rate limiters,
 * runner, informers, handlers, controller, leader election, conditions,
 * finalizers and events.
 */
export * from './clock.js';
export * from './reconciler.js';
export * from './work-queue.js';
export * from './delaying-queue.js';
export * from './rate-limiter.js';
export * from './rate-limiting-queue.js';
export * from './runner.js';
export * from './informer.js';
export * from './shared-informer-factory.js';
export * from './handlers.js';
export * from './controller.js';
export * from './leader-election.js';
export * from './conditions.js';
export * from './finalizers.js';
export * from './events.js';
export * from './status.js';
export * from './timeout.js';
export * from './raw-source.js';
