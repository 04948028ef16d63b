import { describe, expect, it } from 'vitest';
import { renderInvoicePdf } from '../../functions/billing/pdf.js';
import { renderInvoiceHtml } from '../../functions/billing/render.js';
import { invoiceDocument } from '../../shared/billing/invoice-document.js';
import type { Invoice } from '../../shared/billing/invoices.js';
import type { Seller } from '../../shared/billing/parties.js';
import type { InvoiceLine } from '../../shared/billing/pricing.js';

/**
 * What an invoice says as a document, and its two renderings, for an invoice written out by hand: a prorated base
 * fee, a quota line, graduated tiers, an adjustment, a progressive threshold, and the seller's payment terms.
 */
const lines: InvoiceLine[] = [
  {
    kind: 'base',
    description: 'Pro plan',
    amount: '150.00',
    quantity: '0.5',
    from: '2026-03-16T00:00:00.000Z',
    to: '2026-04-01T00:00:00.000Z',
  },
  {
    kind: 'usage',
    description: 'Seats',
    meter: 'seats',
    unit: 'seat',
    amount: '5.00',
    quantity: '12',
    included: '10',
    billable: '2',
    price: { model: 'quota', included: '10', unitPrice: '2.5' },
  },
  {
    kind: 'usage',
    description: 'API calls',
    meter: 'api_calls',
    unit: 'call',
    amount: '27.50',
    quantity: '15000',
    price: { model: 'graduated', tiers: [] as never },
    tiers: [
      { upTo: '10000', quantity: '10000', unitPrice: '0.002', flatFee: '0', amount: '20.00' },
      { upTo: null, quantity: '5000', unitPrice: '0.001', flatFee: '2.5', amount: '7.50' },
    ],
  },
  { kind: 'adjustment', description: 'February late usage', amount: '-1.25', quantity: '-5', unit: 'call' },
];
const invoice: Invoice = {
  id: 'INV-0042',
  number: 'INV-0042',
  status: 'open',
  tenantId: 'acme',
  currency: 'USD',
  periodStart: '2026-03-01T00:00:00.000Z',
  periodEnd: '2026-04-01T00:00:00.000Z',
  trial: false,
  planId: 'pro',
  lines,
  subtotal: '181.25',
  taxRate: '0.075',
  tax: '13.59',
  total: '194.84',
  billed: [],
  progressive: { index: 0, threshold: '150', amountDue: '181.25' },
  issuedAt: '2026-03-20T09:00:00.000Z',
  statusHistory: [],
};
const seller: Seller = {
  name: 'Meterline Operator <Ltd>',
  address: ['1 Main St', 'Springfield'],
  taxId: 'EU123',
  email: 'billing@operator.example',
  paymentTermsDays: 30,
  paymentInstructions: 'IBAN DE00 0000 0000',
};
const customer = { name: 'Acme', address: [] };
const { paymentInstructions: _instructions, ...sellerWithoutInstructions } = seller;

describe('an invoice as a document', () => {
  it('says each line in words: the share of the period, what a quota included, each tier, an adjustment', () => {
    const doc = invoiceDocument(invoice, seller, customer);
    expect(doc).toMatchObject({
      issued: '2026-03-20',
      due: '2026-04-19',
      periodFrom: '2026-03-01',
      periodTo: '2026-03-31',
      progressive: 'progressive invoice: $150.00 reached, usage to 2026-03-20',
      taxLabel: 'Tax (7.5%)',
      total: '$194.84',
      paymentInstructions: 'IBAN DE00 0000 0000',
    });
    expect(doc.paymentUrl).toBeUndefined();
    expect(doc.lines).toEqual([
      {
        description: 'Pro plan',
        details: ['2026-03-16 to 2026-04-01'],
        quantity: '0.5 of the period',
        rate: '',
        amount: '$150.00',
        adjustment: false,
      },
      {
        description: 'Seats',
        details: ['10 seats included, 2 billable'],
        quantity: '12 seats',
        rate: '10 seats included, then $2.50 per seat',
        amount: '$5.00',
        adjustment: false,
      },
      {
        description: 'API calls',
        details: ['10,000 at $0.002 (tier up to 10,000)', '5,000 at $0.001 + $2.50 (tier up to no limit)'],
        quantity: '15,000 calls',
        rate: 'graduated tiers (each tier at its own price)',
        amount: '$27.50',
        adjustment: false,
      },
      { description: 'February late usage', details: [], quantity: '-5 calls', rate: '', amount: '-$1.25', adjustment: true },
    ]);
  });

  it('links the online payment page when there is one, in place of the instructions', async () => {
    const doc = invoiceDocument(invoice, seller, customer, 'https://pay.example/in_1');
    const html = renderInvoiceHtml(doc);
    expect(html).toContain('Pay online: <a href="https://pay.example/in_1">');
    expect(html).not.toContain('IBAN');
    expect(renderInvoiceHtml(invoiceDocument(invoice, seller, customer))).toContain('<p class="pay">IBAN DE00 0000 0000</p>');
    const bare = renderInvoiceHtml(invoiceDocument({ ...invoice, trial: true }, sellerWithoutInstructions, customer));
    expect(bare).not.toContain('class="pay"');
    expect(bare).toContain('(trial)');
  });

  it("escapes the parties' text in HTML and shows their tax id and email", () => {
    const html = renderInvoiceHtml(invoiceDocument(invoice, seller, { name: 'Acme <script>', address: ['2 Side St'], taxId: 'US9' }));
    expect(html).toContain('Meterline Operator &lt;Ltd&gt;');
    expect(html).not.toContain('<script>');
    expect(html).toContain('Tax ID: EU123');
    expect(html).toContain('billing@operator.example');
    expect(html).toContain('Tax ID: US9');
  });

  it('draws a PDF, onto as many pages as its lines need', async () => {
    const pages = (pdf: Buffer) => (pdf.toString('latin1').match(/\/Type \/Page\b/g) ?? []).length;
    const short = await renderInvoicePdf(invoiceDocument(invoice, seller, customer, 'https://pay.example/in_1'));
    expect(short.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pages(short)).toBe(1);
    const many = Array.from({ length: 60 }, (_, i) => ({ ...lines[2]!, description: `Meter ${i}` }));
    const long = await renderInvoicePdf(invoiceDocument({ ...invoice, lines: many, trial: true }, sellerWithoutInstructions, customer));
    expect(pages(long)).toBeGreaterThan(1);
  });
});
