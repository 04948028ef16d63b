/** What EventBridge Scheduler passes to a scheduled function (its target input). */
export interface ScheduledInvocation {
  source: 'meterline.schedule';
  schedule: string;
  /** When the run was due (ISO 8601): jobs compute "yesterday" and "ended periods" from it, not from the clock. */
  time: string;
}
