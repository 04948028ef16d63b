import { suppressionsOf } from '../../shared/alerts/adapters/ses-events.js';
import { signLink } from '../../shared/alerts/email.js';
import { invoiceDocument } from '../../shared/billing/invoice-document.js';
import { unsetSeller } from '../../shared/billing/parties.js';
import { emailQueue, emailStore } from '../../shared/composition/alerts.js';
import { billingStore } from '../../shared/composition/billing.js';
import { emailLinkKey, mailSender, operatorAddresses } from '../../shared/composition/email.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { required } from '../../shared/platform/config.js';
import { renderInvoicePdf } from '../billing/pdf.js';
import { createEmailDelivery } from './email-delivery.js';

const directory = tenantDirectory();
const billing = billingStore();
const linksUrl = required('EMAIL_LINKS_URL').replace(/\/$/, '');

export const handler = createEmailDelivery({
  store: emailStore(),
  queue: emailQueue(),
  sender: mailSender(),
  from: required('EMAIL_FROM'),
  operators: operatorAddresses(),
  tenantName: async (tenantId) => (await directory.getTenant(tenantId))?.name ?? tenantId,
  dashboardUrl: required('DASHBOARD_URL').replace(/\/$/, ''),
  link: async (purpose, tenantId, address, category) => {
    const token = signLink(
      await emailLinkKey(),
      { purpose: purpose === 'unsubscribe' ? 'preferences' : purpose, tenantId, address },
      Date.now(),
    );
    return `${linksUrl}/${purpose}?token=${token}${category ? `&category=${category}` : ''}`;
  },
  // The invoice's PDF, the same document GET /v1/invoices/{id}/pdf serves.
  attachments: async (event) => {
    if (event.type !== 'invoice.issued') return [];
    const { invoiceId } = event.data as { invoiceId: string };
    const invoice = await billing.getInvoice(event.tenantId, invoiceId);
    if (!invoice) throw new Error(`invoice ${invoiceId} of ${event.tenantId} is not stored`);
    const [seller, customer, tenant] = await Promise.all([
      billing.getSeller(),
      billing.getCustomer(event.tenantId),
      directory.getTenant(event.tenantId),
    ]);
    const doc = invoiceDocument(invoice, seller ?? unsetSeller, customer ?? { name: tenant?.name ?? event.tenantId, address: [] });
    return [{ filename: `${doc.number}.pdf`, contentType: 'application/pdf', content: await renderInvoicePdf(doc) }];
  },
  suppressionsOf,
  retryBaseSeconds: Number(process.env.EMAIL_RETRY_BASE_SECONDS ?? 30),
  now: Date.now,
  random: Math.random,
});
