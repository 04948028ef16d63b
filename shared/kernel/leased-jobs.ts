/**
 * What a background job carries whatever its work (a recompute, a fleet simulation): queued, then run by one worker at
 * a time under a lease (shared/platform/dynamo/leased-jobs.ts takes and keeps it), until it succeeds or fails. A worker
 * that dies leaves the job to the next once its lease ends.
 */
export interface LeasedJob {
  jobId: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Claims that count towards giving the job up, as its kind counts them. */
  attempts: number;
  /** The worker that holds the lease, and until when (epoch ms). */
  owner?: string;
  leaseUntil?: number;
  error?: string;
}

/** The job as its status route shows it: the lease is the workers' bookkeeping. */
export function withoutLease<Job extends LeasedJob>(job: Job): Omit<Job, 'owner' | 'leaseUntil'> {
  const { owner: _owner, leaseUntil: _leaseUntil, ...view } = job;
  return view;
}
