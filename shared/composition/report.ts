import { required } from '../platform/config.js';
import { SqsReportQueue } from '../stripe/adapters/report-queue.js';
import { sqs } from './clients.js';

/** The Stripe report's slices: apart from stripe.ts, so that the planner, which only lists tenants and sends, bundles no Stripe client. */
export const reportQueue = () => new SqsReportQueue(sqs(), required('REPORT_QUEUE_URL'));
